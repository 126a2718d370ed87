// Grouped, windowed aggregation state for one output (spec §5, §6): panes (slices) of the slide
// size holding partial aggregates per group. Plain data, serialisable for checkpoints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/sink.h"
#include "engine/value.h"

namespace weir::window {

struct Plan {
  config::Window::Kind kind = config::Window::Kind::Batch;
  int64_t length_ms = 0;  // Batch: the job's batch; Tumbling: D; Sliding: L; Total: the job's batch
  int64_t every_ms = 0;   // Batch/Tumbling: = length; Sliding: S; Total: the job's batch
  std::vector<config::AggKind> aggs;  // in column order
  size_t key_count = 0;
  // Outputs without group_by emit one row per window even when it had no records.
  bool emit_empty = false;
};

// All times are epoch milliseconds. Windows are aligned to the epoch: window k of a sliding plan
// covers [k*every, k*every + length); tumbling/batch: [k*length, (k+1)*length).
// Total: one ever-growing window starting at the first batch, emitted at each `every` boundary.
class State {
 public:
  explicit State(Plan plan);
  ~State();
  State(State&&) noexcept;
  State& operator=(State&&) noexcept;

  // Sets the time from which empty windows are emitted (processing time: the first batch's start;
  // event time: not called — empty windows start from the first window that received a record).
  void start_at(int64_t t_ms);

  // Adds one record at time t with its group key (key_count values) and aggregate arguments
  // (args[i] for aggregate i; ignored for count()). Returns false, adding nothing, when every window
  // containing t has already been closed (the record is late).
  bool add(int64_t t_ms, const Key& key, const Value* args);

  // Closes every window with end <= watermark, appending one Emission per window in order of
  // window_end. Rows are: group keys..., aggregates... (window_start/window_end are in the Emission;
  // the output prepends them). Rows come in ascending key order. Frees state no window needs anymore.
  void advance(int64_t watermark_ms, std::vector<Emission>& out);

  // The end of the next window that would close, or INT64_MAX when there is no open window.
  int64_t next_window_end() const;

  // State size for metrics / checkpoint show.
  size_t groups() const;
  size_t panes() const;
  size_t bytes() const;

  // Checkpoint serialisation (binary, compact). load() returns false on malformed input.
  void save(std::string& out) const;
  bool load(std::string_view in);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weir::window
