// Grouped, windowed aggregation state for one output (spec §5, §6): panes (slices) of the slide
// size holding partial aggregates per group. Plain data, serialisable for checkpoints.
//
// Incremental: add() touches one pane partial of one group; emitting a window adds the newest pane's
// and subtracts the expired pane's partials to/from per-group running aggregates for count(),
// count(x), sum and avg, and combines the group's pane partials (never records) for min, max, first,
// last and count_distinct. Memory is O(groups x panes) (count_distinct: O(distinct values per group
// and pane)), never O(records). Internals: state_impl.h.
//
// Aggregate results (spec §5):
// - count() -> int (records); count(x) -> int (non-null x); count_distinct(x) -> int (distinct
//   non-null x; 1 and 1.0 are one value).
// - sum(x) -> int when every non-null input is an int, float otherwise; null when it had no numeric
//   input. Ints are summed exactly in 128 bits, so an int64 overflow is never silent and never loses a
//   record: a sum beyond the int64 range is emitted as a float. Float sums are kept with add/subtract
//   but recomputed from the pane sums when their rounding-error bound grows past 2^-40 of the sum.
// - avg(x) -> float: the sum of the numeric inputs over their count.
// - sum/avg skip non-numeric inputs (bool, string, time, list) here, but none reach the state from a job:
//   validation refuses arguments known not to be numeric, and the executor makes a record whose argument
//   is not a number bad before anything of it is added (OutputPlan::numeric_args).
// - min/max by Value::compare (nulls ignored); first/last: the first/last non-null value in arrival
//   order (add() calls), across panes.
// - A window with no records (only emitted with emit_empty): count(), count(x), count_distinct -> 0,
//   everything else null.
//
// Quiet windows: a window with no records of its own (emit_empty: an empty window; total: a boundary
// without new records, re-emitting the running totals). To never loop over billions of them after a
// watermark jump, at most kMaxQuietRun quiet windows are emitted after the last window that had
// records (or after start_at()'s first window, or, in processing time, after the last window the
// previous advance() closed); later quiet windows are skipped, counted by skipped_windows(), until
// the next window with records. This depends only on the records and the watermark, not on how
// often advance() was called. advance(INT64_MAX) (end of input) emits no quiet window after the last
// window with records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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
  // Sliding windows end, rather than start, at multiples of every (processing time: a window is
  // emitted at the end of each batch that ends on a multiple of every and covers the last length).
  // Only differs when length is not a multiple of every.
  bool align_end = false;
  // Rows begin with window_start, window_end (times), then the group keys and aggregates.
  bool bounds = false;
};

// Row selection applied while an emission's rows are built (order_by + limit): only the first
// `limit` rows by `order` (ties broken by the group keys ascending, a total order since keys are
// unique) among those `keep` accepts are kept. Candidates are built in a reused scratch row and
// copied only while they are among the first `limit`, and groups are not sorted by key: an emission
// costs O(groups) with no allocation per group.
struct Select {
  std::vector<std::pair<size_t, bool>> order;  // row column (as emitted), descending
  size_t limit = 0;
  std::function<bool(const Row&)> keep;  // having; null keeps every row
};

class State;

// A chunk-local table of partial aggregates (issue 9: partial aggregation on the parse threads): the
// records of one chunk that all fall at the same time t (processing time: the batch start), grouped by key
// in the order the groups first appear, each group's partial as a pane partial of a State over the same
// Plan would hold it (first/last by an arrival sequence local to the table, count_distinct sets). A
// State then takes the whole table with State::merge(t, table) as if the records were add()ed one by one.
// Not thread-safe; meant to be owned by one chunk and filled by the thread that holds the chunk. clear()
// keeps every buffer, so filling a table again allocates nothing for keys and groups it has held before.
//
// Key-partitioned (`shards` > 1, for a State split the same way: State::set_shards): a record goes to the
// table of its key's shard (shard_of() of its group hash); the tables share one arrival sequence, so each
// record keeps the sequence number it would have in one table.
class Partials {
 public:
  explicit Partials(const Plan& plan, size_t shards = 1);
  ~Partials();
  Partials(Partials&&) noexcept;
  Partials& operator=(Partials&&) noexcept;

