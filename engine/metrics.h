// Counters a running job keeps; read by the periodic status log and the metrics endpoint.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "connectors/source.h"

namespace weir::engine {

// Durations in fixed buckets, lock-free (one relaxed add per observation); read by the metrics endpoint as a
// Prometheus histogram. Counts are per bucket (not cumulative); the last bucket is +Inf.
struct DurationHistogram {
  static constexpr std::array<int64_t, 14> kBoundsUs = {
      1'000,   5'000,     10'000,    25'000,    50'000,     100'000,    250'000,
      500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000};
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> buckets{};
  std::atomic<uint64_t> count{0};
  std::atomic<int64_t> sum_us{0};

  void observe_us(int64_t us) {
    if (us < 0) us = 0;
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    sum_us.fetch_add(us, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
  }

  // Observes the time from its construction to its destruction: `DurationHistogram::Timer t(h);`.
  class Timer {
   public:
    explicit Timer(DurationHistogram& h) : h_(h), t0_(std::chrono::steady_clock::now()) {}
    ~Timer() {
      h_.observe_us(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0_)
              .count());
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

   private:
    DurationHistogram& h_;
    std::chrono::steady_clock::time_point t0_;
  };
};

struct OutputMetrics {
  std::string name;
  std::atomic<uint64_t> records{0};     // records that passed `where` (after explode: elements)
  std::atomic<uint64_t> bad{0};         // records this output could not evaluate
  std::atomic<uint64_t> late{0};        // event time: records whose windows were all closed
  std::atomic<uint64_t> rows{0};        // rows written to the sinks
  std::atomic<uint64_t> row_errors{0};  // result rows whose having or Kafka key expression failed
  std::atomic<uint64_t> sink_retries{0};
  std::atomic<uint64_t> state_groups{0};
  std::atomic<uint64_t> state_bytes{0};
};

// The source positions of the last batch every sink committed, for consumer lag (aux as the source sets it:
// a Kafka partition the job does not own is kafka::kNotAssigned or kNotAssignedYet). Written once per
// checkpoint by the job's thread; read by the daemon.
class CommittedPositions {
 public:
  using List = Positions;
  void set(List p) {
    std::lock_guard<std::mutex> lock(mu_);
    positions_ = std::move(p);
  }
  List get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return positions_;
  }

 private:
  mutable std::mutex mu_;
  List positions_;
};

struct JobMetrics {
  std::atomic<uint64_t> records_in{0};  // records read from the source
  std::atomic<uint64_t> bad{0};         // records that did not decode (all outputs) or failed in any output
  std::atomic<uint64_t> late{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<int64_t> last_batch_duration_us{0};  // wall time of the last batch, reading included
  std::atomic<int64_t> last_close_duration_us{0};  // of that, closing it: windows, sinks, checkpoint
  std::atomic<int64_t> last_batch_end_ms{0};       // window end of the last committed batch
  std::atomic<int64_t> last_success_ms{0};  // wall time of the last batch closed (checkpoint handed over)
  std::atomic<int64_t> watermark_ms{INT64_MIN};
  std::atomic<uint64_t> checkpoint_bytes{0};
  std::atomic<int64_t> checkpoint_duration_us{0};  // writing the last checkpoint, on the writer thread
  std::atomic<int64_t> checkpoint_pause_us{0};     // the batch loop's pause for it: copying the state
  std::atomic<int64_t> checkpoint_wait_us{0};  // the loop waiting for the previous one at the last checkpoint
  CommittedPositions committed;
  DurationHistogram batch_duration;    // time to close a batch: emit windows, write sinks, checkpoint
  DurationHistogram checkpoint_pause;  // the batch loop's pause per checkpoint (state copy)
  std::vector<std::unique_ptr<OutputMetrics>> outputs;
};

}  // namespace weir::engine
