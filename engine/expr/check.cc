// Static checks (spec §10): function names and arity, argument and operand types that are known
// before running (literals and typed fields), regex literals. Reports the first problem with the
// column of the offending node.
#include <re2/re2.h>

#include <algorithm>

#include "engine/expr/ast.h"
#include "engine/expr/functions.h"

namespace weir::expr {
namespace {

// A static type: `t` is meaningful only when `known`. A null literal is known with t == Null.
struct SType {
  Type t = Type::Null;
  bool known = false;
};

bool is_num(Type t) {
  return t == Type::Int || t == Type::Float;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool comparable(Type a, Type b) {
  if (is_num(a) && is_num(b)) return true;
  if ((a == Type::Time && (is_num(b) || b == Type::Time)) || (b == Type::Time && is_num(a))) return true;
  return a == b;
}

class Checker {
 public:
  explicit Checker(const std::function<Type(const std::string&)>& ft) : field_type_(ft) {}

  std::optional<ParseError> err;

  SType infer(const Node& n) {
    if (err) return {};
    switch (n.op) {
      case Op::Literal:
        return {n.literal.type(), true};
      case Op::Field: {
        Type t = field_type_ ? field_type_(n.name) : Type::Null;
        return {t, t != Type::Null};
      }
      case Op::Not:
      case Op::And:
      case Op::Or: {
        const char* what = n.op == Op::Not ? "'not'" : n.op == Op::And ? "'and'" : "'or'";
        for (const auto& a : n.args) {
          SType s = infer(*a);
          if (s.known && s.t != Type::Bool && s.t != Type::Null) {
            fail(*a, std::string(what) + " expects a bool, got " + std::string(type_name(s.t)));
          }
        }
        return {Type::Bool, true};
      }
      case Op::Neg: {
        SType s = infer(*n.args[0]);
        if (s.known && !is_num(s.t) && s.t != Type::Null) {
          fail(*n.args[0], "unary '-' expects a number, got " + std::string(type_name(s.t)));
        }
        return s;
      }
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Mod:
        return arithmetic(n);
      case Op::Eq:
      case Op::Ne:
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
      case Op::In:
        return comparison(n);
      case Op::IsNull:
      case Op::IsNotNull:
        infer(*n.args[0]);
        return {Type::Bool, true};
      case Op::Call:
        return call(n);
    }
    return {};
  }

 private:
  void fail(const Node& at, std::string msg) {
    if (!err) err = ParseError{at.col, std::move(msg)};
  }

  SType arithmetic(const Node& n) {
    static const char* sym[] = {"+", "-", "*", "/", "%"};
    const char* op = sym[static_cast<int>(n.op) - static_cast<int>(Op::Add)];
    SType l = infer(*n.args[0]), r = infer(*n.args[1]);
    if (err) return {};
    for (int i = 0; i < 2; ++i) {
      SType s = i == 0 ? l : r;
      if (!s.known || s.t == Type::Null || is_num(s.t)) continue;
      if (s.t == Type::Time && (n.op == Op::Add || n.op == Op::Sub)) continue;
      std::string msg = std::string("'") + op + "' cannot be applied to a " + std::string(type_name(s.t));
      if (s.t == Type::String && n.op == Op::Add) msg += " (strings are not added; use concat(a, b))";
      fail(*n.args[i], msg);
      return {};
    }
    if (!l.known || !r.known) return {};
    if (l.t == Type::Null || r.t == Type::Null) return {Type::Null, true};
    if (l.t == Type::Time && r.t == Type::Time) {
      if (n.op == Op::Add)
        fail(*n.args[1], "two times cannot be added (subtracting them gives milliseconds)");
      return {Type::Int, true};
    }
    if (l.t == Type::Time || r.t == Type::Time) {
      if (n.op == Op::Sub && r.t == Type::Time) fail(*n.args[1], "a time cannot be subtracted from a number");
      if (l.t == Type::Float || r.t == Type::Float)
        fail(n, "only an int number of milliseconds can be added to a time");
      return {Type::Time, true};
    }
    return {l.t == Type::Int && r.t == Type::Int ? Type::Int : Type::Float, true};
  }

  SType comparison(const Node& n) {
    SType x = infer(*n.args[0]);
    for (size_t i = 1; i < n.args.size() && !err; ++i) {
      const Node& other = *n.args[i];
      SType y = infer(other);
      if (err) break;
      bool null_lit_x = n.args[0]->op == Op::Literal && x.t == Type::Null;
      bool null_lit_y = other.op == Op::Literal && y.t == Type::Null;
      if (n.op != Op::In && (null_lit_x || null_lit_y)) {
        fail(null_lit_x ? *n.args[0] : other,
             "a comparison with null is never true; write 'x is null' or 'x is not null'");
        break;
      }
      if (x.known && y.known && x.t != Type::Null && y.t != Type::Null && !comparable(x.t, y.t)) {
        const Node& at = n.args[0]->op == Op::Literal && other.op != Op::Literal ? *n.args[0] : other;
        fail(at, "cannot compare " + std::string(type_name(x.t)) + " with " + std::string(type_name(y.t)));
      }
    }
    return {Type::Bool, true};
  }

  SType call(const Node& n) {
    std::vector<SType> types;
    for (const auto& a : n.args) types.push_back(infer(*a));
    if (err) return {};
    const detail::FnDef* f = detail::find_fn(n.name);
    if (!f) {
      unknown_function(n);
      return {};
    }
    int argc = static_cast<int>(n.args.size());
    if (argc < f->min_args || (f->max_args >= 0 && argc > f->max_args)) {
      std::string want = f->max_args < 0 ? "at least " + std::to_string(f->min_args)
                         : f->min_args == f->max_args
                             ? std::to_string(f->min_args)
                             : std::to_string(f->min_args) + " or " + std::to_string(f->max_args);
      bool one = f->max_args == 1 || (f->max_args < 0 && f->min_args == 1);
      fail(n, std::string(f->name) + "() takes " + want + (one ? " argument" : " arguments") + ", got " +
                  std::to_string(argc));
      return {};
    }
    const RE2* re = nullptr;
    std::unique_ptr<RE2> holder;
    for (int i = 0; i < argc; ++i) {
      detail::Arg k = detail::arg_kind(*f, i);
      SType s = types[i];
      const Node& a = *n.args[i];
      if (s.known && s.t != Type::Null && k != detail::Arg::Any) {
        bool good = (k == detail::Arg::Str || k == detail::Arg::Regex) ? s.t == Type::String
                    : k == detail::Arg::StrOrList ? s.t == Type::String || s.t == Type::List
                    : k == detail::Arg::Num       ? is_num(s.t)
                                                  : s.t == Type::Int;
        if (!good) {
          fail(a, std::string(f->name) + "() expects " + std::string(detail::kind_name(k)) + ", got " +
                      std::string(type_name(s.t)));
          return {};
        }
      }
      if (k == detail::Arg::Regex && a.op == Op::Literal && a.literal.type() == Type::String) {
        std::string e;
        holder = detail::compile_regex(a.literal.as_string(), e);
        if (!holder) {
          fail(a, std::string(f->name) + "(): " + e);
          return {};
        }
        re = holder.get();
      }
      bool int_lit = a.op == Op::Literal && a.literal.type() == Type::Int;
      if (f->name == "split_part" && i == 2 && int_lit && a.literal.as_int() <= 0) {
        fail(a, "split_part() counts parts from 1, got " + std::to_string(a.literal.as_int()));
        return {};
      }
      if (f->name == "extract" && i == 2 && int_lit && re) {
        int64_t g = a.literal.as_int();
        if (g < 0 || g > re->NumberOfCapturingGroups()) {
          fail(a, "extract(): group " + std::to_string(g) + " does not exist; the regex has " +
                      std::to_string(re->NumberOfCapturingGroups()) + " group(s)");
          return {};
        }
      }
    }
    switch (f->ret) {
      case detail::Ret::Bool:
        return {Type::Bool, true};
      case detail::Ret::Int:
        return {Type::Int, true};
      case detail::Ret::Float:
        return {Type::Float, true};
      case detail::Ret::String:
        return {Type::String, true};
      case detail::Ret::SameAsFirst:
        return types[0].t == Type::Null ? SType{} : types[0];
      case detail::Ret::Round:
        if (argc == 1) return {Type::Int, true};
        return types[0].t == Type::Null ? SType{} : types[0];
      case detail::Ret::Unknown: {
        SType first = types[0];
        for (const SType& s : types) {
          if (!s.known || s.t != first.t) return {};
        }
        return first;
      }
    }
    return {};
  }

  void unknown_function(const Node& n) {
    static const char* aggregates[] = {"count",          "sum",   "min", "max", "avg",
                                       "count_distinct", "first", "last"};
    for (const char* a : aggregates) {
      if (n.name == a) {
        fail(n, "unknown function '" + n.name + "': aggregates such as " + n.name +
                    "() belong under 'aggregate'; refer to their column by name here");
        return;
      }
    }
    std::string best;
    size_t best_d = 3;
    for (const FunctionInfo& f : functions()) {
      size_t d = edit_distance(n.name, f.name);
      if (d < best_d && d <= std::max<size_t>(1, f.name.size() / 3)) {
        best_d = d;
        best = std::string(f.name);
      }
    }
    std::string msg = "unknown function '" + n.name + "'";
    if (!best.empty()) msg += " (did you mean '" + best + "'?)";
    fail(n, msg);
  }

  const std::function<Type(const std::string&)>& field_type_;
};

}  // namespace

std::optional<ParseError> check(const Node& n, const std::function<Type(const std::string&)>& field_type) {
  Checker c(field_type);
  c.infer(n);
  return c.err;
}

Type static_type(const Node& n, const std::function<Type(const std::string&)>& field_type) {
  Checker c(field_type);
  auto s = c.infer(n);
  return c.err || !s.known ? Type::Null : s.t;
}

}  // namespace weir::expr
