// `weir daemon`: the supervisor loop. Runs every job file of a directory, each job in a thread of its own,
// follows edits (inotify, debounced; SIGHUP rescans and retries failed jobs), serves metrics, talks to
// systemd, and stops every job gracefully on SIGTERM/SIGINT.
#pragma once

#include <string>

namespace weir::daemon {

struct DaemonOptions {
  std::string jobs_dir;
  std::string state_dir;
  std::string metrics;  // ADDR:PORT; empty: no HTTP endpoint
  std::string status_interval = "30s";
  std::string stop_timeout = "30s";
  std::string log_level = "info";
  std::string log_format = "text";
};

// Returns the exit code: 0 after a clean stop, 1 when the daemon cannot run (or a job would not stop),
// 2 for bad options.
int run_daemon(const DaemonOptions& options);

}  // namespace weir::daemon
