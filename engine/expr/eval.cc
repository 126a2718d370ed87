// Evaluation of compiled expressions (spec §10). Each node returns a pointer to its value: a
// slot, a literal, or the scratch Value its caller lent it, so field references and literals are
// never copied and ints/bools/comparisons allocate nothing. Errors return nullptr with `err` set.
#include <cmath>

#include "engine/expr/program.h"

namespace weir::expr {
namespace {

enum class Cmp { Lt, Eq, Gt, Unordered, Error };

bool is_num(Type t) {
  return t == Type::Int || t == Type::Float;
}

Cmp order(long double a, long double b) {
  if (std::isnan(a) || std::isnan(b)) return Cmp::Unordered;
  return a < b ? Cmp::Lt : a > b ? Cmp::Gt : Cmp::Eq;
}

template <typename T>
Cmp order3(const T& a, const T& b) {
  return a < b ? Cmp::Lt : b < a ? Cmp::Gt : Cmp::Eq;
}

// Neither value is null. Int vs float compares exactly (long double holds every int64).
Cmp compare(const Value& a, const Value& b) {
  Type ta = a.type(), tb = b.type();
  if (ta == Type::Int && tb == Type::Int) return order3(a.as_int(), b.as_int());
  bool na = is_num(ta) || ta == Type::Time, nb = is_num(tb) || tb == Type::Time;
  if (na && nb && (ta != Type::Time || tb != Type::Time) && (is_num(ta) || is_num(tb))) {
    auto num = [](const Value& v) -> long double {
      if (v.type() == Type::Int) return static_cast<long double>(v.as_int());
      if (v.type() == Type::Time) return static_cast<long double>(v.as_time());
      return static_cast<long double>(v.as_float());
    };
    return order(num(a), num(b));
  }
  if (ta != tb) return Cmp::Error;
  switch (ta) {
    case Type::Float:
      return order(a.as_float(), b.as_float());
    case Type::Time:
      return order3(a.as_time(), b.as_time());
    case Type::Bool:
      return order3(a.as_bool(), b.as_bool());
    case Type::String: {
      int c = a.as_string().compare(b.as_string());
      return c < 0 ? Cmp::Lt : c > 0 ? Cmp::Gt : Cmp::Eq;
    }
    case Type::List: {
      int c = Value::compare(a, b);
      return c < 0 ? Cmp::Lt : c > 0 ? Cmp::Gt : Cmp::Eq;
    }
    default:
      return Cmp::Error;
  }
}

const char* op_text(Op op) {
  switch (op) {
    case Op::Add:
      return "+";
    case Op::Sub:
      return "-";
    case Op::Mul:
      return "*";
    case Op::Div:
      return "/";
    default:
      return "%";
  }
}

struct Ev {
  const Program& p;
  const Value* slots;
  std::string& err;

  const Value* fail(const CNode& n, std::string msg) {
    err = std::move(msg) + " in '" + to_string(*n.src) + "'";
    return nullptr;
  }

  const Value* run(int i, Value& tmp) {
    const CNode& n = p.nodes[i];
    switch (n.op) {
      case Op::Literal:
        return &n.lit;
      case Op::Field:
        return &slots[n.slot];
      case Op::IsNull:
      case Op::IsNotNull: {
        const Value* v = run(n.kids[0], tmp);
        if (!v) return nullptr;
        bool null = v->is_null();
        tmp = Value::boolean(n.op == Op::IsNull ? null : !null);
        return &tmp;
      }
      case Op::Not: {
        const Value* v = run(n.kids[0], tmp);
        if (!v) return nullptr;
        if (v->is_null()) return tmp.set_null(), &tmp;
        if (v->type() != Type::Bool)
          return fail(n, "'not' expects a bool, got " + std::string(type_name(v->type())));
        tmp = Value::boolean(!v->as_bool());
        return &tmp;
      }
      case Op::And:
      case Op::Or:
        return logic(n, tmp);
      case Op::Neg: {
        const Value* v = run(n.kids[0], tmp);
        if (!v) return nullptr;
        if (v->is_null()) return tmp.set_null(), &tmp;
        if (v->type() == Type::Float) return tmp = Value::real(-v->as_float()), &tmp;
        if (v->type() != Type::Int)
          return fail(n, "unary '-' expects a number, got " + std::string(type_name(v->type())));
        if (v->as_int() == INT64_MIN) return fail(n, "int overflow");
        tmp = Value::integer(-v->as_int());
        return &tmp;
      }
      case Op::Eq:
      case Op::Ne:
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
        return comparison(n, tmp);
      case Op::In:
        return in(n, tmp);
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div:
      case Op::Mod:
        return arithmetic(n, tmp);
      case Op::Call:
        return call(n, tmp);
    }
    return fail(n, "unsupported expression");
  }

