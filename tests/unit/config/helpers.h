// Helpers for the config tests: load a job from text and assert located diagnostics.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "config/load.h"

namespace weir::config::test {

inline LoadResult load(const std::string& yaml) {
  return load_job_text(yaml, "job.yaml");
}

inline std::string all_errors(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.errors) s += d.format() + "\n";
  return s;
}

// The job loads without errors.
inline Job ok(const std::string& yaml) {
  LoadResult r = load(yaml);
  INFO(all_errors(r));
  REQUIRE(r.ok());
  REQUIRE(r.job);
  return *r.job;
}

// Some error is at LINE:COL and contains `text`.
inline void has_error(const std::string& yaml, int line, int col, const std::string& text) {
  LoadResult r = load(yaml);
  INFO("expected " << line << ":" << col << ": ..." << text << "...\ngot:\n" << all_errors(r));
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.job);
  bool found = false;
  for (const auto& d : r.errors)
    found = found || (d.line == line && d.col == col && d.message.find(text) != std::string::npos);
  CHECK(found);
}

// A minimal valid job with `outputs` replaced by the given output body (indented 4 spaces per line).
inline const char* kHead =
    "source: stdin\n"
    "fields:\n"
    "  author: user.screen_name\n"
    "  n: { path: n, type: int }\n"
    "outputs:\n";

}  // namespace weir::config::test
