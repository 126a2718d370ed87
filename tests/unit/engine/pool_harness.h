// The parse-pool tests' harness (parse_pool_test.cc, partial_agg_test.cc, shard_merge_test.cc): a source
// delivering bursts of records, a run of a job text with a given number of workers, an exact comparison of
// two runs, two runs (a restart) as one, and a checkpoint directory per test process.
#pragma once

#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/load.h"
#include "engine/executor.h"
#include "memory_connectors.h"

namespace pool_test {

using namespace weir;
using weir::testing::MemorySink;

constexpr int64_t kStart = 1484148840000;  // 2017-01-11T15:34:00Z, a multiple of 10 s

// One record with Kafka-like metadata.
struct Rec {
  std::string payload;
  bool null_payload = false;
  std::optional<std::string> key;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
};

inline Rec rec(std::string payload) {
  Rec r;
  r.payload = std::move(payload);
  return r;
}

// Delivers `per_poll` records per poll whatever max_records says (a Kafka poll hands over what it has), so
// that with a manual clock the chunks hold many records and batches are still cut deterministically
// (between polls). Unbounded after its records when `endless` (then it repeats them until stopped).
class BurstSource : public Source {
 public:
  BurstSource(const std::vector<Rec>* recs, size_t per_poll, size_t streams, bool endless = false)
      : recs_(recs), per_poll_(per_poll), streams_(streams), endless_(endless) {}
  Status open(const Positions* from) override {
    if (resume && from != nullptr && !from->empty()) {
      next_ = static_cast<size_t>((*from)[0].offset);
      delivered = next_;
    }
    return Status::ok();
  }
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point, size_t) override {
    const PollResult r = deliver(h);
    ++polls;
    if (polls == stop_after && stop != nullptr) stop->store(stop_level);
    if (polls == rebalance_after) rebalanced_ = true;
    return r;
  }
  bool take_rebalanced() override {
    const bool r = rebalanced_;
    rebalanced_ = false;
    return r;
  }
  Positions positions() const override { return {{"input", static_cast<int64_t>(delivered), 0}}; }
  bool bounded() const override { return !endless_; }
  bool replayable() const override { return true; }
  size_t streams() const override { return streams_; }
  size_t delivered = 0;  // records delivered (with `resume`, counted from the first record of the input)
  size_t polls = 0;
  // With `resume`, open() continues from a checkpoint's position (the index of the next record); without,
  // it starts from the first record whatever the checkpoint says.
  bool resume = false;
  // Poll number `stop_after` (1-based) sets *stop to stop_level once it has delivered its records, as a
  // signal arriving during that poll would (the batch loop sees it when the poll returns).
  size_t stop_after = 0;
  int stop_level = 1;
  engine::StopFlag* stop = nullptr;
  // Poll number `rebalance_after` ends with a partition revocation (take_rebalanced() is true once after
  // it): a Kafka poll whose rebalance callback revoked the partitions (and this member gets them back).
  size_t rebalance_after = 0;

 private:
  PollResult deliver(RecordHandler& h) {
    for (size_t n = 0; n < per_poll_; ++n) {
      if (next_ >= recs_->size()) {
        if (!endless_) return PollResult::End;
        next_ = 0;
      }
      const Rec& in = (*recs_)[next_++];
      RawRecord r;
      r.payload = in.payload;
      r.null_payload = in.null_payload;
      r.topic = "tweets";
      r.partition = in.partition;
      r.offset = in.offset;
      if (in.key) r.key = *in.key;
      r.timestamp_ms = in.timestamp_ms;
      r.stream = static_cast<uint32_t>(in.partition);
      ++delivered;
      h.on_record(r);
    }
    return !endless_ && next_ >= recs_->size() ? PollResult::End : PollResult::Ok;
  }

  const std::vector<Rec>* recs_;
  size_t per_poll_;
  size_t streams_;
  bool endless_;
  size_t next_ = 0;
  bool rebalanced_ = false;
};

