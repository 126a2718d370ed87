// Kafka sink (spec §7) and Kafka dead-letter sink (spec §8).
//
// KafkaSink produces each row of a batch as one JSON object (column name -> value; times as RFC 3339
// strings). The engine evaluates the `key` expression: it gives the sink the index of the column
// that holds the key (`key_column`; a null key value -> a message without key; strings are used as
// they are, other values in their display form) and may mark columns to leave out of the JSON
// (`omit[i]` true: column i is not written, e.g. a hidden key column the engine appended).
//
// write() returns Ok only when every message of the batch is acknowledged (acks=all, idempotent
// producer). Failures: retryable (timeouts, brokers down; writing the batch again may duplicate
// messages: at-least-once) or fatal (message too large, authorization, fenced producer, ...).
//
// exactly_once: a transactional producer with transactional.id weir-<job>-<output>; each batch is
// one transaction. When `consumer_group` is given, the batch's source positions are sent to the
// transaction as that group's offsets (Kafka -> Kafka). An abortable error aborts the transaction
// and returns retryable; a fatal or fencing error returns fatal. Every message of the transaction carries
// the header `weir-batch: <job>/<output>:<batch id>`. open() (after init_transactions has aborted whatever
// transaction a crashed run left open) reads the committed tail of each partition of the topic with a
// read_committed consumer and takes the largest such id as committed_batch(), so that after a crash the
// engine does not write a batch again whose transaction had committed (DELIVERY.md step 4).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/kafka/kafka_producer.h"
#include "connectors/sink.h"

namespace weir::kafka {

class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(config::KafkaSink cfg, std::optional<int> key_column = std::nullopt,
                     std::vector<bool> omit = {}, std::optional<std::string> consumer_group = std::nullopt);
  ~KafkaSink() override;

  Status open(const SinkContext& ctx) override;
  Status write(const BatchOutput& batch) override;
  bool exactly_once() const override { return cfg_.exactly_once; }
  uint64_t committed_batch() override { return committed_; }
  void close() override;

  static constexpr const char* kBatchHeader = "weir-batch";

  // The JSON text written for one row (exposed for tests).
  void encode_row(const Row& row, std::string& out) const;

  static constexpr int kTxnTimeoutMs = 30000;

 private:
  Status produce_all(const BatchOutput& batch);
  Status write_transaction(const BatchOutput& batch);
  Status txn_error(rd_kafka_error_t* error, const char* step);
  Status read_committed_batch(const std::string& job);

  config::KafkaSink cfg_;
  std::optional<int> key_column_;
  std::vector<bool> omit_;
  std::optional<std::string> group_;
  std::vector<std::string> names_;  // column names as JSON string literals with the trailing ':'
  std::string what_;
  std::unique_ptr<Producer> producer_;
  std::string buf_, key_;
  std::string batch_tag_;     // "<job>/<output>:" (exactly_once)
  std::string header_value_;  // batch_tag_ + the id of the batch being written
  uint64_t committed_ = 0;    // exactly_once: the last batch whose transaction committed
};

// Dead-letter entries to a Kafka topic (on_error.dead_letter: { kafka: {...} }).
class KafkaDeadLetterSink final : public DeadLetterSink {
 public:
  explicit KafkaDeadLetterSink(config::KafkaSink cfg) : cfg_(std::move(cfg)) {}
  Status open(const std::string& job) override;
  Status write(const std::string& entry_json) override;
  Status flush() override;
  void close() override;
  size_t max_entry_bytes() const override { return max_entry_; }

 private:
  config::KafkaSink cfg_;
  std::unique_ptr<Producer> producer_;
  size_t max_entry_ = SIZE_MAX;  // from the producer's message.max.bytes, once open
};

}  // namespace weir::kafka
