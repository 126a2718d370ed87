// Numeric scalar functions: abs, round, floor, ceil, to_int, to_float (spec §10).
#include <charconv>
#include <cmath>

#include "engine/expr/functions.h"

namespace weir::expr::detail {
namespace {

constexpr double kTwo63 = 9223372036854775808.0;

// Float to int, for results that must be ints; NaN and out-of-range values are errors.
bool float_to_int(std::string_view fn, double d, Value& out, std::string& err) {
  if (!(d >= -kTwo63 && d < kTwo63)) {
    err = std::string(fn) + "(): " + Value::real(d).to_json() + " is out of the int range";
    if (std::isnan(d)) err = std::string(fn) + "(): NaN has no int value";
    return false;
  }
  out = Value::integer(static_cast<int64_t>(d));
  return true;
}

// Numeric text (surrounding ASCII whitespace allowed, optional leading '+'): int when it is
// integral text, else float. Returns false when it is not a finite number.
bool parse_number(std::string_view s, Value& out) {
  s = trim_view(s);
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  if (s.empty()) return false;
  int64_t i = 0;
  auto ri = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ri.ec == std::errc() && ri.ptr == s.data() + s.size()) {
    out = Value::integer(i);
    return true;
  }
  double d = 0;
  auto rd = std::from_chars(s.data(), s.data() + s.size(), d);
  if (rd.ec != std::errc() || rd.ptr != s.data() + s.size() || !std::isfinite(d)) return false;
  out = Value::real(d);
  return true;
}

}  // namespace

#define FN(name) bool name(const Value* const* a, int n, const re2::RE2* re, Value& out, std::string& err)

FN(fn_abs) {
  if (a[0]->type() == Type::Float) {
    out = Value::real(std::fabs(a[0]->as_float()));
    return true;
  }
  if (a[0]->type() != Type::Int) return type_error(err, "abs", "a number", *a[0]);
  int64_t v = a[0]->as_int();
  if (v == INT64_MIN) {
    err = "abs(): int overflow";
    return false;
  }
  out = Value::integer(v < 0 ? -v : v);
  return true;
}

// round(x): half away from zero, an int. round(x, d): d digits after the point (negative d
// rounds to tens, hundreds ...), the type of x.
FN(fn_round) {
  if (!a[0]->is_number()) return type_error(err, "round", "a number", *a[0]);
  int64_t d = 0;
  if (n == 2) {
    if (a[1]->type() != Type::Int) return type_error(err, "round", "an int number of digits", *a[1]);
    d = a[1]->as_int();
  }
  if (a[0]->type() == Type::Int) {
    int64_t v = a[0]->as_int();
    if (d >= 0) {
      out = Value::integer(v);
      return true;
    }
    if (d < -18) {
      out = Value::integer(0);
      return true;
    }
    int64_t p = 1;
    for (int64_t i = 0; i < -d; ++i) p *= 10;
    __int128 q = v / p, r = v % p;
    if ((r < 0 ? -r : r) * 2 >= p) q += v < 0 ? -1 : 1;
    __int128 res = q * p;
    if (res > INT64_MAX || res < INT64_MIN) {
      err = "round(): int overflow";
      return false;
    }
    out = Value::integer(static_cast<int64_t>(res));
    return true;
  }
  double x = a[0]->as_float();
  if (n == 1) return float_to_int("round", std::round(x), out, err);
  if (d > 308 || !std::isfinite(x)) {
    out = Value::real(x);
  } else if (d >= 0) {
    double scale = std::pow(10.0, static_cast<double>(d));
    double y = std::round(x * scale) / scale;
    out = Value::real(std::isfinite(y) ? y : x);
  } else {
    double scale = std::pow(10.0, static_cast<double>(d < -308 ? 308 : -d));
    out = Value::real(std::round(x / scale) * scale);
  }
  return true;
}

FN(fn_floor) {
  if (a[0]->type() == Type::Int) return out = *a[0], true;
  if (a[0]->type() != Type::Float) return type_error(err, "floor", "a number", *a[0]);
  return float_to_int("floor", std::floor(a[0]->as_float()), out, err);
}

FN(fn_ceil) {
  if (a[0]->type() == Type::Int) return out = *a[0], true;
  if (a[0]->type() != Type::Float) return type_error(err, "ceil", "a number", *a[0]);
  return float_to_int("ceil", std::ceil(a[0]->as_float()), out, err);
}

FN(fn_to_int) {
  const Value& v = *a[0];
  switch (v.type()) {
    case Type::Int:
      out = v;
      return true;
    case Type::Float:
      return float_to_int("to_int", std::trunc(v.as_float()), out, err);
    case Type::Bool:
      out = Value::integer(v.as_bool() ? 1 : 0);
      return true;
    case Type::Time:
      out = Value::integer(v.as_time());
      return true;
    case Type::String: {
      Value num;
      if (!parse_number(v.as_string(), num)) {
        // Integral text beyond 64 bits is a number, just not an int.
        std::string_view t = trim_view(v.as_string());
        if (t.size() > 1 && (t[0] == '-' || t[0] == '+')) t.remove_prefix(1);
        if (!t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos) {
          err = "to_int(): '" + std::string(trim_view(v.as_string())) + "' is out of the int range";
          return false;
        }
        out.set_null();
        return true;
      }
      if (num.type() == Type::Int) return out = num, true;
      return float_to_int("to_int", std::trunc(num.as_float()), out, err);
    }
    default:
      return type_error(err, "to_int", "a number, string, bool or time", v);
  }
}

FN(fn_to_float) {
  const Value& v = *a[0];
  switch (v.type()) {
    case Type::Int:
      out = Value::real(static_cast<double>(v.as_int()));
      return true;
    case Type::Float:
      out = v;
      return true;
    case Type::Bool:
      out = Value::real(v.as_bool() ? 1.0 : 0.0);
      return true;
    case Type::Time:
      out = Value::real(static_cast<double>(v.as_time()));
      return true;
    case Type::String: {
      Value num;
      if (!parse_number(v.as_string(), num)) {
        out.set_null();
      } else {
        out = Value::real(num.to_double());
      }
      return true;
    }
    default:
      return type_error(err, "to_float", "a number, string, bool or time", v);
  }
}

#undef FN

}  // namespace weir::expr::detail
