#include "engine/output_runner.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/log.h"

namespace weir::engine {

namespace {
window::Plan with_bounds(window::Plan p) {
  p.bounds = true;  // rows come with window_start, window_end first
  return p;
}

// A result row as a JSON object, for error messages.
std::string row_json(const RowSchema& schema, const Row& r) {
  std::string s;
  append_row_json(s, schema, r);
  return s;
}

// `having` over one row: false drops it. An evaluation error drops it too and is noted in `errors`.
bool having_keeps(const OutputPlan& plan, const Row& r, OutputRunner::RowErrors& errors) {
  Value v;
  std::string err;
  if (!expr::eval(plan.having, r.data(), v, err)) {
    errors.add(fmt::format("having \"{}\": {}; the row {} is dropped", plan.having_text, err,
                           row_json(plan.schema, r)));
    return false;
  }
  return expr::is_true(v);
}
}  // namespace

OutputRunner::OutputRunner(const OutputPlan& plan)
    : plan_(plan), state_(with_bounds(plan.window)), scratch_(plan) {
  if (plan.aggregating && plan.limit) {
    // order_by + limit: the state keeps the first N rows while building them instead of building,
    // sorting and cutting every group's row at each emission.
    window::Select sel;
    for (const auto& [col, desc] : plan.order_by) sel.order.emplace_back(static_cast<size_t>(col), desc);
    sel.limit = static_cast<size_t>(std::max<int64_t>(0, *plan.limit));
    if (plan.having) {
      const OutputPlan* p = &plan;
      std::shared_ptr<RowErrors> errors = row_errors_;
      sel.keep = [p, errors](const Row& r) { return having_keeps(*p, r, *errors); };
    }
    state_.select(std::move(sel));
    selected_ = true;
  }
}

namespace {
// Splits s by sep, dropping empty tokens (spec §5). The tokens are views into s.
void split_tokens(std::string_view s, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  if (sep.empty()) {
    if (!s.empty()) out.emplace_back(s);
    return;
  }
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t next = s.find(sep, pos);
    if (next == std::string_view::npos) next = s.size();
    if (next > pos) out.emplace_back(s.substr(pos, next - pos));
    pos = next + sep.size();
  }
}
}  // namespace

OutputRunner::Scratch::Scratch(const OutputPlan& plan) {
  key.resize(plan.keys.size());
  args.resize(plan.agg_args.size());
}

namespace {
using Outcome = OutputRunner::Outcome;

// The output's `where` over the record: Kept (no where, or true), Filtered, or Bad with `error` set.
Outcome where_outcome(const OutputPlan& plan, const Value* slots, Value& tmp, std::string& error) {
  if (!plan.where) return Outcome::Kept;
  if (!expr::eval(plan.where, slots, tmp, error)) return Outcome::Bad;
  return expr::is_true(tmp) ? Outcome::Kept : Outcome::Filtered;
}

// Explode's source, copied into s.src (reusing its buffer): n elements (0: the record is filtered), or Bad.
// Split strings go to s.tokens, as views into s.src.
Outcome explode_count(const OutputPlan& plan, const Value& slot, OutputRunner::Scratch& s, size_t& n,
                      std::string& error) {
  n = 0;
  s.src = slot;
  const Value& src = s.src;
  if (src.is_null()) return Outcome::Filtered;
  if (plan.explode_split) {
    if (src.type() != Type::String) {
      error = "explode: field '" + plan.explode_field + "' is " + std::string(type_name(src.type())) +
              ", not a string";
      return Outcome::Bad;
    }
    split_tokens(src.as_string(), *plan.explode_split, s.tokens);
    if (s.tokens.empty()) return Outcome::Filtered;
  } else if (src.type() != Type::List) {
    // A single value explodes to itself.
    s.tokens.clear();
  }
  n = plan.explode_split ? s.tokens.size() : (src.type() == Type::List ? src.as_list().size() : 1);
  return n == 0 ? Outcome::Filtered : Outcome::Kept;
}

// Element i of the exploded source into the explode slot; false when it is skipped (null or "").
bool explode_element(const OutputPlan& plan, const Value& src, const OutputRunner::Scratch& s, size_t i,
                     Value* slots) {
  Value& dst = slots[plan.explode_dst];
  if (plan.explode_split) {
    dst.set_string(s.tokens[i]);
  } else {
    dst = src.type() == Type::List ? src.as_list()[i] : src;
  }
  return !(dst.is_null() || (dst.type() == Type::String && dst.as_string().empty()));
}

// select → group keys → aggregate arguments of an aggregating output, into s.key and s.args.
bool eval_group(const OutputPlan& plan, Value* slots, OutputRunner::Scratch& s, std::string& error) {
  for (const auto& [slot, c] : plan.select) {
    if (!expr::eval(c, slots, slots[slot], error)) return false;
  }
  for (size_t k = 0; k < plan.keys.size(); ++k) {
    if (!expr::eval(plan.keys[k], slots, s.key[k], error)) return false;
  }
  for (size_t a = 0; a < plan.agg_args.size(); ++a) {
    if (plan.agg_args[a] && !expr::eval(plan.agg_args[a], slots, s.args[a], error)) return false;
  }
  // sum()/avg() add numbers (spec §5, §10): a value of another type makes the record bad. One type test per
  // argument whose type is not known to be numeric (none for a typed int or float field).
  for (const auto& n : plan.numeric_args) {
    const Value& v = s.args[n.agg];
    if (v.is_null() || v.type() == Type::Int || v.type() == Type::Float) continue;
    error = n.text + ": expects a number, got " + std::string(type_name(v.type()));
    return false;
  }
  return true;
}

// One record through an aggregating output: where → explode → select → keys → args, then add(key, args)
// for the record or each exploded element (false: late). Every element is evaluated before the first is
// added, so a bad element leaves nothing of the record behind.
template <class Add>
Outcome aggregate(const OutputPlan& plan, Value* slots, OutputRunner::Scratch& s, std::string& error,
                  Add&& add) {
  if (Outcome o = where_outcome(plan, slots, s.tmp, error); o != Outcome::Kept) return o;
  if (plan.explode_dst < 0) {
    if (!eval_group(plan, slots, s, error)) return Outcome::Bad;
    return add(s.key, s.args.data()) ? Outcome::Kept : Outcome::Late;
  }
  size_t n = 0;
  if (Outcome o = explode_count(plan, slots[plan.explode_src], s, n, error); o != Outcome::Kept) return o;
  s.used = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!explode_element(plan, s.src, s, i, slots)) continue;
    if (!eval_group(plan, slots, s, error)) return Outcome::Bad;
    if (s.used == s.exploded.size())
      s.exploded.emplace_back(Key(s.key.size()), std::vector<Value>(s.args.size()));
    // Swapped, not copied: eval_group() rewrites every key and every argument an aggregate takes for the next
    // element (the arguments of count() stay null in every buffer).
    auto& [k, a] = s.exploded[s.used++];
    k.swap(s.key);
    a.swap(s.args);
  }
  if (s.used == 0) return Outcome::Filtered;
  for (size_t i = 0; i < s.used; ++i) {
    if (!add(s.exploded[i].first, s.exploded[i].second.data())) return Outcome::Late;
  }
  return Outcome::Kept;
}

