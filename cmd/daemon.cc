#include "cmd/daemon.h"

#include "cmd/daemon/daemon_loop.h"
#include "cmd/run.h"

namespace weir::cmd {

void register_daemon(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<daemon::DaemonOptions>();
  auto* d =
      app.add_subcommand("daemon", "Run every job file (*.yaml, *.yml) in a directory and follow edits");
  d->add_option("--jobs", opts->jobs_dir, "Directory of job files")->required();
  d->add_option("--state-dir", opts->state_dir,
                "Directory for checkpoints, one folder per job (default: " + default_state_dir() + ")");
  d->add_option("--metrics", opts->metrics,
                "Serve /metrics, /healthz and /readyz on ADDR:PORT (e.g. 127.0.0.1:9090; default: off)");
  d->add_option("--stats-every,--status-interval", opts->status_interval,
                "Log one statistics line per job this often (0s: never)")
      ->capture_default_str();
  d->add_option("--stop-timeout", opts->stop_timeout,
                "On SIGTERM/SIGINT or a reload, wait this long for a job to commit and checkpoint before "
                "stopping it at once")
      ->capture_default_str();
  d->add_option("--log-level", opts->log_level, "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  d->add_option("--log-format", opts->log_format, "text|json")->capture_default_str();
  d->callback([opts, &exit_code] {
    if (opts->state_dir.empty()) opts->state_dir = default_state_dir();
    exit_code = daemon::run_daemon(*opts);
  });
}

}  // namespace weir::cmd
