// Translation of the job file's Kafka settings (spec §3, §7) into librdkafka configurations, with
// weir's defaults (throughput-tuned consumer, idempotent producer) that user `properties` override.
// Parsing and validation only: no I/O.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "config/job.h"

namespace weir::kafka {

// The "weir.kafka" logger (created on first use when the process has not created it yet).
std::shared_ptr<spdlog::logger> logger();

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

// Properties weir sets itself; setting them in `properties` is an error (they would break delivery).
bool reserved_property(const std::string& name);

// Every problem with user properties, one sentence each (unknown name, invalid value, reserved).
// Values are never included in messages (they may be secrets).
std::vector<std::string> check_properties(const config::Properties& props);

// "h1:9092,h2:9092"
std::string join_brokers(const std::vector<std::string>& brokers);

// The consumer settings for a Kafka source, as (name, value) pairs: weir's defaults, then the
// user's properties (which win). `job` names the default group (weir-<job>) and client.id.
config::Properties consumer_settings(const config::KafkaSource& src, const std::string& job);
// The producer settings for a Kafka sink or dead-letter topic. `transactional_id`: set for
// exactly-once sinks.
config::Properties producer_settings(const std::vector<std::string>& brokers, const config::Properties& user,
                                     const std::string& job,
                                     const std::optional<std::string>& transactional_id);

// Builds a librdkafka configuration from settings. On failure returns null and sets `error`.
ConfPtr make_conf(const config::Properties& settings, std::string& error);

// Routes librdkafka's own log lines to the weir.kafka logger (debug level; configuration warnings
// at warn). Installed by make_conf.
void log_callback(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

// Logs a state of repeated errors once per change (and again every `repeat` while it lasts),
// then one line when it clears. Not thread-safe: used from the thread that polls the handle.
class ErrorLog {
 public:
  ErrorLog(std::string what, std::chrono::seconds repeat = std::chrono::seconds(30))
      : what_(std::move(what)), repeat_(repeat) {}
  // Returns true when the line was logged (false: suppressed as a repeat).
  bool error(rd_kafka_resp_err_t code, const std::string& reason);
  // Data flows again: logs recovery once if an error state was logged.
  void ok();
  bool in_error() const { return last_ != RD_KAFKA_RESP_ERR_NO_ERROR; }
  size_t logged() const { return logged_; }

 private:
  std::string what_;
  std::chrono::seconds repeat_;
  rd_kafka_resp_err_t last_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::chrono::steady_clock::time_point last_time_{};
  size_t suppressed_ = 0;
  size_t logged_ = 0;
};

}  // namespace weir::kafka
