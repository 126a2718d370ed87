// The interface every sink implements, and the rows an output hands to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/source.h"
#include "connectors/status.h"
#include "engine/value.h"

namespace weir {

struct Column {
  std::string name;
  Type type = Type::Null;  // Null: not known before data arrives (fields of type any, sums over any)
};

// The shape of one output's rows: aggregating outputs have window_start, window_end, group keys,
// aggregates; pass-through outputs have their fields and select columns.
struct RowSchema {
  std::vector<Column> columns;
  bool aggregating = false;
  int index_of(std::string_view name) const;
};

using Row = std::vector<Value>;

// A row as one JSON object, {"column":value,...} in column order (no newline): the jsonl file sink, the
// console's json format and error messages that show a row.
void append_row_json(std::string& out, const RowSchema& schema, const Row& row);

// The rows of one window (or, for pass-through outputs, of one batch).
struct Emission {
  int64_t window_start_ms = 0;
  int64_t window_end_ms = 0;
  std::vector<Row> rows;
};

// Everything one output produced in one batch, handed to each of its sinks.
struct BatchOutput {
  uint64_t batch_id = 0;            // 1, 2, 3 ... increasing for the job's life (kept across restarts)
  std::vector<Emission> emissions;  // in order of window_end
  Positions positions;              // source positions at the end of this batch
};

struct SinkContext {
  std::string job;
  std::string output;
  RowSchema schema;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status open(const SinkContext& ctx) = 0;
  // Exactly-once sinks: the last batch id durably committed for (job, output) (0: none).
  // Others return 0.
  virtual uint64_t committed_batch() { return 0; }
  // Writes one batch. Exactly-once sinks write it atomically together with its batch id and skip a
  // batch whose id is <= the committed one. A retryable status means nothing was committed (or the
  // outcome was resolved as not committed) and the same batch may be written again.
  virtual Status write(const BatchOutput& batch) = 0;
  virtual bool exactly_once() const { return false; }
  virtual void close() {}

  // Rows the last successful write() left out because the destination cannot hold them (e.g. text with a NUL
  // byte in PostgreSQL). The engine dead-letters them; the batch still counts as written.
  struct Rejected {
    Row row;
    std::string reason;
  };
  virtual std::vector<Rejected> take_rejected() { return {}; }
};

// Where bad records go (on_error.dead_letter). `entry` is a complete JSON object (spec §8).
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual Status open(const std::string& job) = 0;
  virtual Status write(const std::string& entry_json) = 0;
  virtual Status flush() = 0;  // called at the end of each batch, before the batch commits
  virtual void close() {}
  // The largest entry the sink can take, once open (a Kafka producer's message.max.bytes, less the message's
  // own overhead). The engine cuts the payload of a longer entry to fit (spec §8: no input may stop the job).
  virtual size_t max_entry_bytes() const { return SIZE_MAX; }
};

}  // namespace weir
