#include "cmd/daemon/kafka_lag.h"

#include <librdkafka/rdkafka.h>

#include <fmt/format.h>

#include "connectors/kafka/kafka_source.h"

namespace weir::daemon {

std::unique_ptr<KafkaLagProbe> KafkaLagProbe::create(const config::Job& job, std::string& error) {
  const auto* src = std::get_if<config::KafkaSource>(&job.source.kind);
  if (src == nullptr) return nullptr;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::string brokers = fmt::format("{}", fmt::join(src->brokers, ","));
  auto set = [&](const std::string& k, const std::string& v) {
    return rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK;
  };
  // The job's own properties first (TLS/SASL settings apply to this client too); ours win.
  for (const auto& [k, v] : src->properties) set(k, v);
  if (!set("bootstrap.servers", brokers) || !set("client.id", "weir-lag-" + job.name) ||
      !set("enable.auto.commit", "false") || !set("log_level", "3")) {
    error = err;
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    error = err;  // a failed rd_kafka_new leaves conf to the caller
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  std::unique_ptr<KafkaLagProbe> p(new KafkaLagProbe());
  p->rk_ = rk;
  return p;
}

KafkaLagProbe::~KafkaLagProbe() {
  if (rk_ != nullptr) rd_kafka_destroy(static_cast<rd_kafka_t*>(rk_));
}

std::vector<PartitionLag> KafkaLagProbe::lag(const engine::CommittedPositions::List& committed,
                                             int timeout_ms, std::string& error) {
  std::vector<PartitionLag> out;
  auto* rk = static_cast<rd_kafka_t*>(rk_);
  for (const auto& [stream, offset, aux] : committed) {
    if (aux != 0) continue;  // kafka::kNotAssigned(Yet): maybe another member's; its lag is not this job's
    auto slash = stream.rfind('/');
    if (slash == std::string::npos || slash + 1 >= stream.size()) continue;
    PartitionLag l;
    l.topic = stream.substr(0, slash);
    try {
      l.partition = std::stoi(stream.substr(slash + 1));
    } catch (const std::exception&) {
      continue;
    }
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, l.topic.c_str(), l.partition, &low, &high, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The brokers are likely unreachable: do not wait `timeout_ms` once per partition (a stopping job
      // waits for this call).
      error = fmt::format("{}: {}", stream, rd_kafka_err2str(e));
      break;
    }
    l.lag = high > offset ? high - offset : 0;
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace weir::daemon
