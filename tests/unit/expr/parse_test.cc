#include <catch2/catch.hpp>

#include <random>

#include "engine/expr/ast.h"

using namespace weir;
using namespace weir::expr;

namespace {

NodePtr ok(const std::string& text) {
  auto r = parse(text);
  INFO("expression: " << text << (r.error ? " error: " + r.error->message : ""));
  REQUIRE(!r.error);
  REQUIRE(r.expr);
  return r.expr;
}

std::string canon(const std::string& text) {
  return to_string(*ok(text));
}

ParseError bad(const std::string& text) {
  auto r = parse(text);
  INFO("expression: " << text);
  REQUIRE(r.error);
  REQUIRE(!r.expr);
  return *r.error;
}

}  // namespace

TEST_CASE("parse: literals of every form", "[expr]") {
  auto n = ok("'it\\'s'");
  REQUIRE(n->op == Op::Literal);
  REQUIRE(n->literal.as_string() == "it's");
  REQUIRE(ok("\"say \\\"hi\\\"\\n\\t\\\\\"")->literal.as_string() == "say \"hi\"\n\t\\");
  REQUIRE(ok("'\\d+'")->literal.as_string() == "\\d+");  // unknown escapes keep the backslash
  REQUIRE(ok("42")->literal.as_int() == 42);
  REQUIRE(ok("4.25")->literal.as_float() == 4.25);
  REQUIRE(ok("1e3")->literal.as_float() == 1000.0);
  REQUIRE(ok(".5")->literal.as_float() == 0.5);
  REQUIRE(ok("-7")->literal.as_int() == -7);
  REQUIRE(ok("9223372036854775807")->literal.as_int() == INT64_MAX);
  REQUIRE(ok("-9223372036854775808")->literal.as_int() == INT64_MIN);
  REQUIRE(ok("TRUE")->literal.as_bool());
  REQUIRE(!ok("False")->literal.as_bool());
  REQUIRE(ok("NuLL")->literal.is_null());
  REQUIRE(ok("null")->op == Op::Literal);
}

TEST_CASE("parse: out-of-range int literal is an error", "[expr]") {
  auto e = bad("x + 9223372036854775808");
  REQUIRE(e.col == 5);
  REQUIRE_THAT(e.message, Catch::Contains("out of range"));
  REQUIRE(bad("1e999").message.find("out of range") != std::string::npos);
}

TEST_CASE("parse: field names and paths", "[expr]") {
  auto n = ok("entities.hashtags[0].text");
  REQUIRE(n->op == Op::Field);
  REQUIRE(n->name == "entities.hashtags[0].text");
  REQUIRE(ok("tags[*]")->name == "tags[*]");
  REQUIRE(ok("_topic")->name == "_topic");
  REQUIRE(ok("user.screen_name")->name == "user.screen_name");
  REQUIRE(ok("`odd name`")->name == "odd name");
  REQUIRE(ok("`a``b`")->name == "a`b");
  REQUIRE(ok("`and`")->name == "and");
  REQUIRE(canon("`odd name` = 1") == "`odd name` = 1");
  REQUIRE(canon("`and`") == "`and`");
  REQUIRE(canon("`plain`") == "plain");
  REQUIRE(field_refs(*ok("a + b.c * a - lower(d[1]) in (a, e)")) ==
          std::vector<std::string>{"a", "b.c", "d[1]", "e"});
}

