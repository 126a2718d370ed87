// A librdkafka producer that counts delivery reports, shared by the Kafka sink and the Kafka
// dead-letter sink: produce() queues, wait() blocks until every queued message is acknowledged or
// failed and turns failures into a retryable or fatal Status.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <librdkafka/rdkafka.h>

#include "config/job.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/status.h"

namespace weir::kafka {

class Producer {
 public:
  explicit Producer(std::string what) : what_(std::move(what)), errors_(what_) {}
  ~Producer() { close(); }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  Status open(const config::Properties& settings);
  bool is_open() const { return rk_ != nullptr; }
  rd_kafka_t* handle() { return rk_; }

  // One message header (name and value are copied with the message).
  struct Header {
    const char* name;
    std::string_view value;
  };
  // Queues one message (copied). Waits (serving delivery reports) while the local queue is full.
  // `key`: nullopt = no key. `header`: optional, one header.
  Status produce(const std::string& topic, std::optional<std::string_view> key, std::string_view value,
                 const Header* header = nullptr);
  // Waits until every message produced since the last wait() has a delivery report. Ok only when all
  // were acknowledged; otherwise the first failure, classified.
  Status wait();
  // A fatal producer error (fenced, idempotence broken, ...), if one happened.
  std::optional<Status> fatal_error() const;
  void close();

  // Dead letters: a message that the producer or the broker refuses for what it is (too large, invalid) is
  // logged as lost instead of failing produce() or wait(), so one entry cannot stop the job (spec §8). Other
  // failures (authorization, timeouts) still do.
  void drop_refused_messages() { drop_refused_ = true; }
  // The producer's message.max.bytes (librdkafka's default, or the job's `properties`), once open.
  size_t max_message_bytes() const;

  // Internal, from librdkafka callbacks.
  void on_delivery(const rd_kafka_message_t* m);
  void on_error(int err, const char* reason);

  static bool fatal_code(rd_kafka_resp_err_t e);
  // The message itself was refused (size, format): sending it again cannot succeed.
  static bool refused_code(rd_kafka_resp_err_t e);

 private:
  rd_kafka_topic_t* topic(const std::string& name);
  void log_refused(rd_kafka_resp_err_t e, std::string_view message);

  std::string what_;
  ErrorLog errors_;
  rd_kafka_t* rk_ = nullptr;
  std::string topic_name_;
  rd_kafka_topic_t* rkt_ = nullptr;
  size_t produced_ = 0;
  size_t acked_ = 0;
  size_t failed_ = 0;
  size_t refused_ = 0;  // dropped (drop_refused_messages), counted as delivered
  bool drop_refused_ = false;
  rd_kafka_resp_err_t first_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string first_error_text_;
};

}  // namespace weir::kafka
