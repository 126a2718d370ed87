// Parse-ahead for the batch loop (issue 9, `workers` > 1): the batch loop copies the records a poll
// delivers into chunks, parse threads run field extraction (spec §4) on whole chunks, and the batch loop
// takes the extracted chunks back strictly in read order and does everything after extraction itself.
// Threads: only the batch loop calls Chunk::add/clear/record/take_fields and ParsePool's public methods;
// a chunk's extraction is done by exactly one thread, the one that moves it from Queued to Claimed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/job.h"
#include "connectors/source.h"
#include "engine/fields/extract.h"
#include "engine/value.h"

namespace weir::engine {

struct ChunkAgg;          // engine/partial_agg.h
class PartialAggregator;  // engine/partial_agg.h
struct AggScratch;        // engine/partial_agg.h

// Up to kMaxRecords records (or about kMaxBytes of them) with their metadata copied into one arena, and
// after extraction each record's field values or its error. Buffers are kept when recycled.
class Chunk {
 public:
  // Filling (batch loop) -> Queued (submitted) -> Claimed (one thread extracts) -> Done (batch loop reads).
  enum State : int { Filling, Queued, Claimed, Done };
  static constexpr size_t kMaxRecords = 2048;
  static constexpr size_t kMaxBytes = 512 * 1024;
  // A string buffer the batch loop hands back (take_fields) larger than this is freed rather than kept for
  // the next extraction at that position: otherwise every position of every chunk would keep the largest
  // string that ever passed through it (up to max_record_bytes each).
  static constexpr size_t kKeepStringBytes = 4096;

  explicit Chunk(size_t field_count);
  ~Chunk();

  void clear();
  // Copies the record; `read_ms`: the processing time it was read at (kept for the `idle` check).
  void add(const RawRecord& r, int64_t read_ms);
  size_t size() const { return recs_.size(); }
  bool full() const { return recs_.size() >= kMaxRecords || arena_.size() >= kMaxBytes; }
  // Record `i` as read; its views point into the chunk (valid until clear()).
  RawRecord record(size_t i) const;
  // Extracts every record's fields. Tombstones are skipped: the batch loop rejects them before it looks
  // at the extraction. (Records above max_record_bytes never get into a chunk.)
  void extract(const fields::Extractor& ex);
  // Extraction fused with the use of each record (partial aggregation when no output reads the chunk's values
  // later): every record is extracted into `slots` (the caller's) and `use(i)` called at once; the chunk
  // keeps only the errors (ok(), error()), not the values, so take_fields() must not be called after it.
  template <class Use>
  void extract_each(const fields::Extractor& ex, Value* slots, std::string& err, Use&& use);
  bool null_payload(size_t i) const { return recs_[i].null_payload; }
  // A parse thread could not extract the chunk (an exception, e.g. out of memory): the batch loop
  // extracts it again itself, as it would with `workers: 1`.
  void set_failed() { failed_ = true; }
  bool failed() const { return failed_; }
  // Heap bytes the chunk keeps between uses: its record arena and the string buffers of its values.
  size_t held_bytes() const;
  size_t bytes() const { return arena_.size(); }  // the records' bytes (and metadata) copied in
  bool ok(size_t i) const { return recs_[i].error < 0; }
  const std::string& error(size_t i) const { return errors_[static_cast<size_t>(recs_[i].error)]; }
  int64_t read_ms(size_t i) const { return recs_[i].read_ms; }
  // Moves record `i`'s extracted values into the executor's field slots (the first field_count).
  void take_fields(size_t i, Value* slots);
  // Record `i`'s extracted values (field_count of them), for the thread that holds the chunk.
  Value* fields(size_t i) { return values_.data() + i * field_count_; }
  size_t field_count() const { return field_count_; }
  // Nanoseconds the last extract() took (whichever thread ran it), plus what add_extract_ns() added.
  int64_t extract_ns() const { return extract_ns_; }
  void add_extract_ns(int64_t ns) { extract_ns_ += ns; }

  // Partial aggregation (PartialAggregator::run fills it after extract()); null until first used.
  std::unique_ptr<ChunkAgg> agg;

  std::atomic<int> state{Filling};

