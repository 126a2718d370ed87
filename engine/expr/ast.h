// Expression syntax tree (spec §10). Produced by expr::parse(), checked by expr::check(),
// compiled against a record layout by the evaluator. Immutable once built.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/value.h"

namespace weir::expr {

enum class Op : uint8_t {
  Literal,  // value in `literal`
  Field,  // a declared field name, a metadata field (_topic ...), an output column, or a JSON path; in `name`
  Not,    // args[0]
  Neg,    // unary minus, args[0]
  And,
  Or,  // args[0], args[1]
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Add,
  Sub,
  Mul,
  Div,
  Mod,
  In,  // args[0] in (args[1..])
  IsNull,
  IsNotNull,
  Call,  // function `name` (lower case) with args
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  Op op = Op::Literal;
  Value literal;
  std::string name;
  std::vector<NodePtr> args;
  int col = 1;  // 1-based column of this node's first character within the expression text
};

struct ParseError {
  int col = 1;  // 1-based column within the expression text
  std::string message;
};

// Parses one expression. Never throws; a syntax error is returned with its column (columns count
// code points, not bytes). String literals: 'x' or "x" with escapes \' \" \\ \n \t \r; any other
// backslash is kept as written, so a regex such as '\d+' needs no doubling. Names: identifier paths
// (user.screen_name, entities.hashtags[0].text, tags[*]) or `backquoted any text` (`` for a
// backquote). A sign directly before a number literal is folded into it (-5 is Literal -5).
// Nesting deeper than 500 levels is refused.
// Keywords (and, or, not, in, is, null, true, false) are case-insensitive; function names too.
struct ParseResult {
  NodePtr expr;  // set on success
  std::optional<ParseError> error;
};
ParseResult parse(std::string_view text);

// Canonical text of an expression (used to name group keys given as expressions, and in explain).
std::string to_string(const Node& n);

// Every field reference (Op::Field names) in the expression, in order of appearance, without duplicates.
std::vector<std::string> field_refs(const Node& n);

// Static checks that need no data: known function names (with "did you mean"), arity, literal and
// typed-field type mismatches (e.g. `lower(42)`, `'a' + 1`, `author = 5` when author is a string),
// regex literals that do not compile, `x = null` (never true: write `x is null`).
// `field_type` answers the declared type of a field name, or Type::Null when unknown/any.
std::optional<ParseError> check(const Node& n, const std::function<Type(const std::string&)>& field_type);

// The result type of an expression when it is known before running (from literals, typed fields
// and function result types), else Type::Null. An expression that fails check() gives Type::Null.
Type static_type(const Node& n, const std::function<Type(const std::string&)>& field_type);

// The function table (name, min args, max args), shared by the parser's checks and the evaluator.
struct FunctionInfo {
  std::string_view name;
  int min_args;
  int max_args;  // -1: variadic
};
const FunctionInfo* find_function(std::string_view lower_name);
const std::vector<FunctionInfo>& functions();

}  // namespace weir::expr