// One record of an aggregating output on OutputPlan::count_key: false when its key is not a string (nothing
// done: the general path runs it), else true with the outcome. add(key) adds the record under the string key
// (false: late).
template <class AddString>
bool count_string_key(const OutputPlan& plan, Value* slots, OutputRunner::Scratch& s, std::string& error,
                      Outcome& outcome, AddString&& add_string) {
  const expr::StringKey& k = *plan.count_key;
  const bool exploding = plan.explode_dst >= 0;
  // The key's source: a string, or the general path (null, another type: its filter or error).
  const Value& src = slots[exploding ? plan.explode_src : k.slot];
  if (src.type() != Type::String) return false;
  if (outcome = where_outcome(plan, slots, s.tmp, error); outcome != Outcome::Kept) return true;
  auto add = [&](std::string_view key) {
    if (k.fold != expr::StringKey::Fold::None) {
      s.folded.assign(key.data(), key.size());
      expr::fold_case(s.folded, k.fold == expr::StringKey::Fold::Upper);
      key = s.folded;
    }
    return add_string(key);
  };
  if (!exploding) {
    outcome = add(src.as_string()) ? Outcome::Kept : Outcome::Late;
    return true;
  }
  // The tokens are views into the slot, which nothing writes meanwhile (the element slot is not set: only
  // the key reads it, and the key is computed here).
  split_tokens(src.as_string(), *plan.explode_split, s.tokens);
  outcome = s.tokens.empty() ? Outcome::Filtered : Outcome::Kept;
  for (std::string_view t : s.tokens) {
    // Every token of a record has the record's time: the first is refused exactly when all are.
    if (!add(t)) return outcome = Outcome::Late, true;
  }
  return true;
}
}  // namespace

OutputRunner::Outcome OutputRunner::process_partial(const OutputPlan& plan, Value* slots, Scratch& scratch,
                                                    window::Partials& parts, std::string& error) {
  if (Outcome o; plan.count_key && count_string_key(plan, slots, scratch, error, o, [&](std::string_view k) {
                   parts.add_string_key(k);
                   return true;
                 })) {
    return o;
  }
  return aggregate(plan, slots, scratch, error, [&](const Key& k, const Value* a) {
    parts.add(k, a);
    return true;
  });
}