 private:
  struct Span {
    size_t off = 0;
    size_t len = 0;
  };
  struct Rec {
    Span payload, topic, file, key;
    bool has_key = false;
    bool null_payload = false;
    int32_t partition = -1;
    uint32_t stream = 0;
    int64_t offset = -1;
    int64_t timestamp_ms = -1;
    int64_t line = -1;
    int64_t read_ms = 0;
    int32_t error = -1;
  };
  std::string_view view(const Span& s) const { return std::string_view(arena_).substr(s.off, s.len); }
  Span put(std::string_view s);
  Span put_repeated(std::string_view s, const Span& prev);
  // extract() and extract_each(): each record (tombstones skipped) into slots_of(i), then use(i) when it
  // extracted, else its error kept; the time taken is extract_ns().
  template <class SlotsOf, class Use>
  void extract_records(const fields::Extractor& ex, std::string& err, SlotsOf&& slots_of, Use&& use);

  size_t field_count_;
  std::string arena_;
  std::vector<Rec> recs_;
  std::vector<Value> values_;
  std::vector<std::string> errors_;
  size_t used_errors_ = 0;
  int64_t extract_ns_ = 0;
  bool failed_ = false;
};

template <class SlotsOf, class Use>
void Chunk::extract_records(const fields::Extractor& ex, std::string& err, SlotsOf&& slots_of, Use&& use) {
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < recs_.size(); ++i) {
    Rec& rec = recs_[i];
    rec.error = -1;
    if (rec.null_payload) continue;  // rejected by the batch loop before extraction
    if (ex.extract(view(rec.payload), slots_of(i), err)) {
      use(i);
      continue;
    }
    if (used_errors_ == errors_.size()) errors_.emplace_back();
    errors_[used_errors_].swap(err);
    rec.error = static_cast<int32_t>(used_errors_++);
  }
  extract_ns_ =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

template <class Use>
void Chunk::extract_each(const fields::Extractor& ex, Value* slots, std::string& err, Use&& use) {
  extract_records(
      ex, err, [slots](size_t) { return slots; }, use);
}

// A FIFO of chunks in a vector used as a ring: it allocates only while it grows to the most chunks ever in
// flight, never per chunk (a std::deque allocates a block every 64 pushes, i.e. per record when every poll
// reads one record, and the allocation check counts that).
class ChunkRing {
 public:
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  Chunk* front() const { return buf_[head_]; }
  Chunk* operator[](size_t i) const { return buf_[(head_ + i) % buf_.size()]; }
  void push_back(Chunk* c);
  void pop_front();

 private:
  std::vector<Chunk*> buf_;
  size_t head_ = 0;
  size_t n_ = 0;
};

// `threads` parse threads, each with its own Extractor. Throws std::system_error when a thread cannot
// be started (then none runs).
class ParsePool {
 public:
  // `agg`: also run partial aggregation after each chunk's extraction (on whichever thread extracts it);
  // may be null. It must outlive the pool.
  ParsePool(const config::Job& job, size_t field_count, int threads, const PartialAggregator* agg = nullptr);
  ~ParsePool();  // joins the threads; chunks still in flight are dropped
  ParsePool(const ParsePool&) = delete;
  ParsePool& operator=(const ParsePool&) = delete;

  // Copies a record into the chunk being filled (`read_ms`: when it was read, for the `idle` check; 0 when
  // the job does not need it); true when that chunk became full and was submitted.
  bool add(const RawRecord& r, int64_t read_ms);
  // Submits the chunk being filled, if it holds records.
  void flush();
  // The oldest submitted chunk once it is extracted, else nullptr; `wait`: until it is (meanwhile the
  // caller extracts chunks no thread has started, with `own`). Give it back with recycle().
  Chunk* next(bool wait, const fields::Extractor& own);
  void recycle(Chunk* c);
  // So many chunks are in flight that the batch loop should wait for the oldest before reading on.
  bool backlogged() const { return inflight_.size() >= max_inflight_; }
  // Runs part(0) ... part(n - 1) and returns when all are done (key-partitioned state: one part per shard).
  // A parse thread takes a part when it is free, before any chunk; the batch loop takes the first part, then
  // (with `own`) extracts chunks no thread has started while a part waits for a busy parse thread, and takes
  // the parts left when there is no such chunk. Exceptions are rethrown here (the first one).
  void parallel(size_t n, const std::function<void(size_t)>& part, const fields::Extractor* own = nullptr);
  // Threads besides the batch loop.
  size_t threads() const { return threads_.size(); }

