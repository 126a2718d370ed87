// systemd's notification protocol (Type=notify): READY=1, STATUS=, RELOADING=1, STOPPING=1, WATCHDOG=1.
// Every call is harmless when the daemon does not run under systemd (NOTIFY_SOCKET unset).
#pragma once

#include <chrono>
#include <string>

namespace weir::daemon {

class Notifier {
 public:
  Notifier();
  void ready(const std::string& status);
  void status(const std::string& status);
  void reloading();
  void stopping();
  // Sends WATCHDOG=1 when half the watchdog interval has passed since the last one. Call it from the
  // supervisor loop only, so that a stuck loop stops the pings and systemd restarts the daemon.
  void watchdog();
  bool watchdog_enabled() const { return watchdog_us_ > 0; }
  std::chrono::milliseconds watchdog_period() const;

 private:
  void send(const std::string& msg);
  uint64_t watchdog_us_ = 0;
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace weir::daemon
