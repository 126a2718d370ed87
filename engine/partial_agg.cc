#include "engine/partial_agg.h"

#include <chrono>
#include <utility>

namespace weir::engine {

void fill_meta(const JobPlan& plan, const RawRecord& r, Value* slots) {
  const auto& ms = plan.meta_slot;
  const auto& mu = plan.meta_used;
  if (mu[kTopic]) slots[ms[kTopic]].set_string(r.topic);
  if (mu[kPartition]) slots[ms[kPartition]] = r.partition >= 0 ? Value::integer(r.partition) : Value();
  if (mu[kOffset]) slots[ms[kOffset]] = r.offset >= 0 ? Value::integer(r.offset) : Value();
  if (mu[kKey]) {
    if (r.key) {
      slots[ms[kKey]].set_string(*r.key);
    } else {
      slots[ms[kKey]].set_null();
    }
  }
  // No timestamp (-1), or one RFC 3339 cannot write (after year 9999; docs/semantics.md): null.
  if (mu[kTimestamp])
    slots[ms[kTimestamp]] =
        r.timestamp_ms >= 0 && r.timestamp_ms <= kMaxRfc3339Ms ? Value::time(r.timestamp_ms) : Value();
  if (mu[kFile]) slots[ms[kFile]] = r.file.empty() ? Value() : Value::string(r.file);
  if (mu[kLine]) slots[ms[kLine]] = r.line >= 0 ? Value::integer(r.line) : Value();
  if (mu[kRaw]) slots[ms[kRaw]].set_string(r.payload);
}

PartialAggregator::PartialAggregator(const JobPlan& plan, std::vector<size_t> outputs,
                                     std::vector<size_t> shards)
    : plan_(plan),
      outputs_(std::move(outputs)),
      shards_(std::move(shards)),
      fused_(outputs_.size() == plan.outputs.size()) {
  shards_.resize(outputs_.size(), 1);
}

std::unique_ptr<AggScratch> PartialAggregator::scratch() const {
  auto s = std::make_unique<AggScratch>();
  s->slots.resize(plan_.slots.size());
  for (size_t o : outputs_) s->outputs.emplace_back(plan_.outputs[o]);
  return s;
}

ChunkAgg& PartialAggregator::reset(Chunk& c) const {
  if (!c.agg) {
    c.agg = std::make_unique<ChunkAgg>();
    for (size_t k = 0; k < outputs_.size(); ++k)
      c.agg->parts.emplace_back(plan_.outputs[outputs_[k]].window, shards_[k]);
  }
  ChunkAgg& a = *c.agg;
  for (auto& p : a.parts) p.clear();
  a.used_errors = 0;
  const size_t n = c.size() * outputs_.size();
  if (a.outcomes.size() < n) {
    a.outcomes.resize(n);
    a.errors_at.resize(n);
  }
  return a;
}

void PartialAggregator::aggregate(const Chunk& c, size_t i, ChunkAgg& a, AggScratch& s) const {
  Value* slots = s.slots.data();
  if (plan_.meta_used != std::array<bool, kMetaCount>{}) fill_meta(plan_, c.record(i), slots);
  const size_t k_count = outputs_.size();
  for (size_t k = 0; k < k_count; ++k) {
    const size_t at = i * k_count + k;
    a.outcomes[at] =
        OutputRunner::process_partial(plan_.outputs[outputs_[k]], slots, s.outputs[k], a.parts[k], s.error);
    a.errors_at[at] = -1;
    if (a.outcomes[at] == OutputRunner::Outcome::Bad) {
      if (a.used_errors == a.errors.size()) a.errors.emplace_back();
      a.errors[a.used_errors].swap(s.error);
      a.errors_at[at] = static_cast<int32_t>(a.used_errors++);
    }
  }
}

void PartialAggregator::run(Chunk& c, AggScratch& s) const {
  const auto t0 = std::chrono::steady_clock::now();
  ChunkAgg& a = reset(c);
  const size_t fc = c.field_count();
  Value* slots = s.slots.data();
  for (size_t i = 0; i < c.size(); ++i) {
    // Records the batch loop rejects before the outputs (tombstones, extraction errors) get no outcome.
    if (c.null_payload(i) || !c.ok(i)) continue;
    // The record's fields into this thread's slots and back after (the batch loop's pass-through outputs
    // take them): the outputs write only their own explode/select slots, never the fields.
    Value* f = c.fields(i);
    for (size_t j = 0; j < fc; ++j) std::swap(slots[j], f[j]);
    aggregate(c, i, a, s);
    for (size_t j = 0; j < fc; ++j) std::swap(slots[j], f[j]);
  }
  c.add_extract_ns(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
}

void PartialAggregator::extract_and_run(Chunk& c, const fields::Extractor& ex, AggScratch& s) const {
  ChunkAgg& a = reset(c);
  c.extract_each(ex, s.slots.data(), s.error, [&](size_t i) { aggregate(c, i, a, s); });
}

OutputRunner::Outcome PartialAggregator::outcome(const Chunk& c, size_t i, size_t k) {
  return c.agg->outcomes[i * c.agg->parts.size() + k];
}

const std::string& PartialAggregator::error(const Chunk& c, size_t i, size_t k) {
  return c.agg->errors[static_cast<size_t>(c.agg->errors_at[i * c.agg->parts.size() + k])];
}

}  // namespace weir::engine
