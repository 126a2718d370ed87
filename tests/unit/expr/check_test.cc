#include <catch2/catch.hpp>

#include <map>

#include "engine/expr/ast.h"

using namespace weir;
using namespace weir::expr;

namespace {

const std::map<std::string, Type> kTypes = {
    {"author", Type::String}, {"amount", Type::Int}, {"price", Type::Float}, {"ok", Type::Bool},
    {"ts", Type::Time},       {"tags", Type::List},  {"any", Type::Null},
};

Type field_type(const std::string& n) {
  auto it = kTypes.find(n);
  return it == kTypes.end() ? Type::Null : it->second;
}

std::optional<ParseError> run_check(const std::string& text) {
  auto r = parse(text);
  INFO("expression: " << text << (r.error ? " parse error: " + r.error->message : ""));
  REQUIRE(r.expr);
  return check(*r.expr, field_type);
}

void passes(const std::string& text) {
  auto e = run_check(text);
  INFO("expression: " << text << " error: " << (e ? e->message : ""));
  REQUIRE(!e);
}

void fails(const std::string& text, int col, const std::string& msg) {
  auto e = run_check(text);
  INFO("expression: " << text);
  REQUIRE(e);
  INFO("message: " << e->message);
  REQUIRE(e->col == col);
  REQUIRE_THAT(e->message, Catch::Contains(msg));
}

}  // namespace

TEST_CASE("check: valid expressions pass", "[expr]") {
  passes("lang == 'en'");
  passes("tweets > 1 or starts_with(lower(author), 'rm')");
  passes("amount * 2 + price > 10");
  passes("any + 1 = any");  // unknown types are checked at run time
  passes("ts > 1484148840000 and ts - 1000 < ts");
  passes("matches(author, '^r[a-z]+\\d*$')");
  passes("extract(author, '(a)(b)', 2)");
  passes("coalesce(author, any, 'x')");
  passes("round(price, 2) + round(price) + floor(price) + ceil(amount) + abs(amount) > 0");
  passes("length(tags) > 0 and contains(tags, '#kafka')");
  passes("author in ('a', 'b', null)");
  passes("author is null or not ok");
  passes("to_int(author) + to_float(amount) > 0 and to_string(ts) != ''");
  passes("split_part(author, '.', 2) = 'x' and url_host(author) = 'example.com'");
}

TEST_CASE("check: unknown function with did-you-mean", "[expr]") {
  fails("lenght(author) > 3", 1, "unknown function 'lenght' (did you mean 'length'?)");
  fails("x = LOWR(author)", 5, "(did you mean 'lower'?)");
  fails("startswith(author, 'a')", 1, "did you mean 'starts_with'?");
  auto e = run_check("frobnicate(author)");
  REQUIRE(e);
  REQUIRE(e->message == "unknown function 'frobnicate'");
  fails("sum(amount) > 3", 1, "aggregates such as sum()");
}

TEST_CASE("check: wrong arity", "[expr]") {
  fails("lower()", 1, "lower() takes 1 argument, got 0");
  fails("a = lower(author, 'x')", 5, "lower() takes 1 argument, got 2");
  fails("extract(author)", 1, "extract() takes 2 or 3 arguments, got 1");
  fails("split_part(author, ',')", 1, "split_part() takes 3 arguments, got 2");
  fails("coalesce()", 1, "coalesce() takes at least 1 argument, got 0");
}

TEST_CASE("check: literal and typed-field mismatches", "[expr]") {
  fails("lower(42)", 7, "lower() expects a string, got int");
  fails("length(amount)", 8, "length() expects a string or a list, got int");
  fails("'a' + 1", 1, "'+' cannot be applied to a string (strings are not added; use concat(a, b))");
  fails("amount * author", 10, "'*' cannot be applied to a string");
  fails("ok - 1", 1, "'-' cannot be applied to a bool");
  fails("-author", 2, "unary '-' expects a number, got string");
  fails("author = 5", 10, "cannot compare string with int");
  fails("5 < author", 1, "cannot compare int with string");
  fails("amount > 'x'", 10, "cannot compare int with string");
  fails("author in ('a', 2)", 17, "cannot compare string with int");
  fails("ok = 'true'", 6, "cannot compare bool with string");
  fails("not author", 5, "'not' expects a bool, got string");
  fails("ok and 'x'", 8, "'and' expects a bool, got string");
  fails("abs('x')", 5, "abs() expects a number, got string");
  fails("round(price, 1.5)", 14, "round() expects an int, got float");
  fails("split_part(author, ',', 0)", 25, "counts parts from 1");
  fails("author = null", 10, "write 'x is null'");
  fails("null != amount", 1, "never true");
  fails("ts + ts > 0", 6, "two times cannot be added");
  fails("lower(upper(amount))", 13, "upper() expects a string, got int");
  fails("lower(to_int(author))", 7, "lower() expects a string, got int");
  fails("length(lower(author)) = 'x'", 25, "cannot compare int with string");
}

TEST_CASE("check: regex literals must compile", "[expr]") {
  fails("matches(author, '(unclosed')", 17, "invalid regex '(unclosed'");
  fails("extract(author, '[a-')", 17, "invalid regex");
  fails("extract(author, '(a)', 2)", 24, "group 2 does not exist; the regex has 1 group(s)");
  passes("matches(author, any)");  // not a literal: compiled at run time
}

TEST_CASE("check: static_type infers result types", "[expr]") {
  auto t = [](const std::string& s) { return static_type(*parse(s).expr, field_type); };
  REQUIRE(t("amount + 1") == Type::Int);
  REQUIRE(t("amount + price") == Type::Float);
  REQUIRE(t("amount / 2") == Type::Int);
  REQUIRE(t("lower(author)") == Type::String);
  REQUIRE(t("author = 'x'") == Type::Bool);
  REQUIRE(t("round(price)") == Type::Int);
  REQUIRE(t("round(price, 1)") == Type::Float);
  REQUIRE(t("abs(amount)") == Type::Int);
  REQUIRE(t("ts + 5") == Type::Time);
  REQUIRE(t("ts - ts") == Type::Int);
  REQUIRE(t("any") == Type::Null);
  REQUIRE(t("coalesce(author, 'x')") == Type::String);
  REQUIRE(t("coalesce(author, any)") == Type::Null);
  REQUIRE(t("lower(5)") == Type::Null);  // fails check
}
