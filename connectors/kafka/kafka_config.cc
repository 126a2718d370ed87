#include "connectors/kafka/kafka_config.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "engine/log.h"

namespace weir::kafka {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("kafka");  // weir.kafka, with the process's --log-format/--log-level
}

namespace {

constexpr std::array<std::string_view, 6> kReserved = {
    "bootstrap.servers",  "metadata.broker.list",     "group.id",
    "enable.auto.commit", "enable.auto.offset.store", "transactional.id",
};

void set(config::Properties& p, std::string name, std::string value) {
  for (auto& [k, v] : p) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  p.emplace_back(std::move(name), std::move(value));
}

void apply_user(config::Properties& p, const config::Properties& user) {
  for (const auto& [k, v] : user) {
    if (!reserved_property(k)) set(p, k, v);
  }
}

}  // namespace

bool reserved_property(const std::string& name) {
  return std::find(kReserved.begin(), kReserved.end(), name) != kReserved.end();
}

std::vector<std::string> check_properties(const config::Properties& props) {
  std::vector<std::string> problems;
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [k, v] : props) {
    if (reserved_property(k)) {
      problems.push_back(fmt::format("Kafka property '{}' is set by weir and cannot be overridden.", k));
      continue;
    }
    switch (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof(err))) {
      case RD_KAFKA_CONF_OK:
        break;
      case RD_KAFKA_CONF_UNKNOWN:
        problems.push_back(fmt::format("Kafka property '{}' is not known to librdkafka.", k));
        break;
      case RD_KAFKA_CONF_INVALID:
        // librdkafka's message may quote the value; keep only the property name and the rule.
        problems.push_back(fmt::format("Kafka property '{}' has an invalid value.", k));
        break;
    }
  }
  return problems;
}

std::string join_brokers(const std::vector<std::string>& brokers) {
  std::string out;
  for (const auto& b : brokers) {
    if (!out.empty()) out += ',';
    out += b;
  }
  return out;
}

config::Properties consumer_settings(const config::KafkaSource& src, const std::string& job) {
  config::Properties p;
  set(p, "bootstrap.servers", join_brokers(src.brokers));
  set(p, "group.id", src.group.empty() ? "weir-" + job : src.group);
  set(p, "client.id", "weir-" + job);
  set(p, "auto.offset.reset", src.start == config::KafkaSource::Start::Earliest ? "earliest" : "latest");
  // Offsets are stored and committed only after every sink has committed (DELIVERY.md).
  set(p, "enable.auto.commit", "false");
  set(p, "enable.auto.offset.store", "false");
  set(p, "enable.partition.eof", "false");
  // Throughput: a consumer stops fetching for a while whenever its local queue passes queued.min.messages
  // or queued.max.messages.kbytes (TESTING.md). At librdkafka's 64 MB the byte limit was what stalled it: W1
  // (1M x 154 B) went from ~0.76M to ~1.0M records/s and W2 (100k x 4.7 KB tweets) from ~31k to ~81k
  // tweets/s with 256 MB (docs/performance.md). Memory stays bounded by it: lower it in `properties` for
  // many jobs on a small host.
  set(p, "queued.min.messages", "1000000");
  set(p, "queued.max.messages.kbytes", "262144");
  set(p, "fetch.wait.max.ms", "10");
  set(p, "fetch.error.backoff.ms", "100");
  set(p, "reconnect.backoff.ms", "100");
  set(p, "reconnect.backoff.max.ms", "2000");
  set(p, "log.connection.close", "false");
  // A subscribed topic that does not exist yet is noticed within this time once it is created.
  set(p, "topic.metadata.refresh.interval.ms", "10000");
  apply_user(p, src.properties);
  return p;
}

config::Properties producer_settings(const std::vector<std::string>& brokers, const config::Properties& user,
                                     const std::string& job,
                                     const std::optional<std::string>& transactional_id) {
  config::Properties p;
  set(p, "bootstrap.servers", join_brokers(brokers));
  set(p, "client.id", "weir-" + job);
  set(p, "enable.idempotence", "true");
  set(p, "acks", "all");
  set(p, "linger.ms", "5");
  set(p, "batch.num.messages", "10000");
  set(p, "batch.size", "1000000");
  set(p, "queue.buffering.max.messages", "1000000");
  // A batch write waits for every delivery report: bound how long one message may take (a
  // transactional producer must stay within transaction.timeout.ms: librdkafka's default then).
  if (!transactional_id) set(p, "message.timeout.ms", "120000");
  set(p, "reconnect.backoff.ms", "100");
  set(p, "reconnect.backoff.max.ms", "2000");
  set(p, "log.connection.close", "false");
  if (transactional_id) set(p, "transactional.id", *transactional_id);
  apply_user(p, user);
  return p;
}

ConfPtr make_conf(const config::Properties& settings, std::string& error) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      error = fmt::format("Kafka property '{}' was rejected by librdkafka", k);
      return nullptr;
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_callback);
  return conf;
}

void log_callback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto l = logger();
  if (level <= 4 && std::string_view(fac) == "CONFWARN") {
    l->warn("librdkafka {}: {}", rd_kafka_name(rk), buf);
  } else {
    l->debug("librdkafka {} [{}] {}: {}", rd_kafka_name(rk), level, fac, buf);
  }
}

bool ErrorLog::error(rd_kafka_resp_err_t code, const std::string& reason) {
  auto now = std::chrono::steady_clock::now();
  if (code == last_ && now - last_time_ < repeat_) {
    ++suppressed_;
    return false;
  }
  if (code == last_ && suppressed_ > 0) {
    logger()->warn("{}: {} (still failing; {} similar errors since the last report)", what_, reason,
                   suppressed_);
  } else {
    logger()->warn("{}: {}", what_, reason);
  }
  last_ = code;
  last_time_ = now;
  suppressed_ = 0;
  ++logged_;
  return true;
}

void ErrorLog::ok() {
  if (last_ == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  logger()->info("{}: working again after {} ({} errors not logged in between).", what_,
                 rd_kafka_err2name(last_), suppressed_);
  last_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  suppressed_ = 0;
  ++logged_;
}

}  // namespace weir::kafka
