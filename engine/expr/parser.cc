// Precedence-climbing parser (spec §10). Precedence, low to high:
//   or < and < not < comparison / in / is < + - < * / % < unary -
// Binary operators are left-associative. `x not in (...)` parses as not (x in (...)).
#include <charconv>
#include <limits>
#include <utility>

#include "engine/expr/ast.h"
#include "engine/expr/lexer.h"

namespace weir::expr {
namespace {

using detail::Tok;
using detail::Token;

// Deeper trees are refused so that evaluation, printing and destruction (all recursive) stay
// far from the stack limit.
constexpr int kMaxDepth = 500;

struct Ex {
  NodePtr n;
  int depth = 1;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  ParseResult run() {
    ParseResult r;
    if (t_.size() == 1) {
      r.error = ParseError{1, "empty expression"};
      return r;
    }
    Ex e = expr();
    if (!err_ && cur().kind != Tok::End) {
      fail(cur(), cur().kind == Tok::RParen ? "unmatched ')'"
                                            : "expected an operator or the end of the expression, found " +
                                                  detail::describe(cur()));
    }
    if (err_) {
      r.error = std::move(err_);
    } else {
      r.expr = std::move(e.n);
    }
    return r;
  }

 private:
  const Token& cur() const { return t_[i_]; }
  const Token& peek_tok(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  bool is_kw(const char* w) const { return cur().kind == Tok::Keyword && cur().text == w; }
  bool is_op(const char* o) const { return cur().kind == Tok::Op && cur().text == o; }

  Ex fail(const Token& at, std::string msg) {
    if (!err_) err_ = ParseError{at.col, std::move(msg)};
    return {};
  }

  Ex make(Op op, int col, std::vector<Ex> kids, std::string name = {}) {
    auto n = std::make_shared<Node>();
    n->op = op;
    n->name = std::move(name);
    n->col = col;
    int d = 0;
    for (auto& k : kids) {
      d = std::max(d, k.depth);
      n->args.push_back(std::move(k.n));
    }
    if (d + 1 > kMaxDepth && !err_) {
      err_ = ParseError{
          col, "expression is nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)"};
    }
    return {std::move(n), d + 1};
  }

  static Ex literal(Value v, int col) {
    auto n = std::make_shared<Node>();
    n->op = Op::Literal;
    n->literal = std::move(v);
    n->col = col;
    return {std::move(n), 1};
  }

  Ex expr() { return or_expr(); }

  Ex or_expr() {
    Ex l = and_expr();
    while (!err_ && is_kw("or")) {
      ++i_;
      Ex r = and_expr();
      if (err_) return {};
      int col = l.n->col;
      l = make(Op::Or, col, {std::move(l), std::move(r)});
    }
    return l;
  }

  Ex and_expr() {
    Ex l = not_expr();
    while (!err_ && is_kw("and")) {
      ++i_;
      Ex r = not_expr();
      if (err_) return {};
      int col = l.n->col;
      l = make(Op::And, col, {std::move(l), std::move(r)});
    }
    return l;
  }

  Ex not_expr() {
    if (is_kw("not")) {
      int col = cur().col;
      ++i_;
      if (++nest_ > kMaxDepth) return fail(cur(), "expression is nested too deeply");
      Ex x = not_expr();
      --nest_;
      if (err_) return {};
      return make(Op::Not, col, {std::move(x)});
    }
    return cmp_expr();
  }

  static std::optional<Op> cmp_op(const Token& t) {
    if (t.kind != Tok::Op) return std::nullopt;
    if (t.text == "=") return Op::Eq;
    if (t.text == "!=") return Op::Ne;
    if (t.text == "<") return Op::Lt;
    if (t.text == "<=") return Op::Le;
    if (t.text == ">") return Op::Gt;
    if (t.text == ">=") return Op::Ge;
    return std::nullopt;
  }

  Ex cmp_expr() {
    Ex l = add_expr();
    while (!err_) {
      int col = l.n->col;
      if (auto op = cmp_op(cur())) {
        ++i_;
        Ex r = add_expr();
        if (err_) return {};
        l = make(*op, col, {std::move(l), std::move(r)});
      } else if (is_kw("in")) {
        ++i_;
        l = in_list(std::move(l), col);
      } else if (is_kw("not") && peek_tok().kind == Tok::Keyword && peek_tok().text == "in") {
        i_ += 2;
        Ex in = in_list(std::move(l), col);
        if (err_) return {};
        l = make(Op::Not, col, {std::move(in)});
      } else if (is_kw("is")) {
        ++i_;
        bool neg = false;
        if (is_kw("not")) {
          neg = true;
          ++i_;
        }
        if (!is_kw("null")) {
          return fail(cur(), std::string("expected 'null' after 'is") + (neg ? " not'" : "'") + ", found " +
                                 detail::describe(cur()));
        }
        ++i_;
        l = make(neg ? Op::IsNotNull : Op::IsNull, col, {std::move(l)});
      } else {
        break;
      }
    }
    return l;
  }

  Ex in_list(Ex x, int col) {
    if (cur().kind != Tok::LParen)
      return fail(cur(), "expected '(' after 'in', found " + detail::describe(cur()));
    std::vector<Ex> items;
    items.push_back(std::move(x));
    if (!args_until_close(items, "the list after 'in'")) return {};
    if (items.size() == 1) return fail(t_[i_ - 1], "the list after 'in' is empty");
    return make(Op::In, col, std::move(items));
  }

  // At '(' : parses comma-separated expressions up to the matching ')'.
  bool args_until_close(std::vector<Ex>& out, const std::string& what) {
    const Token& open = cur();
    ++i_;
    if (++nest_ > kMaxDepth) {
      fail(open, "expression is nested too deeply");
      return false;
    }
    if (cur().kind != Tok::RParen) {
      while (true) {
        Ex e = expr();
        if (err_) return false;
        out.push_back(std::move(e));
        if (cur().kind == Tok::Comma) {
          ++i_;
          continue;
        }
        break;
      }
    }
    if (cur().kind != Tok::RParen) {
      if (cur().kind == Tok::End) {
        fail(cur(),
             "unexpected end of expression: expected ')' to close '(' at column " + std::to_string(open.col));
      } else {
        fail(cur(), "expected ',' or ')' in " + std::string(what) + ", found " + detail::describe(cur()) +
                        " (the '(' is at column " + std::to_string(open.col) + ")");
      }
      return false;
    }
    ++i_;
    --nest_;
    return true;
  }

  Ex add_expr() {
    Ex l = mul_expr();
    while (!err_ && (is_op("+") || is_op("-"))) {
      Op op = cur().text == "+" ? Op::Add : Op::Sub;
      ++i_;
      Ex r = mul_expr();
      if (err_) return {};
      int col = l.n->col;
      l = make(op, col, {std::move(l), std::move(r)});
    }
    return l;
  }

  Ex mul_expr() {
    Ex l = unary();
    while (!err_ && (is_op("*") || is_op("/") || is_op("%"))) {
      Op op = cur().text == "*" ? Op::Mul : cur().text == "/" ? Op::Div : Op::Mod;
      ++i_;
      Ex r = unary();
      if (err_) return {};
      int col = l.n->col;
      l = make(op, col, {std::move(l), std::move(r)});
    }
    return l;
  }

  Ex unary() {
    if (is_op("-")) {
      const Token& minus = cur();
      ++i_;
      // -9223372036854775808 is the one int literal whose magnitude is out of range.
      if (cur().kind == Tok::Int && cur().text.find_first_not_of('0') != std::string::npos &&
          cur().text.substr(cur().text.find_first_not_of('0')) == "9223372036854775808") {
        ++i_;
        return literal(Value::integer(std::numeric_limits<int64_t>::min()), minus.col);
      }
      if (++nest_ > kMaxDepth) return fail(minus, "expression is nested too deeply");
      Ex x = unary();
      --nest_;
      if (err_) return {};
      // Fold the sign into a number literal: `-5` is the literal -5.
      const Value& v = x.n->literal;
      if (x.n->op == Op::Literal && v.type() == Type::Int &&
          v.as_int() != std::numeric_limits<int64_t>::min()) {
        return literal(Value::integer(-v.as_int()), minus.col);
      }
      if (x.n->op == Op::Literal && v.type() == Type::Float)
        return literal(Value::real(-v.as_float()), minus.col);
      return make(Op::Neg, minus.col, {std::move(x)});
    }
    return primary();
  }

  Ex primary() {
    const Token& t = cur();
    switch (t.kind) {
      case Tok::Int: {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc() || p != t.text.data() + t.text.size()) {
          return fail(t, "integer out of range: " + t.text + " (ints are 64-bit; write " + t.text +
                             ".0 for a float)");
        }
        ++i_;
        return literal(Value::integer(v), t.col);
      }
      case Tok::Float:
        ++i_;
        return literal(Value::real(t.fval), t.col);
      case Tok::String:
        ++i_;
        return literal(Value::string(t.text), t.col);
      case Tok::Keyword:
        if (t.text == "null") return ++i_, literal(Value(), t.col);
        if (t.text == "true") return ++i_, literal(Value::boolean(true), t.col);
        if (t.text == "false") return ++i_, literal(Value::boolean(false), t.col);
        return fail(t, "expected a value but found keyword '" + t.text + "'");
      case Tok::Quoted:
      case Tok::Ident: {
        if (t.kind == Tok::Ident && peek_tok().kind == Tok::LParen) return call();
        auto n = std::make_shared<Node>();
        n->op = Op::Field;
        n->name = t.text;
        n->col = t.col;
        ++i_;
        return {std::move(n), 1};
      }
      case Tok::LParen: {
        const Token& open = t;
        ++i_;
        if (++nest_ > kMaxDepth) return fail(open, "expression is nested too deeply");
        Ex e = expr();
        if (err_) return {};
        if (cur().kind != Tok::RParen) {
          return fail(cur(), cur().kind == Tok::End
                                 ? "unexpected end of expression: expected ')' to close '(' at column " +
                                       std::to_string(open.col)
                                 : "expected ')' to close '(' at column " + std::to_string(open.col) +
                                       ", found " + detail::describe(cur()));
        }
        ++i_;
        --nest_;
        return e;
      }
      case Tok::End:
        return fail(t, "unexpected end of expression");
      default:
        return fail(t, "expected a value but found " + detail::describe(t));
    }
  }

  Ex call() {
    const Token& name = cur();
    if (name.text.find_first_of(".[") != std::string::npos) {
      return fail(name, "'" + name.text + "' is a path, not a function name");
    }
    int col = name.col;
    std::string lname = name.text;
    for (char& c : lname) {
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    }
    ++i_;
    std::vector<Ex> args;
    if (!args_until_close(args, "the arguments of " + lname + "()")) return {};
    return make(Op::Call, col, std::move(args), std::move(lname));
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int nest_ = 0;
  std::optional<ParseError> err_;
};

}  // namespace

ParseResult parse(std::string_view text) {
  auto lexed = detail::lex(text);
  if (lexed.error) {
    ParseResult r;
    r.error = std::move(lexed.error);
    return r;
  }
  return Parser(std::move(lexed.tokens)).run();
}

}  // namespace weir::expr
