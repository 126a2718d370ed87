// A point-in-time copy of one job's state and counters: what the status log, /metrics and /readyz show.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cmd/daemon/kafka_lag.h"
#include "engine/metrics.h"

namespace weir::daemon {

enum class JobState { Starting, Running, Stopping, Stopped, Finished, Failed };
const char* to_string(JobState s);
constexpr std::array<JobState, 6> kAllJobStates = {JobState::Starting, JobState::Running,  JobState::Stopping,
                                                   JobState::Stopped,  JobState::Finished, JobState::Failed};

struct OutputSample {
  std::string name;
  uint64_t records = 0, bad = 0, late = 0, rows = 0, sink_retries = 0, state_groups = 0, state_bytes = 0;
  uint64_t row_errors = 0;  // having / Kafka key failures over result rows
};

struct JobSample {
  std::string job;
  std::string file;
  JobState state = JobState::Starting;
  std::string error;  // why it failed
  uint64_t reloads = 0;
  uint64_t records_in = 0, bad = 0, late = 0, batches = 0;
  int64_t last_batch_duration_us = 0;
  int64_t last_close_duration_us = 0;
  int64_t last_success_ms = 0;  // 0: no batch closed yet
  int64_t watermark_ms = INT64_MIN;
  uint64_t checkpoint_bytes = 0;
  int64_t checkpoint_duration_us = 0;
  int64_t checkpoint_pause_us = 0;
  std::array<uint64_t, engine::DurationHistogram::kBoundsUs.size() + 1> batch_buckets{};
  uint64_t batch_count = 0;
  int64_t batch_sum_us = 0;
  std::vector<OutputSample> outputs;
  std::vector<PartitionLag> lag;  // Kafka jobs: per partition, as of the last probe (every 2 s)
  int64_t total_lag() const {
    int64_t n = 0;
    for (const auto& l : lag) n += l.lag;
    return n;
  }
  uint64_t rows() const {
    uint64_t n = 0;
    for (const auto& o : outputs) n += o.rows;
    return n;
  }
};

// A job file that runs no job, or whose newest version was not applied: invalid, a duplicate job name, or
// an edit that does not fit the checkpointed state.
struct FileProblem {
  std::string file;
  std::string job;           // the job it defines, when known
  std::string problem;       // one line
  bool job_running = false;  // an older version of the file's job still runs
};

// Copies the counters of a running job (atomics, relaxed).
void fill_sample(const engine::JobMetrics& m, JobSample& out);

// Adds the counters (records, bad, late, batches, the batch histogram, and per output of the same name:
// records, bad, late, rows, sink retries) of `from` to `into`; gauges are left alone. The supervisor keeps
// the counts of a job's earlier runs this way, so that its counters do not drop back to zero on a reload.
void add_counters(JobSample& into, const JobSample& from);

}  // namespace weir::daemon
