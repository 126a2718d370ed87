// Test helpers: the weir-mock-broker helper as a subprocess, a plain librdkafka producer/reader, and
// a log capture for the weir.kafka logger.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/base_sink.h>

#include "connectors/kafka/kafka_config.h"
#include "connectors/source.h"

// REQUIRE that a Status is ok, showing its message when it is not.
#define REQUIRE_OK(expr)         \
  do {                           \
    ::weir::Status st_ = (expr); \
    INFO(st_.message());         \
    REQUIRE(st_.is_ok());        \
  } while (0)

namespace weir::kafka::test {

// Runs weir-mock-broker; command() sends one line and returns its reply.
class MockBroker {
 public:
  explicit MockBroker(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      std::vector<char*> argv{const_cast<char*>(WEIR_MOCK_BROKER)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(WEIR_MOCK_BROKER, argv.data());
      _exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    std::string line = read_line();
    if (line.rfind("BOOTSTRAP ", 0) != 0) throw std::runtime_error("mock broker said: " + line);
    bootstrap_ = line.substr(10);
  }
  ~MockBroker() {
    if (to_) fclose(to_);  // the helper exits when its stdin closes
    int status = 0;
    waitpid(pid_, &status, 0);
    if (from_) fclose(from_);
  }
  const std::string& bootstrap() const { return bootstrap_; }
  pid_t pid() const { return pid_; }
  std::string command(const std::string& cmd) {
    fprintf(to_, "%s\n", cmd.c_str());
    fflush(to_);
    return read_line();
  }

 private:
  std::string read_line() {
    char buf[4096];
    if (!fgets(buf, sizeof(buf), from_)) return "<eof>";
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  std::string bootstrap_;
};

inline rd_kafka_t* new_client(rd_kafka_type_t type, const std::string& bootstrap,
                              std::vector<std::pair<std::string, std::string>> extra = {}) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  extra.insert(extra.begin(), {"bootstrap.servers", bootstrap});
  if (type == RD_KAFKA_CONSUMER) extra.insert(extra.begin(), {"group.id", "weir-test-reader"});
  for (const auto& [k, v] : extra) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error(err);
    }
  }
  rd_kafka_conf_set_log_cb(conf, weir::kafka::log_callback);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (!rk) throw std::runtime_error(err);
  return rk;
}

struct Msg {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: tombstone
  int32_t partition = -1;
};

// Produces messages with a plain producer and waits until all are acknowledged.
inline void produce(const std::string& bootstrap, const std::string& topic, const std::vector<Msg>& msgs) {
  rd_kafka_t* rk = new_client(RD_KAFKA_PRODUCER, bootstrap, {{"linger.ms", "5"}});
  for (const auto& m : msgs) {
    void* value = m.value ? const_cast<char*>(m.value->data()) : nullptr;
    size_t value_len = m.value ? m.value->size() : 0;
    const void* key = m.key ? m.key->data() : nullptr;
    size_t key_len = m.key ? m.key->size() : 0;
    for (;;) {
      auto e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(m.partition),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value, value_len),
                                 RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (e) throw std::runtime_error(rd_kafka_err2str(e));
      break;
    }
  }
  if (rd_kafka_flush(rk, 30000)) throw std::runtime_error("flush timed out");
  rd_kafka_destroy(rk);
}

struct Read {
  std::optional<std::string> key;
  std::optional<std::string> value;
  int32_t partition;
  int64_t offset;
  std::optional<std::string> batch_header;  // the weir-batch header (exactly-once sinks)
};

// Reads a topic's partitions from the beginning (no group) until `want` messages or the timeout.
inline std::vector<Read> read_topic(const std::string& bootstrap, const std::string& topic, int partitions,
                                    size_t want,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  rd_kafka_t* rk = new_client(RD_KAFKA_CONSUMER, bootstrap);
  auto* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<Read> out;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (out.size() < want && std::chrono::steady_clock::now() < end) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) {
      Read r{std::nullopt, std::nullopt, m->partition, m->offset, std::nullopt};
      if (m->key) r.key = std::string(static_cast<const char*>(m->key), m->key_len);
      rd_kafka_headers_t* hdrs = nullptr;
      const void* hv = nullptr;
      size_t hsize = 0;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(hdrs, "weir-batch", &hv, &hsize) == RD_KAFKA_RESP_ERR_NO_ERROR)
        r.batch_header = std::string(static_cast<const char*>(hv), hsize);
      if (m->payload) r.value = std::string(static_cast<const char*>(m->payload), m->len);
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

// Collects every record a source delivers.
struct Collector : RecordHandler {
  struct Rec {
    std::string payload;
    bool null_payload;
    std::string topic;
    int32_t partition;
    int64_t offset;
    std::optional<std::string> key;
    int64_t timestamp_ms;
    uint32_t stream;
  };
  std::vector<Rec> recs;
  void on_record(const RawRecord& r) override {
    recs.push_back(Rec{std::string(r.payload), r.null_payload, std::string(r.topic), r.partition, r.offset,
                       r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt, r.timestamp_ms,
                       r.stream});
  }
};

// Polls `src` until `h` holds `want` records or the timeout passes.
inline void poll_until(Source& src, Collector& h, size_t want, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (h.recs.size() < want && std::chrono::steady_clock::now() < end) {
    REQUIRE(src.poll(h, std::chrono::steady_clock::now() + std::chrono::milliseconds(200), 100000) ==
            PollResult::Ok);
  }
}

// Captures the weir.kafka logger's lines while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<Sink>()) { weir::kafka::logger()->sinks().push_back(sink_); }
  ~LogCapture() {
    auto& sinks = weir::kafka::logger()->sinks();
    for (auto it = sinks.begin(); it != sinks.end(); ++it) {
      if (*it == sink_) {
        sinks.erase(it);
        break;
      }
    }
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> l(sink_->mu);
    return sink_->lines;
  }
  size_t count(const std::string& needle) const {
    size_t n = 0;
    for (const auto& l : lines()) n += l.find(needle) != std::string::npos;
    return n;
  }

 private:
  struct Sink : spdlog::sinks::base_sink<std::mutex> {
    std::mutex mu;
    std::vector<std::string> lines;
    void sink_it_(const spdlog::details::log_msg& msg) override {
      if (msg.level < spdlog::level::info) return;
      std::lock_guard<std::mutex> l(mu);
      lines.emplace_back(msg.payload.data(), msg.payload.size());
    }
    void flush_() override {}
  };
  std::shared_ptr<Sink> sink_;
};

// Short group timeouts for the mock cluster: it waits session.timeout.ms - 1 s for the members of a group to
// rejoin in a rebalance (3 s instead of 6 s took the kafka tests from ~37 s to ~29 s at -j4).
inline const std::vector<std::pair<std::string, std::string>> kFastGroup = {
    {"session.timeout.ms", "3000"}, {"max.poll.interval.ms", "10000"}, {"heartbeat.interval.ms", "300"}};

}  // namespace weir::kafka::test