  // One record (its group key and aggregate arguments, as State::add takes them).
  void add(const Key& key, const Value* args);
  // add({Value::string(key)}, nullptr), as State::add_string_key (one key, only count()).
  void add_string_key(std::string_view key);
  // Empties the table for the next chunk, keeping buffers within the limits below.
  void clear();
  size_t groups() const;     // distinct keys held
  uint64_t records() const;  // add() calls since clear()
  size_t shards() const { return tabs_.size(); }
  size_t groups(size_t shard) const;  // distinct keys held in one shard's table
  // Heap bytes the table holds (its arrays, key strings and distinct-value sets; an estimate for sets).
  size_t held_bytes() const;

  // What clear() keeps: key strings up to this capacity, sets up to this many buckets, this many entries.
  static constexpr size_t kKeepStringBytes = 4096;
  static constexpr size_t kKeepSetBuckets = 4096;
  static constexpr size_t kKeepEntries = 4096;

  struct Impl;  // internal: engine/window/state_impl.h

 private:
  friend class State;
  // One table per shard. The arrival sequence they share is kept in the first table (tabs_[0]->seq): a
  // counter in this object, written per record, shared cache lines with other chunks' objects that the batch
  // loop reads (W1 with 2 workers ran ~10% slower).
  std::vector<std::unique_ptr<Impl>> tabs_;
};

// The shard (0 .. n - 1) of a group whose GroupTable hash is h: the hash's top bits (a shard's group table
// indexes its slots by the low bits).
inline size_t shard_of(uint32_t h, size_t n) {
  return static_cast<size_t>((uint64_t{h} * n) >> 32);
}

// All times are epoch milliseconds. Windows are aligned to the epoch: window k of a sliding plan
// covers [k*every, k*every + length) (align_end: [k*every - length, k*every)); length need not be a
// multiple of every (panes are gcd(length, every) long; with length < every, time between windows
// belongs to none); tumbling/batch: [k*length, (k+1)*length).
// Total: one ever-growing window starting at the first batch, emitted at each `every` boundary.
class State {
 public:
  // Geometry the config should have validated is coerced, never thrown: every <= 0 -> length (or
  // 1 ms), length <= 0 -> every, both capped at 2^50 ms. (Pass-through outputs
  // construct a State from a default Plan and never use it.)
  explicit State(Plan plan);
  ~State();
  State(State&&) noexcept;
  State& operator=(State&&) noexcept;

  // Sets the time from which empty windows are emitted (processing time: the first batch's start;
  // event time: not called — empty windows start from the first window that received a record).
  void start_at(int64_t t_ms);

  // Adds one record at time t with its group key (key_count values) and aggregate arguments
  // (args[i] for aggregate i; ignored for count(); args may be null when all are count()). Returns
  // false, adding nothing, when every window containing t has already been closed (the record is
  // late) or no window contains t (sliding length < every), after advance(INT64_MAX), or when
  // |t| > 2^61 ms. A total never refuses a record otherwise:
  // one older than the last boundary counts from the next boundary on.
  // Lateness is judged against the last watermark passed to advance(): call advance() whenever the
  // watermark moves (cheap when no window closes), not only when it passes next_window_end().
  bool add(int64_t t_ms, const Key& key, const Value* args);

  // add(t_ms, {Value::string(key)}, nullptr) for a plan with one group key whose aggregates are all count(),
  // without building the key: the group is found by the string's bytes.
  bool add_string_key(int64_t t_ms, std::string_view key);

