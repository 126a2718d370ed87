#include <catch2/catch.hpp>

#include <functional>
#include <random>

#include "tests/unit/expr/eval_helpers.h"

using namespace expr_test;

namespace {
const std::map<std::string, Value> rec = {
    {"s", S("abc")},
    {"n", N()},
    {"i", I(7)},
    {"f", F(2.5)},
    {"t", B(true)},
    {"no", B(false)},
    {"big", I(INT64_MAX)},
    {"small", I(INT64_MIN)},
    {"ts", Value::time(1000)},
    {"lst", Value::list({I(1), S("a")})},
    {"user.screen_name", S("rmoff")},
};
}  // namespace

TEST_CASE("eval: literals and fields", "[expr]") {
  REQUIRE(same(val("42"), I(42)));
  REQUIRE(same(val("'x'"), S("x")));
  REQUIRE(same(val("null"), N()));
  REQUIRE(same(val("s", rec), S("abc")));
  REQUIRE(same(val("user.screen_name", rec), S("rmoff")));
  REQUIRE(same(val("lst", rec), rec.at("lst")));
}

TEST_CASE("eval: unknown name is a compile error with its column", "[expr]") {
  auto parsed = weir::expr::parse("a = 1 and bogus > 2");
  auto r = weir::expr::compile(parsed.expr, [](const std::string& n) { return n == "a" ? 0 : -1; });
  auto* e = std::get_if<weir::expr::ParseError>(&r);
  REQUIRE(e);
  REQUIRE(e->col == 11);
  REQUIRE_THAT(e->message, Catch::Contains("bogus"));
  auto bad_fn =
      weir::expr::compile(weir::expr::parse("lenght(a)").expr, [](const std::string&) { return 0; });
  REQUIRE(std::get_if<weir::expr::ParseError>(&bad_fn));
  std::string error;
  Value out;
  REQUIRE(!weir::expr::eval(weir::expr::Compiled(), nullptr, out, error));
}

TEST_CASE("eval: null semantics table", "[expr]") {
  // Comparisons with null are false, including !=.
  for (const char* e :
       {"n = 'a'", "n != 'a'", "n <> 'a'", "n < 1", "n <= 1", "n > 1", "n >= 1", "1 = n", "n = n"}) {
    INFO(e);
    REQUIRE(same(val(e, rec), B(false)));
  }
  REQUIRE(same(val("not n", rec), N()));
  REQUIRE(same(val("n and t", rec), N()));
  REQUIRE(same(val("t and n", rec), N()));
  REQUIRE(same(val("no and n", rec), B(false)));
  REQUIRE(same(val("n and no", rec), B(false)));
  REQUIRE(same(val("t or n", rec), B(true)));
  REQUIRE(same(val("n or t", rec), B(true)));
  REQUIRE(same(val("no or n", rec), N()));
  REQUIRE(same(val("n or n", rec), N()));
  REQUIRE(same(val("t and t", rec), B(true)));
  REQUIRE(same(val("t and no", rec), B(false)));
  REQUIRE(same(val("no or no", rec), B(false)));
  for (const char* e : {"n + 1", "1 - n", "n * 2.5", "n / 0", "n % 2", "-n"}) {
    INFO(e);
    REQUIRE(same(val(e, rec), N()));
  }
  REQUIRE(same(val("n is null", rec), B(true)));
  REQUIRE(same(val("n is not null", rec), B(false)));
  REQUIRE(same(val("s is null", rec), B(false)));
  REQUIRE(same(val("s is not null", rec), B(true)));
  REQUIRE(same(val("n in ('a', 'b')", rec), B(false)));     // a comparison with null is false
  REQUIRE(same(val("n not in ('a', 'b')", rec), B(true)));  // not (n in (...))
  REQUIRE(same(val("s in ('x', n)", rec), B(false)));
  REQUIRE(!weir::expr::is_true(val("n = n", rec)));
  REQUIRE(!weir::expr::is_true(N()));
  REQUIRE(weir::expr::is_true(B(true)));
}

TEST_CASE("eval: and/or short-circuit and require bools", "[expr]") {
  REQUIRE(same(val("no and (1 / 0 = 1)", rec), B(false)));
  REQUIRE(same(val("t or lower(i) = 'x'", rec), B(true)));
  REQUIRE(same(val("n is not null and length(n) > 2", rec), B(false)));
  REQUIRE_THAT(err("s and t", rec), Catch::Contains("'and' expects bools, got string"));
  REQUIRE_THAT(err("no or i", rec), Catch::Contains("'or' expects bools, got int"));
  REQUIRE_THAT(err("not s", rec), Catch::Contains("'not' expects a bool"));
  REQUIRE(same(val("not no", rec), B(true)));
}

