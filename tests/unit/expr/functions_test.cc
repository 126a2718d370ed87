#include <catch2/catch.hpp>

#include "tests/unit/expr/eval_helpers.h"

using namespace expr_test;

namespace {
const std::map<std::string, Value> rec = {
    {"s", S("  Hello World  ")},
    {"n", N()},
    {"i", I(-7)},
    {"f", F(2.5)},
    {"b", B(true)},
    {"ts", Value::time(1484148840000)},
    {"tags", Value::list({S("#spark"), S("#kafka")})},
    {"pat", S("(\\d+)-(\\d+)")},
    {"badpat", S("(")},
};
}  // namespace

TEST_CASE("functions: every function returns null for a null argument", "[expr]") {
  for (const char* e : {"lower(n)",
                        "upper(n)",
                        "length(n)",
                        "trim(n)",
                        "starts_with(n, 'a')",
                        "ends_with('a', n)",
                        "contains(n, 'a')",
                        "matches(n, 'a')",
                        "matches('a', n)",
                        "extract(n, 'a')",
                        "extract('a', 'a', n)",
                        "split_part(n, ',', 1)",
                        "split_part('a', ',', n)",
                        "url_host(n)",
                        "abs(n)",
                        "round(n)",
                        "round(1.5, n)",
                        "floor(n)",
                        "ceil(n)",
                        "to_int(n)",
                        "to_float(n)",
                        "to_string(n)",
                        "concat('a', n)",
                        "coalesce(n, n)"}) {
    INFO(e);
    REQUIRE(same(val(e, rec), N()));
  }
}

TEST_CASE("functions: lower, upper change ASCII letters only", "[expr]") {
  REQUIRE(same(val("lower('AbC Ä 1')"), S("abc \xc3\x84 1")));
  REQUIRE(same(val("upper('abc ä')"), S("ABC \xc3\xa4")));
  REQUIRE(same(val("LOWER(s)", rec), S("  hello world  ")));
  REQUIRE_THAT(err("lower(i)", rec), Catch::Contains("lower() expects a string, got int"));
  REQUIRE_THAT(err("upper(b)", rec), Catch::Contains("upper() expects a string, got bool"));
}

TEST_CASE("functions: lower, upper over every byte value, in strings long enough to be vectorised",
          "[expr]") {
  // All 256 byte values, three times over (768 bytes): only A-Z / a-z change; '@', '[', '`', '{' and every
  // byte >= 0x80 stay.
  std::string all;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  }
  std::string lo = all, up = all;
  for (char& c : lo) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  for (char& c : up) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  const std::map<std::string, Value> bytes = {{"all", Value::string(all)}};
  REQUIRE(same(val("lower(all)", bytes), Value::string(lo)));
  REQUIRE(same(val("upper(all)", bytes), Value::string(up)));
  REQUIRE(same(val("upper(lower(all))", bytes), Value::string(up)));
}

TEST_CASE("functions: length counts code points, list elements, and survives invalid UTF-8", "[expr]") {
  REQUIRE(same(val("length('abc')"), I(3)));
  REQUIRE(same(val("length('')"), I(0)));
  REQUIRE(same(val("length('日本語')"), I(3)));
  REQUIRE(same(val("length('\xf0\x9f\x98\x80x')"), I(2)));
  REQUIRE(same(val("length(tags)", rec), I(2)));
  REQUIRE(same(val("length(x)", {{"x", S("\xff\xfe"
                                         "a\x80")}}),
               I(3)));  // continuation bytes not counted
  REQUIRE(same(val("length(x)", {{"x", S(std::string(1 << 20, 'z').c_str())}}), I(1 << 20)));
  REQUIRE_THAT(err("length(f)", rec), Catch::Contains("length() expects a string or a list, got float"));
}

TEST_CASE("functions: trim removes ASCII whitespace", "[expr]") {
  REQUIRE(same(val("trim(s)", rec), S("Hello World")));
  REQUIRE(same(val("trim('\\t\\n x y \\r')"), S("x y")));
  REQUIRE(same(val("trim('   ')"), S("")));
  REQUIRE_THAT(err("trim(ts)", rec), Catch::Contains("trim() expects a string, got time"));
}

