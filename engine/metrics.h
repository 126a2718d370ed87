// Counters a running job keeps; read by the periodic status log and the metrics endpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace weir::engine {

struct OutputMetrics {
  std::string name;
  std::atomic<uint64_t> records{0};  // records that passed `where` (after explode: elements)
  std::atomic<uint64_t> bad{0};      // records this output could not evaluate
  std::atomic<uint64_t> late{0};     // event time: records whose windows were all closed
  std::atomic<uint64_t> rows{0};     // rows written to the sinks
  std::atomic<uint64_t> sink_retries{0};
  std::atomic<uint64_t> state_groups{0};
  std::atomic<uint64_t> state_bytes{0};
};

struct JobMetrics {
  std::atomic<uint64_t> records_in{0};  // records read from the source
  std::atomic<uint64_t> bad{0};         // records that did not decode (all outputs) or failed in any output
  std::atomic<uint64_t> late{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<int64_t> last_batch_duration_us{0};
  std::atomic<int64_t> last_batch_end_ms{0};  // window end of the last committed batch
  std::atomic<int64_t> last_success_ms{0};    // wall time of the last committed batch
  std::atomic<int64_t> watermark_ms{INT64_MIN};
  std::atomic<uint64_t> checkpoint_bytes{0};
  std::atomic<int64_t> checkpoint_duration_us{0};
  std::vector<std::unique_ptr<OutputMetrics>> outputs;
};

}  // namespace weir::engine