  // Three-valued: false and x = false; true or x = true (x not evaluated); else null if any is null.
  const Value* logic(const CNode& n, Value& tmp) {
    bool is_and = n.op == Op::And;
    Value lt, rt;
    const Value* l = run(n.kids[0], lt);
    if (!l) return nullptr;
    if (!l->is_null() && l->type() != Type::Bool) return bool_error(n, *l);
    if (!l->is_null() && l->as_bool() != is_and) return tmp = Value::boolean(!is_and), &tmp;
    const Value* r = run(n.kids[1], rt);
    if (!r) return nullptr;
    if (!r->is_null() && r->type() != Type::Bool) return bool_error(n, *r);
    if (!r->is_null() && r->as_bool() != is_and) return tmp = Value::boolean(!is_and), &tmp;
    if (l->is_null() || r->is_null()) return tmp.set_null(), &tmp;
    tmp = Value::boolean(is_and);
    return &tmp;
  }

  const Value* bool_error(const CNode& n, const Value& v) {
    return fail(n, std::string(n.op == Op::And ? "'and'" : "'or'") + " expects bools, got " +
                       std::string(type_name(v.type())));
  }

  const Value* compare_error(const CNode& n, const Value& a, const Value& b) {
    return fail(n, "cannot compare " + std::string(type_name(a.type())) + " with " +
                       std::string(type_name(b.type())));
  }

  // Comparisons with null are false (also !=).
  const Value* comparison(const CNode& n, Value& tmp) {
    Value at, bt;
    const Value* a = run(n.kids[0], at);
    if (!a) return nullptr;
    const Value* b = run(n.kids[1], bt);
    if (!b) return nullptr;
    if (a->is_null() || b->is_null()) return tmp = Value::boolean(false), &tmp;
    Cmp c = compare(*a, *b);
    if (c == Cmp::Error) return compare_error(n, *a, *b);
    bool r = false;
    switch (n.op) {
      case Op::Eq:
        r = c == Cmp::Eq;
        break;
      case Op::Ne:
        r = c != Cmp::Eq;
        break;
      case Op::Lt:
        r = c == Cmp::Lt;
        break;
      case Op::Le:
        r = c == Cmp::Lt || c == Cmp::Eq;
        break;
      case Op::Gt:
        r = c == Cmp::Gt;
        break;
      default:
        r = c == Cmp::Gt || c == Cmp::Eq;
        break;
    }
    tmp = Value::boolean(r);
    return &tmp;
  }

  // x in (...): a comparison, so false when x is null (spec §10: comparisons with null are false);
  // `x not in (...)` is not (x in (...)), true for a null x. Null elements never match.
  const Value* in(const CNode& n, Value& tmp) {
    Value xt, et;
    const Value* x = run(n.kids[0], xt);
    if (!x) return nullptr;
    if (x->is_null()) return tmp = Value::boolean(false), &tmp;
    for (size_t k = 1; k < n.kids.size(); ++k) {
      const Value* e = run(n.kids[k], et);
      if (!e) return nullptr;
      if (e->is_null()) continue;
      Cmp c = compare(*x, *e);
      if (c == Cmp::Error) return compare_error(n, *x, *e);
      if (c == Cmp::Eq) return tmp = Value::boolean(true), &tmp;
    }
    tmp = Value::boolean(false);
    return &tmp;
  }

