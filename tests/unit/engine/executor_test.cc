#include <catch2/catch.hpp>
#include <filesystem>

#include "config/load.h"
#include "engine/executor.h"
#include "memory_connectors.h"

using namespace weir;
using weir::testing::InputRecord;
using weir::testing::MemorySink;
using weir::testing::VectorSource;

namespace {

constexpr int64_t kStart = 1484148840000;  // 2017-01-11T15:34:00Z

struct Run {
  config::Job job;
  engine::JobPlan plan;
  std::vector<MemorySink*> sinks;  // one per output (owned by the executor)
  std::vector<std::string> dead;
  std::unique_ptr<TestClock> clock;
  std::unique_ptr<engine::Executor> executor;  // owns the sinks
  int rc = -1;
  std::string error;
};

// Loads a job (its sinks are replaced by memory sinks), runs it over `input` with a test clock.
std::unique_ptr<Run> run_job(const std::string& yaml, std::vector<InputRecord> input, int64_t step_ms = 10,
                             int sink_failures = 0, size_t streams = 0,
                             const std::string& checkpoint_dir = "", int64_t start_ms = kStart) {
  auto run = std::make_unique<Run>();
  auto loaded = config::load_job_text(yaml, "test.yaml");
  for (const auto& e : loaded.errors) FAIL(e.format());
  run->job = *loaded.job;
  auto compiled = engine::compile(run->job);
  for (const auto& e : compiled.errors) FAIL(e);
  run->plan = *compiled.plan;
  engine::Connectors conn;
  conn.source = std::make_unique<VectorSource>(std::move(input), streams);
  for (size_t i = 0; i < run->plan.outputs.size(); ++i) {
    auto s = std::make_unique<MemorySink>(sink_failures);
    run->sinks.push_back(s.get());
    conn.sinks.emplace_back();
    conn.sinks.back().push_back(std::move(s));
  }
  conn.dead_letter = std::make_unique<weir::testing::MemoryDeadLetters>(&run->dead);
  run->clock = std::make_unique<TestClock>(start_ms, step_ms);
  engine::ExecutorOptions opts;
  opts.checkpoint_dir = checkpoint_dir;
  run->executor = std::make_unique<engine::Executor>(run->job, run->plan, std::move(conn), *run->clock, opts);
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  run->error = run->executor->error();
  return run;
}

std::vector<InputRecord> lines(std::initializer_list<const char*> l) {
  std::vector<InputRecord> v;
  for (const char* s : l) v.push_back({s, 0});
  return v;
}

const char* kHeader = R"(
batch: 1s
source: stdin
)";

}  // namespace

TEST_CASE("executor: per-batch count per author, rows in key order with window bounds", "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
fields: { author: user.screen_name }
outputs:
  - name: per-author
    group_by: [author]
    aggregate: { tweets: count() }
    to: console
)",
                   lines({R"({"user":{"screen_name":"bob"}})", R"({"user":{"screen_name":"alice"}})",
                          R"({"user":{"screen_name":"bob"}})"}));
  REQUIRE(r->rc == 0);
  REQUIRE(r->sinks[0]->rows() ==
          std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z","alice",1])",
                                   R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z","bob",2])"});
  auto& cols = r->sinks[0]->schema.columns;
  REQUIRE(cols.size() == 4);
  REQUIRE(cols[2].name == "author");
  REQUIRE(cols[3].type == Type::Int);
}

TEST_CASE("executor: batches are cut by the clock, an output without group_by emits every batch",
          "[executor]") {
  // 10 records, 250 ms apart: 4 per 1 s batch -> batches of 4, 4, 2.
  std::vector<InputRecord> in;
  for (int i = 0; i < 10; ++i) in.push_back({R"({"a":1})", 0});
  auto r = run_job(std::string(kHeader) + R"(
outputs:
  - name: n
    aggregate: { n: count() }
    to: console
)",
                   in, 250);
  REQUIRE(r->rc == 0);
  auto rows = r->sinks[0]->rows();
  REQUIRE(rows == std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",4])",
                                           R"(["2017-01-11T15:34:01.000Z","2017-01-11T15:34:02.000Z",4])",
                                           R"(["2017-01-11T15:34:02.000Z","2017-01-11T15:34:03.000Z",2])"});
  // Batch ids increase by one per batch.
  REQUIRE(r->sinks[0]->batches.size() == 3);
  REQUIRE(r->sinks[0]->batches[2].batch_id == r->sinks[0]->batches[0].batch_id + 2);
}

