#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "config/load.h"
#include "engine/bad_records.h"
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

// Loads and compiles a job text, failing the test on any error.
void load_job(const std::string& yaml, config::Job& job, engine::JobPlan& plan) {
  auto loaded = config::load_job_text(yaml, "test.yaml");
  for (const auto& e : loaded.errors) FAIL(e.format());
  job = *loaded.job;
  auto compiled = engine::compile(job);
  for (const auto& e : compiled.errors) FAIL(e);
  plan = *compiled.plan;
}

// Loads a job (its sinks are replaced by memory sinks), runs it over `input` with a test clock.
std::unique_ptr<Run> run_job(const std::string& yaml, std::vector<InputRecord> input, int64_t step_ms = 10,
                             int sink_failures = 0, size_t streams = 0,
                             const std::string& checkpoint_dir = "", int64_t start_ms = kStart) {
  auto run = std::make_unique<Run>();
  load_job(yaml, run->job, run->plan);
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

TEST_CASE("executor: a record above max_record_bytes: its real size in the error, a cut payload is marked",
          "[executor]") {
  // Line sources cut a line above the limit to limit + 2 bytes and give its real size (full_size); a Kafka
  // message arrives whole.
  const std::string whole = R"({"k":"kafka-sized","pad":"xxxx"})";  // 32 bytes, not cut
  std::vector<InputRecord> in = {{R"({"k":"a"})", 0}, {R"({"k":"bbbbbbbbbbbbbbbb)", 0, 47}, {whole, 0}};
  for (const char* workers : {"1", "2"}) {
    INFO("workers " << workers);
    auto r = run_job(std::string(kHeader) + "workers: " + workers + R"(
fields: { k: k }
on_error: { action: dead_letter, dead_letter: { file: { path: /dev/null } }, max_record_bytes: 20 }
outputs:
  - name: total
    aggregate: { c: count() }
    to: console
)",
                     in);
    REQUIRE(r->rc == 0);
    REQUIRE(r->dead.size() == 2);
    REQUIRE_THAT(r->dead[0],
                 Catch::Contains(R"x("error":"record of 47 bytes exceeds max_record_bytes (20)")x"));
    REQUIRE_THAT(r->dead[0],
                 Catch::Contains(R"("payload":"{\"k\":\"bbbbbbbbbbbbbbbb","payload_truncated":true)"));
    REQUIRE_THAT(r->dead[1],
                 Catch::Contains(R"x("error":"record of 32 bytes exceeds max_record_bytes (20)")x"));
    REQUIRE_THAT(r->dead[1], !Catch::Contains("payload_truncated"));
  }
}

TEST_CASE("executor: a cut payload that ends inside a UTF-8 character stays text in its dead letter",
          "[executor]") {
  RawRecord r;
  r.payload = "ab\xC3\xA9\xE2\x82";  // "abé" and the first two bytes of "€"
  r.full_size = 100;
  r.line = 3;
  auto e = engine::BadRecords::entry_json("j", "", r, "too big", 0);
  REQUIRE_THAT(
      e, Catch::Contains("\"payload\":\"ab\xC3\xA9\",\"payload_truncated\":true,\"payload_bytes\":100"));
  // Not cut: invalid UTF-8 stays whole, as base64.
  r.full_size = -1;
  e = engine::BadRecords::entry_json("j", "", r, "bad", 0);
  REQUIRE_THAT(e, Catch::Contains("\"payload_base64\":\"YWLDqeKC\""));
  REQUIRE_THAT(e, !Catch::Contains("payload_truncated"));
}

TEST_CASE("executor: a dead letter longer than the sink takes has its payload cut and marked", "[executor]") {
  // A Kafka dead-letter topic takes at most message.max.bytes: the payload is cut so that the whole entry
  // fits, marked like a cut line, with the record's real size. Text that escapes longer, and base64, too.
  const size_t max = 1000;
  RawRecord r;
  r.topic = "tweets";
  r.partition = 2;
  r.offset = 77;
  for (const std::string& payload : {std::string(2000000, 'x'), std::string(5000, '\x01'),
                                     std::string(3000, '\xff'), std::string(990, 'y')}) {
    INFO("payload of " << payload.size() << " bytes, first byte " << int(uint8_t(payload[0])));
    r.payload = payload;
    auto e = engine::BadRecords::entry_json("j", "o", r, "record too big", 0, max);
    CHECK(e.size() <= max);
    CHECK(e.size() > max - 12);  // as much of the payload as fits (less a cut escape or base64 quantum)
    CHECK_THAT(
        e, Catch::Contains(",\"payload_truncated\":true,\"payload_bytes\":" + std::to_string(payload.size()) +
                           ",\"topic\":\"tweets\",\"partition\":2,"
                           "\"offset\":77,\"time\":\"1970-01-01T00:00:00.000Z\"}"));
    CHECK_THAT(e, Catch::StartsWith(R"({"job":"j","output":"o","error":"record too big","payload)"));
  }
  // An entry that fits is not touched; without a limit nothing is cut.
  const std::string fits(800, 'z'), big(2000000, 'x');  // RawRecord::payload is a view
  r.payload = fits;
  CHECK_THAT(engine::BadRecords::entry_json("j", "o", r, "e", 0, max), !Catch::Contains("payload_truncated"));
  r.payload = big;
  CHECK_THAT(engine::BadRecords::entry_json("j", "o", r, "e", 0), !Catch::Contains("payload_truncated"));
  // A line already cut by its source keeps its real size when cut again.
  r.full_size = 3000000;
  auto e = engine::BadRecords::entry_json("j", "o", r, "e", 0, max);
  CHECK(e.size() <= max);
  CHECK_THAT(e, Catch::Contains("\"payload_truncated\":true,\"payload_bytes\":3000000,"));
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

TEST_CASE("executor: a sum/avg argument that is not a number makes the record bad for that output only",
          "[executor]") {
  auto r = run_job(std::string(kHeader) + R"y(
fields: { v: v, k: k }
on_error: { action: dead_letter, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: agg
    aggregate: { s: sum(v), a: avg(v), n: count(), lo: min(v) }
    to: console
  - name: other
    aggregate: { n: count(), f: first(v) }
    to: console
  - name: split
    explode: { field: k, split: ",", as: e }
    select: { x: "coalesce(to_int(e), e)" }
    aggregate: { s: sum(x), n: count() }
    to: console
)y",
                   lines({R"({"v":1,"k":"1,2"})", R"({"v":"x","k":"3,y,4"})", R"({"v":2.5,"k":"5"})",
                          R"({"v":true})", R"({"v":[1]})", R"({"v":"3"})", R"({"v":null,"k":"6"})"}));
  REQUIRE(r->rc == 0);
  // Only 1, 2.5 and null count: the string, bool, list and numeric string are bad, so count() is 3 and min
  // sees numbers only.
  CHECK(r->sinks[0]->rows() ==
        std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",3.5,1.75,3,1])"});
  // The other output takes every record.
  CHECK(r->sinks[1]->rows() ==
        std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",7,1])"});
  // "3,y,4": the bad element leaves nothing of the record behind (not 3, not 4).
  CHECK(r->sinks[2]->rows() ==
        std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",14,4])"});
  auto& m = r->executor->metrics();
  CHECK(m.bad == 4);  // records bad in some output, each counted once ("x" is bad in two)
  CHECK(m.outputs[0]->bad == 4);
  CHECK(m.outputs[1]->bad == 0);
  CHECK(m.outputs[2]->bad == 1);
  REQUIRE(r->dead.size() == 5);
  CHECK_THAT(r->dead[0], Catch::Contains(R"("output":"agg","error":"sum(v): expects a number, got string")"));
  CHECK_THAT(r->dead[1],
             Catch::Contains(R"("output":"split","error":"sum(x): expects a number, got string")"));
  CHECK_THAT(r->dead[2], Catch::Contains("sum(v): expects a number, got bool"));
  CHECK_THAT(r->dead[3], Catch::Contains("sum(v): expects a number, got list"));
  CHECK_THAT(r->dead[4],
             Catch::Contains(R"("error":"sum(v): expects a number, got string","payload":"{\"v\":\"3\"}")"));
}

TEST_CASE("executor: a non-numeric avg argument with on_error stop stops the job", "[executor]") {
  auto r = run_job(std::string(kHeader) + R"(
on_error: { action: stop }
outputs:
  - name: all
    aggregate: { a: avg(v) }
    to: console
)",
                   lines({R"({"v":1})", R"({"v":"two"})"}));
  REQUIRE(r->rc == 1);
  CHECK_THAT(r->error, Catch::Contains("line 2, output 'all': avg(v): expects a number, got string"));
  CHECK(r->sinks[0]->batches.empty());
}

TEST_CASE("executor: a having that fails on a row drops it, logs and counts it, with stop the job stops",
          "[executor]") {
  const std::string outputs = R"(
fields: { k: k }
outputs:
  - name: g
    group_by: [k]
    aggregate: { n: count(), f: first(k) }
    having: "f > 1"
    to: console
  - name: top
    group_by: [k]
    aggregate: { n: count(), f: first(k) }
    having: "f > 1"
    order_by: [n desc]
    limit: 5
    to: console
)";
  auto in = lines({R"({"k":"a"})", R"({"k":2})"});
  auto r = run_job(std::string(kHeader) + outputs, in);
  REQUIRE(r->rc == 0);
  const std::vector<std::string> kept{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",2,1,2])"};
  CHECK(r->sinks[0]->rows() == kept);
  CHECK(r->sinks[1]->rows() == kept);  // having applied while the state selects the first N rows
  auto& m = r->executor->metrics();
  CHECK(m.outputs[0]->row_errors == 1);
  CHECK(m.outputs[1]->row_errors == 1);
  CHECK(m.bad == 0);  // a row is not a record

  auto stopped = run_job(std::string(kHeader) + "on_error: { action: stop }\n" + outputs, in);
  REQUIRE(stopped->rc == 1);
  CHECK_THAT(stopped->error, Catch::Contains("output 'g': having \"f > 1\": "));
  CHECK_THAT(stopped->error, Catch::Contains(R"(the row {"window_start":"2017-01-11T15:34:00.000Z",)"));
  CHECK_THAT(stopped->error, Catch::Contains("(on_error.action is stop)"));
  CHECK(stopped->sinks[0]->batches.empty());  // no sink gets the batch
  CHECK(stopped->sinks[1]->batches.empty());
}

TEST_CASE("executor: a Kafka key that fails on an aggregated row gives a null key, logged and counted",
          "[executor]") {
  const std::string body = R"(
fields: { k: k }
outputs:
  - name: g
    group_by: [k]
    aggregate: { n: count(), f: first(k) }
    to: { kafka: { brokers: "localhost:9092", topic: t, key: "f + 1" } }
)";
  auto in = lines({R"({"k":"a"})", R"({"k":2})"});
  auto r = run_job(std::string(kHeader) + body, in);
  REQUIRE(r->rc == 0);
  CHECK(
      r->sinks[0]->rows() ==
      std::vector<std::string>{R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z",2,1,2,3])",
                               R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:01.000Z","a",1,"a",null])"});
  CHECK(r->executor->metrics().outputs[0]->row_errors == 1);
  auto stopped = run_job(std::string(kHeader) + "on_error: { action: stop }\n" + body, in);
  REQUIRE(stopped->rc == 1);
  CHECK_THAT(stopped->error, Catch::Contains("output 'g': kafka key \"f + 1\": "));
  CHECK(stopped->sinks[0]->batches.empty());
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

TEST_CASE(
    "executor: an added output that reads an undeclared path keeps the state, a changed output is refused "
    "by name",
    "[executor]") {
  char tmpl[] = "/tmp/weir-exec-test.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string tot = std::string(kHeader) + R"(
fields: { k: k, v: v }
outputs:
  - name: t
    window: total
    group_by: [k]
    aggregate: { c: count() }
    to: console
)";
  auto first = run_job(tot, lines({R"({"k":"a"})", R"({"k":"b"})"}), 10, 0, 0, dir);
  REQUIRE(first->rc == 0);
  // Fields reordered, an output added whose where reads user.lang (not declared): accepted, totals go on.
  std::string added = tot + R"(  - name: english
    where: "user.lang = 'en'"
    aggregate: { c: count() }
    to: console
)";
  added.replace(added.find("{ k: k, v: v }"), 14, "{ v: v, k: k }");
  auto second = run_job(added, lines({R"({"k":"a","user":{"lang":"en"}})"}), 10, 0, 0, dir, kStart + 10000);
  INFO(second->error);
  REQUIRE(second->rc == 0);
  REQUIRE(second->sinks[0]->rows().back().find(R"("b",1])") != std::string::npos);
  REQUIRE(second->sinks[0]->rows().front().find(R"("a",2])") != std::string::npos);
  // t's group_by reads a new path: its keys change, and the error names t (not the job's source or fields).
  std::string keyed = added;
  keyed.replace(keyed.find("group_by: [k]"), 13, "group_by: [k, user.lang]");
  auto third = run_job(keyed, lines({R"({"k":"a"})"}), 10, 0, 0, dir, kStart + 20000);
  REQUIRE(third->rc != 0);
  REQUIRE_THAT(third->error, Catch::Contains("output(s) t changed"));
  std::filesystem::remove_all(dir);
}

namespace {

// What a checkpoint writer test sees, shared by the writer thread (the checkpoint hook) and the batch loop
// (the sink): every field under `mu`.
struct CheckpointLog {
  std::mutex mu;
  std::vector<uint64_t> durable;    // checkpoint batches, in the order they became durable
  std::vector<uint64_t> committed;  // batches the exactly-once sink took, in order
  std::vector<std::string> errors;  // protocol violations seen
  int writing = 0;                  // checkpoint writes in progress
  void error(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    errors.push_back(std::move(e));
  }
};

// A job whose one output has an exactly-once memory sink, checkpointed into a temporary directory through
// `write` (runs on the checkpoint writer thread).
struct CheckpointRun {
  config::Job job;
  engine::JobPlan plan;
  MemorySink* sink = nullptr;
  VectorSource* source = nullptr;
  std::unique_ptr<TestClock> clock;
  std::unique_ptr<engine::Executor> executor;
  std::string dir;
  int rc = -1;
  ~CheckpointRun() {
    executor.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

const char* kCountJob = R"(
batch: 1s
source: stdin
fields: { k: k }
outputs:
  - name: per-key
    window: total
    group_by: [k]
    aggregate: { c: count() }
    to: console
)";

std::unique_ptr<CheckpointRun> checkpoint_run(
    size_t records, CheckpointLog& log,
    std::function<Status(checkpoint::Store&, const checkpoint::Checkpoint&, size_t*)> write,
    std::function<std::unique_ptr<VectorSource>(std::vector<InputRecord>)> make_source = nullptr,
    int sink_failures = 0) {
  auto run = std::make_unique<CheckpointRun>();
  char tmpl[] = "/tmp/weir-exec-ckpt.XXXXXX";
  run->dir = mkdtemp(tmpl);
  auto loaded = config::load_job_text(kCountJob, "test.yaml");
  for (const auto& e : loaded.errors) FAIL(e.format());
  run->job = *loaded.job;
  auto compiled = engine::compile(run->job);
  for (const auto& e : compiled.errors) FAIL(e);
  run->plan = *compiled.plan;
  std::vector<InputRecord> in;
  for (size_t i = 0; i < records; ++i) in.push_back({"{\"k\":\"k" + std::to_string(i % 7) + "\"}", 0});
  engine::Connectors conn;
  auto source = make_source ? make_source(std::move(in)) : std::make_unique<VectorSource>(std::move(in));
  run->source = source.get();
  conn.source = std::move(source);
  auto sink = std::make_unique<MemorySink>(sink_failures, /*exactly_once=*/true);
  sink->on_write = [&log](const BatchOutput& b) {
    std::lock_guard<std::mutex> lock(log.mu);
    bool durable = false;
    for (uint64_t d : log.durable) durable = durable || d >= b.batch_id;
    if (!durable) log.errors.push_back("batch " + std::to_string(b.batch_id) + " committed before durable");
    log.committed.push_back(b.batch_id);
  };
  run->sink = sink.get();
  conn.sinks.emplace_back();
  conn.sinks.back().push_back(std::move(sink));
  run->clock = std::make_unique<TestClock>(kStart, 10);  // 100 records per 1 s batch
  engine::ExecutorOptions opts;
  opts.checkpoint_dir = run->dir;
  opts.checkpoint_write = std::move(write);
  run->executor = std::make_unique<engine::Executor>(run->job, run->plan, std::move(conn), *run->clock, opts);
  return run;
}

// Holds back record i (0-based) until `may_read(i)` (at most 5 s), so a test decides how far the loop may
// read while a checkpoint is written (a loop on a test clock otherwise races through its input, and a
// writer thread scheduled late on a busy machine sees a different picture).
class GatedSource : public VectorSource {
 public:
  GatedSource(std::vector<InputRecord> in, std::function<bool(int64_t)> may_read)
      : VectorSource(std::move(in)), may_read_(std::move(may_read)) {}
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline, size_t max) override {
    int64_t next = positions()[0].offset;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!may_read_(next) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return VectorSource::poll(h, deadline, max);
  }

 private:
  std::function<bool(int64_t)> may_read_;
};

bool durable(CheckpointLog& log, uint64_t batch) {
  std::lock_guard<std::mutex> lock(log.mu);
  return std::find(log.durable.begin(), log.durable.end(), batch) != log.durable.end();
}

// Writes the checkpoint and, once it is durable, logs its batch (on the writer thread).
Status write_logged(CheckpointLog& log, checkpoint::Store& store, const checkpoint::Checkpoint& c,
                    size_t* bytes) {
  Status s = store.write(c, bytes);
  std::lock_guard<std::mutex> lock(log.mu);
  if (s.is_ok()) log.durable.push_back(c.batch);
  return s;
}

// A checkpoint write (on the writer thread) that holds C_1 until the loop has read `records` records (at
// most 5 s), then writes and logs what became durable.
Status write_c1_after(uint64_t records, const std::atomic<const engine::JobMetrics*>& metrics,
                      CheckpointLog& log, checkpoint::Store& store, const checkpoint::Checkpoint& c,
                      size_t* bytes) {
  const auto* m = metrics.load();
  if (c.batch == 1) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (m->records_in.load() < records && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return write_logged(log, store, c, bytes);
}

// The counts of the last total-window emission the sink took, as "key=count" in key order.
std::vector<std::string> last_totals(const MemorySink& sink) {
  std::vector<std::string> out;
  if (sink.batches.empty() || sink.batches.back().emissions.empty()) return out;
  for (const auto& row : sink.batches.back().emissions.back().rows) {
    out.push_back(row[2].as_string() + "=" + std::to_string(row[3].as_int()));
  }
  return out;
}

}  // namespace

TEST_CASE(
    "executor: the batch loop reads on while a checkpoint is written, and exactly-once sinks commit a batch "
    "only once its checkpoint is durable",
    "[executor][checkpoint]") {
  CheckpointLog log;
  std::atomic<const engine::JobMetrics*> metrics{nullptr};
  std::vector<int64_t> read_while_writing;  // per checkpoint: records of the next batch read during the write
  auto run = checkpoint_run(
      450, log,
      [&](checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes) -> Status {
        {
          std::lock_guard<std::mutex> lock(log.mu);
          if (++log.writing > 1) log.errors.push_back("two checkpoint writes at once");
          // The protocol per batch: C_b is written only after C_{b-1}'s batches are committed.
          if (c.batch > 1 && (log.committed.empty() || log.committed.back() != c.batch - 1))
            log.errors.push_back("checkpoint " + std::to_string(c.batch) + " before batch " +
                                 std::to_string(c.batch - 1) + " was committed");
        }
        // A slow disk: the write of batch 1 and 2 takes until the loop has read 50 records of the next
        // batch (at most 5 s; a loop that waits for the write never gets there). The source holds those
        // 50 back until the write is done, so the figure does not depend on thread scheduling.
        const auto* m = metrics.load();
        int64_t batch_end = 100 * static_cast<int64_t>(c.batch);
        if (c.batch <= 2) {
          auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
          while (static_cast<int64_t>(m->records_in.load()) < batch_end + 50 &&
                 std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        Status s = store.write(c, bytes);
        std::lock_guard<std::mutex> lock(log.mu);
        read_while_writing.push_back(static_cast<int64_t>(m->records_in.load()) - batch_end);
        if (s.is_ok()) log.durable.push_back(c.batch);
        --log.writing;
        return s;
      },
      [&](std::vector<InputRecord> in) {  // records 150-199 wait for C_1, 250-299 for C_2
        return std::make_unique<GatedSource>(std::move(in), [&](int64_t i) {
          int64_t b = i / 100;
          return b < 1 || b > 2 || i % 100 < 50 || durable(log, static_cast<uint64_t>(b));
        });
      });
  metrics = &run->executor->metrics();
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  REQUIRE(run->rc == 0);
  std::lock_guard<std::mutex> lock(log.mu);
  REQUIRE(log.errors.empty());
  // 450 records, 100 per batch: batches 1-5, each checkpointed and then committed once, in order.
  REQUIRE(log.durable == std::vector<uint64_t>{1, 2, 3, 4, 5});
  REQUIRE(log.committed == std::vector<uint64_t>{1, 2, 3, 4, 5});
  // While C_1 and C_2 were written the loop read on: 50 records of the next batch.
  REQUIRE(read_while_writing.size() == 5);
  REQUIRE(read_while_writing[0] >= 50);
  REQUIRE(read_while_writing[1] >= 50);
  REQUIRE(last_totals(*run->sink) ==
          std::vector<std::string>{"k0=65", "k1=65", "k2=64", "k3=64", "k4=64", "k5=64", "k6=64"});
  // The batch loop's pause was measured; only the newest checkpoint is kept.
  REQUIRE(run->executor->metrics().checkpoint_pause.count.load() == 5);
  REQUIRE(run->executor->metrics().checkpoint_bytes.load() > 0);
  checkpoint::Store store(run->dir);
  auto files = store.files();
  REQUIRE(files.size() == 1);
  REQUIRE(files[0].batch == 5);
}

TEST_CASE(
    "executor: batch b is committed at the loop's next poll once C_b is durable, not at the next batch "
    "close",
    "[executor][checkpoint]") {
  CheckpointLog log;
  std::atomic<const engine::JobMetrics*> metrics{nullptr};
  std::vector<uint64_t> read_at_commit;
  auto run = checkpoint_run(
      250, log,
      [&](checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes) {
        return write_c1_after(130, metrics, log, store, c, bytes);
      },
      [&](std::vector<InputRecord> in) {  // record 131 waits until C_1 is durable
        return std::make_unique<GatedSource>(std::move(in),
                                             [&](int64_t i) { return i < 130 || durable(log, 1); });
      });
  metrics = &run->executor->metrics();
  run->sink->on_write = [&, inner = run->sink->on_write](const BatchOutput& b) {
    inner(b);
    read_at_commit.push_back(metrics.load()->records_in.load());
  };
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  REQUIRE(run->rc == 0);
  REQUIRE(log.errors.empty());
  REQUIRE(log.committed == std::vector<uint64_t>{1, 2, 3});
  // Batch 1 (records 1-100) went to the sink while batch 2 (records 101-200) was being read.
  REQUIRE(read_at_commit[0] >= 130);
  REQUIRE(read_at_commit[0] < 200);
}

TEST_CASE(
    "executor: a checkpoint that cannot be written (disk full) is retried with the source paused, and "
    "nothing is committed until it is written",
    "[executor][checkpoint]") {
  CheckpointLog log;
  int failures = 0;  // writer thread only
  auto run =
      checkpoint_run(250, log, [&](checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes) {
        if (c.batch == 2 && failures < 3) {
          ++failures;
          return Status::retryable("cannot write ckpt: No space left on device");
        }
        return write_logged(log, store, c, bytes);
      });
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  REQUIRE(run->rc == 0);
  REQUIRE(failures == 3);
  REQUIRE(log.errors.empty());
  REQUIRE(log.durable == std::vector<uint64_t>{1, 2, 3});
  REQUIRE(log.committed == std::vector<uint64_t>{1, 2, 3});
  // Paused once for the whole outage, kept alive while waiting (backoff 100 + 200 + 400 ms), resumed.
  REQUIRE(run->source->pauses == 1);
  REQUIRE(run->source->resumes == 1);
  REQUIRE(run->source->keepalives >= 10);
  REQUIRE(last_totals(*run->sink) ==
          std::vector<std::string>{"k0=36", "k1=36", "k2=36", "k3=36", "k4=36", "k5=35", "k6=35"});
}

// A consumer-group member whose partitions are revoked in the first keepalive (as librdkafka runs the
// rebalance callback inside any consume call): the engine must take the revocation and commit what it read
// before it polls again (the poll hands the partitions over).
class RevokingSource : public GatedSource {
 public:
  using GatedSource::GatedSource;
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline, size_t max) override {
    if (revoke_pending_) violations.push_back("polled before the engine took the revocation");
    if (read_at_revoke_ >= 0 && (acked.empty() || acked[0].offset < read_at_revoke_))
      violations.push_back("partitions handed over before the records read from them were committed");
    read_at_revoke_ = -1;
    return GatedSource::poll(h, deadline, max);
  }
  void keepalive() override {
    VectorSource::keepalive();
    if (!revoked_once_) revoke_pending_ = revoked_once_ = true;
  }
  bool take_rebalanced() override {
    if (!revoke_pending_) return false;
    revoke_pending_ = false;
    read_at_revoke_ = positions()[0].offset;
    return true;
  }
  std::vector<std::string> violations;
  bool revoked_once_ = false;

 private:
  bool revoke_pending_ = false;
  int64_t read_at_revoke_ = -1;
};

TEST_CASE(
    "executor: a revocation that arrives while a sink is retried is committed before the next poll hands "
    "the partitions over",
    "[executor][checkpoint]") {
  CheckpointLog log;
  std::atomic<const engine::JobMetrics*> metrics{nullptr};
  RevokingSource* src = nullptr;
  auto run = checkpoint_run(
      250, log,
      [&](checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes) {
        // C_1 stays in flight until the loop has read 30 records of batch 2, so it is committed mid-batch.
        return write_c1_after(130, metrics, log, store, c, bytes);
      },
      [&](std::vector<InputRecord> in) {
        auto s = std::make_unique<RevokingSource>(std::move(in),
                                                  [&](int64_t i) { return i < 130 || durable(log, 1); });
        src = s.get();
        return s;
      },
      /*sink_failures=*/1);  // the commit of batch 1 is retried: keepalives meanwhile
  metrics = &run->executor->metrics();
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  REQUIRE(run->rc == 0);
  REQUIRE(src->revoked_once_);
  REQUIRE(src->violations.empty());
  REQUIRE(log.errors.empty());
  REQUIRE(run->sink->failures == 1);
  REQUIRE(last_totals(*run->sink) ==
          std::vector<std::string>{"k0=36", "k1=36", "k2=36", "k3=36", "k4=36", "k5=35", "k6=35"});
}

TEST_CASE("executor: a checkpoint write that fails for good stops the job without committing its batch",
          "[executor][checkpoint]") {
  CheckpointLog log;
  auto run =
      checkpoint_run(250, log, [&](checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes) {
        if (c.batch == 2) return Status::fatal("cannot create ckpt: Permission denied");
        return write_logged(log, store, c, bytes);
      });
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  REQUIRE(run->rc == 1);
  REQUIRE_THAT(run->executor->error(), Catch::Contains("checkpoint: cannot create ckpt: Permission denied"));
  REQUIRE(log.errors.empty());
  REQUIRE(log.committed == std::vector<uint64_t>{1});
  // The source acknowledged batch 1's end only.
  REQUIRE(run->source->acked == Positions{{"input", 100, 0}});
}

namespace {

// A job whose every sink is an exactly-once memory sink (in place of the job file's sinks), checkpointed in
// `dir`. `committed`: what each sink reports as committed at start (a fresh sink: 0).
struct KeyedRun {
  config::Job job;
  engine::JobPlan plan;
  std::vector<std::vector<MemorySink*>> sinks;  // per output, per sink
  std::unique_ptr<TestClock> clock;
  std::unique_ptr<engine::Executor> executor;
  int rc = -1;
  std::string error;

  // The message key sink `s` of output `o` gives each row it took, in order, as the Kafka sink reads it
  // (engine::OutputPlan::key_column, a column past the row's end: no key): "-" for no key.
  std::vector<std::string> keys(size_t o, size_t s) const {
    std::vector<std::string> out;
    const int col = plan.outputs[o].key_column(s);
    for (const auto& b : sinks[o][s]->batches) {
      for (const auto& e : b.emissions) {
        for (const auto& r : e.rows) {
          const bool has = col >= 0 && static_cast<size_t>(col) < r.size() && !r[col].is_null();
          out.push_back(has ? r[col].to_display() : "-");
        }
      }
    }
    return out;
  }
};

std::unique_ptr<KeyedRun> run_keyed(const std::string& yaml, std::vector<InputRecord> input,
                                    const std::string& dir, int64_t start_ms, uint64_t committed = 0) {
  auto run = std::make_unique<KeyedRun>();
  load_job(yaml, run->job, run->plan);
  engine::Connectors conn;
  conn.source = std::make_unique<VectorSource>(std::move(input));
  for (const auto& o : run->job.outputs) {
    run->sinks.emplace_back();
    conn.sinks.emplace_back();
    for (size_t s = 0; s < o.sinks.size(); ++s) {
      auto sink = std::make_unique<MemorySink>(0, /*exactly_once=*/true);
      sink->set_committed(committed);
      run->sinks.back().push_back(sink.get());
      conn.sinks.back().push_back(std::move(sink));
    }
  }
  run->clock = std::make_unique<TestClock>(start_ms, 10);
  engine::ExecutorOptions opts;
  opts.checkpoint_dir = dir;
  run->executor = std::make_unique<engine::Executor>(run->job, run->plan, std::move(conn), *run->clock, opts);
  engine::StopFlag stop{0};
  run->rc = run->executor->run(stop);
  run->error = run->executor->error();
  return run;
}

const char* kKeyedPassThrough = R"yaml(
batch: 1s
source: stdin
fields: { a: a, b: b }
outputs:
  - name: p
    to:
      - { kafka: { brokers: "localhost:9092", topic: t1, key: a, exactly_once: true } }
      - { kafka: { brokers: "localhost:9092", topic: t2, key: "upper(b)", exactly_once: true } }
)yaml";

std::string edited(std::string yaml, const std::string& from, const std::string& to) {
  const size_t at = yaml.find(from);
  REQUIRE(at != std::string::npos);
  return yaml.replace(at, from.size(), to);
}

}  // namespace

// The rows a checkpoint holds for sinks that may not have committed them are written again on start (to the
// exactly-once sinks; here fresh sinks: a crash after the checkpoint, before the commit). They carry a hidden
// column per keyed Kafka sink: an edit of the keys must never make a sink read another key's column.
TEST_CASE("executor: restored pass-through rows keep each Kafka sink's key across key edits",
          "[executor][checkpoint]") {
  char tmpl[] = "/tmp/weir-exec-test.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto in = lines({R"({"a":"x1","b":"y1"})", R"({"a":"x2","b":"y2"})"});
  auto first = run_keyed(kKeyedPassThrough, in, dir, kStart);
  REQUIRE(first->rc == 0);
  REQUIRE(first->keys(0, 0) == std::vector<std::string>{"x1", "x2"});
  REQUIRE(first->keys(0, 1) == std::vector<std::string>{"Y1", "Y2"});

  SECTION("the first sink's key removed: the second keeps its own key") {
    auto r =
        run_keyed(edited(kKeyedPassThrough, "topic: t1, key: a,", "topic: t1,"), {}, dir, kStart + 10000);
    INFO(r->error);
    REQUIRE(r->rc == 0);
    CHECK(r->keys(0, 0) == std::vector<std::string>{"-", "-"});
    CHECK(r->keys(0, 1) == std::vector<std::string>{"Y1", "Y2"});
  }
  SECTION("the sinks swapped: each key goes with its expression") {
    std::string swapped = edited(kKeyedPassThrough, "topic: t1, key: a,", "topic: t1, key: \"upper(b)\",");
    swapped = edited(swapped, "topic: t2, key: \"upper(b)\",", "topic: t2, key: a,");
    auto r = run_keyed(swapped, {}, dir, kStart + 10000);
    INFO(r->error);
    REQUIRE(r->rc == 0);
    CHECK(r->keys(0, 0) == std::vector<std::string>{"Y1", "Y2"});
    CHECK(r->keys(0, 1) == std::vector<std::string>{"x1", "x2"});
  }
  SECTION("a key changed: the rows cannot get it (the records are gone), so the start is refused") {
    auto r = run_keyed(edited(kKeyedPassThrough, "key: a,", "key: b,"), {}, dir, kStart + 10000);
    REQUIRE(r->rc == 1);
    CHECK_THAT(r->error, Catch::Contains("output 'p'"));
    CHECK_THAT(r->error, Catch::Contains("key \"b\""));
    CHECK_THAT(r->error, Catch::Contains("topic t1"));
    CHECK(r->sinks[0][0]->batches.empty());
    CHECK(r->sinks[0][1]->batches.empty());
  }
  SECTION("a key changed while every sink has the rows already: accepted") {
    auto r = run_keyed(edited(kKeyedPassThrough, "key: a,", "key: b,"), {}, dir, kStart + 10000,
                       /*committed=*/1);
    INFO(r->error);
    REQUIRE(r->rc == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("executor: restored aggregated rows get each Kafka sink's key computed over the row",
          "[executor][checkpoint]") {
  char tmpl[] = "/tmp/weir-exec-test.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  const std::string job = R"(
batch: 1s
source: stdin
fields: { a: a }
outputs:
  - name: g
    group_by: [a]
    aggregate: { n: count() }
    to:
      - { kafka: { brokers: "localhost:9092", topic: t1, key: a, exactly_once: true } }
)";
  auto first = run_keyed(job, lines({R"({"a":"x1"})", R"({"a":"x2"})"}), dir, kStart);
  REQUIRE(first->rc == 0);
  REQUIRE(first->keys(0, 0) == std::vector<std::string>{"x1", "x2"});
  // A second keyed sink before it, and its key changed.
  const std::string two = edited(job, "      - { kafka: { brokers: \"localhost:9092\", topic: t1, key: a,",
                                 "      - { kafka: { brokers: \"localhost:9092\", topic: t0, key: \"n + 1\", "
                                 "exactly_once: true } }\n"
                                 "      - { kafka: { brokers: \"localhost:9092\", topic: t1, key: upper(a),");
  auto r = run_keyed(two, {}, dir, kStart + 10000);
  INFO(r->error);
  REQUIRE(r->rc == 0);
  CHECK(r->keys(0, 0) == std::vector<std::string>{"2", "2"});
  CHECK(r->keys(0, 1) == std::vector<std::string>{"X1", "X2"});
  std::filesystem::remove_all(dir);
}

// A hung disk (docs/operations.md, stopping): a graceful stop waits for the checkpoint in flight; a hard stop
// (a second SIGTERM) gives up on it after 1 s, and the checkpoint never appears.
TEST_CASE("executor: a hard stop does not wait for a hung checkpoint write", "[executor][checkpoint]") {
  CheckpointLog log;
  std::atomic<bool> hung{false}, release{false}, returned{false};
  auto run =
      checkpoint_run(250, log, [&](checkpoint::Store& store, const checkpoint::Checkpoint& c, size_t* bytes) {
        Status st = Status::ok();
        if (c.batch == 2) {
          hung = true;
          for (int i = 0; i < 500 && !release; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          st = write_logged(log, store, c, bytes);
          returned = true;
          return st;
        }
        return write_logged(log, store, c, bytes);
      });
  engine::StopFlag stop{0};
  std::atomic<bool> done{false};
  std::thread t([&] {
    run->rc = run->executor->run(stop);
    done = true;
  });
  while (!hung) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = 1;  // graceful: waits for the checkpoint
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(done);
  const auto t0 = std::chrono::steady_clock::now();
  stop = 2;  // hard: does not
  while (!done && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto took = std::chrono::steady_clock::now() - t0;
  release = true;
  t.join();
  // kHardStopCheckpointMs (1 s) for the disk, then at once.
  CHECK(took >= std::chrono::milliseconds(engine::Executor::kHardStopCheckpointMs));
  CHECK(took < std::chrono::milliseconds(engine::Executor::kHardStopCheckpointMs + 1000));
  CHECK(run->rc == 1);
  CHECK_THAT(run->executor->error(), Catch::Contains("checkpoint for batch 2 was being written (abandoned)"));
  for (int i = 0; i < 500 && !returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(returned);
  // Batch 1 is committed and its checkpoint is the newest; batch 2's never appears.
  CHECK(log.errors.empty());
  CHECK(log.committed == std::vector<uint64_t>{1});
  CHECK(log.durable == std::vector<uint64_t>{1});
  auto files = checkpoint::Store(run->dir).list();
  REQUIRE(files.size() == 1);
  CHECK(files[0].batch == 1);
  CHECK(files[0].checkpoint);
  CHECK(run->source->acked == Positions{{"input", 100, 0}});
}
