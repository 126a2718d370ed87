// GenTemplate: a generate-source template (config::GenNode) compiled once into a flat program that
// renders the JSON document for record n. The document is a function of (seed, n, now_ms) only, so a
// resumed generator continues with exactly the documents it would have produced.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/job.h"

namespace weir {

class GenTemplate {
 public:
  explicit GenTemplate(const config::GenNode& root);

  // Appends the document for sequence number `n` (0-based) to `out`.
  void render(std::string& out, uint64_t seed, int64_t n, int64_t now_ms) const;
  // Whether the template has a now_ms node (then callers must supply the clock).
  bool uses_clock() const { return uses_clock_; }

 private:
  enum class Op : uint8_t { Literal, Int, Float, OneOf, Words, Now, Sequence };
  struct Step {
    Op op = Op::Literal;
    uint32_t begin = 0, len = 0;  // Literal: slice of text_; OneOf: slice of choices_
    int64_t lo = 0;               // Int
    uint64_t range = 0;           // Int: hi - lo + 1 (0: the whole 64-bit range)
    double flo = 0, fspan = 0;    // Float
    uint32_t min_words = 0,
             extra_words = 0;  // Words: min .. min + extra (inclusive); words_ slice in begin/len
  };

  void compile(const config::GenNode& node);
  void literal(std::string_view s);

  std::vector<Step> steps_;
  std::string text_;                  // literal pieces
  std::vector<std::string> choices_;  // OneOf values, rendered as JSON
  std::vector<std::string> words_;    // Words lists, JSON-escaped without quotes
  bool uses_clock_ = false;
};

}  // namespace weir
