// The running state of one output: its window state (aggregating) or the batch's rows (pass-through),
// and the emissions waiting for the end of the batch. Plan in OutputPlan, state here (STYLE.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/sink.h"
#include "engine/plan.h"
#include "engine/window/window_state.h"

namespace weir::engine {

class OutputRunner {
 public:
  enum class Outcome : uint8_t { Kept, Filtered, Bad, Late };

  // What one record's where → explode → select → keys → args reuses (no allocation in steady state). Each
  // thread that runs records through an output owns one (OutputRunner's own is the batch loop's).
  struct Scratch {
    explicit Scratch(const OutputPlan& plan);
    Key key;
    std::vector<Value> args;
    std::vector<std::pair<Key, std::vector<Value>>> exploded;
    size_t used = 0;                       // entries of `exploded` this record
    Value src;                             // explode's source, copied: the slots may be rewritten
    std::vector<std::string_view> tokens;  // split strings: views into `src`
    Value tmp;
    std::string folded;  // a lower()/upper() group key (OutputPlan::count_key)
  };

  explicit OutputRunner(const OutputPlan& plan);

  // Aggregating outputs only, on any thread (reads only `plan`): runs one record like process() but adds
  // it into a chunk's partial table instead of the state. Never Late (the table takes every record; the
  // merge into the state decides lateness for the whole chunk).
  static Outcome process_partial(const OutputPlan& plan, Value* slots, Scratch& scratch,
                                 window::Partials& parts, std::string& error);

  // Runs one record (its slots, all of the job's slots) through where → explode → select → group/aggregate,
  // at time `t_ms` (processing time: the batch start; event time: the record's event time).
  // Bad: `error` says why; nothing of the record was added. Late: every window of t was closed.
  Outcome process(Value* slots, int64_t t_ms, std::string& error);

  // Closes the windows that end at or before `watermark_ms`; their rows wait for take().
  void advance(int64_t watermark_ms);

  // Hands over everything emitted since the last take(): aggregating outputs the closed windows (after
  // having → order_by → limit), pass-through outputs one emission [batch_start, batch_end) with the batch's
  // rows.
  void take(int64_t batch_start_ms, int64_t batch_end_ms, std::vector<Emission>& out);

  // Processing time: windows are emitted from the job's first batch on, even empty ones (no group_by).
  void start_at(int64_t t_ms) {
    if (plan_.aggregating) state_.start_at(t_ms);
  }
  int64_t next_window_end() const;

  // Expressions evaluated over result rows that failed (spec §10 for `having` and a Kafka sink's `key` on an
  // aggregating output; there is no record to make bad): how many, and the first few messages.
  struct RowErrors {
    static constexpr size_t kMaxMessages = 10;
    uint64_t count = 0;
    std::vector<std::string> messages;  // at most kMaxMessages
    void add(std::string msg) {
      ++count;
      if (messages.size() < kMaxMessages) messages.push_back(std::move(msg));
    }
  };
  // The row errors since the last call (advance() and take() make them); resets them.
  RowErrors take_row_errors();

  const OutputPlan& plan() const { return plan_; }
  window::State& state() { return state_; }

 private:
  Outcome add_one(Value* slots, int64_t t_ms, std::string& error);
  bool finish_rows(Emission& e);

  const OutputPlan& plan_;
  window::State state_;
  std::vector<Emission> closed_;  // aggregating: closed windows not yet taken
  std::vector<Row> rows_;         // pass-through: rows of the current batch
  // Reused per record (no allocation in steady state).
  Scratch scratch_;
  // Shared with the state's row selection (which evaluates having when a limit applies).
  std::shared_ptr<RowErrors> row_errors_ = std::make_shared<RowErrors>();
  // Quiet windows the state skipped (window::State::skipped_windows) that were logged; kNotYet until the
  // first advance(), which starts from the restored count.
  static constexpr uint64_t kNotYet = UINT64_MAX;
  uint64_t skipped_reported_ = kNotYet;
  bool selected_ = false;  // the state applies having → order_by → limit (aggregating outputs with limit)
};

}  // namespace weir::engine
