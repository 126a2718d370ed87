#include "engine/bad_records.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "engine/fields/extract.h"
#include "engine/log.h"
#include "engine/value.h"

namespace weir::engine {

namespace {
int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string base64(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

// A payload cut at an arbitrary byte may end inside a UTF-8 sequence: drop that incomplete sequence so a
// text prefix stays text (payload_truncated says it is a prefix anyway).
std::string_view drop_partial_utf8(std::string_view s) {
  size_t i = s.size();
  size_t cont = 0;
  while (i > 0 && cont < 3 && (uint8_t(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++cont;
  }
  if (i == 0) return s;
  const auto lead = uint8_t(s[i - 1]);
  size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return need > cont ? s.substr(0, i - 1) : s;
}

std::string describe_position(const RawRecord& r) {
  if (!r.topic.empty()) return fmt::format("{}/{} offset {}", r.topic, r.partition, r.offset);
  if (!r.file.empty()) return fmt::format("{} line {}", r.file, r.line);
  if (r.line >= 0) return fmt::format("line {}", r.line);
  return "input";
}
}  // namespace

BadRecords::BadRecords(std::string job, const config::OnError& cfg, std::unique_ptr<DeadLetterSink> dlq)
    : job_(std::move(job)), cfg_(cfg), dlq_(std::move(dlq)) {}

Status BadRecords::open() {
  return dlq_ ? dlq_->open(job_) : Status::ok();
}
void BadRecords::close() {
  if (dlq_) dlq_->close();
}

std::string BadRecords::entry_json(const std::string& job, const std::string& output, const RawRecord& r,
                                   const std::string& error, int64_t now_ms, size_t max_bytes) {
  std::string head = "{\"job\":";
  append_json_string(head, job);
  if (!output.empty()) {
    head += ",\"output\":";
    append_json_string(head, output);
  }
  head += ",\"error\":";
  append_json_string(head, error);
  std::string tail;
  if (!r.topic.empty()) {
    tail += ",\"topic\":";
    append_json_string(tail, r.topic);
    tail += fmt::format(",\"partition\":{},\"offset\":{}", r.partition, r.offset);
  }
  if (!r.file.empty()) {
    tail += ",\"file\":";
    append_json_string(tail, r.file);
  }
  if (r.line >= 0) tail += fmt::format(",\"line\":{}", r.line);
  tail += ",\"time\":\"";
  append_rfc3339_ms(tail, now_ms);
  tail += "\"}";

  // Only the first bytes of the record are written when a line source kept only a prefix (memory stays
  // bounded) or when the whole entry would not fit the dead-letter sink: "payload_truncated" and the record's
  // real size say so, so that nobody takes the prefix for the record.
  const int64_t real_size = r.full_size >= 0 ? r.full_size : static_cast<int64_t>(r.payload.size());
  auto payload_fields = [&](std::string_view payload, bool truncated) {
    std::string s;
    if (truncated) payload = drop_partial_utf8(payload);
    if (r.null_payload) {
      s += ",\"payload\":null";
    } else if (fields::valid_utf8(payload)) {
      s += ",\"payload\":";
      append_json_string(s, payload);
    } else {
      s += ",\"payload_base64\":\"" + base64(payload) + "\"";
    }
    if (truncated) s += fmt::format(",\"payload_truncated\":true,\"payload_bytes\":{}", real_size);
    return s;
  };
  std::string mid = payload_fields(r.payload, r.full_size >= 0);
  const size_t fixed = head.size() + tail.size();
  if (fixed + mid.size() > max_bytes && !r.null_payload && !r.payload.empty()) {
    // Cut the payload until the entry fits: each byte cut shortens the entry by at least one character
    // (a JSON escape or base64 makes it longer, never shorter), so scale by the overflow and retry.
    const size_t budget = max_bytes > fixed ? max_bytes - fixed : 0;
    size_t n = r.payload.size();
    while (fixed + mid.size() > max_bytes && n > 0) {
      const size_t shorter = static_cast<size_t>(static_cast<double>(n) * static_cast<double>(budget) /
                                                 static_cast<double>(mid.size()));
      n = std::min(n - 1, shorter);
      mid = payload_fields(r.payload.substr(0, n), true);
    }
  }
  return head + mid + tail;
}

bool BadRecords::may_log() {
  auto now = std::chrono::steady_clock::now();
  if (now - window_start_ > std::chrono::seconds(10)) {
    if (suppressed_ > 0) {
      log::get("engine")->warn("Job '{}': {} more bad records in the last 10 s were not logged one by one.",
                               job_, suppressed_);
    }
    if (suppressed_rows_ > 0) {
      log::get("engine")->warn(
          "Job '{}': {} more row errors (having, kafka key) in the last 10 s were not logged one by one.",
          job_, suppressed_rows_);
    }
    window_start_ = now;
    logged_in_window_ = 0;
    suppressed_ = 0;
    suppressed_rows_ = 0;
  }
  if (logged_in_window_ >= 10) return false;
  ++logged_in_window_;
  return true;
}

void BadRecords::log_rate_limited(const RawRecord& r, const std::string& output, const std::string& error) {
  if (may_log()) {
    if (output.empty()) {
      log::get("engine")->warn("Job '{}': bad record at {}: {}.", job_, describe_position(r), error);
    } else {
      log::get("engine")->warn("Job '{}', output '{}': bad record at {}: {}.", job_, output,
                               describe_position(r), error);
    }
  } else {
    ++suppressed_;
  }
}

bool BadRecords::bad(const RawRecord& r, const std::string& output, const std::string& error) {
  using A = config::OnError::Action;
  if (cfg_.action == A::Stop) {
    stop_reason_ = fmt::format("bad record at {}{}: {} (on_error.action is stop)", describe_position(r),
                               output.empty() ? "" : ", output '" + output + "'", error);
    return false;
  }
  log_rate_limited(r, output, error);
  if (cfg_.action == A::DeadLetter && dlq_) {
    Status s = dlq_->write(entry_json(job_, output, r, error, wall_ms(), dlq_->max_entry_bytes()));
    if (!s.is_ok() && dlq_error_.is_ok()) dlq_error_ = s;
  }
  return true;
}

bool BadRecords::row_error(const std::string& output, const std::string& error, uint64_t unlisted) {
  if (cfg_.action == config::OnError::Action::Stop) {
    stop_reason_ = fmt::format("output '{}': {} (on_error.action is stop)", output, error);
    return false;
  }
  if (may_log()) {
    log::get("engine")->warn("Job '{}', output '{}': {}.", job_, output, error);
  } else {
    ++suppressed_rows_;
  }
  suppressed_rows_ += unlisted;
  return true;
}

void BadRecords::late(const RawRecord& r, const std::string& output, int64_t event_ms, int64_t watermark_ms) {
  if (cfg_.late != config::OnError::Late::DeadLetter || !dlq_) return;
  std::string err =
      fmt::format("late record: event time {} is behind the watermark {} and its windows are closed",
                  format_rfc3339_ms(event_ms), format_rfc3339_ms(watermark_ms));
  Status s = dlq_->write(entry_json(job_, output, r, err, wall_ms(), dlq_->max_entry_bytes()));
  if (!s.is_ok() && dlq_error_.is_ok()) dlq_error_ = s;
}

Status BadRecords::flush() {
  if (!dlq_error_.is_ok()) {
    Status s = dlq_error_;
    dlq_error_ = Status::ok();
    return s;
  }
  return dlq_ ? dlq_->flush() : Status::ok();
}

}  // namespace weir::engine
