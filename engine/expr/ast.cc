// Canonical text of an expression and its field references.
#include <charconv>
#include <cmath>
#include <unordered_set>

#include "engine/expr/ast.h"
#include "engine/expr/lexer.h"

namespace weir::expr {
namespace {

// Binding strength, matching the parser: a child printed inside a parent of higher strength
// gets parentheses.
int prec(const Node& n) {
  switch (n.op) {
    case Op::Or:
      return 1;
    case Op::And:
      return 2;
    case Op::Not:
      return 3;
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
    case Op::In:
    case Op::IsNull:
    case Op::IsNotNull:
      return 4;
    case Op::Add:
    case Op::Sub:
      return 5;
    case Op::Mul:
    case Op::Div:
    case Op::Mod:
      return 6;
    case Op::Neg:
      return 7;
    case Op::Literal:
      // A negative number prints with its sign, which binds like unary minus.
      if ((n.literal.type() == Type::Int && n.literal.as_int() < 0) ||
          (n.literal.type() == Type::Float && std::signbit(n.literal.as_float()))) {
        return 7;
      }
      return 8;
    default:
      return 8;
  }
}

const char* binary_text(Op op) {
  switch (op) {
    case Op::And:
      return " and ";
    case Op::Or:
      return " or ";
    case Op::Eq:
      return " = ";
    case Op::Ne:
      return " != ";
    case Op::Lt:
      return " < ";
    case Op::Le:
      return " <= ";
    case Op::Gt:
      return " > ";
    case Op::Ge:
      return " >= ";
    case Op::Add:
      return " + ";
    case Op::Sub:
      return " - ";
    case Op::Mul:
      return " * ";
    case Op::Div:
      return " / ";
    case Op::Mod:
      return " % ";
    default:
      return nullptr;
  }
}

void append_string_literal(std::string& out, const std::string& s) {
  out += '\'';
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\'') {
      out += "\\'";
    } else if (c == '\\') {
      // A backslash before a character with no escape meaning stays single (so regexes read
      // naturally); otherwise it is doubled so that it reads back as itself.
      char nx = i + 1 < s.size() ? s[i + 1] : '\0';
      bool special =
          nx == '\'' || nx == '"' || nx == '\\' || nx == 'n' || nx == 't' || nx == 'r' || nx == '\0';
      out += special ? "\\\\" : "\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  out += '\'';
}

void append_literal(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::Null:
      out += "null";
      return;
    case Type::Bool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Type::Int:
      out += std::to_string(v.as_int());
      return;
    case Type::Float: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_float());
      std::string s(buf, ec == std::errc() ? p : buf);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a float when read back
      out += s;
      return;
    }
    case Type::String:
      append_string_literal(out, v.as_string());
      return;
    default:  // times and lists never come from the parser; show them as data
      out += v.to_json();
      return;
  }
}

void append_name(std::string& out, const std::string& name) {
  if (detail::is_plain_name(name)) {
    out += name;
    return;
  }
  out += '`';
  for (char c : name) {
    out += c;
    if (c == '`') out += '`';
  }
  out += '`';
}

void print(std::string& out, const Node& n);

void print_child(std::string& out, const Node& child, int min_prec) {
  if (prec(child) < min_prec) {
    out += '(';
    print(out, child);
    out += ')';
  } else {
    print(out, child);
  }
}

void print_list(std::string& out, const std::vector<NodePtr>& args, size_t from) {
  out += '(';
  for (size_t i = from; i < args.size(); ++i) {
    if (i > from) out += ", ";
    print(out, *args[i]);
  }
  out += ')';
}

void print(std::string& out, const Node& n) {
  switch (n.op) {
    case Op::Literal:
      append_literal(out, n.literal);
      return;
    case Op::Field:
      append_name(out, n.name);
      return;
    case Op::Not:
      if (!n.args.empty() && n.args[0]->op == Op::In) {  // x not in (...)
        const Node& in = *n.args[0];
        print_child(out, *in.args[0], 4);
        out += " not in ";
        print_list(out, in.args, 1);
        return;
      }
      out += "not ";
      print_child(out, *n.args[0], 3);
      return;
    case Op::Neg:
      out += '-';
      print_child(out, *n.args[0], 8);
      return;
    case Op::In:
      print_child(out, *n.args[0], 4);
      out += " in ";
      print_list(out, n.args, 1);
      return;
    case Op::IsNull:
    case Op::IsNotNull:
      print_child(out, *n.args[0], 4);
      out += n.op == Op::IsNull ? " is null" : " is not null";
      return;
    case Op::Call:
      out += n.name;
      print_list(out, n.args, 0);
      return;
    default: {
      int p = prec(n);
      print_child(out, *n.args[0], p);
      out += binary_text(n.op);
      // Left-associative: an equal-strength right child needs parentheses; a comparison's right
      // side is parsed as a sum, so it needs them for anything weaker than + -.
      print_child(out, *n.args[1], p == 4 ? 5 : p + 1);
      return;
    }
  }
}

void collect(const Node& n, std::vector<std::string>& out, std::unordered_set<std::string>& seen) {
  if (n.op == Op::Field && seen.insert(n.name).second) out.push_back(n.name);
  for (const auto& a : n.args) collect(*a, out, seen);
}

}  // namespace

std::string to_string(const Node& n) {
  std::string out;
  print(out, n);
  return out;
}

std::vector<std::string> field_refs(const Node& n) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  collect(n, out, seen);
  return out;
}

}  // namespace weir::expr
