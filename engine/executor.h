// Runs one job: cuts the input into micro-batches, runs every record through every output, and at each
// batch end hands the outputs' emissions to their sinks, then acknowledges the source positions.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/sink.h"
#include "connectors/source.h"
#include "engine/bad_records.h"
#include "engine/checkpoint.h"
#include "engine/clock.h"
#include "engine/fields/extract.h"
#include "engine/metrics.h"
#include "engine/output_runner.h"
#include "engine/parse_pool.h"
#include "engine/partial_agg.h"
#include "engine/plan.h"

namespace weir::engine {

// The connectors a job runs with (built by connectors/registry from the job file, or by tests).
struct Connectors {
  std::unique_ptr<Source> source;
  std::vector<std::vector<std::unique_ptr<Sink>>> sinks;  // per output, in job order
  std::unique_ptr<DeadLetterSink> dead_letter;            // may be null
};

// Set by signal handlers: 1 = stop gracefully (commit the batch in flight), 2 = stop now.
using StopFlag = std::atomic<int>;

struct ExecutorOptions {
  std::string checkpoint_dir;  // empty: no checkpoints (tests of the batch loop only)
  bool reset_state = false;    // discard the checkpoint and start fresh
  // Tests only: writes a checkpoint instead of `store.write(c, bytes)` (a slow or full disk). Runs on the
  // checkpoint writer thread.
  std::function<Status(checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes)>
      checkpoint_write;
  // Record-path threads (the job key `workers`, the CLI's --workers): > 0 overrides the job file's value.
  // 1: the batch loop does everything; N > 1: N - 1 threads parse ahead (engine/parse_pool.h).
  int workers = 0;
  // Tests only: forces `workers: auto`'s decision, which times the record path on the steady clock and so
  // never runs under a test clock. Set, the probe runs whatever the clock and `workers` (with parse
  // threads), and is asked whenever no chunk is in flight (the end of each poll, and before a record above
  // max_record_bytes) with the chunks consumed so far: true keeps the parse threads, false drops them as
  // parse_ahead_pays() being false would, nullopt asks again next time. Unset: parse_ahead_pays() over the
  // first kParseAheadProbeChunks chunks.
  std::function<std::optional<bool>(int chunks)> parse_ahead_decision;
};

class Executor final : public RecordHandler {
 public:
  Executor(const config::Job& job, const JobPlan& plan, Connectors connectors, Clock& clock,
           ExecutorOptions options = {});
  ~Executor() override;

  // Runs until a bounded source ends (0), a graceful stop (0), or a failure (1; see error()).
  int run(const StopFlag& stop);
  // A hard stop (StopFlag 2) waits this long for a checkpoint write in flight (a healthy disk takes
  // milliseconds: the batch still commits, exit 0), then gives up on it (a hung disk: exit 1).
  static constexpr int64_t kHardStopCheckpointMs = 1000;
  const std::string& error() const { return error_; }
  JobMetrics& metrics() { return metrics_; }
  // The record-path threads this job runs with (resolved from ExecutorOptions::workers and the job).
  int workers() const { return workers_; }
  // Whether records go through the parse threads (workers > 1, unless `auto` found that parsing ahead does
  // not pay for this job: parse_ahead_pays()).
  bool parse_ahead() const { return parse_ahead_; }
  // Whether the parse threads also aggregate (engine/partial_agg.h): parse-ahead in processing time with
  // on_error.action other than stop and an aggregating output. False once `auto` drops the parse threads.
  bool partial_aggregation() const { return partial_; }
  // Chunks merged into key-partitioned state on all the threads (ParsePool::parallel), and the most shards
  // of any output's state (1: none split).
  uint64_t parallel_merges() const { return parallel_merges_; }
  size_t state_shards() const { return shards_; }

  void on_record(const RawRecord& r) override;

