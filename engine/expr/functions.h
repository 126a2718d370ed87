// The function table: one row per scalar function, shared by the checker and the evaluator.
// Internal to weir_expr.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/value.h"

namespace re2 {
class RE2;
}

namespace weir::expr::detail {

// What an argument must be; the checker tests literals and typed fields against it, the
// implementation tests values at run time.
enum class Arg : uint8_t {
  Any,
  Str,        // a string
  StrOrList,  // a string or a list
  Num,        // int or float
  Int,        // int
  Regex,      // a string holding an RE2 pattern; compiled once when it is a literal
};

// The result type, when it can be known before running.
enum class Ret : uint8_t { Bool, Int, Float, String, SameAsFirst, Unknown, Round };

// Arguments are never null when an implementation is called (a null argument makes the result
// null), except for functions with `nulls_in` set. `re` is the compiled regex argument when the
// function has one. On a type or range error: returns false with `err` set.
using Impl = bool (*)(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);

struct FnDef {
  std::string_view name;
  int min_args;
  int max_args;  // -1: variadic (all arguments are then of kind args[0])
  Arg args[3];
  Ret ret;
  Impl impl;
  bool nulls_in = false;  // coalesce: sees null arguments itself
};

const FnDef* find_fn(std::string_view lower_name);

// lower()/upper() of s in place (ASCII letters only).
void ascii_case(std::string& s, bool upper);
const FnDef* all_fns(size_t& count);

// Kind of the i-th argument of `f`.
inline Arg arg_kind(const FnDef& f, int i) {
  return f.max_args < 0 ? f.args[0] : f.args[i < 3 ? i : 2];
}
// The regex argument's position, or -1.
int regex_arg(const FnDef& f);

// Compiles a pattern (errors are not logged); null with `err` set when it is invalid.
std::unique_ptr<re2::RE2> compile_regex(const std::string& pattern, std::string& err);
// Compiles a regex for functions whose pattern is not a literal, keeping the last one per thread.
const re2::RE2* cached_regex(const std::string& pattern, std::string& err);

// Sets `err` to "<fn>() expects <expected>, got <type>" and returns false.
inline bool type_error(std::string& err, std::string_view fn, std::string_view expected, const Value& got) {
  err =
      std::string(fn) + "() expects " + std::string(expected) + ", got " + std::string(type_name(got.type()));
  return false;
}
std::string_view trim_view(std::string_view s);  // without surrounding ASCII whitespace

// Numeric functions (functions_num.cc).
bool fn_abs(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);
bool fn_round(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);
bool fn_floor(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);
bool fn_ceil(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);
bool fn_to_int(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);
bool fn_to_float(const Value* const* args, int n, const re2::RE2* re, Value& out, std::string& err);

// "string", "int" ... for messages.
std::string_view kind_name(Arg a);

}  // namespace weir::expr::detail