TEST_CASE("parse: precedence and associativity", "[expr]") {
  REQUIRE(canon("a or b and c") == "a or b and c");
  REQUIRE(ok("a or b and c")->op == Op::Or);
  REQUIRE(ok("(a or b) and c")->op == Op::And);
  REQUIRE(canon("(a or b) and c") == "(a or b) and c");
  REQUIRE(ok("not a = b")->op == Op::Not);
  REQUIRE(ok("not a and b")->op == Op::And);
  REQUIRE(ok("1 + 2 * 3")->op == Op::Add);
  REQUIRE(ok("(1 + 2) * 3")->op == Op::Mul);
  REQUIRE(canon("(1 + 2) * 3") == "(1 + 2) * 3");
  REQUIRE(canon("a - (b - c)") == "a - (b - c)");
  REQUIRE(canon("(a - b) - c") == "a - b - c");
  REQUIRE(canon("a / b % c * d") == "a / b % c * d");
  REQUIRE(canon("-x * 2") == "-x * 2");
  REQUIRE(ok("-x * 2")->op == Op::Mul);
  REQUIRE(canon("-(x * 2)") == "-(x * 2)");
  REQUIRE(canon("a + b = c * d") == "a + b = c * d");
  REQUIRE(ok("a + b = c * d")->op == Op::Eq);
  REQUIRE(canon("a = (b = c)") == "a = (b = c)");
  REQUIRE(canon("not not a") == "not not a");
}

