// Field extraction (spec §4): decodes a payload and fills the record's field slots.
// Compiled once per job; only the declared/used paths are extracted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/job.h"
#include "engine/value.h"

namespace weir::fields {

// Maximum JSON nesting accepted; deeper documents are bad records (never a stack overflow).
constexpr int kMaxDepth = 512;

class Extractor {
 public:
  // `fields`: the slots to fill, in order (slot i <- fields[i]). `decode`: json or text.
  // With decode text, the single field `line` receives the whole payload.
  Extractor(const std::vector<config::Field>& fields, config::Decode decode);
  ~Extractor();
  Extractor(Extractor&&) noexcept;

  // Not thread-safe: extract() reuses internal buffers (no per-record allocation in steady state,
  // except Value::list for `[*]` fields). Use one Extractor per thread.
  //
  // Conversions (see convert.cc): any: string/int/float/bool, array -> list, object -> compact JSON text,
  // integer beyond int64 -> float; string: numbers -> their JSON text, bools -> "true"/"false",
  // object/array -> bad; int: JSON integers and integral strings (4.0 is bad); float: numbers and
  // numeric strings; bool: true/false and "true"/"false"; time: per format, within years 0000-9999 (RFC 3339
  // cannot write others). null = missing.
  // `[*]` gives a list of the converted elements (elements lacking the rest of the path are left
  // out); nested `[*]` flattens. Duplicate keys: the last wins. Lone \u surrogates -> U+FFFD.
  //
  // Fills slots[0 .. fields.size()) from the payload. Returns false and sets `error` when the record
  // is bad: malformed/truncated JSON, top level not an object, too deep, invalid UTF-8, a required
  // field missing/null, a value that does not convert to its declared type. Never throws.
  bool extract(std::string_view payload, Value* slots, std::string& error) const;

  // Values no field needs are checked by a fast validator (on by default). Off, the full parser
  // checks them as well; the results are the same either way (for tests and benchmarks).
  void set_fast_skip(bool on);

  // How many skipped values the fast validator handed back to the full parser so far: a bad value does, a
  // good one never should (tests check that; a rerun only costs time, the results are the same).
  uint64_t reruns() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a time value per format. `v` may be a string or a number (epoch formats accept both).
// Returns false when it does not parse.
bool parse_time(const Value& v, config::TimeFormat fmt, const std::string& strftime, int64_t& epoch_ms);

// Checks that s is valid UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace weir::fields
