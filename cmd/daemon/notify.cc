#include "cmd/daemon/notify.h"

#include <systemd/sd-daemon.h>

#include "engine/log.h"

namespace weir::daemon {

Notifier::Notifier() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_us_ = usec;
}

void Notifier::send(const std::string& msg) {
  int rc = sd_notify(0, msg.c_str());
  if (rc < 0) log::get("daemon")->debug("sd_notify failed ({}): {}", rc, msg);
}

void Notifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}

void Notifier::status(const std::string& status) {
  send("STATUS=" + status);
}

void Notifier::reloading() {
  send("RELOADING=1");
}

void Notifier::stopping() {
  send("STOPPING=1\nSTATUS=stopping");
}

std::chrono::milliseconds Notifier::watchdog_period() const {
  return std::chrono::milliseconds(watchdog_us_ / 2000);
}

void Notifier::watchdog() {
  if (watchdog_us_ == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ < watchdog_period()) return;
  last_ping_ = now;
  send("WATCHDOG=1");
}

}  // namespace weir::daemon