TEST_CASE("functions: starts_with, ends_with, contains", "[expr]") {
  REQUIRE(same(val("starts_with('rmoff', 'rm')"), B(true)));
  REQUIRE(same(val("starts_with('rmoff', 'x')"), B(false)));
  REQUIRE(same(val("starts_with('rm', 'rmoff')"), B(false)));
  REQUIRE(same(val("ends_with('rmoff', 'off')"), B(true)));
  REQUIRE(same(val("ends_with('rmoff', '')"), B(true)));
  REQUIRE(same(val("contains('hello world', 'o w')"), B(true)));
  REQUIRE(same(val("contains('hello', 'z')"), B(false)));
  REQUIRE(same(val("contains(tags, '#kafka')", rec), B(true)));
  REQUIRE(same(val("contains(tags, '#flink')", rec), B(false)));
  REQUIRE_THAT(err("starts_with(i, 'a')", rec), Catch::Contains("starts_with() expects a string"));
  REQUIRE_THAT(err("ends_with('a', i)", rec), Catch::Contains("ends_with() expects a string"));
  REQUIRE_THAT(err("contains(i, 'a')", rec),
               Catch::Contains("contains() expects a string or a list, got int"));
  REQUIRE_THAT(err("contains('a', i)", rec), Catch::Contains("contains() expects a string"));
}

TEST_CASE("functions: matches and extract with literal and computed regexes", "[expr]") {
  REQUIRE(same(val("matches('order 123', '\\d+')"), B(true)));
  REQUIRE(same(val("matches('order', '\\d+')"), B(false)));
  REQUIRE(same(val("matches('abc', '^b')"), B(false)));
  REQUIRE(same(val("matches('日本', '^.{2}$')"), B(true)));  // UTF-8 aware
  REQUIRE(same(val("extract('id=42;', 'id=(\\d+)')"), S("42")));
  REQUIRE(same(val("extract('id=42;', 'id=\\d+')"), S("id=42")));  // no groups: whole match
  REQUIRE(same(val("extract('10-20', '(\\d+)-(\\d+)', 2)"), S("20")));
  REQUIRE(same(val("extract('10-20', '(\\d+)-(\\d+)', 0)"), S("10-20")));
  REQUIRE(same(val("extract('none', '(\\d+)')"), N()));
  REQUIRE(same(val("extract('b', '(a)|(b)', 1)"), N()));  // group did not take part
  REQUIRE(same(val("extract('3-4', pat, 2)", rec), S("4")));
  REQUIRE(same(val("matches('3-4', pat)", rec), B(true)));
  REQUIRE(same(val("matches('x', pat)", rec), B(false)));
  REQUIRE_THAT(err("extract('1-2', pat, 3)", rec), Catch::Contains("group 3 does not exist"));
  REQUIRE_THAT(err("matches('x', badpat)", rec), Catch::Contains("invalid regex"));
  REQUIRE_THAT(err("matches('x', i)", rec), Catch::Contains("matches() expects a string regex, got int"));
  REQUIRE_THAT(err("matches(i, 'x')", rec), Catch::Contains("matches() expects a string, got int"));
  REQUIRE_THAT(err("extract(b, 'x')", rec), Catch::Contains("extract() expects a string, got bool"));
  REQUIRE_THAT(err("extract('a', 'a', f)", rec), Catch::Contains("extract() expects an int"));
  // Many groups go past the inline buffer.
  REQUIRE(same(val("extract('abcdefghij', '(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', 10)"), S("j")));
}

TEST_CASE("functions: split_part counts from 1", "[expr]") {
  REQUIRE(same(val("split_part('a,b,c', ',', 1)"), S("a")));
  REQUIRE(same(val("split_part('a,b,c', ',', 3)"), S("c")));
  REQUIRE(same(val("split_part('a,b,c', ',', 4)"), S("")));
  REQUIRE(same(val("split_part('a,,c', ',', 2)"), S("")));
  REQUIRE(same(val("split_part('a::b', '::', 2)"), S("b")));
  REQUIRE(same(val("split_part('abc', '', 1)"), S("abc")));
  REQUIRE(same(val("split_part('abc', '', 2)"), S("")));
  REQUIRE(same(val("split_part('abc', 'x', 1)"), S("abc")));
  REQUIRE_THAT(err("split_part('a', ',', i)", rec), Catch::Contains("part number must be 1 or more, got -7"));
  REQUIRE_THAT(err("split_part('a', ',', f)", rec), Catch::Contains("split_part() expects an int"));
  REQUIRE_THAT(err("split_part(i, ',', 1)", rec), Catch::Contains("split_part() expects a string"));
}