struct Result {
  bool partial = false;  // the executor aggregated on the parse threads
  int rc = -1;
  std::string error;
  int workers = 0;
  bool parse_ahead = false;
  std::vector<std::vector<std::string>> rows;     // per output
  std::vector<std::vector<uint64_t>> batch_ids;   // per output
  std::vector<std::vector<int64_t>> batch_input;  // per output: positions handed with each batch
  std::vector<std::string> dead;                  // `time` normalised
  uint64_t in = 0, bad = 0, late = 0;
  std::vector<uint64_t> kept, out_bad, out_late;
  size_t polls = 0, delivered = 0;  // the source's
  int64_t clock_end_ms = 0;
  size_t decided_at = 0;         // with Options::parse_ahead_decision: the records read when it decided
  uint64_t parallel_merges = 0;  // chunks merged shard by shard on all threads
  size_t shards = 1;             // the most shards of an output's state
};

struct Options {
  size_t per_poll = 1;
  int64_t step_ms = 1;
  size_t streams = 3;
  std::string checkpoint_dir;
  bool manual_clock = true;
  bool endless = false;
  std::function<void(engine::StopFlag&)> stopper;  // runs on a thread beside the job
  // A restart: with a checkpoint_dir, the source continues from the checkpoint's position, the clock starts
  // at `clock_start_ms` and the (exactly-once) sinks have committed up to `sinks_committed`, as the previous
  // run left them.
  bool resume = false;
  int64_t clock_start_ms = kStart;
  uint64_t sinks_committed = 0;
  // The source's poll number `stop_after_polls` (1-based) stops the job (`stop_level`: 1 graceful, 2 now)
  // once it has delivered its records; poll number `rebalance_after_polls` ends with a revocation.
  size_t stop_after_polls = 0;
  int stop_level = 1;
  size_t rebalance_after_polls = 0;
  // Tests only: ExecutorOptions::parse_ahead_decision (Result::decided_at: when it decided).
  std::function<std::optional<bool>(int chunks)> parse_ahead_decision;
};

