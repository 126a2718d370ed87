// Compiling an expression against a slot layout, and evaluating it per record/row.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "engine/expr/ast.h"
#include "engine/value.h"

namespace weir::expr {

// Answers the slot index of a field/column name, or -1 when the name is unknown.
using Resolver = std::function<int(const std::string& name)>;

class Program;  // compiled form; immutable, shareable across threads

class Compiled {
 public:
  Compiled() = default;
  explicit Compiled(std::shared_ptr<const Program> p) : prog_(std::move(p)) {}
  explicit operator bool() const { return prog_ != nullptr; }
  const Program* program() const { return prog_.get(); }

 private:
  std::shared_ptr<const Program> prog_;
};

// Compiles once per job (regexes compiled, names bound to slots). Runs check() (without field
// types) first, so unknown functions, bad arity and invalid regex literals are errors here too.
// An unknown name is an error with the column of its first use.
std::variant<Compiled, ParseError> compile(const NodePtr& node, const Resolver& resolve);

// Semantics (spec §10), with the choices the spec leaves open:
// - Comparisons (= != < <= > >=) with a null operand are false, != included. Numbers compare
//   numerically (int vs float exactly), strings bytewise, bools false < true, times with times or
//   with numbers (epoch ms); lists compare with lists. Other mixes are an error (the record is bad).
// - `x in (a, b)` is a comparison: true when x equals an element (null elements never match), false
//   when x is null; `x not in (...)` is not (x in (...)), so it is true for a null x.
// - not null = null; and/or are three-valued and short-circuit (false and x = false, true or x =
//   true, without evaluating x; otherwise null when either side is null). Non-bool operands: error.
// - Arithmetic with null is null. int op int is int (overflow is an error; / truncates toward
//   zero; % has the sign of the dividend); a float operand makes it float (a non-finite result is
//   an error); / or % by zero (int or float) is an error. time ± int → time; time - time → int ms.
//   string + string is an error: use the concat(a, b, ...) extension.
// - Functions return null when any argument is null (coalesce excepted, which evaluates lazily).
//   round(x) half away from zero, floor(x), ceil(x) return an int (a float out of the int range
//   is an error); round(x, d) keeps x's type (negative d rounds to tens, hundreds...). contains()
//   also accepts a list as first argument (element membership). A regex argument that is not a
//   literal is compiled at run time (the last one per thread is cached); an invalid one is an error.
// - Errors name the function and the type, or the operator and the sub-expression.
//
// Evaluates over `slots` (indexed by the resolver's answers). Never throws: returns false and sets
// `error` on a type error, division by zero or int overflow (the record is then bad, spec §10).
bool eval(const Compiled& c, const Value* slots, Value& out, std::string& error);

// A group key the engine can compute without the evaluator when the field holds a string: the field itself,
// lower(field) or upper(field).
struct StringKey {
  enum class Fold : uint8_t { None, Lower, Upper };
  int slot = -1;
  Fold fold = Fold::None;
};
// `c` as a StringKey, when it is one.
std::optional<StringKey> string_key(const Compiled& c);
// What lower() (upper: upper()) does to a string, in place: ASCII letters change case, other bytes stay.
void fold_case(std::string& s, bool upper);

// SQL truthiness for where/having: true only for Bool true (null and false are false).
inline bool is_true(const Value& v) {
  return v.type() == Type::Bool && v.as_bool();
}

}  // namespace weir::expr
