// In-memory source and sink for engine tests.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "connectors/sink.h"
#include "connectors/source.h"

namespace weir::testing {

struct InputRecord {
  std::string payload;
  uint32_t stream = 0;
  int64_t full_size = -1;  // RawRecord::full_size: the payload is a cut line of this many bytes
};

// A bounded source that delivers its records in order.
class VectorSource : public Source {
 public:
  explicit VectorSource(std::vector<InputRecord> records, size_t streams = 0)
      : records_(std::move(records)), streams_(streams) {}
  Status open(const Positions*) override { return Status::ok(); }
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point, size_t max_records) override {
    size_t n = 0;
    while (next_ < records_.size() && n < max_records) {
      RawRecord r;
      r.payload = records_[next_].payload;
      r.stream = records_[next_].stream;
      r.full_size = records_[next_].full_size;
      r.line = static_cast<int64_t>(next_ + 1);
      ++next_;
      ++n;
      h.on_record(r);
    }
    return next_ >= records_.size() ? PollResult::End : PollResult::Ok;
  }
  Positions positions() const override { return {{"input", static_cast<int64_t>(next_), 0}}; }
  void committed(const Positions& p) override { acked = p; }
  void pause() override { ++pauses; }
  void resume() override { ++resumes; }
  void keepalive() override { ++keepalives; }
  int pauses = 0, resumes = 0, keepalives = 0;
  bool bounded() const override { return true; }
  bool replayable() const override { return true; }
  size_t streams() const override { return streams_; }
  Positions acked;

 private:
  std::vector<InputRecord> records_;
  size_t next_ = 0;
  size_t streams_;
};

// Keeps every batch it was given; can fail the first `fail_times` writes with a retryable status. An
// exactly-once one commits batch ids (committed_batch()) and, like the real ones, skips ids it holds.
class MemorySink : public Sink {
 public:
  explicit MemorySink(int fail_times = 0, bool exactly_once = false)
      : fail_times_(fail_times), exactly_once_(exactly_once) {}
  bool exactly_once() const override { return exactly_once_; }
  uint64_t committed_batch() override { return committed_; }
  // A sink that holds the batches up to `b` (an exactly-once sink restarted after a run that wrote them).
  void set_committed(uint64_t b) { committed_ = b; }
  Status open(const SinkContext& ctx) override {
    schema = ctx.schema;
    return Status::ok();
  }
  Status write(const BatchOutput& b) override {
    if (fail_times_ > 0) {
      --fail_times_;
      ++failures;
      return Status::retryable("simulated outage");
    }
    if (exactly_once_ && b.batch_id <= committed_) return Status::ok();
    if (on_write) on_write(b);
    committed_ = std::max(committed_, b.batch_id);
    batches.push_back(b);
    return Status::ok();
  }
  // All rows of all emissions as JSON arrays, one string per row, prefixed by the window end.
  std::vector<std::string> rows() const {
    std::vector<std::string> out;
    for (const auto& b : batches) {
      for (const auto& e : b.emissions) {
        for (const auto& r : e.rows) out.push_back(Value::list(r).to_json());
      }
    }
    return out;
  }
  RowSchema schema;
  std::vector<BatchOutput> batches;
  int failures = 0;
  std::function<void(const BatchOutput&)> on_write;  // called for every batch taken

 private:
  int fail_times_;
  bool exactly_once_;
  uint64_t committed_ = 0;
};

class MemoryDeadLetters : public DeadLetterSink {
 public:
  explicit MemoryDeadLetters(std::vector<std::string>* out) : out_(out) {}
  Status open(const std::string&) override { return Status::ok(); }
  Status write(const std::string& e) override {
    out_->push_back(e);
    return Status::ok();
  }
  Status flush() override { return Status::ok(); }

 private:
  std::vector<std::string>* out_;
};

}  // namespace weir::testing
