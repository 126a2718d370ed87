#include "connectors/kafka/kafka_sink.h"

#include <cstdlib>
#include <map>

#include "connectors/kafka/kafka_source.h"

namespace weir::kafka {
namespace {

struct ConsumerDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

// User properties that also concern a consumer of the same cluster (connection and security); producer
// settings such as linger.ms would only draw configuration warnings there.
bool connection_property(const std::string& k) {
  for (const char* prefix : {"security.", "sasl.", "ssl.", "ssl_", "socket.", "broker.", "client.dns",
                             "enable.ssl", "api.version", "metadata.", "reconnect.", "resolve."}) {
    if (k.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// The batch id in a message's weir-batch header when it carries `tag` ("<job>/<output>:"), else 0.
uint64_t batch_of(rd_kafka_message_t* m, const std::string& tag) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
  const void* v = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, KafkaSink::kBatchHeader, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return 0;
  std::string_view s(static_cast<const char*>(v), size);
  if (s.size() <= tag.size() || s.substr(0, tag.size()) != tag) return 0;
  uint64_t id = 0;
  for (char c : s.substr(tag.size())) {
    if (c < '0' || c > '9' || id > (UINT64_MAX - 9) / 10) return 0;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  return id;
}

}  // namespace

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
  committed_ = 0;
  if (cfg_.exactly_once) {
    batch_tag_ = fmt::format("{}/{}:", ctx.job, ctx.output);
    if (Status st = read_committed_batch(ctx.job); !st.is_ok()) {
      producer_.reset();
      return st;
    }
  }
  logger()->info("{}: open ({}, brokers {}{}).", what_, cfg_.exactly_once ? "transactional" : "idempotent",
                 join_brokers(cfg_.brokers),
                 cfg_.exactly_once ? fmt::format("; last committed batch {}", committed_) : std::string());
  return Status::ok();
}

Status KafkaSink::read_committed_batch(const std::string& job) {
  config::Properties settings;
  for (const auto& [k, v] : cfg_.properties) {
    if (connection_property(k)) settings.emplace_back(k, v);
  }
  settings.emplace_back("bootstrap.servers", join_brokers(cfg_.brokers));
  settings.emplace_back("client.id", "weir-" + job);
  settings.emplace_back("group.id",
                        "weir-" + job + "-readback");  // never joined: partitions are assigned by hand
  settings.emplace_back("enable.auto.commit", "false");
  settings.emplace_back("enable.auto.offset.store", "false");
  settings.emplace_back("enable.partition.eof", "true");
  settings.emplace_back("isolation.level", "read_committed");
  settings.emplace_back("log.connection.close", "false");
  std::string error;
  ConfPtr conf = make_conf(settings, error);
  if (!conf) return Status::fatal(what_ + ": reading back the last committed batch: " + error);
  char err[512];
  std::unique_ptr<rd_kafka_t, ConsumerDeleter> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err)));
  if (!rk)
    return Status::fatal(fmt::format("{}: cannot create a consumer to read back the topic: {}", what_, err));
  conf.release();
  auto failed = [&](const std::string& why) {
    return Status::retryable(fmt::format("{}: reading back the last committed batch failed: {}", what_, why));
  };

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), cfg_.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 0, rkt, &md, 10000);
  rd_kafka_topic_destroy(rkt);
  if (e) return failed(rd_kafka_err2str(e));
  int partitions = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
    topic_err = md->topics[0].err;
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return Status::ok();  // nothing written yet
  if (topic_err) return failed(rd_kafka_err2str(topic_err));

  // Per partition: [lo, hi) and the window read so far; a tail without a tagged message is read further back.
  struct Tail {
    int64_t lo = 0, hi = 0, start = 0, window = 16;
    bool done = false;
  };
  std::map<int32_t, Tail> tails;
  for (int32_t p = 0; p < partitions; ++p) {
    Tail t;
    if (auto we = rd_kafka_query_watermark_offsets(rk.get(), cfg_.topic.c_str(), p, &t.lo, &t.hi, 10000))
      return failed(fmt::format("partition {}: {}", p, rd_kafka_err2str(we)));
    if (t.hi > t.lo) tails[p] = t;
  }
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    ListPtr list(rd_kafka_topic_partition_list_new(0));
    std::map<int32_t, bool> open;  // assigned this round, not at their end yet
    for (auto& [p, t] : tails) {
      if (t.done) continue;
      t.start = std::max(t.lo, t.hi - t.window);
      rd_kafka_topic_partition_list_add(list.get(), cfg_.topic.c_str(), p)->offset = t.start;
      open[p] = true;
    }
    if (open.empty()) break;
    if (auto ae = rd_kafka_assign(rk.get(), list.get())) return failed(rd_kafka_err2str(ae));
    std::map<int32_t, uint64_t> found;
    while (!open.empty()) {
      if (std::chrono::steady_clock::now() > give_up)
        return failed("timed out reading the partitions' tails");
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
      if (!m) continue;
      int32_t p = m->partition;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        open.erase(p);
      } else if (m->err) {
        std::string why = rd_kafka_message_errstr(m);
        rd_kafka_message_destroy(m);
        return failed(why);
      } else if (open.count(p)) {
        if (uint64_t id = batch_of(m, batch_tag_)) found[p] = std::max(found[p], id);
        if (m->offset + 1 >= tails[p].hi) open.erase(p);
      }
      rd_kafka_message_destroy(m);
    }
    for (auto& [p, t] : tails) {
      if (t.done) continue;
      if (auto f = found.find(p); f != found.end()) {
        committed_ = std::max(committed_, f->second);
        t.done = true;
      } else if (t.start <= t.lo) {
        t.done = true;  // the whole partition holds no message of this output
      } else {
        t.window *= 16;  // only other writers', aborted messages or markers at the end: look further back
      }
    }
  }
  rd_kafka_assign(rk.get(), nullptr);
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
      Producer::Header header{kBatchHeader, header_value_};
      if (Status st = producer_->produce(cfg_.topic, key, buf_, cfg_.exactly_once ? &header : nullptr);
          !st.is_ok()) {
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
  if (batch.batch_id <= committed_) return Status::ok();  // its transaction committed already
  rd_kafka_t* rk = producer_->handle();
  header_value_ = batch_tag_ + std::to_string(batch.batch_id);
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
      // Not assigned to this member (kNotAssigned, kNotAssignedYet): its group offset is its owner's.
      if (p.aux != 0) continue;
      auto slash = p.stream.rfind('/');
      if (slash == std::string::npos) continue;
      std::string topic = p.stream.substr(0, slash);
      int32_t partition = static_cast<int32_t>(std::strtol(p.stream.c_str() + slash + 1, nullptr, 10));
      rd_kafka_topic_partition_list_add(offsets, topic.c_str(), partition)->offset = p.offset;
    }
    rd_kafka_error_t* e = nullptr;
    if (offsets->cnt > 0) {
      rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata_new(group_->c_str());
      e = rd_kafka_send_offsets_to_transaction(rk, offsets, md, kTxnTimeoutMs);
      rd_kafka_consumer_group_metadata_destroy(md);
    }
    rd_kafka_topic_partition_list_destroy(offsets);
    if (e) return txn_error(e, "sending the source offsets to the transaction");
  }
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(rk, kTxnTimeoutMs)) {
    return txn_error(e, "committing the transaction");
  }
  committed_ = batch.batch_id;
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
  if (!st.is_ok()) {
    producer_.reset();
    return st;
  }
  producer_->drop_refused_messages();
  // librdkafka refuses a message whose value, key and record overhead exceed message.max.bytes; a broker
  // with the same limit also counts the record batch's header. 1 KiB covers both.
  constexpr size_t kOverhead = 1024;
  const size_t limit = producer_->max_message_bytes();
  max_entry_ = limit == SIZE_MAX ? SIZE_MAX : limit > 2 * kOverhead ? limit - kOverhead : limit / 2;
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
