// The generate source (spec §3): synthetic JSON documents from a template, for demos and benchmarks.
// Deterministic for a seed: document n depends only on (template, seed, n) (and the clock for
// now_ms), so a resumed generator continues with the same documents. `rate` paces records with a
// token bucket (0 = as fast as possible); `limit` makes it bounded.
//
// Positions: {"generated", records generated so far, seed} — the seed is kept so that a generator
// without a configured seed also continues identically after a restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "config/job.h"
#include "connectors/generate/gen_template.h"
#include "connectors/source.h"

namespace weir {

class GenerateSource : public Source {
 public:
  using ClockFn = std::function<int64_t()>;  // epoch milliseconds
  // `clock` feeds now_ms nodes; empty: the system clock.
  explicit GenerateSource(config::GenerateSource cfg, ClockFn clock = {});

  Status open(const Positions* resume) override;
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                  size_t max_records) override;
  Positions positions() const override;
  bool bounded() const override { return cfg_.limit.has_value(); }
  bool replayable() const override { return true; }

  uint64_t seed() const { return seed_; }
  int64_t generated() const { return count_; }

  // The document a generator with `tmpl` and `seed` produces for sequence number `n`.
  static std::string document(const config::GenNode& tmpl, uint64_t seed, int64_t n, int64_t now_ms = 0);

 private:
  void refill(std::chrono::steady_clock::time_point now);

  config::GenerateSource cfg_;
  ClockFn clock_;
  GenTemplate tmpl_;
  uint64_t seed_ = 0;
  int64_t count_ = 0;
  std::string doc_;  // reused for every document
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_refill_{};
};

}  // namespace weir
