#include "engine/window/partial.h"

#include <bit>
#include <cmath>
#include <limits>

namespace weir::window::detail {

using config::AggKind;

namespace {
// Bound on the rounding error of one floating-point addition, relative to its result.
constexpr double kEps = 1.0 / 9007199254740992.0;  // 2^-53
// A running float sum is recomputed from its panes once its error bound passes this share of it.
constexpr double kDrift = 1.0 / 1099511627776.0;  // 2^-40

void add_float(int64_t* w, const Slot& s, double x, bool track_err) {
  double f = get_f(w + s.word + 4) + x;
  put_f(w + s.word + 4, f);
  if (track_err) put_f(w + s.err, get_f(w + s.err) + std::fabs(f) * kEps);
}
}  // namespace

double get_f(const int64_t* w) {
  return std::bit_cast<double>(*w);
}
void put_f(int64_t* w, double d) {
  *w = std::bit_cast<int64_t>(d);
}

Layout::Layout(const std::vector<AggKind>& aggs, bool narrow_sums) {
  for (AggKind k : aggs) narrow = narrow || (narrow_sums && (k == AggKind::Sum || k == AggKind::Avg));
  uint32_t errs = 0;
  for (AggKind k : aggs) {
    Slot s;
    s.kind = k;
    s.word = words;
    s.narrow = narrow;
    switch (k) {
      case AggKind::Count:
        break;
      case AggKind::CountOf:
        words += 1;
        break;
      case AggKind::Sum:
      case AggKind::Avg:
        if (narrow) {
          words += 2;
          break;
        }
        words += 5;
        s.err = errs++;  // made absolute below, once the pane words are known
        has_float_sums = true;
        break;
      case AggKind::Min:
      case AggKind::Max:
        s.val = vals++;
        noninvertible = true;
        break;
      case AggKind::First:
      case AggKind::Last:
        words += 1;
        s.val = vals++;
        noninvertible = true;
        break;
      case AggKind::CountDistinct:
        s.set = sets++;
        noninvertible = true;
        break;
    }
    slots.push_back(s);
  }
  for (Slot& s : slots) {
    if ((s.kind == AggKind::Sum || s.kind == AggKind::Avg) && !narrow) s.err += words;
  }
  r_words = words + errs;
}

namespace {
bool is_sum(const Slot& s) {
  return s.kind == AggKind::Sum || s.kind == AggKind::Avg;
}
}  // namespace

bool fits_apply(const Layout& l, const int64_t* w, const Value* args) {
  if (!l.narrow || args == nullptr) return true;
  for (size_t i = 0; i < l.slots.size(); ++i) {
    const Slot& s = l.slots[i];
    if (!is_sum(s)) continue;
    const Value& a = args[i];
    int64_t r;
    if (a.type() == Type::Float) return false;
    if (a.type() == Type::Int && __builtin_add_overflow(w[s.word + 1], a.as_int(), &r)) return false;
  }
  return true;
}

bool fits_add(const Layout& l, const int64_t* dst, const int64_t* src) {
  if (!l.narrow) return true;
  for (const Slot& s : l.slots) {
    int64_t r;
    if (is_sum(s) && __builtin_add_overflow(dst[s.word + 1], src[s.word + 1], &r)) return false;
  }
  return true;
}

bool fits_sub(const Layout& l, const int64_t* dst, const int64_t* src) {
  if (!l.narrow) return true;
  for (const Slot& s : l.slots) {
    int64_t r;
    if (is_sum(s) && __builtin_sub_overflow(dst[s.word + 1], src[s.word + 1], &r)) return false;
  }
  return true;
}

bool narrowable(const Layout& l, const int64_t* w, bool running) {
  for (const Slot& s : l.slots) {
    if (!is_sum(s) || s.narrow) continue;
    i128 i = get_i128(w + s.word + 2);
    if (w[s.word + 1] != 0 || w[s.word + 4] != 0 || (running && w[s.err] != 0) ||
        i < std::numeric_limits<int64_t>::min() || i > std::numeric_limits<int64_t>::max()) {
      return false;
    }
  }
  return true;
}

void convert(const Layout& from, const Layout& to, const int64_t* src, int64_t* dst, bool running) {
  dst[kPaneWord] = src[kPaneWord];
  dst[kRowsWord] = src[kRowsWord];
  for (size_t i = 0; i < from.slots.size(); ++i) {
    const Slot& a = from.slots[i];
    const Slot& b = to.slots[i];
    switch (a.kind) {
      case AggKind::CountOf:
      case AggKind::First:
      case AggKind::Last:
        dst[b.word] = src[a.word];
        break;
      case AggKind::Sum:
      case AggKind::Avg:
        dst[b.word] = src[a.word];
        if (a.narrow && !b.narrow) {
          dst[b.word + 1] = 0;
          put_i128(dst + b.word + 2, src[a.word + 1]);
          put_f(dst + b.word + 4, 0.0);
          if (running) put_f(dst + b.err, 0.0);
        } else if (!a.narrow && b.narrow) {
          dst[b.word + 1] = static_cast<int64_t>(get_i128(src + a.word + 2));
        } else {
          std::copy(src + a.word + 1, src + a.word + (a.narrow ? 2 : 5), dst + b.word + 1);
          if (running && !a.narrow) dst[b.err] = src[a.err];
        }
        break;
      default:
        break;
    }
  }
}

void apply(const Layout& l, Part p, const Value* args, uint64_t seq, bool full, bool track_err) {
  p.w[kRowsWord] += 1;
  for (size_t i = 0; i < l.slots.size(); ++i) {
    const Slot& s = l.slots[i];
    if (s.kind == AggKind::Count || args == nullptr) continue;
    const Value& a = args[i];
    if (a.is_null()) continue;
    switch (s.kind) {
      case AggKind::Count:
        break;
      case AggKind::CountOf:
        p.w[s.word] += 1;
        break;
      case AggKind::Sum:
      case AggKind::Avg:
        // Non-numeric inputs are skipped; the executor never passes one (OutputPlan::numeric_args makes
        // such a record bad before it is added).
        if (s.narrow) {  // fits_apply() held: an int that keeps the sum within int64
          if (a.type() == Type::Int) {
            p.w[s.word] += 1;
            p.w[s.word + 1] += a.as_int();
          }
        } else if (a.type() == Type::Int) {
          p.w[s.word] += 1;
          put_i128(p.w + s.word + 2, static_cast<i128>(static_cast<u128>(get_i128(p.w + s.word + 2)) +
                                                       static_cast<u128>(static_cast<i128>(a.as_int()))));
        } else if (a.type() == Type::Float) {
          p.w[s.word] += 1;
          p.w[s.word + 1] += 1;
          add_float(p.w, s, a.as_float(), track_err);
        }
        break;
      case AggKind::Min:
        if (full && (p.v[s.val].is_null() || Value::compare(a, p.v[s.val]) < 0)) p.v[s.val] = a;
        break;
      case AggKind::Max:
        if (full && (p.v[s.val].is_null() || Value::compare(a, p.v[s.val]) > 0)) p.v[s.val] = a;
        break;
      case AggKind::First:
        if (full && p.w[s.word] == 0) {
          p.w[s.word] = static_cast<int64_t>(seq);
          p.v[s.val] = a;
        }
        break;
      case AggKind::Last:
        if (full) {
          p.w[s.word] = static_cast<int64_t>(seq);
          p.v[s.val] = a;
        }
        break;
      case AggKind::CountDistinct:
        if (full) {
          if (!p.s[s.set]) p.s[s.set] = std::make_unique<ValueSet>();
          p.s[s.set]->insert(a);
        }
        break;
    }
  }
}

void add_numbers(const Layout& l, int64_t* dst, const int64_t* src, bool track_err) {
  dst[kRowsWord] += src[kRowsWord];
  for (const Slot& s : l.slots) {
    if (s.kind == AggKind::CountOf) {
      dst[s.word] += src[s.word];
    } else if (is_sum(s) && s.narrow) {  // fits_add() held
      dst[s.word] += src[s.word];
      dst[s.word + 1] += src[s.word + 1];
    } else if (is_sum(s)) {
      dst[s.word] += src[s.word];
      dst[s.word + 1] += src[s.word + 1];
      put_i128(dst + s.word + 2, static_cast<i128>(static_cast<u128>(get_i128(dst + s.word + 2)) +
                                                   static_cast<u128>(get_i128(src + s.word + 2))));
      if (src[s.word + 1] != 0) add_float(dst, s, get_f(src + s.word + 4), track_err);
    }
  }
}

void sub_numbers(const Layout& l, int64_t* dst, const int64_t* src) {
  dst[kRowsWord] -= src[kRowsWord];
  for (const Slot& s : l.slots) {
    if (s.kind == AggKind::CountOf) {
      dst[s.word] -= src[s.word];
    } else if (is_sum(s) && s.narrow) {  // fits_sub() held
      dst[s.word] -= src[s.word];
      dst[s.word + 1] -= src[s.word + 1];
    } else if (is_sum(s)) {
      dst[s.word] -= src[s.word];
      dst[s.word + 1] -= src[s.word + 1];
      put_i128(dst + s.word + 2, static_cast<i128>(static_cast<u128>(get_i128(dst + s.word + 2)) -
                                                   static_cast<u128>(get_i128(src + s.word + 2))));
      if (dst[s.word + 1] <= 0) {
        put_f(dst + s.word + 4, 0.0);  // no float inputs left: exactly zero, no drift
        put_f(dst + s.err, 0.0);
      } else if (src[s.word + 1] != 0) {
        add_float(dst, s, -get_f(src + s.word + 4), true);
      }
    }
  }
}

void merge_all(const Layout& l, Part dst, ConstPart src, bool track_err) {
  add_numbers(l, dst.w, src.w, track_err);
  for (const Slot& s : l.slots) {
    switch (s.kind) {
      case AggKind::Min:
      case AggKind::Max: {
        const Value& a = src.v[s.val];
        if (a.is_null()) break;
        int c = dst.v[s.val].is_null() ? 0 : Value::compare(a, dst.v[s.val]);
        if (dst.v[s.val].is_null() || (s.kind == AggKind::Min ? c < 0 : c > 0)) dst.v[s.val] = a;
        break;
      }
      case AggKind::First:
        if (src.w[s.word] != 0 && (dst.w[s.word] == 0 || src.w[s.word] < dst.w[s.word])) {
          dst.w[s.word] = src.w[s.word];
          dst.v[s.val] = src.v[s.val];
        }
        break;
      case AggKind::Last:
        if (src.w[s.word] != 0 && src.w[s.word] > dst.w[s.word]) {
          dst.w[s.word] = src.w[s.word];
          dst.v[s.val] = src.v[s.val];
        }
        break;
      case AggKind::CountDistinct:
        if (src.s[s.set] && !src.s[s.set]->empty()) {
          if (!dst.s[s.set]) dst.s[s.set] = std::make_unique<ValueSet>();
          dst.s[s.set]->insert(src.s[s.set]->begin(), src.s[s.set]->end());
        }
        break;
      default:
        break;
    }
  }
}

bool float_sum_drifted(const Slot& s, const int64_t* run) {
  if (s.narrow || run[s.word + 1] <= 0) return false;
  double err = get_f(run + s.err);
  double f = get_f(run + s.word + 4);
  // inf - inf after subtracting a pane gives NaN although the window may be finite: recompute.
  if (!std::isfinite(f) || !std::isfinite(err)) return true;
  return err > 0 && err > kDrift * std::fabs(f);
}

namespace {
// The sum of an average's inputs (n > 0).
double avg_total(const int64_t* w, const Slot& s) {
  if (s.narrow) return static_cast<double>(w[s.word + 1]);
  return static_cast<double>(get_i128(w + s.word + 2)) + get_f(w + s.word + 4);
}

Value sum_value(const int64_t* w, const Slot& s) {
  if (w[s.word] <= 0) return Value();
  if (s.narrow) return Value::integer(w[s.word + 1]);
  i128 i = get_i128(w + s.word + 2);
  if (w[s.word + 1] == 0) {
    if (i >= std::numeric_limits<int64_t>::min() && i <= std::numeric_limits<int64_t>::max()) {
      return Value::integer(static_cast<int64_t>(i));
    }
    return Value::real(static_cast<double>(i));  // int overflow: the sum becomes a float
  }
  return Value::real(static_cast<double>(i) + get_f(w + s.word + 4));
}
}  // namespace

bool invertible_value(const Slot& s, const int64_t* run, Value& out) {
  switch (s.kind) {
    case AggKind::Count:
      out = Value::integer(run[kRowsWord]);
      return true;
    case AggKind::CountOf:
      out = Value::integer(run[s.word]);
      return true;
    case AggKind::Sum:
      out = sum_value(run, s);
      return true;
    case AggKind::Avg: {
      int64_t n = run[s.word];
      if (n <= 0) {
        out = Value();
      } else {
        out = Value::real(avg_total(run, s) / static_cast<double>(n));
      }
      return true;
    }
    default:
      return false;
  }
}

void finish(const Layout& l, ConstPart run, bool run_full, const std::vector<ConstPart>& parts,
            ValueSet& scratch, std::vector<Value>& row) {
  for (const Slot& s : l.slots) {
    switch (s.kind) {
      case AggKind::Count:
        row.push_back(Value::integer(run.w[kRowsWord]));
        break;
      case AggKind::CountOf:
        row.push_back(Value::integer(run.w[s.word]));
        break;
      case AggKind::Sum:
        row.push_back(sum_value(run.w, s));
        break;
      case AggKind::Avg: {
        int64_t n = run.w[s.word];
        if (n <= 0) {
          row.emplace_back();
        } else {
          row.push_back(Value::real(avg_total(run.w, s) / static_cast<double>(n)));
        }
        break;
      }
      case AggKind::Min:
      case AggKind::Max: {
        if (run_full) {
          row.push_back(run.v[s.val]);
          break;
        }
        const Value* best = nullptr;
        for (const ConstPart& p : parts) {
          const Value& a = p.v[s.val];
          if (a.is_null()) continue;
          int c = best ? Value::compare(a, *best) : 0;
          if (!best || (s.kind == AggKind::Min ? c < 0 : c > 0)) best = &a;
        }
        row.push_back(best ? *best : Value());
        break;
      }
      case AggKind::First:
      case AggKind::Last: {
        if (run_full) {
          row.push_back(run.v[s.val]);
          break;
        }
        const ConstPart* best = nullptr;
        for (const ConstPart& p : parts) {
          int64_t q = p.w[s.word];
          if (q == 0) continue;
          if (!best || (s.kind == AggKind::First ? q < best->w[s.word] : q > best->w[s.word])) best = &p;
        }
        row.push_back(best ? best->v[s.val] : Value());
        break;
      }
      case AggKind::CountDistinct: {
        if (run_full) {
          row.push_back(Value::integer(run.s[s.set] ? static_cast<int64_t>(run.s[s.set]->size()) : 0));
          break;
        }
        const ValueSet* only = nullptr;
        size_t nonempty = 0;
        for (const ConstPart& p : parts) {
          if (p.s[s.set] && !p.s[s.set]->empty()) {
            only = p.s[s.set].get();
            ++nonempty;
          }
        }
        if (nonempty <= 1) {
          row.push_back(Value::integer(only ? static_cast<int64_t>(only->size()) : 0));
          break;
        }
        scratch.clear();
        for (const ConstPart& p : parts) {
          if (p.s[s.set]) scratch.insert(p.s[s.set]->begin(), p.s[s.set]->end());
        }
        row.push_back(Value::integer(static_cast<int64_t>(scratch.size())));
        scratch.clear();
        break;
      }
    }
  }
}

void finish_empty(const Layout& l, std::vector<Value>& row) {
  for (const Slot& s : l.slots) {
    bool count = s.kind == AggKind::Count || s.kind == AggKind::CountOf || s.kind == AggKind::CountDistinct;
    row.push_back(count ? Value::integer(0) : Value());
  }
}

}  // namespace weir::window::detail