OutputRunner::Outcome OutputRunner::process(Value* slots, int64_t t_ms, std::string& error) {
  if (plan_.aggregating) {
    if (Outcome o; plan_.count_key &&
                   count_string_key(plan_, slots, scratch_, error, o,
                                    [&](std::string_view k) { return state_.add_string_key(t_ms, k); })) {
      return o;
    }
    return aggregate(plan_, slots, scratch_, error,
                     [&](const Key& k, const Value* a) { return state_.add(t_ms, k, a); });
  }
  if (Outcome o = where_outcome(plan_, slots, scratch_.tmp, error); o != Outcome::Kept) return o;
  if (plan_.explode_dst < 0) return add_one(slots, t_ms, error);
  size_t n = 0;
  if (Outcome o = explode_count(plan_, slots[plan_.explode_src], scratch_, n, error); o != Outcome::Kept)
    return o;
  for (size_t i = 0; i < n; ++i) {
    if (!explode_element(plan_, scratch_.src, scratch_, i, slots)) continue;
    Outcome o = add_one(slots, t_ms, error);
    if (o == Outcome::Bad) return o;
  }
  return Outcome::Kept;
}

// A pass-through output's row.
OutputRunner::Outcome OutputRunner::add_one(Value* slots, int64_t, std::string& error) {
  for (const auto& [slot, c] : plan_.select) {
    if (!expr::eval(c, slots, slots[slot], error)) return Outcome::Bad;
  }
  Row row;
  row.reserve(plan_.row_slots.size() + plan_.hidden.size());
  for (int s : plan_.row_slots) row.push_back(slots[s]);
  for (const auto& h : plan_.hidden) {
    Value v;
    if (!expr::eval(h.expr, slots, v, error)) return Outcome::Bad;
    row.push_back(std::move(v));
  }
  rows_.push_back(std::move(row));
  return Outcome::Kept;
}

void OutputRunner::advance(int64_t watermark_ms) {
  if (!plan_.aggregating) return;
  // The count is kept in checkpoints: what was skipped before this run was reported by that run.
  if (skipped_reported_ == kNotYet) skipped_reported_ = state_.skipped_windows();
  state_.advance(watermark_ms, closed_);  // rows come with window_start, window_end
  if (const uint64_t skipped = state_.skipped_windows(); skipped > skipped_reported_) {
    log::get("engine")->warn(
        "Output '{}': {} empty windows were not emitted. After {} empty windows in a row following the last "
        "window with records, weir emits no more of them until the next record (a watermark or clock jump "
        "would otherwise emit one row per window; see docs/semantics.md).",
        plan_.name, skipped - skipped_reported_, window::State::kMaxQuietRun);
    skipped_reported_ = skipped;
  }
}

int64_t OutputRunner::next_window_end() const {
  return plan_.aggregating ? state_.next_window_end() : INT64_MAX;
}

// having → order_by → limit on one emission, then the hidden columns of aggregating outputs.
bool OutputRunner::finish_rows(Emission& e) {
  std::string err;
  if (selected_) {
    // having → order_by → limit were applied by the state while building the rows.
  } else if (plan_.having) {
    auto keep = std::remove_if(e.rows.begin(), e.rows.end(),
                               [&](const Row& r) { return !having_keeps(plan_, r, *row_errors_); });
    e.rows.erase(keep, e.rows.end());
  }
  if (!plan_.order_by.empty() && !selected_) {
    // Ties are broken by the group keys (or all columns for pass-through rows) ascending; rows arrive in key
    // order already, so a stable sort on the order_by columns gives exactly that.
    std::stable_sort(e.rows.begin(), e.rows.end(), [&](const Row& a, const Row& b) {
      for (const auto& [col, desc] : plan_.order_by) {
        int c = Value::compare(a[col], b[col]);
        if (c != 0) return desc ? c > 0 : c < 0;
      }
      return false;
    });
  }
  if (plan_.limit && e.rows.size() > static_cast<size_t>(*plan_.limit)) e.rows.resize(*plan_.limit);
  if (!plan_.aggregating) return true;  // pass-through rows got their hidden columns per record
  for (Row& r : e.rows) {
    const size_t visible = r.size();
    for (const auto& h : plan_.hidden) {
      Value v;
      if (!expr::eval(h.expr, r.data(), v, err)) {
        // The row still goes to every sink; this sink's message gets a null key.
        Row shown(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(visible));
        row_errors_->add(fmt::format("kafka key \"{}\": {}; the row {} is written with a null key", h.text,
                                     err, row_json(plan_.schema, shown)));
        v = Value();
      }
      r.push_back(std::move(v));
    }
  }
  return true;
}

OutputRunner::RowErrors OutputRunner::take_row_errors() {
  RowErrors e = std::move(*row_errors_);
  *row_errors_ = RowErrors();
  return e;
}

void OutputRunner::take(int64_t batch_start_ms, int64_t batch_end_ms, std::vector<Emission>& out) {
  if (plan_.aggregating) {
    for (Emission& e : closed_) {
      if (finish_rows(e)) out.push_back(std::move(e));
    }
    closed_.clear();
    return;
  }
  Emission e;
  e.window_start_ms = batch_start_ms;
  e.window_end_ms = batch_end_ms;
  e.rows = std::move(rows_);
  rows_.clear();
  if (!plan_.order_by.empty() || plan_.limit) {
    // Pass-through rows keep arrival order unless ordered.
    finish_rows(e);
  }
  out.push_back(std::move(e));
}

}  // namespace weir::engine
