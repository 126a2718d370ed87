// One job of the daemon: its definition, compiled plan, connectors and executor, run in a thread of its own.
// Whatever the job does (a failed sink, a checkpoint refusal, an exception) ends in this job's state; it
// never reaches the daemon or another job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cmd/daemon/kafka_lag.h"
#include "cmd/daemon/sample.h"
#include "config/job.h"
#include "engine/clock.h"
#include "engine/executor.h"
#include "engine/plan.h"

namespace weir::daemon {

class JobRunner {
 public:
  // `job` must be valid and compile (the supervisor checked). `checkpoint_dir` is where its state lives.
  // `on_end` is called from the job's thread when the job ends for any reason (keep it short).
  JobRunner(config::Job job, std::string checkpoint_dir, std::function<void()> on_end);
  ~JobRunner();  // stops the job now (StopFlag 2) if it still runs, and joins its thread
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();
  // 1: stop gracefully (the batch in flight commits and checkpoints); 2: stop now.
  void request_stop(int level);
  // Waits until the job's thread has ended or `timeout` passed; true when it has ended.
  bool wait(std::chrono::milliseconds timeout);
  void join();

  const config::Job& job() const { return job_; }
  const std::string& name() const { return job_.name; }
  const std::string& file() const { return job_.file; }
  const std::string& checkpoint_dir() const { return checkpoint_dir_; }
  JobState state() const { return state_.load(); }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }
  bool ended() const;
  std::string error() const;

  // The job's counters now (zeros before its executor exists). Safe from any thread.
  JobSample sample() const;

 private:
  void body();
  void finish(JobState s, std::string error);
  // Kafka jobs: asks the brokers for the consumer lag every few seconds until the job ends.
  void lag_loop();

  config::Job job_;
  std::string checkpoint_dir_;
  std::function<void()> on_end_;
  std::optional<engine::JobPlan> plan_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<engine::Executor> executor_;
  std::atomic<engine::Executor*> exec_view_{nullptr};  // what sample() reads; set once the executor exists
  engine::StopFlag stop_{0};
  std::atomic<JobState> state_{JobState::Starting};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool ended_ = false;
  std::string error_;
  std::thread thread_;
  std::unique_ptr<KafkaLagProbe> lag_probe_;
  std::vector<PartitionLag> lag_;  // guarded by mu_
  std::thread lag_thread_;
  std::chrono::steady_clock::time_point started_at_{std::chrono::steady_clock::now()};
};

}  // namespace weir::daemon