TEST_CASE("executor: bad records are counted, dead-lettered and do not stop the job", "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
fields: { n: { path: n, type: int } }
on_error: { action: dead_letter, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: total
    aggregate: { s: sum(n), c: count() }
    to: console
)",
                   lines({R"({"n":1})", "not json", R"({"n":"x"})", "", R"({"n":2})", "[1,2]"}));
  REQUIRE(r->rc == 0);
  REQUIRE(r->sinks[0]->rows() ==
          std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",3,2])"});
  REQUIRE(r->dead.size() == 4);
  REQUIRE(r->dead[0].find("\"payload\":\"not json\"") != std::string::npos);
  REQUIRE(r->dead[0].find("\"line\":2") != std::string::npos);
}

TEST_CASE("executor: on_error stop ends the job with exit code 1 and names the record", "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
on_error: { action: stop }
outputs:
  - name: all
    aggregate: { c: count() }
    to: console
)",
                   lines({R"({"n":1})", "{broken"}));
  REQUIRE(r->rc == 1);
  REQUIRE_THAT(r->error, Catch::Contains("line 2"));
  REQUIRE(r->sinks[0]->batches.empty());  // the batch holding the bad record is not committed
}

TEST_CASE("executor: where, explode, select and pass-through rows", "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
fields: { text: text, lang: { path: lang, default: und } }
outputs:
  - name: words
    where: "lang == 'en'"
    explode: { field: text, split: " ", as: word }
    group_by: [word]
    aggregate: { n: count() }
    order_by: [n desc]
    limit: 2
    to: console
  - name: routed
    where: "lang != 'en'"
    select: { upper_text: upper(text) }
    to: console
)",
                   lines({R"({"text":"a b  a","lang":"en"})", R"({"text":"b c","lang":"en"})",
                          R"({"text":"hola","lang":"es"})", R"({"text":"x"})"}));
  REQUIRE(r->rc == 0);
  REQUIRE(r->sinks[0]->rows() ==
          std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z","a",2])",
                                   R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z","b",2])"});
  REQUIRE(r->sinks[1]->rows() == std::vector<std::string>{R"(["hola","es","HOLA"])", R"(["x","und","X"])"});
}

TEST_CASE("executor: a select or explode name equal to a declared field replaces it in pass-through rows",
          "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
fields: { id: { path: id, type: int }, text: text, tags: { path: tags, type: any } }
outputs:
  - name: renumbered
    select: { id: "id * 10", text: upper(text) }
    to: console
  - name: per-tag
    explode: { field: tags, as: tags }
    to: console
)",
                   lines({R"({"id":1,"text":"ab","tags":["x","y"]})"}));
  REQUIRE(r->rc == 0);
  std::vector<std::string> names;
  for (const auto& c : r->sinks[0]->schema.columns) names.push_back(c.name);
  REQUIRE(names == std::vector<std::string>{"tags", "id", "text"});
  REQUIRE(r->sinks[0]->rows() == std::vector<std::string>{R"([["x","y"],10,"AB"])"});
  names.clear();
  for (const auto& c : r->sinks[1]->schema.columns) names.push_back(c.name);
  REQUIRE(names == std::vector<std::string>{"id", "text", "tags"});
  REQUIRE(r->sinks[1]->rows() == std::vector<std::string>{R"([1,"ab","x"])", R"([1,"ab","y"])"});
}

TEST_CASE("executor: a sink that is down is retried until it takes the batch", "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
outputs:
  - name: all
    aggregate: { c: count() }
    to: console
)",
                   lines({R"({"n":1})", R"({"n":2})"}), 10, /*sink_failures=*/3);
  REQUIRE(r->rc == 0);
  REQUIRE(r->sinks[0]->failures == 3);
  REQUIRE(r->sinks[0]->rows().size() == 1);
}

TEST_CASE("executor: event time windows close on the watermark, late records are dead-lettered",
          "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
time: { event: ts, lateness: 1s }
fields: { ts: { path: ts, type: time, format: epoch_ms }, k: k }
on_error: { late: dead_letter, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: per-key
    window: { tumbling: 10s }
    group_by: [k]
    aggregate: { c: count() }
    to: console
)",
                   lines({R"({"ts":1000,"k":"a"})", R"({"ts":9500,"k":"b"})", R"({"ts":11000,"k":"a"})",
                          R"({"ts":9000,"k":"a"})",  // watermark 10000: window [0,10s) closed -> late
                          R"({"ts":10500,"k":"b"})"}));
  REQUIRE(r->rc == 0);
  REQUIRE(r->sinks[0]->rows() ==
          std::vector<std::string>{R"(["1970-01-01T00:00:00.000Z","1970-01-01T00:00:10.000Z","a",1])",
                                   R"(["1970-01-01T00:00:00.000Z","1970-01-01T00:00:10.000Z","b",1])",
                                   R"(["1970-01-01T00:00:10.000Z","1970-01-01T00:00:20.000Z","a",1])",
                                   R"(["1970-01-01T00:00:10.000Z","1970-01-01T00:00:20.000Z","b",1])"});
  REQUIRE(r->dead.size() == 1);
  REQUIRE_THAT(r->dead[0], Catch::Contains("late record"));
}

