#include "cmd/daemon/daemon_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cmd/daemon/http_server.h"
#include "cmd/daemon/notify.h"
#include "cmd/daemon/supervisor.h"
#include "cmd/daemon/watcher.h"
#include "config/load.h"
#include "engine/log.h"

namespace weir::daemon {

namespace {

// Signals and job ends wake the loop through a self-pipe (write() is async-signal-safe).
int g_wake[2] = {-1, -1};
std::atomic<int> g_terms{0};
std::atomic<int> g_last_signal{0};
std::atomic<bool> g_hup{false};

void wake_loop() {
  if (g_wake[1] >= 0) {
    int saved = errno;
    [[maybe_unused]] ssize_t n = ::write(g_wake[1], "x", 1);
    errno = saved;
  }
}

void on_signal(int sig) {
  g_last_signal.store(sig);
  if (sig == SIGHUP) {
    g_hup.store(true);
  } else {
    g_terms.fetch_add(1);
  }
  wake_loop();
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void drain_fd(int fd) {
  char buf[256];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::optional<milliseconds> duration_option(const std::string& name, const std::string& text) {
  auto ms = config::parse_duration(text);
  if (!ms || *ms < 0) {
    std::cerr << "weir daemon: " << name << " '" << text << "' is not a duration (e.g. 500ms, 30s, 1m)\n";
    return std::nullopt;
  }
  return milliseconds(*ms);
}

}  // namespace

int run_daemon(const DaemonOptions& o) {
  if (!log::setup(o.log_level, o.log_format)) {
    std::cerr << "weir daemon: unknown --log-level '" << o.log_level << "' or --log-format '" << o.log_format
              << "' (levels: trace debug info warn error critical off; formats: text json)\n";
    return 2;
  }
  auto status_interval = duration_option("--stats-every", o.status_interval);
  auto stop_timeout = duration_option("--stop-timeout", o.stop_timeout);
  if (!status_interval || !stop_timeout) return 2;
  std::string metrics_host;
  int metrics_port = 0;
  if (!o.metrics.empty()) {
    std::string err;
    if (!parse_listen_address(o.metrics, metrics_host, metrics_port, err)) {
      std::cerr << "weir daemon: --metrics " << err << "\n";
      return 2;
    }
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(o.jobs_dir, ec)) {
    std::cerr << "weir daemon: --jobs " << o.jobs_dir << " is not a directory\n";
    return 2;
  }
  auto log = log::get("daemon");
  std::filesystem::create_directories(o.state_dir, ec);
  if (ec) {
    log->error("Cannot create the state directory {}: {}.", o.state_dir, ec.message());
    return 1;
  }
  if (::pipe2(g_wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    log->error("Cannot create the wake-up pipe: {}.", std::strerror(errno));
    return 1;
  }
  install_signals();
  log->info("weir {} daemon starting: jobs from {}, state in {}, metrics {}.", WEIR_VERSION, o.jobs_dir,
            o.state_dir, o.metrics.empty() ? std::string("off") : "on " + o.metrics);

  Notifier notifier;
  SupervisorOptions so{o.jobs_dir, o.state_dir, *stop_timeout};
  Supervisor sup(
      so, [] { wake_loop(); }, [&notifier] { notifier.watchdog(); }, [] { return g_terms.load() >= 2; });

  DirWatcher watcher;
  std::string err;
  if (!watcher.open(o.jobs_dir, err)) {
    log->error("Cannot follow the jobs directory {}: {}.", o.jobs_dir, err);
    return 1;
  }
  HttpServer http(sup);
  if (!o.metrics.empty()) {
    if (!http.start(metrics_host, metrics_port, err)) {
      log->error("Cannot serve metrics on {}: {}.", o.metrics, err);
      return 1;
    }
    std::string shown = metrics_host.find(':') != std::string::npos ? "[" + metrics_host + "]" : metrics_host;
    log->info("Serving metrics at http://{}:{}/metrics (health: /healthz, readiness: /readyz).", shown,
              http.port());
  }

  sup.rescan(false);
  std::string last_summary = sup.summary();
  notifier.ready(last_summary);
  log->info("Watching {} for job files (*.yaml, *.yml): {}.", o.jobs_dir, last_summary);

  const milliseconds debounce(200);
  const milliseconds debounce_cap(2000);  // a file rewritten without pause is still picked up
  bool pending = false;
  Clock::time_point pending_since{}, pending_at{};
  Clock::time_point next_status = Clock::now() + *status_interval;
  bool dir_gone_reported = false;

  while (g_terms.load() == 0) {
    auto now = Clock::now();
    milliseconds timeout(1000);
    auto until = [&](Clock::time_point t) {
      auto d = std::chrono::duration_cast<milliseconds>(t - now);
      timeout = std::max(milliseconds(0), std::min(timeout, d));
    };
    if (pending) until(std::min(pending_at, pending_since + debounce_cap));
    if (status_interval->count() > 0) until(next_status);
    if (notifier.watchdog_enabled()) timeout = std::min(timeout, notifier.watchdog_period());

    pollfd fds[2] = {{g_wake[0], POLLIN, 0}, {watcher.fd(), POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR) {
      log->error("poll failed: {}; stopping.", std::strerror(errno));
      break;
    }
    if (n > 0 && (fds[0].revents & POLLIN)) drain_fd(g_wake[0]);
    if (g_terms.load() != 0) break;
    now = Clock::now();
    if (n > 0 && (fds[1].revents & POLLIN) && watcher.drain()) {
      if (!pending) pending_since = now;
      pending = true;
      pending_at = now + debounce;
    }
    if (watcher.dir_gone() && !dir_gone_reported) {
      dir_gone_reported = true;
      log->error(
          "The jobs directory {} was removed or moved; the running jobs keep running, but edits are no "
          "longer "
          "followed. Restart the daemon once the directory is back.",
          o.jobs_dir);
    }
    if (g_hup.exchange(false)) {
      log->info("Received SIGHUP: reading {} again and restarting failed jobs.", o.jobs_dir);
      notifier.reloading();
      sup.rescan(true);
      notifier.ready(sup.summary());
      pending = false;
    }
    if (pending && (now >= pending_at || now >= pending_since + debounce_cap)) {
      pending = false;
      sup.rescan(false);
    }
    sup.collect_ended();
    if (status_interval->count() > 0 && Clock::now() >= next_status) {
      sup.log_status(*status_interval);
      next_status = Clock::now() + *status_interval;
    }
    std::string summary = sup.summary();
    if (summary != last_summary) {
      notifier.status(summary);
      last_summary = summary;
    }
    notifier.watchdog();
  }

  int sig = g_last_signal.load();
  notifier.stopping();
  log->info("Received {}: stopping every job.", sig == SIGINT    ? "SIGINT"
                                                : sig == SIGTERM ? "SIGTERM"
                                                                 : "a stop request");
  bool ok = sup.stop_all();
  http.stop();
  log->info("weir daemon stopped{}.", ok ? "" : " (some job did not stop even when forced)");
  // A job thread blocked in a system call that does not return (a hung disk) cannot be joined: returning
  // would wait for it in the destructors. Exit as kill -9 would; its batch in flight is read again on the
  // next start.
  if (!ok) ::_exit(1);
  return 0;
}

}  // namespace weir::daemon
