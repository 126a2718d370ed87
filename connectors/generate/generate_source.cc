#include "connectors/generate/generate_source.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace weir {
namespace {

constexpr const char* kStream = "generated";

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

GenerateSource::GenerateSource(config::GenerateSource cfg, ClockFn clock)
    : cfg_(std::move(cfg)), clock_(clock ? std::move(clock) : ClockFn(system_now_ms)), tmpl_(cfg_.tmpl) {
  doc_.reserve(256);
}

std::string GenerateSource::document(const config::GenNode& tmpl, uint64_t seed, int64_t n, int64_t now_ms) {
  std::string out;
  GenTemplate(tmpl).render(out, seed, n, now_ms);
  return out;
}

Status GenerateSource::open(const Positions* resume) {
  count_ = 0;
  std::optional<uint64_t> resumed_seed;
  if (resume != nullptr) {
    for (const Position& p : *resume) {
      if (p.stream == kStream) {
        count_ = std::max<int64_t>(0, p.offset);
        resumed_seed = static_cast<uint64_t>(p.aux);
      }
    }
  }
  if (cfg_.seed) {
    seed_ = *cfg_.seed;
  } else if (resumed_seed) {
    seed_ = *resumed_seed;
  } else {
    std::random_device rd;
    seed_ = (uint64_t{rd()} << 32) ^ rd();
  }
  tokens_ = 1;  // the first record goes out at once
  last_refill_ = std::chrono::steady_clock::now();
  return Status::ok();
}

void GenerateSource::refill(std::chrono::steady_clock::time_point now) {
  double secs = std::chrono::duration<double>(now - last_refill_).count();
  last_refill_ = now;
  // Up to one second of records may be caught up after a pause in polling.
  tokens_ = std::min(tokens_ + secs * cfg_.rate_per_s, std::max(1.0, cfg_.rate_per_s));
}

PollResult GenerateSource::poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                                size_t max_records) {
  using clock = std::chrono::steady_clock;
  constexpr size_t kChunk = 4096;  // records between clock reads
  const bool paced = cfg_.rate_per_s > 0;
  const bool needs_now = tmpl_.uses_clock();
  size_t delivered = 0;
  RawRecord r;
  while (delivered < max_records) {
    if (cfg_.limit && count_ >= *cfg_.limit) return PollResult::End;
    auto now = clock::now();
    if (now >= deadline) return PollResult::Ok;
    size_t n = std::min(kChunk, max_records - delivered);
    if (cfg_.limit) n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), *cfg_.limit - count_));
    if (paced) {
      refill(now);
      if (tokens_ < 1) {
        auto wait = std::chrono::duration<double>((1 - tokens_) / cfg_.rate_per_s);
        auto until = now + std::chrono::duration_cast<clock::duration>(wait);
        if (until >= deadline) {
          std::this_thread::sleep_until(deadline);
          return PollResult::Ok;
        }
        std::this_thread::sleep_until(until);
        continue;
      }
      n = std::min(n, static_cast<size_t>(tokens_));
      tokens_ -= static_cast<double>(n);
    }
    int64_t now_ms = needs_now ? clock_() : 0;
    for (size_t i = 0; i < n; ++i) {
      doc_.clear();
      if (needs_now && (i & 63) == 63) now_ms = clock_();
      tmpl_.render(doc_, seed_, count_, now_ms);
      ++count_;
      r.payload = doc_;
      // Its position (spec §8: dead letters name it): the 1-based sequence number, which continues
      // across restarts as the checkpointed count does.
      r.line = count_;
      h.on_record(r);
    }
    delivered += n;
  }
  if (cfg_.limit && count_ >= *cfg_.limit) return PollResult::End;
  return PollResult::Ok;
}

Positions GenerateSource::positions() const {
  return {Position{kStream, count_, static_cast<int64_t>(seed_)}};
}

}  // namespace weir
