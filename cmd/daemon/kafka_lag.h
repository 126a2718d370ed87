// Consumer lag of a Kafka job, per partition: the partition's high watermark minus the offset the job last
// committed (a checkpoint every sink has). Asks the brokers through a client handle of its own, so the job's
// consumer is never touched from another thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/job.h"
#include "engine/metrics.h"

namespace weir::daemon {

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t lag = 0;
};

class KafkaLagProbe {
 public:
  // nullptr when the job does not read Kafka, or (with `error`) when no client can be made.
  static std::unique_ptr<KafkaLagProbe> create(const config::Job& job, std::string& error);
  ~KafkaLagProbe();
  KafkaLagProbe(const KafkaLagProbe&) = delete;
  KafkaLagProbe& operator=(const KafkaLagProbe&) = delete;

  // The lag of each "topic/partition" in `committed`. At the first partition whose watermark cannot be read
  // within `timeout_ms` it stops and returns what it has (`error` says why).
  std::vector<PartitionLag> lag(const engine::CommittedPositions::List& committed, int timeout_ms,
                                std::string& error);

 private:
  KafkaLagProbe() = default;
  void* rk_ = nullptr;  // rd_kafka_t*
};

}  // namespace weir::daemon
