// Helpers for expression evaluator tests: evaluate text against a small named record.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "engine/expr/ast.h"
#include "engine/expr/eval.h"

namespace expr_test {

using weir::Type;
using weir::Value;

struct Result {
  bool ok = false;
  Value value;
  std::string error;
};

inline Result run(const std::string& text, const std::map<std::string, Value>& fields = {}) {
  auto parsed = weir::expr::parse(text);
  INFO("expression: " << text << (parsed.error ? " parse error: " + parsed.error->message : ""));
  REQUIRE(parsed.expr);
  std::vector<std::string> names;
  std::vector<Value> slots;
  for (const auto& [k, v] : fields) {
    names.push_back(k);
    slots.push_back(v);
  }
  auto compiled = weir::expr::compile(parsed.expr, [&](const std::string& n) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n) return static_cast<int>(i);
    }
    return -1;
  });
  auto* err = std::get_if<weir::expr::ParseError>(&compiled);
  INFO("compile error: " << (err ? err->message : ""));
  REQUIRE(!err);
  Result r;
  r.ok = weir::expr::eval(std::get<weir::expr::Compiled>(compiled), slots.data(), r.value, r.error);
  return r;
}

// The value of a successful evaluation.
inline Value val(const std::string& text, const std::map<std::string, Value>& fields = {}) {
  Result r = run(text, fields);
  INFO("expression: " << text << " error: " << r.error);
  REQUIRE(r.ok);
  return r.value;
}

// The error message of a failed evaluation.
inline std::string err(const std::string& text, const std::map<std::string, Value>& fields = {}) {
  Result r = run(text, fields);
  INFO("expression: " << text << " value: " << r.value.to_json());
  REQUIRE(!r.ok);
  REQUIRE(!r.error.empty());
  return r.error;
}

inline Value S(const char* s) {
  return Value::string(s);
}
inline Value I(int64_t i) {
  return Value::integer(i);
}
inline Value F(double d) {
  return Value::real(d);
}
inline Value B(bool b) {
  return Value::boolean(b);
}
inline Value N() {
  return Value();
}

// Exact equality: same type and same value (Value::operator== treats 1 and 1.0 as equal).
inline bool same(const Value& a, const Value& b) {
  return a.type() == b.type() && a == b;
}

}  // namespace expr_test