TEST_CASE("parse: every operator", "[expr]") {
  struct Case {
    const char* text;
    Op op;
    const char* canon;
  } cases[] = {
      {"a = 1", Op::Eq, "a = 1"},
      {"a == 1", Op::Eq, "a = 1"},
      {"a != 1", Op::Ne, "a != 1"},
      {"a <> 1", Op::Ne, "a != 1"},
      {"a < 1", Op::Lt, "a < 1"},
      {"a <= 1", Op::Le, "a <= 1"},
      {"a > 1", Op::Gt, "a > 1"},
      {"a >= 1", Op::Ge, "a >= 1"},
      {"a + 1", Op::Add, "a + 1"},
      {"a - 1", Op::Sub, "a - 1"},
      {"a * 1", Op::Mul, "a * 1"},
      {"a / 1", Op::Div, "a / 1"},
      {"a % 1", Op::Mod, "a % 1"},
      {"-a", Op::Neg, "-a"},
      {"NOT a", Op::Not, "not a"},
      {"a AND b", Op::And, "a and b"},
      {"a Or b", Op::Or, "a or b"},
      {"a IS NULL", Op::IsNull, "a is null"},
      {"a is not null", Op::IsNotNull, "a is not null"},
      {"a IN (1, 'x')", Op::In, "a in (1, 'x')"},
      {"a NOT IN (1)", Op::Not, "a not in (1)"},
      {"LOWER(a)", Op::Call, "lower(a)"},
      {"count()", Op::Call, "count()"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto n = ok(c.text);
    REQUIRE(n->op == c.op);
    REQUIRE(to_string(*n) == c.canon);
  }
  auto in = ok("x in ('a', 'b')");
  REQUIRE(in->args.size() == 3);
  auto notin = ok("x not in ('a')");
  REQUIRE(notin->args[0]->op == Op::In);
  auto call = ok("Split_Part(text, ' ', 2)");
  REQUIRE(call->name == "split_part");
  REQUIRE(call->args.size() == 3);
  REQUIRE(call->col == 1);
  REQUIRE(call->args[1]->col == 18);
}

TEST_CASE("parse: canonical text", "[expr]") {
  REQUIRE(canon("LOWER( author )=='x'") == "lower(author) = 'x'");
  REQUIRE(canon("tweets > 1 or starts_with(lower(author), 'rm')") ==
          "tweets > 1 or starts_with(lower(author), 'rm')");
  REQUIRE(canon("x = \"it's\"") == "x = 'it\\'s'");
  REQUIRE(canon("matches(x, '\\d+\\.')") == "matches(x, '\\d+\\.')");
  REQUIRE(canon("a=1.0") == "a = 1.0");
  REQUIRE(canon("a=-2.5e-3") == "a = -0.0025");
  REQUIRE(canon("x - -1") == "x - -1");
  REQUIRE(canon("2 * -(a)") == "2 * -a");
  REQUIRE(canon("(x in (1,2)) = true") == "x in (1, 2) = true");
  REQUIRE(canon("a   is   NOT   null and b") == "a is not null and b");
}

TEST_CASE("parse: columns of nodes count code points", "[expr]") {
  auto n = ok("name = '\xc3\x84rger' and x");
  REQUIRE(n->args[1]->col == 20);
  auto e = bad("'\xc3\x84' = ) ");
  REQUIRE(e.col == 7);
}

TEST_CASE("parse: malformed expressions report the offending column", "[expr]") {
  struct Case {
    const char* text;
    int col;
    const char* msg;
  } cases[] = {
      {"", 1, "empty expression"},
      {"   ", 1, "empty expression"},
      {"a = ", 5, "unexpected end of expression"},
      {"(a = 1", 7, "expected ')' to close '(' at column 1"},
      {"f(a, b", 7, "expected ')' to close '(' at column 2"},
      {"a = 1)", 6, "unmatched ')'"},
      {"a == = 1", 6, "expected a value"},
      {"a 'x'", 3, "expected an operator"},
      {"'abc", 1, "unterminated string"},
      {"a = 'x' # b", 9, "unexpected character '#'"},
      {"a && b", 3, "write 'and'"},
      {"a is 5", 6, "expected 'null' after 'is'"},
      {"a in 1", 6, "expected '(' after 'in'"},
      {"a in ()", 7, "empty"},
      {"x[a]", 2, "expected a number or '*'"},
      {"12abc", 1, "malformed number"},
      {"f(a b)", 5, "expected ',' or ')'"},
      {"a.b(1)", 1, "is a path, not a function name"},
      {"`x", 1, "unterminated name"},
      {"a ! b", 3, "unexpected character '!'"},
      {"and", 1, "keyword 'and'"},
      {"'it''s'", 5, "expected an operator"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto e = bad(c.text);
    REQUIRE(e.col == c.col);
    REQUIRE_THAT(e.message, Catch::Contains(c.msg));
  }
}

TEST_CASE("parse: deep nesting is refused, not a stack overflow", "[expr]") {
  std::string deep(100000, '(');
  auto e = bad(deep + "1" + std::string(100000, ')'));
  REQUIRE_THAT(e.message, Catch::Contains("nested too deeply"));
  std::string chain = "a";
  for (int i = 0; i < 5000; ++i) chain += " + a";
  REQUIRE_THAT(bad(chain).message, Catch::Contains("nested too deeply"));
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  REQUIRE_THAT(bad(nots + "a").message, Catch::Contains("nested too deeply"));
  std::string negs(100000, '-');
  REQUIRE_THAT(bad(negs + "a").message, Catch::Contains("nested too deeply"));
  chain = "a";
  for (int i = 0; i < 300; ++i) chain += " + a";
  ok(chain);
}

TEST_CASE("parse: random input never crashes and canonical text parses back the same", "[expr]") {
  static const char* pieces[] = {"a",
                                 "b.c",
                                 "x[0]",
                                 "y[*]",
                                 "`q`",
                                 "1",
                                 "2.5",
                                 "'s'",
                                 "\"t\"",
                                 "true",
                                 "null",
                                 "and",
                                 "or",
                                 "not",
                                 "in",
                                 "is",
                                 "(",
                                 ")",
                                 ",",
                                 "=",
                                 "==",
                                 "!=",
                                 "<>",
                                 "<",
                                 "<=",
                                 ">",
                                 ">=",
                                 "+",
                                 "-",
                                 "*",
                                 "/",
                                 "%",
                                 "lower",
                                 "f(",
                                 "'",
                                 "`",
                                 "[",
                                 "]",
                                 ".",
                                 " ",
                                 "9223372036854775808",
                                 "\xff",
                                 "\\",
                                 "e5"};
  std::mt19937 rng(12345);
  int parsed = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string s;
    int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) {
      s += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
      if (rng() % 2) s += ' ';
    }
    auto r = parse(s);
    REQUIRE((r.expr != nullptr) != r.error.has_value());
    if (r.error) {
      REQUIRE(r.error->col >= 1);
      REQUIRE(static_cast<size_t>(r.error->col) <= s.size() + 1);
      REQUIRE(!r.error->message.empty());
      continue;
    }
    ++parsed;
    std::string c = to_string(*r.expr);
    auto again = parse(c);
    INFO("input: " << s << " canonical: " << c);
    REQUIRE(again.expr);
    REQUIRE(to_string(*again.expr) == c);
  }
  REQUIRE(parsed > 100);
}