inline Result run(const std::string& yaml, const std::vector<Rec>& input, int workers, const Options& o) {
  auto loaded = config::load_job_text(yaml, "test.yaml");
  for (const auto& e : loaded.errors) FAIL(e.format());
  config::Job job = *loaded.job;
  auto compiled = engine::compile(job);
  for (const auto& e : compiled.errors) FAIL(e);
  engine::JobPlan plan = *compiled.plan;
  engine::Connectors conn;
  engine::StopFlag stop{0};
  auto source = std::make_unique<BurstSource>(&input, o.per_poll, o.streams, o.endless);
  BurstSource& src = *source;
  src.resume = o.resume;
  src.stop_after = o.stop_after_polls;
  src.stop_level = o.stop_level;
  src.stop = &stop;
  src.rebalance_after = o.rebalance_after_polls;
  conn.source = std::move(source);
  std::vector<MemorySink*> sinks;
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    // With checkpoints, exactly-once sinks: they get each batch with its checkpoint's positions.
    auto s = std::make_unique<MemorySink>(0, !o.checkpoint_dir.empty());
    s->set_committed(o.sinks_committed);
    sinks.push_back(s.get());
    conn.sinks.emplace_back();
    conn.sinks.back().push_back(std::move(s));
  }
  Result res;
  conn.dead_letter = std::make_unique<weir::testing::MemoryDeadLetters>(&res.dead);
  std::unique_ptr<Clock> clock;
  if (o.manual_clock) {
    clock = std::make_unique<TestClock>(o.clock_start_ms, o.step_ms);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  engine::ExecutorOptions eo;
  eo.checkpoint_dir = o.checkpoint_dir;
  eo.workers = workers;
  if (o.parse_ahead_decision) {
    eo.parse_ahead_decision = [&](int chunks) {
      std::optional<bool> d = o.parse_ahead_decision(chunks);
      if (d) res.decided_at = src.delivered;
      return d;
    };
  }
  engine::Executor ex(job, plan, std::move(conn), *clock, eo);
  std::thread stopper;
  if (o.stopper) stopper = std::thread([&] { o.stopper(stop); });
  res.rc = ex.run(stop);
  if (stopper.joinable()) stopper.join();
  res.error = ex.error();
  res.workers = ex.workers();
  res.parse_ahead = ex.parse_ahead();
  res.partial = ex.partial_aggregation();
  res.parallel_merges = ex.parallel_merges();
  res.shards = ex.state_shards();
  res.polls = src.polls;
  res.delivered = src.delivered;
  res.clock_end_ms = clock->now_ms();
  for (auto* s : sinks) {
    res.rows.push_back(s->rows());
    res.batch_ids.emplace_back();
    res.batch_input.emplace_back();
    for (const auto& b : s->batches) {
      res.batch_ids.back().push_back(b.batch_id);
      res.batch_input.back().push_back(b.positions.empty() ? -1 : b.positions[0].offset);
    }
  }
  // The wall-clock time a dead letter was written at differs between runs. (No std::regex: GCC 12 warns
  // inside it under -fsanitize.)
  for (auto& d : res.dead) {
    size_t at = d.find(R"("time":")");
    if (at == std::string::npos) continue;
    at += 8;
    d.replace(at, d.find('"', at) - at, "T");
  }
  auto& m = ex.metrics();
  res.in = m.records_in.load();
  res.bad = m.bad.load();
  res.late = m.late.load();
  for (const auto& om : m.outputs) {
    res.kept.push_back(om->records.load());
    res.out_bad.push_back(om->bad.load());
    res.out_late.push_back(om->late.load());
  }
  return res;
}

inline void require_same(const Result& a, const Result& b) {
  REQUIRE(a.rc == b.rc);
  REQUIRE(a.error == b.error);
  REQUIRE(a.in == b.in);
  REQUIRE(a.bad == b.bad);
  REQUIRE(a.late == b.late);
  REQUIRE(a.kept == b.kept);
  REQUIRE(a.out_bad == b.out_bad);
  REQUIRE(a.out_late == b.out_late);
  REQUIRE(a.batch_ids == b.batch_ids);
  REQUIRE(a.batch_input == b.batch_input);
  REQUIRE(a.dead == b.dead);
  REQUIRE(a.rows.size() == b.rows.size());
  for (size_t o = 0; o < a.rows.size(); ++o) {
    INFO("output " << o);
    REQUIRE(a.rows[o] == b.rows[o]);
  }
}

// Two runs of a job (the second restarted from the first's checkpoint) as one: rows, batches, dead letters
// and counts one after the other.
inline Result both(const Result& a, const Result& b) {
  Result r = a;
  r.in += b.in;
  r.bad += b.bad;
  r.late += b.late;
  r.dead.insert(r.dead.end(), b.dead.begin(), b.dead.end());
  for (size_t o = 0; o < r.rows.size(); ++o) {
    r.rows[o].insert(r.rows[o].end(), b.rows[o].begin(), b.rows[o].end());
    r.batch_ids[o].insert(r.batch_ids[o].end(), b.batch_ids[o].begin(), b.batch_ids[o].end());
    r.batch_input[o].insert(r.batch_input[o].end(), b.batch_input[o].begin(), b.batch_input[o].end());
    r.kept[o] += b.kept[o];
    r.out_bad[o] += b.out_bad[o];
    r.out_late[o] += b.out_late[o];
  }
  return r;
}

// A fresh checkpoint directory, removed at the end of the scope (named after the process, so that test
// binaries running at the same time do not share one).
struct TempDir {
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string str() const { return path.string(); }
  std::filesystem::path path;
};

}  // namespace pool_test
