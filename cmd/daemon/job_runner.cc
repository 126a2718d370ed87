#include "cmd/daemon/job_runner.h"

#include <exception>

#include "connectors/registry.h"
#include "engine/log.h"

namespace weir::daemon {

JobRunner::JobRunner(config::Job job, std::string checkpoint_dir, std::function<void()> on_end)
    : job_(std::move(job)), checkpoint_dir_(std::move(checkpoint_dir)), on_end_(std::move(on_end)) {}

JobRunner::~JobRunner() {
  if (thread_.joinable()) {
    request_stop(2);
    thread_.join();
  }
  if (lag_thread_.joinable()) lag_thread_.join();
}

void JobRunner::start() {
  thread_ = std::thread([this] { body(); });
}

void JobRunner::request_stop(int level) {
  int prev = stop_.load();
  if (level > prev) stop_.store(level);
  JobState s = state_.load();
  if (s == JobState::Starting || s == JobState::Running)
    state_.compare_exchange_strong(s, JobState::Stopping);
}

bool JobRunner::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return ended_; });
}

void JobRunner::join() {
  if (thread_.joinable()) thread_.join();
  if (lag_thread_.joinable()) lag_thread_.join();
}

void JobRunner::lag_loop() {
  auto log = log::get("daemon");
  std::string last_error;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(2), [this] { return ended_; })) {
    const engine::Executor* ex = exec_view_.load();
    if (ex == nullptr) continue;
    lock.unlock();
    engine::CommittedPositions::List at = const_cast<engine::Executor*>(ex)->metrics().committed.get();
    std::string error;
    std::vector<PartitionLag> lag = lag_probe_->lag(at, 2000, error);
    if (!error.empty() && error != last_error) {
      log->warn("Job '{}': cannot read the Kafka high watermarks for the lag ({}); the lag metrics skip it.",
                job_.name, error);
    }
    last_error = error;
    lock.lock();
    lag_ = std::move(lag);
  }
}

bool JobRunner::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_;
}

std::string JobRunner::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

JobSample JobRunner::sample() const {
  JobSample s;
  s.job = job_.name;
  s.file = job_.file;
  s.state = state_.load();
  if (s.state == JobState::Failed) s.error = error();
  if (const engine::Executor* ex = exec_view_.load()) {
    fill_sample(const_cast<engine::Executor*>(ex)->metrics(), s);
  }
  std::lock_guard<std::mutex> lock(mu_);
  s.lag = lag_;
  return s;
}

void JobRunner::finish(JobState s, std::string error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
    state_.store(s);
    ended_ = true;
  }
  cv_.notify_all();
  if (on_end_) on_end_();
}

// The job thread's boundary: nothing thrown below gets past it.
void JobRunner::body() {
  auto log = log::get("daemon");
  try {
    engine::CompileResult compiled = engine::compile(job_);
    if (!compiled.plan) {
      std::string why = compiled.errors.empty() ? "the job does not compile" : compiled.errors.front();
      return finish(JobState::Failed, why);
    }
    plan_ = std::move(compiled.plan);
    std::string err;
    clock_ = clock_from_env(err);
    if (!clock_) return finish(JobState::Failed, err);
    engine::Connectors conn;
    if (!connectors::build(job_, *plan_, conn, err)) {
      log->error("Job '{}' cannot start: {}", job_.name, err);
      return finish(JobState::Failed, err);
    }
    engine::ExecutorOptions eo;
    eo.checkpoint_dir = checkpoint_dir_;
    executor_ = std::make_unique<engine::Executor>(job_, *plan_, std::move(conn), *clock_, eo);
    exec_view_.store(executor_.get());
    std::string lag_err;
    lag_probe_ = KafkaLagProbe::create(job_, lag_err);
    if (lag_probe_) {
      lag_thread_ = std::thread([this] { lag_loop(); });
    } else if (!lag_err.empty()) {
      log->warn("Job '{}': no consumer lag metrics: {}", job_.name, lag_err);
    }
    JobState expected = JobState::Starting;
    state_.compare_exchange_strong(expected, JobState::Running);
    int rc = executor_->run(stop_);
    if (rc != 0) {
      std::string why = executor_->error().empty() ? "the job failed" : executor_->error();
      return finish(JobState::Failed, why);
    }
    finish(stop_.load() != 0 ? JobState::Stopped : JobState::Finished, "");
  } catch (const std::exception& e) {
    log->error("Job '{}' failed with an unexpected error: {}", job_.name, e.what());
    finish(JobState::Failed, std::string("unexpected error: ") + e.what());
  } catch (...) {
    log->error("Job '{}' failed with an unexpected error of unknown type.", job_.name);
    finish(JobState::Failed, "unexpected error of unknown type");
  }
}

}  // namespace weir::daemon
