// Fuzz target: expressions (spec §10) from arbitrary text: parse, static check against typed fields, compile,
// then evaluate over rows of edge values (int64 limits, -0.0, huge floats, empty and multi-byte strings,
// times at the ends of the range, nested lists, nulls). Besides "never crashes" (ASan; UBSan catches a signed
// overflow the evaluator should have reported as an error), it checks that an expression's canonical text
// (to_string, which names group-key columns and is printed by `weir explain`) parses back to the same
// canonical text.
#include <rapidjson/document.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engine/expr/ast.h"
#include "engine/expr/eval.h"
#include "engine/fields/extract.h"
#include "engine/value.h"
#include "fuzz_check.h"

namespace {

using weir::Type;
using weir::Value;

struct Slot {
  const char* name;
  Type type;  // Type::Null: any
  std::vector<Value> values;
};

std::vector<Slot> slots() {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const double big = std::numeric_limits<double>::max();
  const Value list = Value::list({Value::integer(1), Value::string("a b"), Value(), Value::real(2.5),
                                  Value::list({Value::integer(hi), Value::boolean(true)})});
  return {
      {"i",
       Type::Int,
       {Value::integer(0), Value::integer(lo), Value::integer(hi), Value::integer(-1), Value(),
        Value::integer(9007199254740993), Value::integer(7)}},
      {"f",
       Type::Float,
       {Value::real(-0.0), Value::real(big), Value::real(-big), Value::real(0.5), Value(), Value::real(2.5),
        Value::real(4.9e-324)}},
      {"s",
       Type::String,
       {Value::string(""), Value::string("a b  c"), Value::string("\xC3\x85\xC3\xA4\xF0\x9F\x98\x80"),
        Value(), Value::string(std::string(300, 'x')), Value::string(" 12 "),
        Value::string("http://h.example:80/p?q")}},
      {"b", Type::Bool, {Value::boolean(true), Value::boolean(false), Value()}},
      {"t",
       Type::Time,
       {Value::time(0), Value::time(-62135596800000), Value::time(253402300799999), Value(),
        Value::time(1484148840000)}},
      {"a",
       Type::Null,
       {Value(), Value::integer(lo), Value::real(-big), Value::string("1e400"), list, Value::boolean(false),
        Value::time(hi / 4), Value::list({})}},
      {"l", Type::Null, {list, Value::list({Value::string("x")}), Value(), Value::list({Value::list({})})}},
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Slot> table = slots();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool utf8_text = weir::fields::valid_utf8(text);
  const auto parsed = weir::expr::parse(text);
  if (!parsed.expr) return 0;
  const auto type_of = [&](const std::string& name) {
    for (const auto& s : table) {
      if (name == s.name) return s.type;
    }
    return Type::Null;
  };
  const std::string canonical = weir::expr::to_string(*parsed.expr);
  const auto again = weir::expr::parse(canonical);
  // Canonical text adds parentheses (-(-x)), so an expression near the nesting limit may pass it when written
  // again; that is the limit working, not a difference in meaning.
  if (!again.expr && again.error->message.find("nested too deeply") != std::string::npos) return 0;
  if (!again.expr)
    weir::fuzz::fail("canonical text does not parse: " + canonical + ": " + again.error->message, text);
  if (weir::expr::to_string(*again.expr) != canonical)
    weir::fuzz::fail("canonical text changes when parsed again: " + canonical, text);
  if (weir::expr::check(*parsed.expr, type_of)) return 0;
  (void)weir::expr::static_type(*parsed.expr, type_of);
  const auto compiled = weir::expr::compile(parsed.expr, [&](const std::string& name) {
    for (size_t i = 0; i < table.size(); ++i) {
      if (name == table[i].name) return static_cast<int>(i);
    }
    return -1;
  });
  if (!std::holds_alternative<weir::expr::Compiled>(compiled)) return 0;
  const auto& program = std::get<weir::expr::Compiled>(compiled);
  std::vector<Value> row(table.size());
  Value out;
  std::string error;
  for (size_t r = 0; r < 8; ++r) {
    for (size_t i = 0; i < table.size(); ++i)
      row[i] = table[i].values[(r * (i + 1)) % table[i].values.size()];
    error.clear();
    if (weir::expr::eval(program, row.data(), out, error)) {
      // Rows go to PostgreSQL text and JSON lines: a string result over UTF-8 inputs is UTF-8, and its JSON
      // form parses.
      const std::string json = out.to_json();
      // (A job file is refused unless it is UTF-8, so literals are; this target also parses other bytes.)
      if (utf8_text && !weir::fields::valid_utf8(json))
        weir::fuzz::fail("a result is not valid UTF-8: " + canonical, text);
      rapidjson::Document d;
      d.Parse(json.data(), json.size());
      if (d.HasParseError()) weir::fuzz::fail("a result's JSON does not parse: " + json, text);
    } else if (error.empty()) {
      weir::fuzz::fail("an expression failed without an error message: " + canonical, text);
    }
  }
  return 0;
}
