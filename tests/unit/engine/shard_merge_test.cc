// Key-partitioned state on the worker pool (issue 9: window::State::set_shards, Executor's parallel
// merges): with `workers` 2-3 the aggregating outputs' states are split by key hash into one shard per
// thread and a chunk of many groups is merged shard by shard on all threads. Rows (and their order), dead
// letters, late records and every count must be those of `workers: 1`, also across restarts that change the
// worker count (a checkpoint restores into any shard count).
#include <unistd.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "pool_harness.h"

using namespace pool_test;

namespace {

// ~6000 keys (a 2048-record chunk holds ~1700 of them, far above kParallelMergeGroups), int values, dyadic
// floats (sums exact in any order), and now and then a bad record (no key; a value that is not an int).
std::vector<Rec> make_keys_input(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Rec> v;
  for (size_t i = 0; i < n; ++i) {
    Rec r;
    r.partition = static_cast<int32_t>(rng() % 3);
    r.offset = static_cast<int64_t>(i);
    const std::string key = "k" + std::to_string(rng() % 6000);
    const std::string val = std::to_string(rng() % 1000);
    const std::string f = std::to_string(static_cast<double>(static_cast<int>(rng() % 64) - 32) / 8.0);
    switch (rng() % 200) {
      case 0:
        r.payload = R"({"v":1})";
        break;
      case 1:
        r.payload = R"({"key":")" + key + R"(","v":"many"})";
        break;
      default:
        r.payload = R"({"key":")" + key + R"(","v":)" + val + R"(,"f":)" + f + "}";
    }
    v.push_back(std::move(r));
  }
  return v;
}

const char* kKeysJob = R"yaml(
batch: 1s
source: stdin
fields:
  key: { path: key, required: true }
  v: { path: v, type: int }
  f: { path: f, type: float }
on_error:
  action: dead_letter
  late: dead_letter
  dead_letter: { file: { path: /dev/null } }
outputs:
  - name: slide
    group_by: [key]
    window: { sliding: 4s, every: 1s }
    aggregate: { n: count(), s: sum(v), fs: sum(f), a: first(v), z: last(v), d: count_distinct(v), hi: max(v) }
    to: console
  - name: top
    group_by: [key]
    window: { sliding: 3s, every: 1s }
    aggregate: { n: count(), s: sum(v) }
    order_by: [n desc, s]
    limit: 7
    to: console
  - name: two-keys
    group_by: [key, { odd: "v % 2" }]
    window: { tumbling: 2s }
    aggregate: { n: count() }
    to: console
  - name: counted
    group_by: [key]
    aggregate: { n: count() }
    to: console
  - name: counted-sliding
    group_by: [key]
    window: { sliding: 3s, every: 1s }
    aggregate: { n: count() }
    to: console
  - name: pass
    where: "v > 995"
    select: { key: key, v: v }
    to: console
)yaml";

}  // namespace

TEST_CASE("shards: workers 2-3 merge many keys shard by shard with the rows and counts of workers 1",
          "[pool][partial][shards]") {
  auto input = make_keys_input(30000, 11);
  for (size_t per_poll : {size_t(900), size_t(5000)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(kKeysJob, input, 1, o);
    REQUIRE(one.rc == 0);
    REQUIRE(one.shards == 1);
    REQUIRE(one.bad > 100);
    REQUIRE(one.rows[0].size() > 30000);
    REQUIRE(one.rows[1].size() > 20);
    for (int w : {2, 3}) {
      INFO("per_poll " << per_poll << ", workers " << w);
      Result many = run(kKeysJob, input, w, o);
      REQUIRE(many.partial);
      REQUIRE(many.shards == static_cast<size_t>(w));
      REQUIRE(many.parallel_merges > 5);  // the parallel path ran
      require_same(one, many);
    }
  }
}

TEST_CASE("shards: a restart with another worker count continues from the checkpoint as one run would",
          "[pool][partial][shards]") {
  // Polls of 1000 records at 1 ms a record (a batch each); the first run stops during poll 9, the second
  // resumes from its checkpoint with another worker count (a checkpoint of split state read into one, of one
  // state split, of 2 shards into 3). Both together must be one uninterrupted run of workers 1.
  auto input = make_keys_input(20000, 12);
  Options o;
  o.per_poll = 1000;
  o.step_ms = 1;
  TempDir full_dir("weir-shards-full");
  o.checkpoint_dir = full_dir.str();
  Result full = run(kKeysJob, input, 1, o);
  REQUIRE(full.rc == 0);
  for (auto [w1, w2] : {std::pair{2, 1}, std::pair{1, 3}, std::pair{3, 2}, std::pair{2, 2}}) {
    INFO("workers " << w1 << " then " << w2);
    TempDir dir("weir-shards-" + std::to_string(w1) + std::to_string(w2));
    Options first = o;
    first.checkpoint_dir = dir.str();
    first.stop_after_polls = 9;
    Result r1 = run(kKeysJob, input, w1, first);
    REQUIRE(r1.rc == 0);
    REQUIRE(r1.in == 9000);
    Options again = o;
    again.checkpoint_dir = dir.str();
    again.resume = true;
    again.clock_start_ms = r1.clock_end_ms;
    again.sinks_committed = r1.batch_ids[0].back();
    Result r2 = run(kKeysJob, input, w2, again);
    REQUIRE(r2.rc == 0);
    REQUIRE(r2.shards == static_cast<size_t>(w2));
    require_same(full, both(r1, r2));
  }
}

TEST_CASE("shards: records for windows a restart left closed are late alike", "[pool][partial][shards]") {
  // The first run closes its windows at the end of input; a second run from the same checkpoint with the
  // clock back at the start adds to closed windows: late, dead-lettered in the same order for every count.
  auto input = make_keys_input(6000, 13);
  std::vector<Result> late;
  for (int w : {1, 2, 3}) {
    TempDir dir("weir-shards-late-" + std::to_string(w));
    Options first;
    first.per_poll = 3000;
    first.step_ms = 1;
    first.checkpoint_dir = dir.str();
    Result r1 = run(kKeysJob, input, w, first);
    REQUIRE(r1.rc == 0);
    REQUIRE(r1.late == 0);
    Options again = first;
    again.step_ms = 0;
    late.push_back(run(kKeysJob, input, w, again));
  }
  REQUIRE(late[0].late > 1000);
  require_same(late[0], late[1]);
  require_same(late[0], late[2]);
}
