// Helpers shared by the window tests: plans, values and a text form of emissions that shows types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/sink.h"
#include "engine/value.h"
#include "engine/window/window_state.h"

namespace wtest {

using weir::Emission;
using weir::Key;
using weir::Value;
using A = weir::config::AggKind;
using K = weir::config::Window::Kind;

inline weir::window::Plan plan(K kind, int64_t length, int64_t every, std::vector<A> aggs, size_t keys,
                               bool emit_empty = false) {
  weir::window::Plan p;
  p.kind = kind;
  p.length_ms = length;
  p.every_ms = every;
  p.aggs = std::move(aggs);
  p.key_count = keys;
  p.emit_empty = emit_empty;
  return p;
}

inline Value I(int64_t i) {
  return Value::integer(i);
}
inline Value F(double d) {
  return Value::real(d);
}
inline Value S(const char* s) {
  return Value::string(s);
}
inline Value N() {
  return Value();
}

// A value with its type: i:3 f:2.5 s:"x" null.
inline std::string show(const Value& v) {
  switch (v.type()) {
    case weir::Type::Null:
      return "null";
    case weir::Type::Int:
      return "i:" + v.to_json();
    case weir::Type::Float:
      return "f:" + v.to_json();
    default:
      return v.to_json();
  }
}

// "[start,end) row; row | [start,end) ..." with rows as space-separated values.
inline std::string dump(const std::vector<Emission>& es) {
  std::string s;
  for (const Emission& e : es) {
    if (!s.empty()) s += " | ";
    s += "[" + std::to_string(e.window_start_ms) + "," + std::to_string(e.window_end_ms) + ")";
    bool first = true;
    for (const auto& row : e.rows) {
      s += first ? " " : "; ";
      first = false;
      for (size_t i = 0; i < row.size(); ++i) s += (i ? " " : "") + show(row[i]);
    }
  }
  return s;
}

}  // namespace wtest