TEST_CASE("eval: arithmetic types, integer division, modulo", "[expr]") {
  REQUIRE(same(val("i + 1", rec), I(8)));
  REQUIRE(same(val("i - 10", rec), I(-3)));
  REQUIRE(same(val("i * 3", rec), I(21)));
  REQUIRE(same(val("i / 2", rec), I(3)));
  REQUIRE(same(val("-i / 2", rec), I(-3)));
  REQUIRE(same(val("i % 4", rec), I(3)));
  REQUIRE(same(val("-7 % 4"), I(-3)));
  REQUIRE(same(val("i / 2.0", rec), F(3.5)));
  REQUIRE(same(val("f * 2", rec), F(5.0)));
  REQUIRE(same(val("f + i", rec), F(9.5)));
  REQUIRE(same(val("7.5 % 2"), F(1.5)));
  REQUIRE(same(val("-f", rec), F(-2.5)));
  REQUIRE(same(val("-i", rec), I(-7)));
  REQUIRE(same(val("1 + 2 * 3 - 4 / 2"), I(5)));
  REQUIRE(same(val("small % -1", rec), I(0)));
}

TEST_CASE("eval: int overflow and division by zero are errors", "[expr]") {
  REQUIRE_THAT(err("big + 1", rec), Catch::Contains("int overflow"));
  REQUIRE_THAT(err("small - 1", rec), Catch::Contains("int overflow"));
  REQUIRE_THAT(err("big * 2", rec), Catch::Contains("int overflow"));
  REQUIRE_THAT(err("small / -1", rec), Catch::Contains("int overflow"));
  REQUIRE_THAT(err("-small", rec), Catch::Contains("int overflow"));
  REQUIRE_THAT(err("i / 0", rec), Catch::Contains("division by zero"));
  REQUIRE_THAT(err("i % 0", rec), Catch::Contains("division by zero"));
  REQUIRE_THAT(err("f / 0", rec), Catch::Contains("division by zero"));
  REQUIRE_THAT(err("f % 0.0", rec), Catch::Contains("division by zero"));
  REQUIRE_THAT(err("1e308 * 10.0"), Catch::Contains("float overflow"));
  REQUIRE(same(val("big - 1 + 1", rec), I(INT64_MAX)));
  REQUIRE_THAT(err("i / 0", rec), Catch::Contains("in 'i / 0'"));
}

TEST_CASE("eval: arithmetic on non-numbers is an error", "[expr]") {
  REQUIRE_THAT(err("s + s", rec), Catch::Contains("'+' cannot be applied to string and string"));
  REQUIRE_THAT(err("s * 2", rec), Catch::Contains("cannot be applied to string and int"));
  REQUIRE_THAT(err("t + 1", rec), Catch::Contains("bool"));
  REQUIRE_THAT(err("-s", rec), Catch::Contains("unary '-' expects a number"));
  REQUIRE_THAT(err("lst + 1", rec), Catch::Contains("list"));
}

TEST_CASE("eval: time arithmetic", "[expr]") {
  REQUIRE(same(val("ts + 500", rec), Value::time(1500)));
  REQUIRE(same(val("500 + ts", rec), Value::time(1500)));
  REQUIRE(same(val("ts - 1500", rec), Value::time(-500)));
  REQUIRE(same(val("ts - ts", rec), I(0)));
  REQUIRE(!run("ts * 2", rec).ok);
  REQUIRE(!run("ts + ts", rec).ok);
}

TEST_CASE("eval: time arithmetic that leaves years 0000-9999 is an error", "[expr]") {
  // Spec §7: times are written as RFC 3339 (four-digit years); §10: an error makes the record bad.
  const std::map<std::string, Value> edge = {
      {"hi", Value::time(253402300799999)},   // 9999-12-31T23:59:59.999Z
      {"lo", Value::time(-62167219200000)}};  // 0000-01-01T00:00:00.000Z
  REQUIRE(same(val("hi + 0", edge), Value::time(253402300799999)));
  REQUIRE(same(val("lo - 0", edge), Value::time(-62167219200000)));
  REQUIRE(same(val("hi - lo", edge), I(253402300799999 + 62167219200000)));  // an int, not a time
  REQUIRE(err("hi + 1", edge) == "time out of range (years 0000 to 9999) in 'hi + 1'");
  REQUIRE(err("1 + hi", edge) == "time out of range (years 0000 to 9999) in '1 + hi'");
  REQUIRE(err("lo - 1", edge) == "time out of range (years 0000 to 9999) in 'lo - 1'");
  REQUIRE(err("lo + -1", edge) == "time out of range (years 0000 to 9999) in 'lo + -1'");
  REQUIRE_THAT(err("hi + 9223372036854775807", edge), Catch::Contains("int overflow"));
}

