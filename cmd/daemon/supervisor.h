// The daemon's job table: one entry per job file in the jobs directory. rescan() brings the running jobs in
// line with the files (start new ones, reload edited ones, stop removed ones); everything else reads it.
// All mutating calls come from one thread (the daemon's main loop); the read-only calls (samples(),
// problems(), readiness()) may come from the metrics server's threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cmd/daemon/job_runner.h"
#include "cmd/daemon/sample.h"

namespace weir::daemon {

struct SupervisorOptions {
  std::string jobs_dir;
  std::string state_dir;  // a job's checkpoints go to <state_dir>/<job> unless its file sets checkpoint.dir
  std::chrono::milliseconds stop_timeout{30000};
  // A running job that committed no batch for this long (and 5 batch lengths) makes /readyz answer 503:
  // typically a sink that cannot be reached.
  std::chrono::milliseconds stall_after{10000};
};

struct Readiness {
  bool ready = true;
  std::string text;  // one line per job or file, for people
};

// The outputs whose state an edit from `old_job` to `new_job` makes meaningless (spec §9; "*" when the
// source, declared fields, time or batch changed). Empty when the checkpointed state fits the new version.
std::vector<std::string> state_changes(const config::Job& old_job, const config::Job& new_job);

// Whether a file name in the jobs directory is a job file: *.yaml or *.yml, not hidden, no editor lock.
bool is_job_file_name(const std::string& name);

class Supervisor {
 public:
  // `wake` is called from a job's thread when that job ends; `tick` while the supervisor waits for a job
  // to stop (keep the watchdog fed); `force_now` says whether to stop jobs at once (a second signal).
  Supervisor(SupervisorOptions opts, std::function<void()> wake, std::function<void()> tick,
             std::function<bool()> force_now);
  ~Supervisor();

  // Reads the jobs directory and applies what changed. With `retry_failed`, failed jobs whose file did not
  // change are started again (SIGHUP). Returns false (and changes nothing) when the directory cannot be read.
  bool rescan(bool retry_failed);
  // Logs the jobs that ended by themselves (failed, or finished their bounded input) since the last call.
  void collect_ended();
  // One line per job: state, records and records/s over `interval`, bad, late, last batch, rows written.
  void log_status(std::chrono::milliseconds interval);
  // Stops every job: gracefully, then forcibly after stop_timeout (or at once when force_now() says so).
  // Returns false when some job did not end even when forced.
  bool stop_all();

  std::vector<JobSample> samples() const;
  std::vector<FileProblem> problems() const;
  Readiness readiness() const;
  // A short summary for systemd's STATUS=, e.g. "3 jobs running, 1 failed".
  std::string summary() const;

 private:
  struct Entry {
    std::string path;
    std::optional<std::string> content;  // the version last seen (applied or not)
    std::string problem;                 // why that version was not applied; empty when it was
    std::string problem_job;             // the job that version defines, when it loaded
    bool duplicate = false;              // refused for a job name another file runs: retried every rescan
    std::shared_ptr<JobRunner> runner;   // the job this file runs (or ran, when it ended)
    bool end_reported = false;
    uint64_t reloads = 0;
    JobSample carry;            // the counters of this file's earlier runs of job `carry.job`
    uint64_t rate_records = 0;  // records at the last status line, for records/s
  };

  // The runner's sample plus the counters of earlier runs of the same job (call with mu_ held or from the
  // main thread).
  JobSample sample_of(const Entry& e) const;

  void apply(Entry& e, const std::string& content);
  void refuse(Entry& e, const std::string& content, std::string problem, std::string job, bool duplicate);
  void start_job(Entry& e, config::Job job, const std::string& reason);
  void stop_job(Entry& e, const std::string& reason);
  // Stops one runner gracefully, then forcibly; logs the outcome. Does not hold mu_ while waiting.
  void stop_runner(const std::shared_ptr<JobRunner>& r, const std::string& reason);
  std::string checkpoint_dir_for(const config::Job& job) const;
  // How long a running job has gone without committing a batch, when that is longer than allowed; else 0.
  int64_t stalled_for_ms(const JobRunner& r) const;
  const Entry* running_elsewhere(const Entry& self, const std::string& job, const std::string& ckdir) const;

  SupervisorOptions opts_;
  std::function<void()> wake_;
  std::function<void()> tick_;
  std::function<bool()> force_now_;
  mutable std::mutex mu_;  // guards entries_ for the readers on other threads
  std::map<std::string, Entry> entries_;
};

}  // namespace weir::daemon