 private:
  Status open();
  // Restores the newest usable checkpoint (DELIVERY.md recovery); fills `resume` with its positions.
  Status restore(uint64_t sinks_committed, const Positions*& resume);
  // The pending rows of output o's checkpointed state `st` (file `path`) in this job's row layout: the hidden
  // key columns the checkpoint names (key_columns) are matched with this job's by expression; an aggregating
  // output's are computed again over the row. Refuses (fatal) when an exactly-once sink that lacks some of
  // these batches has a key the rows do not hold and that cannot be computed (a pass-through output's key
  // added or changed since).
  Status restore_pending(size_t o, const checkpoint::OutputState& st, const std::string& path);
  // Checkpoints the current state (DELIVERY.md step 2): first finishes the checkpoint in flight, then
  // copies the state into a checkpoint (the only pause of the batch loop) and hands it to the writer
  // thread. `wait`: also waits until it is written and committed (end of input, stop, rebalance).
  bool checkpoint_and_commit(int64_t batch_end_ms, const StopFlag& stop, bool wait);
  // The checkpoint in flight: when it is written (or at once with `block`), commits the batches it holds
  // (steps 3-4). A failed write is retried with backoff, the source paused, until it succeeds. False: the
  // job failed (see error_), or a hard stop abandoned the write.
  bool finish_checkpoint(const StopFlag& stop, bool block);
  // Whether a hard stop has waited kHardStopCheckpointMs for the checkpoint in flight (counted from the
  // first call that saw StopFlag 2).
  bool hard_stop_waited(const StopFlag& stop);
  // Gives up on the checkpoint being written (checkpoint::Writer::abandon: it is never installed), logs so
  // and fails the job. Returns false.
  bool abandon_checkpoint();
  // Steps 3-4 for a durable checkpoint: exactly-once sinks commit its pending batches, then the source
  // positions are acknowledged and older checkpoints removed.
  bool commit_checkpoint(checkpoint::Checkpoint& cp, const StopFlag& stop);
  bool deliver_pending(bool exactly_once_only, const StopFlag& stop);
  // Ends the batch [start, end): closes windows, writes every output's emissions, acknowledges positions.
  // force_checkpoint: checkpoint and commit now whatever checkpoint.every says (a rebalance).
  bool close_batch(int64_t start_ms, int64_t end_ms, bool end_of_input, const StopFlag& stop,
                   bool force_checkpoint = false);
  bool write_with_retry(Sink& sink, const std::string& output, const BatchOutput& batch,
                        const StopFlag& stop);
  int64_t idle_clock_ms();
  void update_watermark(uint32_t stream, int64_t t_ms, int64_t now_ms);
  // Everything after reading one record: rejections, extraction (or its result from the parse pool:
  // `chunk` and record `i`), metadata, event time, the outputs.
  void handle(const RawRecord& r, Chunk* chunk, size_t i);
  // handle() for record i of a chunk the parse threads also aggregated: the aggregating outputs' outcomes
  // come from the chunk (Kept turns Late where merged[k] is false), the pass-through outputs run here.
  void handle_aggregated(Chunk& chunk, size_t i);
  // A record rejected before the outputs (tombstone, too large, extraction or event-time error): counted,
  // logged or dead-lettered (on_error.action stop: stop_on_bad_).
  void reject(const RawRecord& r, const std::string& why);
  // Output o's Bad (`why`; counted once per record across outputs with `counted_bad`) or Late outcome for r.
  void not_kept(size_t o, OutputRunner::Outcome out, const RawRecord& r, const std::string& why, int64_t t,
                bool& counted_bad);
  // Parse-ahead: consumes the extracted chunks in the order they were read; `all`: every chunk in flight
  // (the end of a poll: what a poll read is counted in the batch it was read in), else those ready.
  void drain(bool all);
  // The chunks of ready_ merged into the outputs' states (merged_: whether each output took them): on all
  // threads when the first one's tables are worth it (parallel_merge), else on the batch loop.
  void merge_ready();
  bool parallel_merge(const Chunk& c) const;
  void fail(std::string message);

  const config::Job& job_;
  const JobPlan& plan_;
  Connectors conn_;
  Clock& clock_;
  ExecutorOptions opts_;
  std::optional<checkpoint::Store> store_;
  std::unique_ptr<checkpoint::Writer> writer_;     // with store_: writes checkpoints in the background
  uint64_t writing_batch_ = 0;                     // the batch of the checkpoint writer_ has in flight
  int64_t hard_stop_ms_ = -1;                      // steady clock: when a wait first saw StopFlag 2
  std::vector<size_t> state_bytes_;                // per output: size of the last saved state (to reserve)
  checkpoint::Checkpoint restored_;                // positions live here while the source resumes from them
  std::vector<std::vector<BatchOutput>> pending_;  // per output: batches not yet checkpointed and committed
  int batches_since_checkpoint_ = 0;
  uint64_t rebalances_ = 0;  // revocations seen (crash points count them)
  fields::Extractor extractor_;
  int workers_ = 1;
  std::unique_ptr<ParsePool> pool_;  // workers_ > 1, until `auto` finds it does not pay
  bool parse_ahead_ = false;         // records go to pool_ (kept after run() joins the pool, for callers)
  std::unique_ptr<PartialAggregator> agg_;  // with pool_ when the parse threads aggregate
  bool partial_ = false;                    // pool_ runs agg_ (kept after run(), for callers)
  std::vector<int> agg_of_;                 // per output: its index among agg_->outputs(), or -1
  std::vector<char> merged_;                // per aggregating output: the current chunk's merge succeeded
  std::vector<uint64_t> kept_;              // per output: records kept in the current chunk
  bool pass_through_ = false;               // with partial_: some output is not aggregating
  // With partial_: the aggregating outputs' states are split into workers_ shards (window::State::set_shards)
  // where they allow it, and a chunk whose tables hold many groups is merged shard by shard on the pool
  // (ParsePool::parallel). shards_: the most shards of any output (1: none split).
  size_t shards_ = 1;
  uint64_t parallel_merges_ = 0;
  std::vector<uint8_t> shard_merged_;        // [aggregating output][shard]: that shard's merge succeeded
  std::function<void(size_t)> merge_part_;   // ParsePool::parallel's part (set once: no allocation per chunk)
  std::vector<Chunk*> ready_;                // drain(): the extracted chunks taken together, in read order
  static constexpr size_t kMergeChunks = 8;  // the most chunks merged together
  // `workers: auto` on the system clock: time spent extracting and handling the first chunks, then decided.
  struct Probe {
    bool active = false;
    int chunks = 0;
    int64_t extract_ns = 0;
    int64_t handle_ns = 0;
  } probe_;
  BadRecords bad_;
  std::vector<OutputRunner> runners_;
  JobMetrics metrics_;

  std::vector<Value> slots_;
  std::string err_;
  uint64_t batch_id_ = 1;
  int64_t batch_start_ms_ = 0;
  bool stop_on_bad_ = false;
  const StopFlag* stop_ = nullptr;
  std::string error_;

  // event time
  struct StreamTime {
    int64_t max_ms = INT64_MIN;
    int64_t last_seen_ms = 0;  // idle_clock_ms(), for idleness
  };
  std::vector<StreamTime> streams_;
  int64_t watermark_ms_ = INT64_MIN;
  int64_t started_steady_ms_ = 0;
};

}  // namespace weir::engine
