// Test helpers for the fields area: build config::Field values and run an Extractor.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/job.h"
#include "engine/fields/extract.h"

namespace weir::fields::test {

inline config::Field field(std::string name, std::string path,
                           config::FieldType type = config::FieldType::Any) {
  config::Field f;
  f.name = std::move(name);
  f.path_text = std::move(path);
  auto parsed = config::parse_path(f.path_text);
  REQUIRE(std::holds_alternative<std::vector<config::PathStep>>(parsed));
  f.path = std::get<std::vector<config::PathStep>>(parsed);
  f.type = type;
  return f;
}

inline config::Field time_field(std::string name, std::string path, config::TimeFormat fmt,
                                std::string strftime = "") {
  config::Field f = field(std::move(name), std::move(path), config::FieldType::Time);
  f.time_format = fmt;
  f.strftime = std::move(strftime);
  return f;
}

// Runs one extraction; `ok` tells whether the record was good, `error` why not.
struct Result {
  bool ok = false;
  std::string error;
  std::vector<Value> slots;
};

inline Result run(const Extractor& x, size_t n, std::string_view payload) {
  Result r;
  r.slots.resize(n);
  r.ok = x.extract(payload, r.slots.data(), r.error);
  return r;
}

inline Result run(const std::vector<config::Field>& fields, std::string_view payload) {
  Extractor x(fields, config::Decode::Json);
  return run(x, fields.size(), payload);
}

// Runs the extractor over a heap copy of exactly doc.size() bytes, so that ASan sees any read past the end of
// the payload (std::string would hide it in its capacity).
inline Result run_exact(const Extractor& x, size_t n, std::string_view doc) {
  std::unique_ptr<char[]> buf(new char[doc.empty() ? 1 : doc.size()]);
  std::memcpy(buf.get(), doc.data(), doc.size());
  return run(x, n, std::string_view(buf.get(), doc.size()));
}

// Extracts `doc` with the fast skip of unneeded values on and off: both must agree on good/bad, on the error
// and on the values. Returns the fast result.
inline Result both_ways(const std::vector<config::Field>& fs, const std::string& doc) {
  Extractor fast(fs, config::Decode::Json);
  Extractor full(fs, config::Decode::Json);
  full.set_fast_skip(false);
  Result a = run_exact(fast, fs.size(), doc);
  Result b = run_exact(full, fs.size(), doc);
  INFO("payload: " << doc.substr(0, 300));
  CHECK(a.ok == b.ok);
  CHECK(a.error == b.error);
  if (a.ok && b.ok) {
    for (size_t i = 0; i < fs.size(); ++i) CHECK(a.slots[i] == b.slots[i]);
  }
  return a;
}

// The error for a payload that must be bad.
inline std::string bad(const std::vector<config::Field>& fields, std::string_view payload) {
  Result r = run(fields, payload);
  INFO("payload: " << std::string(payload.substr(0, 200)));
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.error.empty());
  return r.error;
}

// A reproducible pseudo-random sequence (64-bit LCG) for the mutation tests.
struct Lcg {
  uint64_t seed;
  uint32_t operator()() {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(seed >> 33);
  }
};

// Applies 1..max_edits random edits to a JSON text: a byte overwritten, 1..max_erase bytes erased, or one
// byte of `alphabet` inserted. Never leaves the text empty.
inline void mutate(std::string& doc, Lcg& next, int max_edits, size_t max_erase, std::string_view alphabet) {
  const int edits = 1 + static_cast<int>(next() % static_cast<uint32_t>(max_edits));
  for (int e = 0; e < edits; ++e) {
    const size_t at = next() % doc.size();
    switch (next() % 3) {
      case 0:
        doc[at] = static_cast<char>(next() & 0xFF);
        break;
      case 1:
        doc.erase(at, 1 + next() % max_erase);
        break;
      default:
        doc.insert(at, 1, alphabet[next() % alphabet.size()]);
    }
    if (doc.empty()) doc = "{";
  }
}

}  // namespace weir::fields::test
