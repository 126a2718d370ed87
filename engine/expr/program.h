// The compiled form of an expression: a flat tree of nodes with names bound to slots and regex
// literals compiled. Immutable after compile(); shared across threads. Internal to weir_expr.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <vector>

#include "engine/expr/ast.h"
#include "engine/expr/eval.h"
#include "engine/expr/functions.h"

namespace weir::expr {

struct CNode {
  Op op = Op::Literal;
  int slot = -1;                       // Field
  Value lit;                           // Literal
  const detail::FnDef* fn = nullptr;   // Call
  std::shared_ptr<const re2::RE2> re;  // Call: the regex argument, when it is a literal
  int regex_arg = -1;                  // Call: which argument is a regex (detail::regex_arg), -1 for none
  std::vector<int> kids;               // indexes into Program::nodes
  NodePtr src;                         // the source node, for error messages
};

class Program {
 public:
  std::vector<CNode> nodes;
  int root = -1;
  std::vector<int> field_slots;  // the slot of every Field node (eval() checks whether it reads its output)
  // The root is a call of a function with plain argument handling (not coalesce) whose at most kDirectArgs
  // arguments are all fields or literals, and whose regex argument, if any, is a literal (compiled in
  // CNode::re): eval() calls it directly.
  static constexpr size_t kDirectArgs = 4;
  bool direct_call = false;
};

}  // namespace weir::expr
