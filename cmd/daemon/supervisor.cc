#include "cmd/daemon/supervisor.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "config/load.h"
#include "engine/checkpoint.h"
#include "engine/log.h"
#include "engine/plan.h"

namespace weir::daemon {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("daemon");
  return l;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool alive(const std::shared_ptr<JobRunner>& r) {
  return r && !r->ended();
}

// What a scan of the jobs directory found: path -> content (nullopt when the file cannot be read).
using Scan = std::map<std::string, std::optional<std::string>>;

bool scan_dir(const std::string& dir, Scan& out, std::string& err) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    err = std::strerror(errno);
    return false;
  }
  while (dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (!is_job_file_name(name)) continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // dangling link, directory
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) {
      out[path] = std::nullopt;
      continue;
    }
    out[path] = ss.str();
  }
  ::closedir(d);
  return true;
}

std::string fmt_count(uint64_t n) {
  return fmt::format("{}", n);
}

}  // namespace

bool is_job_file_name(const std::string& name) {
  if (name.empty() || name[0] == '.' || name[0] == '#') return false;
  return ends_with(name, ".yaml") || ends_with(name, ".yml");
}

std::vector<std::string> state_changes(const config::Job& old_job, const config::Job& new_job) {
  if (checkpoint::job_fingerprint(old_job) != checkpoint::job_fingerprint(new_job)) return {"*"};
  std::vector<std::string> changed;
  for (const auto& o : new_job.outputs) {
    for (const auto& p : old_job.outputs) {
      if (p.name != o.name) continue;
      if (checkpoint::output_fingerprint(old_job, p) != checkpoint::output_fingerprint(new_job, o)) {
        changed.push_back(o.name);
      }
    }
  }
  return changed;
}

Supervisor::Supervisor(SupervisorOptions opts, std::function<void()> wake, std::function<void()> tick,
                       std::function<bool()> force_now)
    : opts_(std::move(opts)),
      wake_(std::move(wake)),
      tick_(std::move(tick)),
      force_now_(std::move(force_now)) {}

Supervisor::~Supervisor() {
  stop_all();
}

std::string Supervisor::checkpoint_dir_for(const config::Job& job) const {
  return job.checkpoint.dir.empty() ? opts_.state_dir + "/" + job.name : job.checkpoint.dir;
}

const Supervisor::Entry* Supervisor::running_elsewhere(const Entry& self, const std::string& job,
                                                       const std::string& ckdir) const {
  for (const auto& [path, e] : entries_) {
    if (&e == &self || !e.runner) continue;
    // A failed or finished job still owns its name and state until its file changes or goes away.
    if (e.runner->name() == job || e.runner->checkpoint_dir() == ckdir) return &e;
  }
  return nullptr;
}

bool Supervisor::rescan(bool retry_failed) {
  Scan scan;
  std::string err;
  if (!scan_dir(opts_.jobs_dir, scan, err)) {
    logger()->error("Cannot read the jobs directory {}: {}; the running jobs keep running as they are.",
                    opts_.jobs_dir, err);
    return false;
  }
  // Removed files first, so that their job names are free for the files that remain.
  std::vector<std::string> gone;
  for (const auto& [path, e] : entries_) {
    if (!scan.count(path)) gone.push_back(path);
  }
  for (const auto& path : gone) {
    Entry& e = entries_[path];
    if (e.runner) stop_job(e, fmt::format("its file {} was removed", path));
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(path);
  }
  for (const auto& [path, content] : scan) {
    Entry* e = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto [it, inserted] = entries_.try_emplace(path);
      it->second.path = path;
      e = &it->second;
    }
    if (!content) {
      if (e->content) {
        logger()->error("Cannot read job file {}; {}.", path,
                        e->runner ? "its job keeps running as it was" : "no job runs from it");
      }
      std::lock_guard<std::mutex> lock(mu_);
      e->content = std::nullopt;
      e->problem = "the file cannot be read";
      continue;
    }
    if (e->content && *e->content == *content) {
      bool failed = e->runner && e->runner->state() == JobState::Failed;
      if (e->duplicate || (retry_failed && failed)) apply(*e, *content);
      continue;
    }
    apply(*e, *content);
  }
  return true;
}

void Supervisor::refuse(Entry& e, const std::string& content, std::string problem, std::string job,
                        bool duplicate) {
  std::lock_guard<std::mutex> lock(mu_);
  e.content = content;
  e.problem = std::move(problem);
  e.problem_job = std::move(job);
  e.duplicate = duplicate;
}

