// Kafka source (spec §3): a librdkafka high-level consumer in a consumer group.
//
// Delivery contract (DELIVERY.md): offsets are never stored or committed automatically; the engine
// calls committed() once every sink has committed a batch, and recovery starts from the checkpoint's
// positions (open(resume)), never from group offsets when a position exists.
//
// Positions: one entry per partition, stream "topic/partition", offset = next offset to read.
// Stream indices: each partition gets a dense index (0, 1, ...) the first time it is assigned and
// keeps it for the life of the source; streams() is the number of indices handed out so far.
//
// Rebalances: when partitions are revoked their undelivered-to-sinks positions are dropped and
// take_rebalanced() reports true once. Partitions assigned again start at the last position the
// engine passed to committed() (else the resume position, else the group offset / `start`).
// Records delivered after the last committed() of a revoked partition may thus be delivered again
// (to this or another member): an engine that folds state must reload its checkpoint when
// take_rebalanced() returns true.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "config/job.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/source.h"

namespace weir::kafka {

class KafkaSource final : public Source {
 public:
  KafkaSource(config::KafkaSource cfg, std::string job);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  Status open(const Positions* resume) override;
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                  size_t max_records) override;
  Positions positions() const override;
  void committed(const Positions& p) override;
  void pause() override;
  void resume() override;
  bool bounded() const override { return false; }
  size_t streams() const override { return next_stream_; }
  bool replayable() const override { return true; }
  Status last_error() const override { return last_error_; }
  void close() override;

  // True once after partitions were revoked (or lost) since the last call.
  bool take_rebalanced();
  // Partitions currently assigned ("topic/partition"), sorted.
  std::vector<std::string> assignment() const;

  // Internal: called by librdkafka's callbacks (from inside poll()).
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void on_error(int err, const char* reason);
  void on_commit(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets);

 private:
  struct Part {
    std::string topic;
    int32_t partition = -1;
    std::string stream_name;  // "topic/partition"
    uint32_t stream = 0;
    bool assigned = false;
    int64_t next = -1;  // next offset after the last delivered record; -1: none delivered
  };
  Part& part(const std::string& topic, int32_t partition);
  Part* part_for(const rd_kafka_message_t* m);
  void assign(rd_kafka_topic_partition_list_t* parts);
  void revoke(rd_kafka_topic_partition_list_t* parts, bool lost);

  config::KafkaSource cfg_;
  std::string job_;
  std::string what_;  // "job X: Kafka source" for log lines
  rd_kafka_t* rk_ = nullptr;
  std::map<std::pair<std::string, int32_t>, Part> parts_;
  std::map<std::string, int64_t> resume_;          // "topic/partition" -> offset (from open)
  std::map<std::string, int64_t> engine_commits_;  // last positions passed to committed()
  uint32_t next_stream_ = 0;
  // Last partition looked up by message (messages arrive in runs per partition).
  const void* cache_rkt_ = nullptr;
  int32_t cache_partition_ = -1;
  Part* cache_part_ = nullptr;
  bool paused_ = false;
  bool rebalanced_ = false;
  bool fatal_ = false;
  Status last_error_ = Status::ok();
  ErrorLog errors_;
  ErrorLog commit_errors_;
};

}  // namespace weir::kafka