TEST_CASE("functions: url_host", "[expr]") {
  REQUIRE(same(val("url_host('https://Example.COM/path?q=1')"), S("example.com")));
  REQUIRE(same(val("url_host('HTTP://user:pw@host.org:8080/x')"), S("host.org")));
  REQUIRE(same(val("url_host('http://host.org')"), S("host.org")));
  REQUIRE(same(val("url_host('http://host.org?x#y')"), S("host.org")));
  REQUIRE(same(val("url_host('http://[::1]:80/')"), S("::1")));
  REQUIRE(same(val("url_host('ftp://host.org/')"), N()));
  REQUIRE(same(val("url_host('not a url')"), N()));
  REQUIRE(same(val("url_host('http:///path')"), N()));
  REQUIRE(same(val("url_host('http://ho st/')"), N()));
  REQUIRE(same(val("url_host('')"), N()));
  REQUIRE_THAT(err("url_host(i)", rec), Catch::Contains("url_host() expects a string, got int"));
}

TEST_CASE("functions: coalesce returns the first non-null and is lazy", "[expr]") {
  REQUIRE(same(val("coalesce(n, 'x', 'y')", rec), S("x")));
  REQUIRE(same(val("coalesce(i, 1 / 0)", rec), I(-7)));
  REQUIRE(same(val("coalesce(n)", rec), N()));
  REQUIRE(same(val("coalesce(n, n, f)", rec), F(2.5)));
}

TEST_CASE("functions: abs, round (half away from zero), floor, ceil", "[expr]") {
  REQUIRE(same(val("abs(i)", rec), I(7)));
  REQUIRE(same(val("abs(-2.5)"), F(2.5)));
  REQUIRE_THAT(err("abs(-9223372036854775808)"), Catch::Contains("int overflow"));
  REQUIRE(same(val("round(2.5)"), I(3)));
  REQUIRE(same(val("round(-2.5)"), I(-3)));
  REQUIRE(same(val("round(0.49)"), I(0)));
  REQUIRE(same(val("round(7)"), I(7)));
  REQUIRE(same(val("round(1.25, 1)"), F(1.3)));
  REQUIRE(same(val("round(-1.25, 1)"), F(-1.3)));
  REQUIRE(same(val("round(1234.5678, 2)"), F(1234.57)));
  REQUIRE(same(val("round(1250.0, -2)"), F(1300.0)));
  REQUIRE(same(val("round(1250, -2)"), I(1300)));
  REQUIRE(same(val("round(-1250, -2)"), I(-1300)));
  REQUIRE(same(val("round(1249, -2)"), I(1200)));
  REQUIRE(same(val("round(5, 3)"), I(5)));
  REQUIRE(same(val("round(5, -30)"), I(0)));
  REQUIRE(same(val("round(1.5, 400)"), F(1.5)));
  REQUIRE_THAT(err("round(9223372036854775807, -1)"), Catch::Contains("int overflow"));
  REQUIRE_THAT(err("round(1e300)"), Catch::Contains("out of the int range"));
  REQUIRE(same(val("floor(2.7)"), I(2)));
  REQUIRE(same(val("floor(-2.1)"), I(-3)));
  REQUIRE(same(val("ceil(2.1)"), I(3)));
  REQUIRE(same(val("ceil(-2.7)"), I(-2)));
  REQUIRE(same(val("floor(i)", rec), I(-7)));
  REQUIRE_THAT(err("ceil(1e19)"), Catch::Contains("out of the int range"));
  for (const char* e : {"abs(s)", "round(s)", "floor(b)", "ceil(tags)"}) {
    INFO(e);
    REQUIRE_THAT(err(e, rec), Catch::Contains("expects a number"));
  }
  REQUIRE_THAT(err("round(f, f)", rec), Catch::Contains("round() expects an int number of digits"));
}