  const Value* arithmetic(const CNode& n, Value& tmp) {
    Value at, bt;
    const Value* a = run(n.kids[0], at);
    if (!a) return nullptr;
    const Value* b = run(n.kids[1], bt);
    if (!b) return nullptr;
    if (a->is_null() || b->is_null()) return tmp.set_null(), &tmp;
    Type ta = a->type(), tb = b->type();
    if (ta == Type::Int && tb == Type::Int) return int_op(n, a->as_int(), b->as_int(), tmp, false);
    if (ta == Type::Time || tb == Type::Time) {
      // time ± int ms → time; time - time → int ms.
      if (n.op == Op::Sub && ta == Type::Time && tb == Type::Time) {
        return int_op(n, a->as_time(), b->as_time(), tmp, false);
      }
      if (n.op == Op::Add && ta == Type::Time && tb == Type::Int)
        return int_op(n, a->as_time(), b->as_int(), tmp, true);
      if (n.op == Op::Add && ta == Type::Int && tb == Type::Time)
        return int_op(n, a->as_int(), b->as_time(), tmp, true);
      if (n.op == Op::Sub && ta == Type::Time && tb == Type::Int)
        return int_op(n, a->as_time(), b->as_int(), tmp, true);
    }
    if (!is_num(ta) || !is_num(tb)) {
      std::string msg = std::string("'") + op_text(n.op) + "' cannot be applied to " +
                        std::string(type_name(ta)) + " and " + std::string(type_name(tb));
      if (ta == Type::String && tb == Type::String && n.op == Op::Add) msg += " (use concat(a, b))";
      return fail(n, msg);
    }
    double x = a->to_double(), y = b->to_double(), r = 0;
    switch (n.op) {
      case Op::Add:
        r = x + y;
        break;
      case Op::Sub:
        r = x - y;
        break;
      case Op::Mul:
        r = x * y;
        break;
      case Op::Div:
        if (y == 0) return fail(n, "division by zero");
        r = x / y;
        break;
      default:
        if (y == 0) return fail(n, "division by zero");
        r = std::fmod(x, y);
        break;
    }
    if (!std::isfinite(r)) return fail(n, "float overflow");
    tmp = Value::real(r);
    return &tmp;
  }

  const Value* int_op(const CNode& n, int64_t x, int64_t y, Value& tmp, bool as_time) {
    int64_t r = 0;
    bool over = false;
    switch (n.op) {
      case Op::Add:
        over = __builtin_add_overflow(x, y, &r);
        break;
      case Op::Sub:
        over = __builtin_sub_overflow(x, y, &r);
        break;
      case Op::Mul:
        over = __builtin_mul_overflow(x, y, &r);
        break;
      case Op::Div:
        if (y == 0) return fail(n, "division by zero");
        over = x == INT64_MIN && y == -1;
        r = over ? 0 : x / y;
        break;
      default:
        if (y == 0) return fail(n, "division by zero");
        r = y == -1 ? 0 : x % y;
        break;
    }
    if (over) return fail(n, "int overflow");
    // A time must stay writable as RFC 3339 (spec §7): outside years 0000-9999 the record is bad (§10).
    if (as_time && !time_in_rfc3339_range(r)) return fail(n, "time out of range (years 0000 to 9999)");
    tmp = as_time ? Value::time(r) : Value::integer(r);
    return &tmp;
  }

