// Compiling an expression against a slot layout, and evaluating it per record/row.
#pragma once

#include <functional>
#include <memory>
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

// Compiles once per job (regexes compiled, names bound to slots). An unknown name is an error.
std::variant<Compiled, ParseError> compile(const NodePtr& node, const Resolver& resolve);

// Evaluates over `slots` (indexed by the resolver's answers). Never throws: returns false and sets
// `error` on a type error, division by zero or int overflow (the record is then bad, spec §10).
bool eval(const Compiled& c, const Value* slots, Value& out, std::string& error);

// SQL truthiness for where/having: true only for Bool true (null and false are false).
inline bool is_true(const Value& v) {
  return v.type() == Type::Bool && v.as_bool();
}

}  // namespace weir::expr