TEST_CASE("functions: to_int, to_float, to_string", "[expr]") {
  REQUIRE(same(val("to_int(42)"), I(42)));
  REQUIRE(same(val("to_int(-3.9)"), I(-3)));
  REQUIRE(same(val("to_int(' 17 ')"), I(17)));
  REQUIRE(same(val("to_int('-5')"), I(-5)));
  REQUIRE(same(val("to_int('+5')"), I(5)));
  REQUIRE(same(val("to_int('4.7')"), I(4)));
  REQUIRE(same(val("to_int('abc')"), N()));
  REQUIRE(same(val("to_int('')"), N()));
  REQUIRE(same(val("to_int('nan')"), N()));
  REQUIRE(same(val("to_int(true)"), I(1)));
  REQUIRE(same(val("to_int(ts)", rec), I(1484148840000)));
  REQUIRE_THAT(err("to_int(1e30)"), Catch::Contains("out of the int range"));
  REQUIRE_THAT(err("to_int('99999999999999999999')"), Catch::Contains("out of the int range"));
  REQUIRE_THAT(err("to_int(tags)", rec), Catch::Contains("to_int() expects"));
  REQUIRE(same(val("to_float(3)"), F(3.0)));
  REQUIRE(same(val("to_float('2.5')"), F(2.5)));
  REQUIRE(same(val("to_float('1e3')"), F(1000.0)));
  REQUIRE(same(val("to_float('x1')"), N()));
  REQUIRE(same(val("to_float('inf')"), N()));
  REQUIRE(same(val("to_float(false)"), F(0.0)));
  REQUIRE_THAT(err("to_float(tags)", rec), Catch::Contains("to_float() expects"));
  REQUIRE(same(val("to_string(42)"), S("42")));
  REQUIRE(same(val("to_string(2.5)"), S("2.5")));
  // A whole float stays a float in text and JSON (spec §5 types; docs/semantics.md, "How values are
  // written").
  REQUIRE(same(val("to_string(2.0)"), S("2.0")));
  REQUIRE(val("to_float(3)").to_json() == "3.0");
  REQUIRE(same(val("to_string(true)"), S("true")));
  REQUIRE(same(val("to_string('x')"), S("x")));
  REQUIRE(same(val("to_string(ts)", rec), S("2017-01-11T15:34:00.000Z")));
  REQUIRE(same(val("to_string(tags)", rec), S("[\"#spark\",\"#kafka\"]")));
  REQUIRE(same(val("concat('a', 1, '-', true)"), S("a1-true")));
}

TEST_CASE("functions: the table is complete and consistent", "[expr]") {
  for (const char* name : {"lower", "upper", "length", "trim", "starts_with", "ends_with", "contains",
                           "matches", "extract", "split_part", "url_host", "coalesce", "abs", "round",
                           "floor", "ceil", "to_int", "to_float", "to_string"}) {
    INFO(name);
    REQUIRE(weir::expr::find_function(name));
  }
  REQUIRE(!weir::expr::find_function("LOWER"));
  REQUIRE(weir::expr::find_function("coalesce")->max_args == -1);
  REQUIRE(weir::expr::find_function("extract")->min_args == 2);
  REQUIRE(weir::expr::find_function("extract")->max_args == 3);
}

