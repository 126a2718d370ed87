// Partial aggregation on the parse threads (issue 9): with `workers` > 1 in processing time, the thread that
// extracts a chunk also runs every aggregating output over the chunk's records into one window::Partials per
// output, and records each record's outcome per output. The batch loop then merges each table into its
// output's state at the batch start (State::merge) and walks the records in read order for metrics, dead
// letters and the pass-through outputs (Executor::drain). Chosen once per job (Executor::run): processing
// time, on_error.action other than stop, and at least one aggregating output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/source.h"
#include "engine/output_runner.h"
#include "engine/parse_pool.h"
#include "engine/plan.h"

namespace weir::engine {

// Sets the metadata slots a job's expressions read (plan.meta_used) from a record, as Executor::handle does.
void fill_meta(const JobPlan& plan, const RawRecord& r, Value* slots);

// A chunk's partial aggregates and per-record outcomes (owned by the chunk, reused with it).
struct ChunkAgg {
  std::vector<window::Partials> parts;          // per aggregating output
  std::vector<OutputRunner::Outcome> outcomes;  // record-major: [record][aggregating output]
  std::vector<int32_t> errors_at;               // per outcome: index into errors (Bad), else -1
  std::vector<std::string> errors;
  size_t used_errors = 0;
};

// What one thread reuses from record to record: all of the job's slots and each output's scratch.
struct AggScratch {
  std::vector<Value> slots;
  std::vector<OutputRunner::Scratch> outputs;
  std::string error;
};

class PartialAggregator {
 public:
  // `outputs`: the indexes (into plan.outputs) of the aggregating outputs it runs, in job order; `shards`:
  // per output, the shards of its state (window::State::set_shards), which its chunk tables are split into
  // (empty: one each).
  PartialAggregator(const JobPlan& plan, std::vector<size_t> outputs, std::vector<size_t> shards = {});

  std::unique_ptr<AggScratch> scratch() const;

  // After c.extract(): runs every extracted record through the outputs into c's tables (cleared first).
  // Its time is added to c.extract_ns() (the parse threads' share for `workers: auto`).
  void run(Chunk& c, AggScratch& s) const;
  // Every output of the job aggregates (none reads the chunk's values after extraction): extraction and
  // aggregation fused, each record extracted straight into the thread's slots (Chunk::extract_each).
  bool fused() const { return fused_; }
  void extract_and_run(Chunk& c, const fields::Extractor& ex, AggScratch& s) const;

  const std::vector<size_t>& outputs() const { return outputs_; }

  // The outcome of record i for aggregating output k (index into outputs()) and its error (Bad).
  static OutputRunner::Outcome outcome(const Chunk& c, size_t i, size_t k);
  static const std::string& error(const Chunk& c, size_t i, size_t k);

 private:
  ChunkAgg& reset(Chunk& c) const;
  // Record i of c (its fields already in s.slots) through every output.
  void aggregate(const Chunk& c, size_t i, ChunkAgg& a, AggScratch& s) const;

  const JobPlan& plan_;
  std::vector<size_t> outputs_;
  std::vector<size_t> shards_;
  bool fused_ = false;
};

}  // namespace weir::engine