  const Value* call(const CNode& n, Value& tmp) {
    const detail::FnDef& f = *n.fn;
    int argc = static_cast<int>(n.kids.size());
    if (f.nulls_in) {  // coalesce: evaluates its arguments lazily, left to right
      for (int k = 0; k < argc; ++k) {
        const Value* v = run(n.kids[k], tmp);
        if (!v) return nullptr;
        if (!v->is_null()) return v;
      }
      return tmp.set_null(), &tmp;
    }
    constexpr int kInline = 4;
    Value inline_tmp[kInline];
    const Value* inline_ptr[kInline];
    std::vector<Value> heap_tmp;
    std::vector<const Value*> heap_ptr;
    Value* tmps = inline_tmp;
    const Value** args = inline_ptr;
    if (argc > kInline) {
      heap_tmp.resize(argc);
      heap_ptr.resize(argc);
      tmps = heap_tmp.data();
      args = heap_ptr.data();
    }
    for (int k = 0; k < argc; ++k) {
      args[k] = run(n.kids[k], tmps[k]);
      if (!args[k]) return nullptr;
      if (args[k]->is_null()) return tmp.set_null(), &tmp;
    }
    const re2::RE2* re = n.re.get();
    const int ra = n.regex_arg;
    if (ra >= 0 && !re) {
      if (args[ra]->type() != Type::String) {
        err = std::string(f.name) + "() expects a string regex, got " +
              std::string(type_name(args[ra]->type()));
        return nullptr;
      }
      std::string e;
      re = detail::cached_regex(args[ra]->as_string(), e);
      if (!re) {
        err = std::string(f.name) + "(): " + e;
        return nullptr;
      }
    }
    if (!f.impl(args, argc, re, tmp, err)) return nullptr;
    return &tmp;
  }
};

}  // namespace

bool eval(const Compiled& c, const Value* slots, Value& out, std::string& error) {
  if (!c) {
    error = "expression not compiled";
    return false;
  }
  const Program& p = *c.program();
  const CNode& root = p.nodes[static_cast<size_t>(p.root)];
  Value tmp;
  const Value* r;
  if (root.op == Op::Field) {
    r = &slots[root.slot];  // a bare field (most group keys and arguments): copied below, no evaluator
  } else if ((root.op == Op::IsNull || root.op == Op::IsNotNull) &&
             p.nodes[static_cast<size_t>(root.kids[0])].op == Op::Field) {
    // `field is [not] null` (a common where): no evaluator.
    const bool null = slots[p.nodes[static_cast<size_t>(root.kids[0])].slot].is_null();
    out = Value::boolean(root.op == Op::IsNull ? null : !null);
    return true;
  } else {
    // The result is built in `out` itself, whose string buffer is reused (a string-valued expression such as
    // lower(word) allocates nothing per record once it has grown), unless the expression reads `out` (a
    // select writing a slot it also reads): then in a temporary, moved in at the end.
    bool reads_out = false;
    for (int slot : p.field_slots) reads_out = reads_out || &slots[slot] == &out;
    Value& dst = reads_out ? tmp : out;
    if (p.direct_call) {
      // A call whose arguments are all fields or literals (lower(word), to_int(x)): the function reads them
      // where they are, without the evaluator's temporaries. Same results and errors as Ev::call.
      const detail::FnDef& f = *root.fn;
      const Value* args[Program::kDirectArgs];
      const int argc = static_cast<int>(root.kids.size());
      bool null_arg = false;
      for (int k = 0; k < argc; ++k) {
        const CNode& kid = p.nodes[static_cast<size_t>(root.kids[static_cast<size_t>(k)])];
        args[k] = kid.op == Op::Field ? &slots[kid.slot] : &kid.lit;
        null_arg = null_arg || args[k]->is_null();
      }
      if (null_arg) {
        dst.set_null();
      } else if (!f.impl(args, argc, root.re.get(), dst, error)) {
        return false;
      }
      r = &dst;
    } else {
      Ev ev{p, slots, error};
      r = ev.run(p.root, dst);
      if (!r) return false;
    }
  }
  if (r == &tmp) {
    out = std::move(tmp);
  } else if (r != &out) {
    if (r->type() == Type::String) {
      out.set_string(r->as_string());
    } else {
      out = *r;
    }
  }
  return true;
}

std::optional<StringKey> string_key(const Compiled& c) {
  if (!c) return std::nullopt;
  const Program& p = *c.program();
  const CNode& root = p.nodes[static_cast<size_t>(p.root)];
  if (root.op == Op::Field) return StringKey{root.slot, StringKey::Fold::None};
  if (root.op != Op::Call || root.kids.size() != 1) return std::nullopt;
  const CNode& arg = p.nodes[static_cast<size_t>(root.kids[0])];
  if (arg.op != Op::Field) return std::nullopt;
  if (root.fn->name == "lower") return StringKey{arg.slot, StringKey::Fold::Lower};
  if (root.fn->name == "upper") return StringKey{arg.slot, StringKey::Fold::Upper};
  return std::nullopt;
}

void fold_case(std::string& s, bool upper) {
  detail::ascii_case(s, upper);
}

}  // namespace weir::expr