TEST_CASE("eval: comparisons of numbers, strings, bools, times, lists", "[expr]") {
  REQUIRE(same(val("i = 7", rec), B(true)));
  REQUIRE(same(val("i == 7.0", rec), B(true)));
  REQUIRE(same(val("i < 7.5", rec), B(true)));
  REQUIRE(same(val("f >= 2", rec), B(true)));
  REQUIRE(same(val("f != 2.5", rec), B(false)));
  REQUIRE(same(val("9007199254740993 = 9007199254740992.0"), B(false)));  // exact int vs float
  REQUIRE(same(val("9007199254740993 > 9007199254740992.0"), B(true)));
  REQUIRE(same(val("s = 'abc'", rec), B(true)));
  REQUIRE(same(val("s < 'abd'", rec), B(true)));
  REQUIRE(same(val("'B' < 'a'"), B(true)));         // bytewise
  REQUIRE(same(val("'\xc3\xa9' > 'z'"), B(true)));  // bytes >= 0x80 sort after ASCII
  REQUIRE(same(val("t = true", rec), B(true)));
  REQUIRE(same(val("no < t", rec), B(true)));
  REQUIRE(same(val("ts = 1000", rec), B(true)));
  REQUIRE(same(val("ts < 1000.5", rec), B(true)));
  REQUIRE(same(val("ts > ts - 1", rec), B(true)));
  REQUIRE(same(val("lst = lst", rec), B(true)));
  REQUIRE_THAT(err("s = i", rec), Catch::Contains("cannot compare string with int"));
  REQUIRE_THAT(err("s > 1", rec), Catch::Contains("cannot compare string with int"));
  REQUIRE_THAT(err("t = 1", rec), Catch::Contains("cannot compare bool with int"));
  REQUIRE_THAT(err("ts = s", rec), Catch::Contains("cannot compare time with string"));
}

TEST_CASE("eval: in and not in", "[expr]") {
  REQUIRE(same(val("s in ('x', 'abc')", rec), B(true)));
  REQUIRE(same(val("s in ('x', 'y')", rec), B(false)));
  REQUIRE(same(val("s not in ('x', 'y')", rec), B(true)));
  REQUIRE(same(val("s not in ('abc')", rec), B(false)));
  REQUIRE(same(val("i in (1, 7.0)", rec), B(true)));
  REQUIRE(same(val("i in (i - 1, i + 1)", rec), B(false)));
  REQUIRE(same(val("s in ('abc', 1)", rec), B(true)));  // stops at the first match
  REQUIRE_THAT(err("s in (1, 'abc')", rec), Catch::Contains("cannot compare string with int"));
}

TEST_CASE("eval: evaluation reuses the output value and is repeatable", "[expr]") {
  auto parsed = weir::expr::parse("lower(a) = 'x' or length(a) > 3");
  auto c =
      std::get<weir::expr::Compiled>(weir::expr::compile(parsed.expr, [](const std::string&) { return 0; }));
  Value out;
  std::string e;
  std::vector<std::pair<Value, Value>> cases = {
      {S("X"), B(true)}, {S("abcd"), B(true)}, {S("ab"), B(false)}, {N(), B(false)}, {S("x"), B(true)}};
  for (int round = 0; round < 3; ++round) {
    for (const auto& [in, want] : cases) {
      REQUIRE(weir::expr::eval(c, &in, out, e));
      REQUIRE(same(out, want));
    }
  }
  Value five = I(5);
  REQUIRE(!weir::expr::eval(c, &five, out, e));
  REQUIRE_THAT(e, Catch::Contains("lower() expects a string, got int"));
}

