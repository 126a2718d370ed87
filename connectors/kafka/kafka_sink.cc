#include "connectors/kafka/kafka_sink.h"

#include <cstdlib>

namespace weir::kafka {

KafkaSink::KafkaSink(config::KafkaSink cfg, std::optional<int> key_column, std::vector<bool> omit,
                     std::optional<std::string> consumer_group)
    : cfg_(std::move(cfg)),
      key_column_(key_column),
      omit_(std::move(omit)),
      group_(std::move(consumer_group)) {}

KafkaSink::~KafkaSink() {
  close();
}

Status KafkaSink::open(const SinkContext& ctx) {
  what_ = fmt::format("job {} output {}: Kafka sink to topic {}", ctx.job, ctx.output, cfg_.topic);
  if (cfg_.topic.empty()) return Status::fatal(what_ + ": no topic");
  if (cfg_.brokers.empty()) return Status::fatal(what_ + ": no brokers");
  names_.clear();
  for (const auto& c : ctx.schema.columns) {
    std::string n;
    append_json_string(n, c.name);
    n += ':';
    names_.push_back(std::move(n));
  }
  std::optional<std::string> txn_id;
  if (cfg_.exactly_once) txn_id = fmt::format("weir-{}-{}", ctx.job, ctx.output);
  producer_ = std::make_unique<Producer>(what_);
  if (Status st = producer_->open(producer_settings(cfg_.brokers, cfg_.properties, ctx.job, txn_id));
      !st.is_ok()) {
    producer_.reset();
    return st;
  }
  if (cfg_.exactly_once) {
    if (rd_kafka_error_t* e = rd_kafka_init_transactions(producer_->handle(), kTxnTimeoutMs)) {
      std::string msg = fmt::format("{}: initializing transactions (transactional.id {}) failed: {}", what_,
                                    *txn_id, rd_kafka_error_string(e));
      bool retry = rd_kafka_error_is_retriable(e);
      rd_kafka_error_destroy(e);
      producer_.reset();
      return retry ? Status::retryable(msg) : Status::fatal(msg);
    }
  }
  logger()->info("{}: open ({}, brokers {}).", what_, cfg_.exactly_once ? "transactional" : "idempotent",
                 join_brokers(cfg_.brokers));
  return Status::ok();
}

void KafkaSink::encode_row(const Row& row, std::string& out) const {
  out.clear();
  out += '{';
  bool first = true;
  for (size_t i = 0; i < row.size() && i < names_.size(); ++i) {
    if (i < omit_.size() && omit_[i]) continue;
    if (!first) out += ',';
    first = false;
    out += names_[i];
    row[i].append_json(out);
  }
  out += '}';
}

Status KafkaSink::produce_all(const BatchOutput& batch) {
  for (const auto& em : batch.emissions) {
    for (const auto& row : em.rows) {
      encode_row(row, buf_);
      std::optional<std::string_view> key;
      if (key_column_ && *key_column_ >= 0 && static_cast<size_t>(*key_column_) < row.size()) {
        const Value& k = row[*key_column_];
        if (k.type() == Type::String) {
          key = k.as_string();
        } else if (!k.is_null()) {
          key_ = k.to_display();
          key = key_;
        }
      }
      if (Status st = producer_->produce(cfg_.topic, key, buf_); !st.is_ok()) {
        // Drain what was queued so the next attempt starts clean; the batch failed either way.
        (void)producer_->wait();
        return st;
      }
    }
  }
  return producer_->wait();
}

Status KafkaSink::write(const BatchOutput& batch) {
  if (!producer_) return Status::fatal((what_.empty() ? std::string("Kafka sink") : what_) + " is not open");
  if (cfg_.exactly_once) return write_transaction(batch);
  return produce_all(batch);
}

Status KafkaSink::txn_error(rd_kafka_error_t* error, const char* step) {
  std::string msg = fmt::format("{}: {} failed: {}", what_, step, rd_kafka_error_string(error));
  bool fatal = rd_kafka_error_is_fatal(error);
  bool abort = rd_kafka_error_txn_requires_abort(error);
  bool retriable = rd_kafka_error_is_retriable(error);
  rd_kafka_error_destroy(error);
  if (fatal) {
    logger()->error("{}", msg);
    return Status::fatal(msg);
  }
  if (abort || !retriable) {
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(producer_->handle(), kTxnTimeoutMs)) {
      std::string amsg =
          fmt::format("{}; aborting the transaction failed too: {}", msg, rd_kafka_error_string(e));
      bool afatal = rd_kafka_error_is_fatal(e);
      rd_kafka_error_destroy(e);
      return afatal ? Status::fatal(amsg) : Status::retryable(amsg);
    }
    logger()->warn("{}; the transaction was aborted and the batch will be written again.", msg);
  }
  return Status::retryable(msg);
}

Status KafkaSink::write_transaction(const BatchOutput& batch) {
  rd_kafka_t* rk = producer_->handle();
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk)) {
    // A previous failed commit may have left the transaction open: abort it and let the caller retry.
    return txn_error(e, "beginning a transaction");
  }
  if (Status st = produce_all(batch); !st.is_ok()) {
    if (auto f = producer_->fatal_error()) return *f;
    // Leave no open transaction behind, whatever the class of the failure.
    if (rd_kafka_error_t* e = rd_kafka_abort_transaction(rk, kTxnTimeoutMs)) {
      bool fatal = rd_kafka_error_is_fatal(e);
      rd_kafka_error_destroy(e);
      if (fatal) return producer_->fatal_error().value_or(Status::fatal(st.message()));
    }
    return st;
  }
  if (group_ && !batch.positions.empty()) {
    auto* offsets = rd_kafka_topic_partition_list_new(static_cast<int>(batch.positions.size()));
    for (const auto& p : batch.positions) {
      auto slash = p.stream.rfind('/');
      if (slash == std::string::npos) continue;
      std::string topic = p.stream.substr(0, slash);
      int32_t partition = static_cast<int32_t>(std::strtol(p.stream.c_str() + slash + 1, nullptr, 10));
      rd_kafka_topic_partition_list_add(offsets, topic.c_str(), partition)->offset = p.offset;
    }
    rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata_new(group_->c_str());
    rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(rk, offsets, md, kTxnTimeoutMs);
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (e) return txn_error(e, "sending the source offsets to the transaction");
  }
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(rk, kTxnTimeoutMs)) {
    return txn_error(e, "committing the transaction");
  }
  return Status::ok();
}

void KafkaSink::close() {
  if (producer_) producer_->close();
  producer_.reset();
}

Status KafkaDeadLetterSink::open(const std::string& job) {
  std::string what = fmt::format("job {}: Kafka dead-letter topic {}", job, cfg_.topic);
  if (cfg_.topic.empty() || cfg_.brokers.empty())
    return Status::fatal(what + ": topic and brokers are required");
  producer_ = std::make_unique<Producer>(what);
  Status st = producer_->open(producer_settings(cfg_.brokers, cfg_.properties, job, std::nullopt));
  if (!st.is_ok()) producer_.reset();
  return st;
}

Status KafkaDeadLetterSink::write(const std::string& entry_json) {
  if (!producer_) return Status::fatal("Kafka dead-letter sink is not open");
  return producer_->produce(cfg_.topic, std::nullopt, entry_json);
}

Status KafkaDeadLetterSink::flush() {
  if (!producer_) return Status::fatal("Kafka dead-letter sink is not open");
  return producer_->wait();
}

void KafkaDeadLetterSink::close() {
  if (producer_) producer_->close();
  producer_.reset();
}

}  // namespace weir::kafka
