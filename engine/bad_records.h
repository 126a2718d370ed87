// What happens to a record that cannot be decoded, typed or evaluated (spec §8): counted, logged
// (rate-limited), dead-lettered or the job stopped, per on_error.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/job.h"
#include "connectors/sink.h"
#include "connectors/source.h"

namespace weir::engine {

class BadRecords {
 public:
  BadRecords(std::string job, const config::OnError& cfg, std::unique_ptr<DeadLetterSink> dlq);

  // A bad record (output empty: the whole record, e.g. it does not decode). Returns false when the job
  // must stop (on_error.action: stop); `stop_reason` then says why.
  bool bad(const RawRecord& r, const std::string& output, const std::string& error);
  // An expression over a result row failed (`having`, a Kafka sink's `key` on an aggregating output): there
  // is no record to dead-letter. Logged (rate-limited like bad records); returns false when the job must stop
  // (on_error.action: stop), with `stop_reason` set. `unlisted` more such errors were counted but have no
  // message of their own: they count towards the rate limit's summary line.
  bool row_error(const std::string& output, const std::string& error, uint64_t unlisted = 0);
  // A late record (event time). Dead-lettered when on_error.late is dead_letter.
  void late(const RawRecord& r, const std::string& output, int64_t event_ms, int64_t watermark_ms);

  // Flushes dead letters; called before the batch's sinks commit. A failed flush fails the batch.
  Status flush();
  Status open();
  void close();

  const std::string& stop_reason() const { return stop_reason_; }
  bool dead_lettering() const { return dlq_ != nullptr; }

  // The dead-letter entry (spec §8): payload (as a string, or payload_base64 when not UTF-8; plus
  // "payload_truncated": true and "payload_bytes", the record's size, when it is only the first bytes of an
  // oversize line or was cut so that the entry fits in `max_bytes`), the error, the source position and the
  // time.
  static std::string entry_json(const std::string& job, const std::string& output, const RawRecord& r,
                                const std::string& error, int64_t now_ms, size_t max_bytes = SIZE_MAX);

 private:
  void log_rate_limited(const RawRecord& r, const std::string& output, const std::string& error);
  // Starts a new 10 s window when the last one is over (logging the summary of what it did not log); true
  // when a line may be logged now.
  bool may_log();

  std::string job_;
  config::OnError cfg_;
  std::unique_ptr<DeadLetterSink> dlq_;
  std::string stop_reason_;
  Status dlq_error_ = Status::ok();
  // rate limit: at most 10 lines per 10 s, then one summary line
  std::chrono::steady_clock::time_point window_start_{};
  int logged_in_window_ = 0;
  uint64_t suppressed_ = 0;
  uint64_t suppressed_rows_ = 0;  // row errors not logged one by one
};

}  // namespace weir::engine