TEST_CASE("functions: lower, upper at every length from 0 to 48, into a reused output of any capacity",
          "[expr]") {
  // ascii_case works in 16-byte blocks: a string under 16 bytes is one block over its buffer, a longer one
  // ends with a block overlapping the last full one. Every length, a letter of either case at every position
  // (and the bytes around the letter ranges), into the same output value, lengths going down and then up: the
  // output's buffer is sometimes far larger than the string (a short word after a long one), sometimes not.
  auto parse = [](const std::string& text) {
    auto p = weir::expr::parse(text);
    REQUIRE(p.expr);
    auto c = weir::expr::compile(p.expr, [](const std::string&) { return 0; });
    REQUIRE(std::holds_alternative<weir::expr::Compiled>(c));
    return std::get<weir::expr::Compiled>(std::move(c));
  };
  const auto lower = parse("lower(s)"), upper = parse("upper(s)");
  const std::string alphabet = "@AZ[`az{Mm\x80\xc3\x84 1";
  std::vector<size_t> lengths;
  for (size_t n = 48; n > 0; --n) lengths.push_back(n);
  for (size_t n = 0; n <= 48; ++n) lengths.push_back(n);
  Value lo, up;
  std::string e;
  for (size_t n : lengths) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alphabet[(i * 7 + n) % alphabet.size()];
    std::string want_lo = s, want_up = s;
    for (char& c : want_lo) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    for (char& c : want_up) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    const Value in = Value::string(s);
    INFO("length " << n << ": " << s);
    REQUIRE(weir::expr::eval(lower, &in, lo, e));
    REQUIRE(weir::expr::eval(upper, &in, up, e));
    CHECK(lo.as_string() == want_lo);
    CHECK(up.as_string() == want_up);
    CHECK(lo.as_string().size() == n);
  }
}

// eval() calls a function whose arguments are all fields or literals directly, without the evaluator's
// temporaries (Program::direct_call). coalesce(x) is x for these inputs but is not a field, so f(coalesce(x))
// takes the evaluator: both forms must give the same value or the same error.
TEST_CASE("functions: a call over fields and literals gives what the evaluator gives", "[expr]") {
  const char* const calls[] = {"lower(X)",
                               "upper(X)",
                               "length(X)",
                               "trim(X)",
                               "starts_with(X, 'a')",
                               "ends_with(X, Y)",
                               "contains(X, Y)",
                               "matches(X, 'a+b')",
                               "extract(X, '(a+)', 1)",
                               "split_part(X, ',', 2)",
                               "url_host(X)",
                               "abs(X)",
                               "round(X)",
                               "round(X, 1)",
                               "floor(X)",
                               "ceil(X)",
                               "to_int(X)",
                               "to_float(X)",
                               "to_string(X)",
                               "concat(X, '-', Y)"};
  const Value inputs[] = {N(),     S(""), S("aab,c"), S("  HeLLo "), S("https://Example.com/p"),
                          S("12"), I(3),  F(-2.5),    B(true)};
  auto with = [](std::string call, const char* x, const char* y) {
    for (size_t at; (at = call.find('X')) != std::string::npos;) call.replace(at, 1, x);
    for (size_t at; (at = call.find('Y')) != std::string::npos;) call.replace(at, 1, y);
    return call;
  };
  for (const char* call : calls) {
    for (const Value& x : inputs) {
      for (const Value& y : inputs) {
        const std::map<std::string, Value> fields{{"x", x}, {"y", y}};
        const Result direct = run(with(call, "x", "y"), fields);
        const Result general = run(with(call, "coalesce(x)", "coalesce(y)"), fields);
        CAPTURE(call, x.to_json(), y.to_json(), direct.error, general.error);
        CHECK(direct.ok == general.ok);
        CHECK(direct.value.type() == general.value.type());
        CHECK(direct.value.to_json() == general.value.to_json());
        // The message names the same function and types; the evaluator's form quotes its own text.
        CHECK(direct.error.substr(0, direct.error.find(" in '")) ==
              general.error.substr(0, general.error.find(" in '")));
      }
    }
  }
}

TEST_CASE("functions: a direct call whose output is its own argument reads the argument first", "[expr]") {
  for (const char* text : {"lower(x)", "concat(x, x)", "split_part(x, ',', 2)"}) {
    auto parsed = weir::expr::parse(text);
    REQUIRE(parsed.expr);
    auto compiled = weir::expr::compile(parsed.expr, [](const std::string& n) { return n == "x" ? 0 : -1; });
    REQUIRE(std::holds_alternative<weir::expr::Compiled>(compiled));
    std::vector<Value> slots{S("AbC,dEf,GHI,jkl,mno,pqr")};  // longer than the small-string buffer
    std::string error;
    REQUIRE(weir::expr::eval(std::get<weir::expr::Compiled>(compiled), slots.data(), slots[0], error));
    CAPTURE(text);
    CHECK(slots[0].as_string() == val(text, {{"x", S("AbC,dEf,GHI,jkl,mno,pqr")}}).as_string());
  }
}
