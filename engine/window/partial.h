// Partial aggregates, laid out flat (internal to engine/window).
//
// One partial holds the aggregates of one group over a set of records: a pane's records (a "pane
// partial") or a window's (the group's "running" aggregates). A plan's aggregates are mapped once to
// fixed slots in three arrays, so a partial is a run of int64 words plus, only when the plan needs
// them, a run of Values (min/max/first/last) and of distinct-value sets (count_distinct):
//
//   words: [pane index][record count][slot words...]      (the running partial adds error words)
//   Sum/Avg words (wide): +0 numeric inputs, +1 float inputs, +2/+3 the int inputs' sum as a 128-bit
//                  integer (low, high word), +4 the float inputs' sum (double bits)
//   Sum/Avg words (narrow): +0 numeric inputs, +1 the int inputs' sum (int64), no error words.
//                  A state starts narrow and is widened as a whole (State::Impl::relayout) before the
//                  first float input or the first int sum that would leave int64 (the fits_* checks),
//                  so results are those of the wide form. The checkpoint holds the wide form.
//   CountOf words: +0 non-null inputs.     First/Last words: +0 arrival sequence (0: none yet)
//   Count, Min, Max, CountDistinct: no words.
//
// Counting, count(x), sum and avg are invertible (a pane's partial can be subtracted from a running
// partial); min, max, first, last and count_distinct are not and are combined from the pane partials.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "config/job.h"
#include "engine/value.h"

namespace weir::window::detail {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

// count_distinct's partial: the distinct non-null values seen (memory O(distinct values)).
using ValueSet = std::unordered_set<Value, ValueHash>;
using SetPtr = std::unique_ptr<ValueSet>;

enum : uint32_t { kPaneWord = 0, kRowsWord = 1, kHeaderWords = 2 };

struct Slot {
  config::AggKind kind = config::AggKind::Count;
  bool narrow = false;  // Sum/Avg: the narrow words (see above)
  uint32_t word = 0;    // first word of this aggregate's numbers
  uint32_t val = 0;     // Min/Max/First/Last: index into the partial's Values
  uint32_t set = 0;     // CountDistinct: index into the partial's sets
  uint32_t err = 0;     // Sum/Avg: the running partial's word bounding the float sum's rounding error
};

struct Layout {
  // narrow: Sum/Avg slots take the narrow words (only set when a Sum/Avg slot exists).
  explicit Layout(const std::vector<config::AggKind>& aggs, bool narrow = false);
  std::vector<Slot> slots;
  bool narrow = false;
  uint32_t words = kHeaderWords;    // words per pane partial
  uint32_t r_words = kHeaderWords;  // words of the running partial (pane words + error words)
  uint32_t vals = 0;                // Values per partial
  uint32_t sets = 0;                // sets per partial
  bool has_float_sums = false;      // a wide Sum or Avg slot exists
  bool noninvertible = false;       // a Min/Max/First/Last/CountDistinct slot exists
};

struct Part {
  int64_t* w = nullptr;
  Value* v = nullptr;
  SetPtr* s = nullptr;
};
struct ConstPart {
  const int64_t* w = nullptr;
  const Value* v = nullptr;
  const SetPtr* s = nullptr;
  ConstPart() = default;
  ConstPart(const Part& p) : w(p.w), v(p.v), s(p.s) {}  // NOLINT: implicit by design
  ConstPart(const int64_t* w_, const Value* v_, const SetPtr* s_) : w(w_), v(v_), s(s_) {}
};

// 128-bit integer stored in two words; arithmetic wraps (no UB even on corrupt state).
inline i128 get_i128(const int64_t* w) {
  return static_cast<i128>((static_cast<u128>(static_cast<uint64_t>(w[1])) << 64) |
                           static_cast<uint64_t>(w[0]));
}
inline void put_i128(int64_t* w, i128 v) {
  auto u = static_cast<u128>(v);
  w[0] = static_cast<int64_t>(static_cast<uint64_t>(u));
  w[1] = static_cast<int64_t>(static_cast<uint64_t>(u >> 64));
}
double get_f(const int64_t* w);
void put_f(int64_t* w, double d);

// Narrow layouts: whether apply(args), add_numbers(dst, src) and sub_numbers(dst, src) stay within the
// narrow words (no float input, no int sum leaving int64). Always true for a wide layout.
bool fits_apply(const Layout& l, const int64_t* w, const Value* args);
bool fits_add(const Layout& l, const int64_t* dst, const int64_t* src);
bool fits_sub(const Layout& l, const int64_t* dst, const int64_t* src);
// Whether a partial in the wide layout `l` has a narrow form (no float inputs, int sums within int64).
bool narrowable(const Layout& l, const int64_t* w, bool running);
// Copies a partial between two layouts of the same aggregates (running: with the error words). To a
// narrow layout only what narrowable() accepts.
void convert(const Layout& from, const Layout& to, const int64_t* src, int64_t* dst, bool running);

// Adds one record to a partial. `full`: also the Values and sets (pane partials, and the running
// partial of a total); otherwise numbers only. `track_err`: p has error words (running partials).
// args may be null (all aggregates are count()).
void apply(const Layout& l, Part p, const Value* args, uint64_t seq, bool full, bool track_err);

// dst += src for the invertible numbers (record count, count(x), sum/avg), tracking dst's error
// (`track_err`: dst has error words, i.e. is a running partial; false for a pane partial).
void add_numbers(const Layout& l, int64_t* dst, const int64_t* src, bool track_err = true);
// dst -= src for the invertible numbers. A float sum whose float inputs all left is reset to exact 0.
void sub_numbers(const Layout& l, int64_t* dst, const int64_t* src);
// dst += src for everything (totals: merging a pane into the running partial, never subtracted; and
// State::merge: a chunk's partial into a pane partial, `track_err` false). First/last keep the smaller/larger
// arrival sequence, so src's sequences must already be on dst's counter.
void merge_all(const Layout& l, Part dst, ConstPart src, bool track_err = true);

// Appends the aggregate columns of a window to `row`. `run` holds the invertible numbers (and, with
// `run_full`, everything: totals); otherwise the non-invertible aggregates combine `parts`, the group's
// pane partials in the window, in pane order. `scratch` is reused for count_distinct unions.
void finish(const Layout& l, ConstPart run, bool run_full, const std::vector<ConstPart>& parts,
            ValueSet& scratch, std::vector<Value>& row);
// The value of an invertible aggregate (count, count(x), sum, avg) from a running partial's words,
// as finish() gives it; false for the other kinds.
bool invertible_value(const Slot& s, const int64_t* run, Value& out);
// The row of a window without records (outputs without group_by): counts 0, everything else null.
void finish_empty(const Layout& l, std::vector<Value>& row);

// Whether the running float sum of slot `s` may have drifted from the pane sums (rounding error from
// adding and subtracting panes); the caller then recomputes it from the panes.
bool float_sum_drifted(const Slot& s, const int64_t* run);

}  // namespace weir::window::detail