TEST_CASE("eval: random expressions over odd records never crash", "[expr]") {
  static const char* atoms[] = {
      "s", "n", "i",  "f",   "t",     "no", "big",          "small", "ts",   "lst",
      "0", "1", "-1", "2.5", "'abc'", "''", "'\\xff\\x80'", "null",  "true", "9223372036854775807"};
  static const char* unary[] = {"-",    "not ",   "lower(", "upper(", "length(", "trim(",     "url_host(",
                                "abs(", "round(", "floor(", "ceil(",  "to_int(", "to_float(", "to_string("};
  static const char* binary[] = {" + ",  " - ", " * ",  " / ",   " % ", " = ",
                                 " != ", " < ", " >= ", " and ", " or "};
  static const char* calls2[] = {"starts_with(", "ends_with(", "contains(", "matches(",
                                 "extract(",     "coalesce(",  "round(",    "concat("};
  std::mt19937 rng(777);
  auto pick = [&](auto& arr) { return std::string(arr[rng() % (sizeof arr / sizeof arr[0])]); };
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    if (depth == 0) return pick(atoms);
    switch (rng() % 5) {
      case 0: {
        std::string u = pick(unary);
        if (u.back() != '(') return "(" + u + gen(depth - 1) + ")";
        return u + gen(depth - 1) + ")";
      }
      case 1:
        return "(" + gen(depth - 1) + pick(binary) + gen(depth - 1) + ")";
      case 2:
        return pick(calls2) + gen(depth - 1) + ", " + gen(depth - 1) + ")";
      case 3:
        return "split_part(" + gen(depth - 1) + ", ',', " + gen(depth - 1) + ")";
      default:
        return "(" + gen(depth - 1) + (rng() % 2 ? " in (" + gen(0) + ", " + gen(0) + ")" : " is not null") +
               ")";
    }
  };
  std::vector<std::string> names;
  std::vector<Value> slots;
  for (const auto& [k, v] : rec) {
    names.push_back(k);
    slots.push_back(v);
  }
  auto resolve = [&](const std::string& n) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n) return static_cast<int>(i);
    }
    return -1;
  };
  int compiled = 0, succeeded = 0, failed = 0;
  for (int k = 0; k < 3000; ++k) {
    std::string text = gen(1 + static_cast<int>(rng() % 4));
    auto p = weir::expr::parse(text);
    INFO(text);
    REQUIRE(p.expr);
    auto c = weir::expr::compile(p.expr, resolve);
    if (std::holds_alternative<weir::expr::ParseError>(c)) continue;
    ++compiled;
    Value out;
    std::string e;
    if (weir::expr::eval(std::get<weir::expr::Compiled>(c), slots.data(), out, e)) {
      ++succeeded;
      REQUIRE(e.empty());
    } else {
      ++failed;
      REQUIRE(!e.empty());
    }
  }
  REQUIRE(compiled > 500);
  REQUIRE(succeeded > 100);
  REQUIRE(failed > 100);
}

TEST_CASE("eval: the result is built in the output value, or in a temporary when the expression reads it",
          "[expr]") {
  std::vector<Value> slots = {Value::string(std::string(40, 'A') + "-Word"), Value::integer(3), Value()};
  auto compile = [](const std::string& text) {
    auto p = weir::expr::parse(text);
    REQUIRE(p.expr);
    auto c = weir::expr::compile(p.expr, [](const std::string& n) {
      return n == "w" ? 0 : n == "k" ? 1 : 2;
    });
    REQUIRE(std::holds_alternative<weir::expr::Compiled>(c));
    return std::get<weir::expr::Compiled>(std::move(c));
  };
  std::string e;
  // Into a value of its own: the string buffer is reused once it is large enough (no allocation per record).
  auto lower = compile("lower(w)");
  Value out;
  REQUIRE(weir::expr::eval(lower, slots.data(), out, e));
  CHECK(out == Value::string(std::string(40, 'a') + "-word"));
  const char* buffer = out.as_string().data();
  slots[0] = Value::string(std::string(30, 'B'));
  REQUIRE(weir::expr::eval(lower, slots.data(), out, e));
  CHECK(out == Value::string(std::string(30, 'b')));
  CHECK(out.as_string().data() == buffer);
  // A result of another type, then a string again: right each time.
  auto num = compile("k + 1");
  REQUIRE(weir::expr::eval(num, slots.data(), out, e));
  CHECK(out == Value::integer(4));
  REQUIRE(weir::expr::eval(lower, slots.data(), out, e));
  CHECK(out == Value::string(std::string(30, 'b')));
  // Into a slot the expression reads (a select that rewrites its own input): evaluated aside, then moved in.
  slots[0] = Value::string("MiXeD");
  REQUIRE(weir::expr::eval(compile("concat(lower(w), '/', w, '/', upper(w))"), slots.data(), slots[0], e));
  CHECK(slots[0] == Value::string("mixed/MiXeD/MIXED"));
  REQUIRE(weir::expr::eval(compile("k * k + k"), slots.data(), slots[1], e));
  CHECK(slots[1] == Value::integer(12));
  // A failure leaves an error, whatever the output held.
  slots[0] = Value::integer(5);
  CHECK_FALSE(weir::expr::eval(lower, slots.data(), out, e));
  CHECK_FALSE(e.empty());
}