void Supervisor::apply(Entry& e, const std::string& content) {
  auto log = logger();
  const bool was_duplicate = e.duplicate && e.content && *e.content == content;
  config::LoadResult loaded = config::load_job_text(content, e.path);
  std::vector<std::string> errors;
  for (const auto& d : loaded.errors) errors.push_back(d.format());
  std::optional<engine::CompileResult> compiled;
  if (loaded.ok()) {
    compiled = engine::compile(*loaded.job);
    for (const auto& m : compiled->errors) errors.push_back(e.path + ": " + m);
    if (!compiled->plan && compiled->errors.empty()) errors.push_back(e.path + ": the job does not compile");
  }
  if (!errors.empty()) {
    for (const auto& line : errors) log->error("{}", line);
    std::string job = loaded.job ? loaded.job->name : "";
    if (alive(e.runner)) {
      log->error("Job file {} has {} problem(s) (above); job '{}' keeps running its previous version.",
                 e.path, errors.size(), e.runner->name());
    } else {
      log->error("Job file {} has {} problem(s) (above); no job runs from it until it is fixed.", e.path,
                 errors.size());
    }
    refuse(e, content, fmt::format("{} problem(s), first: {}", errors.size(), errors.front()), job, false);
    return;
  }
  config::Job job = std::move(*loaded.job);
  const std::string ckdir = checkpoint_dir_for(job);
  if (const Entry* other = running_elsewhere(e, job.name, ckdir)) {
    std::string what = other->runner->name() == job.name
                           ? fmt::format("job '{}', which {} already runs", job.name, other->path)
                           : fmt::format("checkpoint directory {}, which job '{}' of {} already uses", ckdir,
                                         other->runner->name(), other->path);
    if (!was_duplicate) {
      log->error(
          "Job file {} is refused: it defines {}. Each job needs its own name (the `job:` key, default: the "
          "file name) and checkpoint directory; change one of the files.{}",
          e.path, what,
          alive(e.runner) ? fmt::format(" Job '{}' keeps running its previous version.", e.runner->name())
                          : "");
    }
    refuse(e, content, "refused: it defines " + what, job.name, true);
    return;
  }
  if (alive(e.runner) && e.runner->checkpoint_dir() == ckdir) {
    std::vector<std::string> changed = state_changes(e.runner->job(), job);
    if (!changed.empty()) {
      std::string what = changed.front() == "*"
                             ? std::string("its source, declared fields, time or batch")
                             : fmt::format("where/explode/select/group_by/window/aggregate of output(s) {}",
                                           fmt::join(changed, ", "));
      log->error(
          "The edit of {} changes {}, so job '{}''s checkpointed state would no longer fit; the previous "
          "version keeps running. To apply the edit, rename the changed output(s) (they start empty), set a "
          "new checkpoint.dir, or remove the file, delete {} and add the file again (the state is lost).",
          e.path, what, job.name, ckdir);
      refuse(e, content, "not applied: the edit changes " + what, job.name, false);
      return;
    }
  }
  std::string reason;
  if (e.runner) {
    JobState before = e.runner->state();
    reason = before == JobState::Failed           ? "restarted after a failure"
             : e.content && *e.content == content ? "restarted"
                                                  : "reloaded: its file changed";
    stop_job(e, "its file changed");
    std::lock_guard<std::mutex> lock(mu_);
    ++e.reloads;
  } else {
    reason = was_duplicate ? "started: the job name is free now" : "started";
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    e.content = content;
    e.problem.clear();
    e.problem_job.clear();
    e.duplicate = false;
  }
  start_job(e, std::move(job), reason);
}

void Supervisor::start_job(Entry& e, config::Job job, const std::string& reason) {
  std::string ckdir = checkpoint_dir_for(job);
  auto runner = std::make_shared<JobRunner>(std::move(job), ckdir, wake_);
  logger()->info("Job '{}' {} ({}; {} output(s); checkpoints in {}).", runner->name(), reason, e.path,
                 runner->job().outputs.size(), ckdir);
  {
    std::lock_guard<std::mutex> lock(mu_);
    e.runner = runner;
    e.end_reported = false;
  }
  runner->start();
}

void Supervisor::stop_job(Entry& e, const std::string& reason) {
  std::shared_ptr<JobRunner> r = e.runner;
  if (!r) return;
  if (!r->ended()) {
    stop_runner(r, reason);
  } else {
    r->join();
  }
  e.end_reported = true;
  JobSample last = r->sample();
  std::lock_guard<std::mutex> lock(mu_);
  if (e.carry.job != last.job) e.carry = JobSample{};
  std::string job = last.job;
  add_counters(e.carry, last);
  e.carry.job = job;
  e.runner.reset();
}

