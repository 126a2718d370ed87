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
// Rebalances (docs/delivery.md): a revocation is not applied inside the rebalance callback. poll()
// returns at once and take_rebalanced() reports true; the engine ends the batch in flight (sinks,
// checkpoint, committed(), which then commits the group offsets synchronously) and polls again, which
// hands the partitions back. Their new owner thus starts exactly after the records this member counted.
// A partition assigned for the first time in this run starts at its checkpoint position (recovery),
// else at the group offset / `start`; one this member held before (revoked or lost) starts at the
// larger of where this member stopped and the group offset (another member may have gone further).
// Lost partitions (session timeout) are dropped at once: their records since the last commit may be
// read again by their new owner (at-least-once).
//
// Retained positions: positions() also holds every partition this member has read and no longer owns
// (revoked or lost), with aux = kNotAssigned, and the checkpoint positions of partitions not assigned yet
// in this run (kNotAssignedYet, or kNotAssigned as they were). A lost partition's group offset lags
// exactly by the commit that failed, so without them a checkpoint taken while it is unassigned would send
// a restart back to that offset and count its records again. On restart, a position taken while assigned
// is recovery (the checkpoint, never the group offset); one marked kNotAssigned starts at the larger of it
// and the group offset, as if the run had gone on. A checkpoint position that the first assignment of a
// run does not include is kept, marked kNotAssigned.
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

// Position::aux of a partition this member did not own when the positions were taken (0: assigned).
// kNotAssigned: where this member stopped reading it (revoked or lost). kNotAssignedYet: a checkpoint
// position of a partition assigned when that checkpoint was taken, not assigned again yet in this run (a
// recovery position still). Neither is ever committed as a group offset: another member may own it.
inline constexpr int64_t kNotAssigned = 1;
inline constexpr int64_t kNotAssignedYet = 2;

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
  void keepalive() override;
  bool bounded() const override { return false; }
  size_t streams() const override { return next_stream_; }
  bool replayable() const override { return true; }
  Status last_error() const override { return last_error_; }
  void close() override;

  // True once when partitions are being revoked: commit what was delivered, then poll() again.
  bool take_rebalanced() override;
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
    int64_t next = -1;    // next offset after the last delivered record; -1: none delivered
    bool held = false;    // assigned to this member before in this run
    bool reseek = false;  // keepalive() consumed past `next`: seek back to it on resume()
  };
  // Hands one consumed message to `h`; false for errors and messages of revoked partitions.
  bool deliver(RecordHandler& h, rd_kafka_message_t* m);
  Part& part(const std::string& topic, int32_t partition);
  Part* part_for(const rd_kafka_message_t* m);
  void assign(rd_kafka_topic_partition_list_t* parts);
  void revoke(rd_kafka_topic_partition_list_t* parts, bool lost);
  // Applies a revocation the engine has committed for (or one that cannot wait).
  void apply_revoke(rd_kafka_topic_partition_list_t* parts, bool lost);
  void apply_pending_revoke();
  // Whether the group uses the cooperative protocol (incremental assign/unassign).
  bool cooperative();

  config::KafkaSource cfg_;
  std::string job_;
  std::string what_;  // "job X: Kafka source" for log lines
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer queue (messages, rebalances, errors)
  static constexpr size_t kConsumeBatch = 1024;
  std::vector<rd_kafka_message_t*> msgs_ = std::vector<rd_kafka_message_t*>(kConsumeBatch);
  std::map<std::pair<std::string, int32_t>, Part> parts_;
  struct Resume {
    int64_t offset = 0;
    bool not_assigned = false;  // the checkpoint had it as kNotAssigned (or the run's first assignment
                                // did not include it)
  };
  std::map<std::string, Resume> resume_;  // "topic/partition" -> checkpoint position (from open)
  bool assigned_once_ = false;            // an assignment has arrived in this run
  // A revocation waiting for the engine to commit the batch in flight (see take_rebalanced()).
  rd_kafka_topic_partition_list_t* pending_revoke_ = nullptr;
  bool closing_ = false;
  bool cooperative_ = false;  // the rebalance protocol last reported (see cooperative())
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
