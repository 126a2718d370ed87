// compile(): checks an expression, binds its names to slots and compiles regex literals once.
#include "engine/expr/program.h"

namespace weir::expr {
namespace {

class Compiler {
 public:
  Compiler(Program& p, const Resolver& r) : p_(p), resolve_(r) {}
  std::optional<ParseError> err;

  int add(const NodePtr& n) {
    if (err) return -1;
    CNode c;
    c.op = n->op;
    c.src = n;
    switch (n->op) {
      case Op::Literal:
        c.lit = n->literal;
        break;
      case Op::Field:
        c.slot = resolve_ ? resolve_(n->name) : -1;
        if (c.slot < 0) {
          err = ParseError{n->col, "unknown name '" + n->name + "'"};
          return -1;
        }
        p_.field_slots.push_back(c.slot);
        break;
      case Op::Call: {
        c.fn = detail::find_fn(n->name);
        if (!c.fn) {  // check() has already reported it; keep a message just in case
          err = ParseError{n->col, "unknown function '" + n->name + "'"};
          return -1;
        }
        int ra = detail::regex_arg(*c.fn);
        c.regex_arg = ra;
        if (ra >= 0 && ra < static_cast<int>(n->args.size())) {
          const Node& a = *n->args[ra];
          if (a.op == Op::Literal && a.literal.type() == Type::String) {
            std::string e;
            std::shared_ptr<const re2::RE2> re = detail::compile_regex(a.literal.as_string(), e);
            if (!re) {
              err = ParseError{a.col, std::string(c.fn->name) + "(): " + e};
              return -1;
            }
            c.re = std::move(re);
          }
        }
        break;
      }
      default:
        break;
    }
    for (const auto& a : n->args) {
      int k = add(a);
      if (k < 0) return -1;
      c.kids.push_back(k);
    }
    p_.nodes.push_back(std::move(c));
    return static_cast<int>(p_.nodes.size()) - 1;
  }

 private:
  Program& p_;
  const Resolver& resolve_;
};

}  // namespace

std::variant<Compiled, ParseError> compile(const NodePtr& node, const Resolver& resolve) {
  if (!node) return ParseError{1, "empty expression"};
  if (auto e = check(*node, {})) return *e;
  auto p = std::make_shared<Program>();
  Compiler c(*p, resolve);
  p->root = c.add(node);
  if (c.err) return *c.err;
  const CNode& root = p->nodes[static_cast<size_t>(p->root)];
  if (root.op == Op::Call && !root.fn->nulls_in && root.kids.size() <= Program::kDirectArgs &&
      (root.regex_arg < 0 || root.re)) {
    p->direct_call = true;
    for (int k : root.kids) {
      const Op op = p->nodes[static_cast<size_t>(k)].op;
      p->direct_call = p->direct_call && (op == Op::Field || op == Op::Literal);
    }
  }
  return Compiled(std::move(p));
}

}  // namespace weir::expr