void Supervisor::stop_runner(const std::shared_ptr<JobRunner>& r, const std::string& reason) {
  auto log = logger();
  log->info("Stopping job '{}': {}.", r->name(), reason);
  r->request_stop(1);
  auto deadline = std::chrono::steady_clock::now() + opts_.stop_timeout;
  while (!r->wait(std::chrono::milliseconds(200))) {
    if (tick_) tick_();
    if (std::chrono::steady_clock::now() >= deadline || (force_now_ && force_now_())) break;
  }
  if (!r->ended()) {
    log->warn(
        "Job '{}' did not stop within {} ms; stopping it now (its batch in flight is not committed and is "
        "read again from the checkpoint when the job starts).",
        r->name(), opts_.stop_timeout.count());
    r->request_stop(2);
    while (!r->wait(std::chrono::milliseconds(200))) {
      if (tick_) tick_();
    }
  }
  r->join();
  JobSample s = r->sample();
  if (s.state == JobState::Failed) {
    log->warn("Job '{}' stopped ({}) with an error: {}", s.job, reason, s.error);
  } else {
    log->info("Job '{}' stopped ({}): {} records read, {} bad, {} late, {} rows written.", s.job, reason,
              s.records_in, s.bad, s.late, s.rows());
  }
}

bool Supervisor::stop_all() {
  std::vector<std::shared_ptr<JobRunner>> live;
  for (auto& [path, e] : entries_) {
    if (alive(e.runner)) live.push_back(e.runner);
  }
  if (live.empty()) return true;
  auto log = logger();
  log->info("Stopping {} job(s) (each commits its batch in flight and writes a checkpoint; at most {} ms).",
            live.size(), opts_.stop_timeout.count());
  for (auto& r : live) r->request_stop(1);
  auto all_ended = [&] {
    return std::all_of(live.begin(), live.end(), [](const auto& r) { return r->ended(); });
  };
  auto deadline = std::chrono::steady_clock::now() + opts_.stop_timeout;
  while (!all_ended()) {
    live.front()->wait(std::chrono::milliseconds(100));
    if (tick_) tick_();
    if (std::chrono::steady_clock::now() >= deadline || (force_now_ && force_now_())) break;
  }
  bool ok = true;
  if (!all_ended()) {
    for (auto& r : live) {
      if (r->ended()) continue;
      log->warn("Job '{}' did not stop in time; stopping it now (its batch in flight is not committed).",
                r->name());
      r->request_stop(2);
    }
    // A second stop signal asks for an exit at once: a job blocked on a hung disk is given up on sooner.
    auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(force_now_ && force_now_() ? 3 : 10);
    while (!all_ended() && std::chrono::steady_clock::now() < hard) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (tick_) tick_();
    }
    ok = all_ended();
  }
  for (auto& [path, e] : entries_) {
    if (!e.runner || !e.runner->ended()) continue;
    e.runner->join();
    if (e.end_reported) continue;
    e.end_reported = true;
    JobSample s = e.runner->sample();
    if (s.state == JobState::Failed) {
      log->warn("Job '{}' stopped (shutdown) with an error: {}", s.job, s.error);
    } else {
      log->info("Job '{}' stopped (shutdown): {} records read, {} bad, {} late, {} rows written.", s.job,
                s.records_in, s.bad, s.late, s.rows());
    }
  }
  if (!ok) {
    for (auto& r : live) {
      if (!r->ended()) log->error("Job '{}' does not stop even when forced; giving up on it.", r->name());
    }
  }
  return ok;
}

void Supervisor::collect_ended() {
  auto log = logger();
  for (auto& [path, e] : entries_) {
    if (!e.runner || e.end_reported || !e.runner->ended()) continue;
    e.end_reported = true;
    e.runner->join();
    JobSample s = e.runner->sample();
    if (s.state == JobState::Failed) {
      log->error(
          "Job '{}' failed: {}. It stays stopped until {} changes (or the daemon gets SIGHUP); the other "
          "jobs "
          "go on.",
          s.job, s.error, path);
    } else if (s.state == JobState::Finished) {
      log->info("Job '{}' finished: its input ended after {} records ({} bad, {} late, {} rows written).",
                s.job, s.records_in, s.bad, s.late, s.rows());
    }
  }
}