  // Adds every record of `parts` at time t, as add(t_ms, key, args) of each record in the order they were
  // added to it would: false (nothing merged) exactly when add() would refuse a record at t; otherwise each
  // group's partial is merged into the pane of t in the table's order (groups are created in the order
  // they first appeared), first/last sequences rebased onto this state's arrival counter. Results equal
  // adding the records one by one, except that a float sum adds the table's partial sums, so it is rounded
  // differently (usually the last bits; more where large values cancel: docs/semantics.md, workers). Ints,
  // counts, min/max/first/last and count_distinct are exact. `parts` is unchanged.
  bool merge(int64_t t_ms, const Partials& parts);

  // Closes every window with end <= watermark, appending one Emission per window in order of
  // window_end. Rows are: [window_start, window_end (Plan::bounds),] group keys..., aggregates...
  // Rows come in ascending key order (with select(): the selected rows, first first). Frees state no
  // window needs anymore.
  void advance(int64_t watermark_ms, std::vector<Emission>& out);

  // Selects rows while they are built (see Select); applies to every later emission.
  void select(Select s);

  // The end of the next not-yet-emitted window that holds records (total: that has new records since
  // the last emission), or INT64_MAX when there is none. Quiet windows are not counted.
  int64_t next_window_end() const;

  // State size for metrics / checkpoint show: groups held, panes holding partials, and an estimate
  // of the heap bytes used (string payloads inside min/max/first/last values are not counted).
  size_t groups() const;
  size_t panes() const;
  size_t bytes() const;

  // Quiet windows not emitted because they came more than kMaxQuietRun after the last window with
  // records (see the top of this file).
  uint64_t skipped_windows() const;
  static constexpr int64_t kMaxQuietRun = 10000;

  // Checkpoint serialisation (binary, compact). load() returns false on malformed input. A sharded state
  // writes the encoding of one state holding all its groups (shard by shard: the groups' order differs from
  // an unsharded state's, nothing else), and loads any encoding into its shards: a checkpoint restores with
  // any shard count.
  void save(std::string& out) const;
  bool load(std::string_view in);

  // Key-partitioned state (issue 9, `workers` >= 2): the groups, their partials and the pane and member
  // indexes split into `n` shards by shard_of(group hash), each a complete state of its own over its groups
  // (the same window geometry, closed windows and watermark; arrival sequences kept equal). merge_shard()
  // calls for different shards may run at the same time on different threads (nothing else may then run on
  // the state); everything else runs on one thread. Results are those of one state: advance() merges the
  // shards' emissions of each window into one (rows in key order, or the selection's order cut to its
  // limit). Only plans that shardable() accepts are split (others stay at one shard): not `total` windows
  // nor outputs without group_by (their quiet windows depend on all groups), nor a selection with `having`
  // (its row errors would be met in another order). Keeps the content (a restored state is split).
  void set_shards(size_t n);
  size_t shards() const { return 1 + more_.size(); }
  // Runs part(0) ... part(n - 1), possibly on several threads at once, and returns when all are done.
  using Parallel = std::function<void(size_t n, const std::function<void(size_t)>& part)>;
  // A sharded state's advance() and save() run their shards through `p` (one part per shard).
  void set_parallel(Parallel p) { parallel_ = std::move(p); }
  bool shardable() const;
  // merge() of shard s of `parts` (split the same way) into shard s.
  bool merge_shard(size_t s, int64_t t_ms, const Partials& parts);

  struct Impl;  // internal: engine/window/state_impl.h

 private:
  void added_to(size_t s);
  Impl& shard(size_t s) { return s == 0 ? *impl_ : *more_[s - 1]; }
  const Impl& shard(size_t s) const { return s == 0 ? *impl_ : *more_[s - 1]; }
  std::unique_ptr<Impl> impl_;                  // shard 0
  std::vector<std::unique_ptr<Impl>> more_;     // shards 1 ..
  std::vector<std::vector<Emission>> emitted_;  // advance(): each shard's emissions, reused
  Parallel parallel_;
  // Runs part(s) for every shard: through parallel_ when set, else one after the other.
  void each_shard(const std::function<void(size_t)>& part) const;
};

}  // namespace weir::window