TEST_CASE("executor: the watermark is the slowest partition's, in-order partitions are never late",
          "[executor]") {
  // Stream 1 lags far behind stream 0, but each is in order: nothing is late.
  std::vector<InputRecord> in = {{R"({"ts":20000})", 0},
                                 {R"({"ts":21000})", 0},
                                 {R"({"ts":1000})", 1},
                                 {R"({"ts":2000})", 1},
                                 {R"({"ts":25000})", 1}};
  auto r = run_job(std::string(kHeader) + R"(
time: { event: ts }
fields: { ts: { path: ts, type: time, format: epoch_ms } }
outputs:
  - name: n
    window: { tumbling: 10s }
    aggregate: { c: count() }
    to: console
)",
                   in, 10, 0, /*streams=*/2);
  REQUIRE(r->rc == 0);
  REQUIRE(r->sinks[0]->rows() ==
          std::vector<std::string>{R"(["1970-01-01T00:00:00.000Z","1970-01-01T00:00:10.000Z",2])",
                                   R"(["1970-01-01T00:00:10.000Z","1970-01-01T00:00:20.000Z",0])",
                                   R"(["1970-01-01T00:00:20.000Z","1970-01-01T00:00:30.000Z",3])"});
}

TEST_CASE("executor: a partition idle for `idle` stops holding the watermark back", "[executor]") {
  // Stream 1 sends one record at ts 1 s, then nothing for 2 s of processing time (the test clock steps
  // 100 ms per record) while stream 0 moves on to 30 s. Its last record, at ts 2 s, is then late: the
  // idle stream no longer held the watermark at 1 s. With idle: 1h it holds it, and the record counts.
  std::vector<InputRecord> in = {{R"({"ts":1000})", 1}};
  for (int i = 0; i < 30; ++i) in.push_back({"{\"ts\":" + std::to_string(1000 * (i + 1)) + "}", 0});
  in.push_back({R"({"ts":2000})", 1});
  auto job = [](const char* idle) {
    return std::string(kHeader) + "time: { event: ts, lateness: 0s, idle: " + idle + " }\n" + R"(
fields: { ts: { path: ts, type: time, format: epoch_ms } }
on_error: { late: dead_letter, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: n
    window: { tumbling: 10s }
    aggregate: { c: count() }
    to: console
)";
  };
  auto idle = run_job(job("2s"), in, 100, 0, /*streams=*/2);
  REQUIRE(idle->rc == 0);
  REQUIRE(idle->dead.size() == 1);
  REQUIRE_THAT(idle->dead[0], Catch::Contains("late record"));
  REQUIRE(idle->sinks[0]->rows().front() == R"(["1970-01-01T00:00:00.000Z","1970-01-01T00:00:10.000Z",10])");
  auto held = run_job(job("1h"), in, 100, 0, /*streams=*/2);
  REQUIRE(held->rc == 0);
  REQUIRE(held->dead.empty());
  REQUIRE(held->sinks[0]->rows().front() == R"(["1970-01-01T00:00:00.000Z","1970-01-01T00:00:10.000Z",11])");
}

TEST_CASE("executor: a restart resumes running totals and skips the windows of the downtime", "[executor]") {
  char tmpl[] = "/tmp/weir-exec-test.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string job = std::string(kHeader) + R"(
fields: { k: k }
outputs:
  - name: t
    window: total
    group_by: [k]
    aggregate: { c: count() }
    to: console
)";
  auto first = run_job(job, lines({R"({"k":"a"})", R"({"k":"b"})", R"({"k":"a"})"}), 10, 0, 0, dir);
  REQUIRE(first->rc == 0);
  // One hour later: the totals continue; nothing is emitted for the hour the job was down.
  auto second = run_job(job, lines({R"({"k":"a"})"}), 10, 0, 0, dir, kStart + 3600 * 1000);
  REQUIRE(second->rc == 0);
  REQUIRE(second->sinks[0]->rows() ==
          std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T16:34:01.000Z","a",3])",
                                   R"(["2017-01-11T15:34:00.000Z","2017-01-11T16:34:01.000Z","b",1])"});
  std::filesystem::remove_all(dir);
}
