// The compiled, immutable form of a job: record slot layout, each output's compiled expressions,
// window plan and row schema. Built once when the job is loaded (STYLE.md: plan is constant).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/job.h"
#include "connectors/sink.h"
#include "engine/expr/eval.h"
#include "engine/window/window_state.h"

namespace weir::engine {

// Metadata fields a record carries (spec §3), available to expressions by name.
enum Meta : int { kTopic, kPartition, kOffset, kKey, kTimestamp, kFile, kLine, kRaw, kMetaCount };
extern const std::array<const char*, kMetaCount> kMetaNames;

struct Slot {
  std::string name;
  Type type = Type::Null;  // Null: unknown (any)
};

// A hidden column appended after an output's visible columns (e.g. a Kafka sink's message key).
struct HiddenColumn {
  expr::Compiled expr;    // over the record (pass-through outputs) or over the row (aggregating outputs)
  std::string text;       // as written, for errors
  std::string canonical;  // expr::to_string() of it: names the column in checkpoints (key_columns)
};

struct OutputPlan {
  std::string name;
  size_t index = 0;
  expr::Compiled where;
  // explode: source slot, destination slot, separator (absent: list)
  int explode_src = -1;
  std::string explode_field;  // the source's name, for errors
  int explode_dst = -1;
  std::optional<std::string> explode_split;
  std::vector<std::pair<int, expr::Compiled>> select;  // destination slot <- expression
  int raw_slot = -1;                                   // select `*: true`: the _raw slot to copy
  // aggregating outputs
  bool aggregating = false;
  std::vector<expr::Compiled> keys;      // group_by, in order
  std::vector<expr::Compiled> agg_args;  // per aggregate; empty Compiled for count()
  // sum()/avg() arguments whose type is not known to be numeric before running (type any, paths, select
  // names): a non-null value that is not a number makes the record bad. Statically non-numeric arguments
  // are validation errors.
  struct NumericArg {
    size_t agg = 0;    // index into agg_args
    std::string text;  // the call as written, for errors: "sum(v)"
  };
  std::vector<NumericArg> numeric_args;
  // The row path for the commonest grouping, one string key counted: no select, one group key that is a
  // field or lower()/upper() of one (exploding: the explode's element), every aggregate count(). Records
  // whose key field holds a string skip the evaluator and Value keys (window::State::add_string_key); any
  // other value takes the general path, which gives the same results and errors.
  std::optional<expr::StringKey> count_key;
  window::Plan window;
  expr::Compiled having;                       // over the row
  std::string having_text;                     // as written, for errors
  std::vector<std::pair<int, bool>> order_by;  // row column, descending
  std::optional<int64_t> limit;
  // pass-through outputs: the record slots that make a row, in column order
  std::vector<int> row_slots;
  RowSchema schema;                  // visible columns
  std::vector<HiddenColumn> hidden;  // appended after the visible columns, one per keyed Kafka sink
  std::vector<int> hidden_of_sink;   // per sink of this output: index into `hidden`, or -1
  // The row column that holds sink `sink`'s Kafka message key (after the visible ones), or -1.
  int key_column(size_t sink) const {
    const int h = sink < hidden_of_sink.size() ? hidden_of_sink[sink] : -1;
    return h < 0 ? -1 : static_cast<int>(schema.columns.size()) + h;
  }
};

struct JobPlan {
  std::vector<Slot> slots;  // job fields, metadata, then each output's own (explode/select) slots
  size_t field_count = 0;   // slots [0, field_count) are the job's fields, in job.fields order
  std::array<int, kMetaCount> meta_slot{};
  std::array<bool, kMetaCount> meta_used{};
  int event_slot = -1;  // event time field's slot (event time only)
  std::vector<OutputPlan> outputs;
};

// Compiles a validated job. Errors (which validation should already have caught) are returned as
// messages naming the output.
struct CompileResult {
  std::optional<JobPlan> plan;
  std::vector<std::string> errors;
};
CompileResult compile(const config::Job& job);

}  // namespace weir::engine
