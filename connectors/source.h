// The interface every source implements. Sources deliver raw payloads plus metadata; decoding and
// field extraction happen in the engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/status.h"

namespace weir {

// One message/line as delivered by a source. Views are valid only during RecordHandler::on_record.
struct RawRecord {
  std::string_view payload;
  bool null_payload = false;  // Kafka tombstone
  // >= 0: `payload` is only the first bytes of a record of full_size bytes. The line sources (files, stdin,
  // socket) cut a line above max_record_bytes so that memory stays bounded; such a record is always bad.
  int64_t full_size = -1;
  // Metadata (§3). Unset values: empty topic, -1 numbers, no key.
  std::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::optional<std::string_view> key;
  int64_t timestamp_ms = -1;
  std::string_view file;  // files source: the file's path
  int64_t line = -1;      // files/stdin/socket: 1-based line number
  // Index of the stream (partition, file) this record came from; the engine keeps one event-time
  // watermark per stream. Dense small integers starting at 0.
  uint32_t stream = 0;
};

class RecordHandler {
 public:
  virtual ~RecordHandler() = default;
  virtual void on_record(const RawRecord& r) = 0;
};

// Where a source is: one entry per stream (Kafka "topic/partition" -> next offset, aux != 0 for a
// partition not assigned to this member, see kafka::kNotAssigned; files path -> byte offset of the next
// unread line and its line number; generator "generated" -> count).
struct Position {
  std::string stream;
  int64_t offset = 0;
  int64_t aux = 0;
  bool operator==(const Position&) const = default;
};
using Positions = std::vector<Position>;

enum class PollResult {
  Ok,     // delivered zero or more records; call again
  End,    // a bounded source has delivered everything
  Error,  // see the returned Status via last_error()
};

class Source {
 public:
  virtual ~Source() = default;
  // Connects/opens. `resume`: positions from a checkpoint to continue from (nullptr: fresh start,
  // e.g. Kafka `start:`). Returns a non-ok status for errors that make starting impossible.
  virtual Status open(const Positions* resume) = 0;
  // Delivers records to `h` until `deadline`, `max_records` records, or (bounded sources) the end.
  // Must return by the deadline even when no data arrives (it may block until then).
  virtual PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                          size_t max_records) = 0;
  // Positions just after the last record delivered by poll().
  virtual Positions positions() const = 0;
  // Every sink has durably committed the batches up to `p`: the source may acknowledge them
  // (Kafka: store/commit group offsets). Advisory: recovery never relies on it.
  virtual void committed(const Positions& p) {}
  // Pause/resume fetching while sinks are behind (bounded memory). Sources that do not buffer ignore it.
  virtual void pause() {}
  virtual void resume() {}
  // Called every ~50 ms while paused and the engine waits for a sink: lets a source stay alive without
  // delivering records (Kafka: serve the consumer so max.poll.interval.ms does not expire and the group
  // does not rebalance). Records it cannot help consuming are re-read after resume(), never lost.
  virtual void keepalive() {}
  virtual bool bounded() const = 0;
  // Number of streams known to exist (e.g. assigned Kafka partitions), so that a stream that has not
  // delivered yet can hold the event-time watermark back; 0 when not partitioned/unknown.
  virtual size_t streams() const { return 0; }
  // Whether the source can re-deliver from a position after a crash (Kafka, files, generate: yes;
  // socket, stdin: no — at-most-once across crashes).
  virtual bool replayable() const = 0;
  virtual Status last_error() const { return Status::ok(); }
  // True once when the source needs the records delivered so far committed before it polls again
  // (Kafka: partitions are being revoked in a group rebalance). The engine then ends the batch in
  // flight at once (sinks, checkpoint, committed()) and calls poll() again, which completes the change.
  virtual bool take_rebalanced() { return false; }
  virtual void close() {}
};

}  // namespace weir