void Supervisor::log_status(std::chrono::milliseconds interval) {
  auto log = logger();
  double secs = std::max(0.001, interval.count() / 1000.0);
  for (auto& [path, e] : entries_) {
    if (e.runner) {
      JobSample s = sample_of(e);
      uint64_t base = s.records_in >= e.rate_records ? e.rate_records : 0;
      double rate = (s.records_in - base) / secs;
      e.rate_records = s.records_in;
      if (s.state == JobState::Failed) {
        log->warn("Job '{}' is failed: {}. Fix {} to restart it.", s.job, s.error, path);
      } else {
        std::string lag = s.lag.empty() ? std::string()
                                        : fmt::format(", lag {} message(s) over {} partition(s)",
                                                      s.total_lag(), s.lag.size());
        std::string batches =
            s.batches == 0
                ? std::string("no batch committed yet")
                : fmt::format("{} batches, the last one closed in {:.1f} ms (windows, sinks, checkpoint)",
                              s.batches, s.last_close_duration_us / 1000.0);
        log->info("Job '{}' {}: {} records ({:.1f}/s), {} bad, {} late{}, {}, {} rows written.", s.job,
                  to_string(s.state), fmt_count(s.records_in), rate, s.bad, s.late, lag, batches,
                  fmt_count(s.rows()));
      }
    }
    if (!e.problem.empty() && !e.runner) {
      log->warn("Job file {} runs no job: {}.", path, e.problem);
    } else if (!e.problem.empty()) {
      log->warn("Job file {}: its newest version is not applied ({}); job '{}' runs the previous one.", path,
                e.problem, e.runner->name());
    }
  }
  if (entries_.empty()) log->info("No job files in {}.", opts_.jobs_dir);
}

JobSample Supervisor::sample_of(const Entry& e) const {
  JobSample s = e.runner->sample();
  if (e.carry.job == s.job) add_counters(s, e.carry);
  s.reloads = e.reloads;
  return s;
}

std::vector<JobSample> Supervisor::samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobSample> out;
  for (const auto& [path, e] : entries_) {
    if (!e.runner) continue;
    out.push_back(sample_of(e));
  }
  return out;
}

std::vector<FileProblem> Supervisor::problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FileProblem> out;
  for (const auto& [path, e] : entries_) {
    if (e.problem.empty()) continue;
    FileProblem p;
    p.file = path;
    p.job = e.problem_job;
    p.problem = e.problem;
    p.job_running = alive(e.runner);
    out.push_back(std::move(p));
  }
  return out;
}

int64_t Supervisor::stalled_for_ms(const JobRunner& r) const {
  using namespace std::chrono;
  JobSample s = r.sample();
  int64_t limit = std::max<int64_t>(opts_.stall_after.count(), 5 * r.job().batch_ms);
  int64_t since_ms;
  if (s.last_success_ms > 0) {
    int64_t now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    since_ms = now - s.last_success_ms;
  } else {
    since_ms = duration_cast<milliseconds>(steady_clock::now() - r.started_at()).count();
  }
  return since_ms > limit ? since_ms : 0;
}

Readiness Supervisor::readiness() const {
  Readiness r;
  std::vector<std::string> bad, fine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [path, e] : entries_) {
      if (e.runner) {
        JobState st = e.runner->state();
        std::string line = fmt::format("job '{}' ({}): {}", e.runner->name(), path, to_string(st));
        int64_t stalled_ms = st == JobState::Running ? stalled_for_ms(*e.runner) : 0;
        if (st == JobState::Failed) {
          bad.push_back(line + ": " + e.runner->error());
        } else if (stalled_ms > 0) {
          bad.push_back(fmt::format(
              "{}, but no batch committed for {:.0f} s (a sink or the source cannot be reached? see the log)",
              line, stalled_ms / 1000.0));
        } else {
          fine.push_back(line);
        }
      }
      if (!e.problem.empty()) {
        std::string line = fmt::format("file {}: {}", path, e.problem);
        if (e.runner) {
          fine.push_back(line + " (the previous version runs)");
        } else {
          bad.push_back(line);
        }
      }
    }
  }
  r.ready = bad.empty();
  r.text = r.ready ? fmt::format("ready: {} job(s)\n", fine.size())
                   : fmt::format("not ready: {} problem(s)\n", bad.size());
  for (const auto& l : bad) r.text += l + "\n";
  for (const auto& l : fine) r.text += l + "\n";
  return r;
}

std::string Supervisor::summary() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t running = 0, failed = 0, other = 0, refused = 0;
  for (const auto& [path, e] : entries_) {
    if (!e.problem.empty() && !e.runner) ++refused;
    if (!e.runner) continue;
    JobState st = e.runner->state();
    if (st == JobState::Running || st == JobState::Starting) {
      ++running;
    } else if (st == JobState::Failed) {
      ++failed;
    } else {
      ++other;
    }
  }
  std::string s = fmt::format("{} job(s) running", running);
  if (failed) s += fmt::format(", {} failed", failed);
  if (other) s += fmt::format(", {} finished or stopped", other);
  if (refused) s += fmt::format(", {} job file(s) refused", refused);
  return s;
}

}  // namespace weir::daemon