 private:
  // Runs one part of the parallel() task (mu_ not held); counts it done.
  void run_part(size_t i);
  // The batch loop extracts the oldest chunk no thread has started, with `own`; false when there is none.
  bool help(const fields::Extractor& own);
  void work(size_t worker);
  // Extraction and, with agg_, partial aggregation of one chunk (scratch: the thread's).
  void process(Chunk* c, const fields::Extractor& ex, size_t scratch);
  void finish(Chunk* c);
  void submit(Chunk* c);

  size_t field_count_;
  size_t max_inflight_;
  std::vector<std::unique_ptr<fields::Extractor>> extractors_;
  const PartialAggregator* agg_;
  // With agg_: per parse thread, then one for the batch loop (index threads).
  std::vector<std::unique_ptr<AggScratch>> scratch_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  bool stop_ = false;
  // parallel(): the task, its parts taken and done, and the first exception (all mu_).
  const std::function<void(size_t)>* task_ = nullptr;
  size_t task_n_ = 0, task_next_ = 0, task_done_ = 0;
  std::exception_ptr task_error_;
  ChunkRing queue_;     // (mu_) submitted, for the threads; may hold chunks already claimed
  ChunkRing inflight_;  // (batch loop) submitted and not yet taken back, in read order
  std::vector<std::unique_ptr<Chunk>> chunks_;  // (batch loop) every chunk
  std::vector<Chunk*> free_;                    // (batch loop) recycled
  Chunk* filling_ = nullptr;                    // (batch loop)
};

// `workers: auto` keeps parsing ahead only where it pays. `extract_ns`: the parse threads' time on the probed
// chunks (extraction, plus partial aggregation when on); `handle_ns`: the batch loop's time on the same
// chunks after extraction. Extraction only: it pays when extraction is at least half of what the batch loop
// spends after it, i.e. at least a third of the record path. Jobs whose time goes into large window state
// (W3: ~30% parsing) pay ~25% more CPU for the hand-over and gain nothing. Partial aggregation (`partial`):
// the parse threads' time then includes the aggregation the batch loop would otherwise do, and the batch
// loop's the merges, which cost as much as adding the records when the chunk's tables do not shrink them (W3:
// 1M keys, one group per record; the parse threads take ~45-53% of the path there). It pays when the parse
// threads take at least twice the batch loop's time (W1: ~94%, W2: ~88%, as measured for docs/semantics.md).
// Merges into key-partitioned state run on every thread (ParsePool::parallel) but count as the batch loop's
// time here: W3 with `workers: 2` runs 1.2-1.3x faster than with 1 since session 9, yet `auto` still drops
// the pool for it (docs/performance.md, session 9).
bool parse_ahead_pays(int64_t extract_ns, int64_t handle_ns, bool partial = false);
// Chunks measured before `auto` decides.
constexpr int kParseAheadProbeChunks = 64;
// Chunks whose tables hold at least this many groups, and at least one per kParallelMergeBytes of the
// chunk's records (the first of the chunks merged together decides), are merged into key-partitioned state on
// all the threads (ParsePool::parallel); others on the batch loop: a few keys (W1) cost less to merge than to
// hand over, and where parsing is most of the work (W2: ~500 groups in 512 KB of tweets) the parse threads
// are better left parsing (measured: W2 with 2 workers took 0.27 s instead of 0.22 s with its merges on both
// threads).
constexpr size_t kParallelMergeGroups = 256;
constexpr size_t kParallelMergeBytes = 128;

// CPUs this process may use: the affinity mask, capped by a cgroup v2 CPU quota (`cpu.max`, e.g. "150000
// 100000" = 1.5 CPUs -> 2; "max 100000" = no cap) as in a container started with --cpus.
int usable_cpus();
// The cap a cgroup v2 `cpu.max` text puts on `cpus` (rounded up, at least 1); `cpus` when it sets none.
int cpus_under_quota(const std::string& cpu_max, int cpus);

// The record-path threads to run with: `requested` (the CLI's --workers) if > 0, else the job's `workers`
// if > 0, else `auto`: 2 when the process may use >= 2 CPUs (usable_cpus()), else 1.
int resolve_workers(int requested, int job_workers);

}  // namespace weir::engine
