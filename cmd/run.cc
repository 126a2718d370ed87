#include "cmd/run.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "config/load.h"
#include "connectors/registry.h"
#include "engine/clock.h"
#include "engine/executor.h"
#include "engine/log.h"

namespace weir::cmd {

namespace {
engine::StopFlag g_stop{0};

void on_signal(int) {
  int prev = g_stop.load();
  g_stop.store(prev >= 1 ? 2 : 1);
}

// A hard stop (a second SIGTERM/SIGINT) ends the process within kGraceMs even when the job is blocked in a
// system call that does not return, such as a sink's write or fsync on a hung disk. The executor gives up on
// a checkpoint write by itself (Executor::abandon_checkpoint); this covers everything else. Exiting then is
// what kill -9 does, which recovery is built for: the batch in flight is not committed and is read again.
class HardStopWatchdog {
 public:
  static constexpr int kGraceMs = 3000;
  explicit HardStopWatchdog(std::string job) : job_(std::move(job)), thread_([this] { watch(); }) {}
  ~HardStopWatchdog() {
    done_ = true;
    thread_.join();
  }

 private:
  void watch() {
    while (!done_ && g_stop.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kGraceMs);
    while (!done_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (done_) return;
    log::get("engine")->error(
        "Job '{}': stopping at once: the job did not end within {} ms of the second stop signal (it "
        "is blocked, e.g. in a sink's write or fsync on a hung disk); exiting without waiting for it. "
        "Its batch in flight is not committed; the next start resumes from the last checkpoint.",
        job_, kGraceMs);
    ::_exit(1);
  }

  std::string job_;
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: starts after the members above exist
};

struct RunOptions {
  std::string file;
  bool reset_state = false;
  std::string state_dir;
  std::string log_level = "info";
  std::string log_format = "text";
  int workers = 0;  // 0: the job file's `workers`
};

int run_job(const RunOptions& o) {
  if (!log::setup(o.log_level, o.log_format)) {
    std::cerr << "weir run: unknown --log-level '" << o.log_level << "' or --log-format '" << o.log_format
              << "' (levels: trace debug info warn error critical off; formats: text json)\n";
    return 2;
  }
  config::LoadResult loaded = config::load_job_file(o.file);
  if (!loaded.ok()) {
    for (const auto& d : loaded.errors) std::cerr << d.format() << "\n";
    return 2;
  }
  const config::Job& job = *loaded.job;
  engine::CompileResult compiled = engine::compile(job);
  if (!compiled.plan) {
    for (const auto& e : compiled.errors) std::cerr << o.file << ": " << e << "\n";
    return 2;
  }
  std::string err;
  std::unique_ptr<Clock> clock = clock_from_env(err);
  if (!clock) {
    std::cerr << "weir run: " << err << "\n";
    return 2;
  }
  engine::Connectors conn;
  if (!connectors::build(job, *compiled.plan, conn, err)) {
    log::get("engine")->error("Job '{}' cannot start: {}", job.name, err);
    return 1;
  }
  install_stop_signals();
  engine::ExecutorOptions eo;
  eo.checkpoint_dir = job.checkpoint.dir.empty() ? o.state_dir + "/" + job.name : job.checkpoint.dir;
  eo.reset_state = o.reset_state;
  eo.workers = o.workers;
  // Declared before the executor, so it also covers the executor's destructor (closing the sinks).
  HardStopWatchdog watchdog(job.name);
  engine::Executor ex(job, *compiled.plan, std::move(conn), *clock, eo);
  return ex.run(g_stop);
}
}  // namespace

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int stop_requested() {
  return g_stop.load();
}

std::string default_state_dir() {
  if (const char* v = std::getenv("WEIR_STATE_DIR"); v && *v) return v;
  if (const char* v = std::getenv("STATE_DIRECTORY"); v && *v) return v;
  if (geteuid() == 0) return "/var/lib/weir";
  if (const char* v = std::getenv("XDG_STATE_HOME"); v && *v) return std::string(v) + "/weir";
  if (const char* v = std::getenv("HOME"); v && *v) return std::string(v) + "/.local/state/weir";
  return ".weir-state";
}

void register_run(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<RunOptions>();
  auto* run = app.add_subcommand("run", "Run one job in the foreground");
  run->add_option("job", opts->file, "Job file (YAML)")->required();
  run->add_flag("--reset-state", opts->reset_state, "Discard the job's checkpoint and start fresh");
  run->add_option("--state-dir", opts->state_dir,
                  "Directory for checkpoints (default: " + default_state_dir() + ")");
  run->add_option("--log-level", opts->log_level, "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  run->add_option("--log-format", opts->log_format, "text|json")->capture_default_str();
  run->add_option("--workers", opts->workers,
                  "Record-path threads: the batch loop and N-1 parse threads; overrides the job's `workers`")
      ->check(CLI::Range(1, 64));
  run->callback([opts, &exit_code] {
    if (opts->state_dir.empty()) opts->state_dir = default_state_dir();
    exit_code = run_job(*opts);
  });
}

}  // namespace weir::cmd
