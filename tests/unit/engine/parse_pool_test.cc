// Parse-ahead (`workers` > 1, engine/parse_pool.h): the same job over the same input gives exactly the
// same rows, dead letters and counts as the single-threaded path, whatever the chunking.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "config/explain.h"
#include "config/load.h"
#include "engine/executor.h"
#include "engine/parse_pool.h"
#include "memory_connectors.h"
#include "pool_harness.h"

using namespace weir;
using namespace pool_test;
using weir::testing::MemorySink;

namespace {

// Tweets-like records over 3 partitions, event times mostly rising with some out of order (late), and
// every kind of bad record: malformed JSON, a missing required field, wrong types, a bad event time, a
// tombstone, an oversized record, invalid UTF-8, a record whose expression fails in one output only.
std::vector<Rec> make_input(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Rec> v;
  v.reserve(n);
  const char* langs[] = {"en", "es", "de", "ja"};
  int64_t ts = 1000;
  for (size_t i = 0; i < n; ++i) {
    Rec r;
    r.partition = static_cast<int32_t>(rng() % 3);
    r.offset = static_cast<int64_t>(i);
    r.timestamp_ms = kStart + static_cast<int64_t>(i);
    if (rng() % 5 != 0) r.key = "k" + std::to_string(rng() % 50);
    ts += static_cast<int64_t>(rng() % 40);
    int64_t t = ts;
    if (rng() % 40 == 0) t -= 30000;  // far behind: late
    std::string user = "u" + std::to_string(rng() % 200);
    int64_t followers = static_cast<int64_t>(rng() % 10000);
    int64_t div = static_cast<int64_t>(rng() % 20);  // 0: division by zero in output `ratio`
    switch (rng() % 60) {
      case 0:
        r.payload = "{\"ts\":" + std::to_string(t) + ",\"user\":{\"name\":\"" + user;  // truncated
        break;
      case 1:
        r.payload = "{\"ts\":" + std::to_string(t) + "}";  // user.name required
        break;
      case 2:
        r.payload = "{\"ts\":" + std::to_string(t) + ",\"user\":{\"name\":\"" + user +
                    "\",\"followers\":\"many\"}}";  // not an int
        break;
      case 3:
        r.payload = "{\"ts\":\"yesterday\",\"user\":{\"name\":\"" + user + "\"}}";  // bad event time
        break;
      case 4:
        r.null_payload = true;
        break;
      case 5:
        r.payload = "{\"ts\":" + std::to_string(t) + ",\"user\":{\"name\":\"" + user + "\"},\"pad\":\"" +
                    std::string(300, 'x') + "\"}";  // above max_record_bytes
        break;
      case 6:
        r.payload = "{\"ts\":" + std::to_string(t) + ",\"user\":{\"name\":\"\xff\xfe\"}}";
        break;
      case 7:
        r.payload = "[1,2,3]";
        break;
      default: {
        std::string lang = rng() % 7 == 0 ? "null" : std::string("\"") + langs[rng() % 4] + "\"";
        r.payload = "{\"ts\":" + std::to_string(t) + ",\"user\":{\"name\":\"" + user +
                    "\",\"followers\":" + std::to_string(followers) + "},\"lang\":" + lang +
                    ",\"div\":" + std::to_string(div) + ",\"tags\":[\"a\",\"b" + std::to_string(rng() % 3) +
                    "\"]}";
      }
    }
    v.push_back(std::move(r));
  }
  return v;
}

const char* kEventJob = R"yaml(
batch: 1s
source: stdin
time: { event: ts, lateness: 2s, idle: 1h }
fields:
  ts: { path: ts, type: time, format: epoch_ms }
  user: { path: user.name, required: true }
  followers: { path: user.followers, type: int }
  lang: lang
  div: { path: div, type: int }
  tags: { path: "tags[*]" }
on_error:
  action: dead_letter
  late: dead_letter
  max_record_bytes: 250
  dead_letter: { file: { path: /dev/null } }
outputs:
  - name: per-lang
    window: { tumbling: 10s }
    group_by: [lang]
    aggregate: { n: count(), f: sum(followers), users: count_distinct(user) }
    to: console
  - name: ratio
    where: "followers > 5000"
    select: { user: user, r: "followers / div", p: _partition, o: _offset, k: _key, topic: _topic }
    to: console
  - name: meta
    where: "lang == 'ja'"
    select: { ts: _timestamp, user: user, tags: tags, raw_len: "length(_raw)" }
    to: console
)yaml";

}  // namespace

TEST_CASE("parse pool: workers 2-4 give exactly the rows, dead letters and counts of workers 1", "[pool]") {
  auto input = make_input(30000, 7);
  for (size_t per_poll : {size_t(1), size_t(777), size_t(5000)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(kEventJob, input, 1, o);
    REQUIRE(one.rc == 0);
    REQUIRE(one.workers == 1);
    // The input exercises what it should.
    REQUIRE(one.in == input.size());
    REQUIRE(one.bad > 1000);
    REQUIRE(one.late > 100);
    REQUIRE(one.out_bad[1] > 0);  // division by zero in `ratio` only
    REQUIRE(one.rows[0].size() > 100);
    REQUIRE(one.rows[2].size() > 100);
    for (int w : {2, 3, 4}) {
      INFO("per_poll " << per_poll << ", workers " << w);
      Result many = run(kEventJob, input, w, o);
      REQUIRE(many.workers == w);
      require_same(one, many);
    }
  }
}

TEST_CASE("parse pool: processing time, idleness and several batches per run are the same", "[pool]") {
  // Processing time: the batch is chosen by the (test) clock, which moves per record read; with bursts of
  // 3001 records, a batch ends in the middle of a chunk. The `idle` check uses each record's read time.
  auto input = make_input(20000, 11);
  const std::string proc = R"(
batch: 2s
source: stdin
fields: { user: { path: user.name, required: true }, lang: lang, followers: { path: user.followers, type: int } }
on_error: { action: dead_letter, max_record_bytes: 250, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: n
    group_by: [lang]
    aggregate: { n: count(), f: max(followers) }
    to: console
  - name: total
    window: total
    aggregate: { n: count() }
    to: console
)";
  std::string idle = kEventJob;
  idle.replace(idle.find("idle: 1h"), 8, "idle: 3s");
  for (const std::string* job : std::initializer_list<const std::string*>{&proc, &idle}) {
    Options o;
    o.per_poll = 3001;
    o.step_ms = 1;
    Result one = run(*job, input, 1, o);
    REQUIRE(one.rc == 0);
    REQUIRE(one.batch_ids[0].size() > 5);
    for (int w : {2, 4}) {
      INFO("workers " << w);
      require_same(one, run(*job, input, w, o));
    }
  }
}

// Three partitions in step; now and then partition 2 falls silent for 700-1300 records (the test clock
// moves 1 ms per record, `idle` is 1 s) and then sends a straggler 2 s behind its own last record. The
// straggler is late exactly when partition 2 was idle before it (the others then moved the watermark on),
// so the late records pin down at which record each idleness began: with parse threads, a record's
// idleness must still be judged at the time it was read, not when the batch loop got its chunk back.
std::vector<Rec> make_idle_input(uint32_t seed, size_t& stragglers) {
  std::mt19937 rng(seed);
  std::vector<Rec> v;
  int64_t i = 0, last2 = 0;
  auto push = [&](int32_t partition, int64_t ts) {
    Rec r;
    r.partition = partition;
    r.offset = i;
    r.payload = "{\"ts\":" + std::to_string(ts) + ",\"v\":" + std::to_string(i) + "}";
    v.push_back(std::move(r));
    ++i;
  };
  while (v.size() < 40000) {
    for (int64_t n = 200 + rng() % 200; n > 0; --n) {
      int32_t p = static_cast<int32_t>(i % 3);
      int64_t ts = kStart + i * 10;
      if (p == 2) last2 = ts;
      push(p, ts);
    }
    for (int64_t n = 700 + rng() % 600; n > 0; --n) push(static_cast<int32_t>(i % 2), kStart + i * 10);
    push(2, last2 - 2000);
    ++stragglers;
  }
  return v;
}

const char* kIdleJob = R"yaml(
batch: 1s
source: stdin
time: { event: ts, lateness: 3s, idle: 1s }
fields:
  ts: { path: ts, type: time, format: epoch_ms }
  v: { path: v, type: int, required: true }
on_error: { late: dead_letter, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: per-partition
    window: { tumbling: 1s }
    group_by: [_partition]
    aggregate: { n: count(), s: sum(v) }
    to: console
)yaml";

TEST_CASE("parse pool: event time with idle partitions and late stragglers is the same", "[pool]") {
  size_t stragglers = 0;
  auto input = make_idle_input(5, stragglers);
  Options o;
  o.step_ms = 1;
  o.per_poll = 1;
  std::string never_idle = kIdleJob;
  never_idle.replace(never_idle.find("idle: 1s"), 8, "idle: 1h");
  // The input does what it should: without idleness no straggler is late; with it, some are and some not.
  Result held = run(never_idle, input, 1, o);
  REQUIRE(held.rc == 0);
  REQUIRE(held.late == 0);
  for (size_t per_poll : {size_t(1), size_t(777), size_t(3001)}) {
    o.per_poll = per_poll;
    Result one = run(kIdleJob, input, 1, o);
    REQUIRE(one.rc == 0);
    INFO("late " << one.late << " of " << stragglers << " stragglers");
    REQUIRE(one.late > stragglers / 5);
    REQUIRE(one.late < stragglers * 4 / 5);
    for (int w : {2, 3}) {
      INFO("per_poll " << per_poll << ", workers " << w);
      require_same(one, run(kIdleJob, input, w, o));
    }
  }
}

TEST_CASE("parse pool: the records a poll read are counted in the batch it ends, up to the checkpoint",
          "[pool]") {
  // Each poll reads 2500 records (a full chunk of 2048 and a partial one) and moves the test clock by
  // exactly one batch: every batch holds exactly one poll's records, and its checkpoint's positions are
  // right after them. Without consuming the partial chunk before the batch closes, the last 452 records
  // of every poll would be counted in the next batch and fall outside the checkpoint.
  std::vector<Rec> input;
  for (int i = 0; i < 10000; ++i) input.push_back(rec("{\"a\":" + std::to_string(i) + "}"));
  auto dir =
      std::filesystem::temp_directory_path() /
      ("weir-pool-test-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  Options o;
  o.per_poll = 2500;
  o.step_ms = 1;
  o.checkpoint_dir = dir.string();
  Result r = run(R"(
batch: 2500ms
source: stdin
fields: { a: { path: a, type: int } }
outputs:
  - name: n
    aggregate: { n: count(), s: sum(a) }
    to: console
)",
                 input, 2, o);
  std::filesystem::remove_all(dir);
  REQUIRE(r.rc == 0);
  REQUIRE(r.workers == 2);
  REQUIRE(r.rows[0] == std::vector<std::string>{
                           R"(["2017-01-11T15:34:00.000Z","2017-01-11T15:34:02.500Z",2500,3123750])",
                           R"(["2017-01-11T15:34:02.500Z","2017-01-11T15:34:05.000Z",2500,9373750])",
                           R"(["2017-01-11T15:34:05.000Z","2017-01-11T15:34:07.500Z",2500,15623750])",
                           R"(["2017-01-11T15:34:07.500Z","2017-01-11T15:34:10.000Z",2500,21873750])"});
  REQUIRE(r.batch_input[0] == std::vector<int64_t>{2500, 5000, 7500, 10000});
}

TEST_CASE("parse pool: on_error stop stops at the same record with the same message", "[pool]") {
  // The first 5000 records are good, so the first bad one is in the middle of a poll of 3000 and of the
  // third chunk; the records after it in that poll are read (and counted) but not processed.
  auto input = make_input(8000, 3);
  for (size_t i = 0; i < 5000; ++i) {
    input[i].null_payload = false;
    input[i].payload = "{\"ts\":" + std::to_string(1000 + i) +
                       ",\"user\":{\"name\":\"u\",\"followers\":1},\"lang\":\"en\",\"div\":1,\"tags\":[]}";
  }
  std::string job = kEventJob;
  job.replace(job.find("action: dead_letter"), 19, "action: stop");
  Options o;
  o.per_poll = 3000;
  Result one = run(job, input, 1, o);
  REQUIRE(one.rc == 1);
  REQUIRE_THAT(one.error, Catch::Contains("on_error.action is stop"));
  size_t at = one.error.find("offset ");
  REQUIRE(at != std::string::npos);
  REQUIRE(std::stoi(one.error.substr(at + 7)) >= 5000);
  REQUIRE(one.in == 6000);
  for (int w : {2, 3}) {
    INFO("workers " << w);
    require_same(one, run(job, input, w, o));
  }
}

TEST_CASE("parse pool: a stop while the workers run ends the job without losing a record", "[pool]") {
  // An endless source on the system clock; stop after a while. Every record read is in a batch that was
  // written (graceful stop: the batch in flight is closed and checkpointed).
  std::vector<Rec> input;
  for (int i = 0; i < 5000; ++i) input.push_back(rec("{\"a\":1,\"b\":\"" + std::string(i % 50, 'y') + "\"}"));
  auto dir =
      std::filesystem::temp_directory_path() /
      ("weir-pool-stop-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int signal : {1, 2}) {
    INFO("stop level " << signal);
    Options o;
    o.per_poll = 1000;
    o.manual_clock = false;
    o.endless = true;
    o.checkpoint_dir = dir.string();
    o.stopper = [signal](engine::StopFlag& stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      stop.store(signal);
    };
    auto t0 = std::chrono::steady_clock::now();
    Result r = run(R"(
batch: 100ms
source: stdin
fields: { a: { path: a, type: int }, b: b }
outputs:
  - name: n
    aggregate: { n: count() }
    to: console
)",
                   input, 3, o);
    std::filesystem::remove_all(dir);
    REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    REQUIRE(r.rc == 0);
    REQUIRE(r.in > 1000);
    uint64_t counted = 0;
    for (const auto& row : r.rows[0]) counted += std::stoull(row.substr(row.rfind(',') + 1));
    REQUIRE(counted == r.in);
    REQUIRE(r.batch_input[0].back() == static_cast<int64_t>(r.in));
  }
}

TEST_CASE("parse pool: chunks keep each record's metadata and recycle their buffers", "[pool]") {
  config::Job job;
  job.fields.push_back(config::Field{});
  job.fields[0].name = "x";
  engine::Chunk c(0);
  RawRecord a;
  a.payload = "one";
  a.topic = "t";
  a.partition = 2;
  a.offset = 9;
  a.key = "k";
  a.timestamp_ms = 5;
  a.line = 3;
  a.stream = 2;
  RawRecord b;
  b.payload = "two";
  b.topic = "t";
  b.file = "f.jsonl";
  b.null_payload = true;
  c.add(a, 11);
  c.add(b, 12);
  REQUIRE(c.size() == 2);
  RawRecord ra = c.record(0), rb = c.record(1);
  REQUIRE(ra.payload == "one");
  REQUIRE(ra.topic == "t");
  REQUIRE(ra.partition == 2);
  REQUIRE(ra.offset == 9);
  REQUIRE(ra.key.has_value());
  REQUIRE(*ra.key == "k");
  REQUIRE(ra.timestamp_ms == 5);
  REQUIRE(ra.file.empty());
  REQUIRE(ra.line == 3);
  REQUIRE(ra.stream == 2);
  REQUIRE(c.read_ms(0) == 11);
  REQUIRE(rb.payload == "two");
  REQUIRE(rb.null_payload);
  REQUIRE(!rb.key.has_value());
  REQUIRE(rb.topic == "t");
  REQUIRE(rb.file == "f.jsonl");
  c.clear();
  REQUIRE(c.size() == 0);
  REQUIRE(!c.full());
  for (size_t i = 0; i < engine::Chunk::kMaxRecords; ++i) c.add(a, 0);
  REQUIRE(c.full());
}

TEST_CASE("parse pool: chunks do not keep the largest strings and records they ever held", "[pool]") {
  // The batch loop swaps its field slots with the chunk's values (take_fields), so without a cap every
  // position of every chunk would keep the largest string that passed through it, and the arena the largest
  // record.
  auto loaded = config::load_job_text(
      "source: stdin\nfields: { text: text }\noutputs: [ { name: o, to: console } ]\n", "j.yaml");
  REQUIRE(loaded.ok());
  fields::Extractor ex(loaded.job->fields, loaded.job->decode);
  engine::Chunk chunk(1);
  std::vector<Value> slots(1);
  std::mt19937 rng(1);
  const std::string small = R"({"text":"hello"})";
  const std::string big = "{\"text\":\"" + std::string(64 * 1024, 'x') + "\"}";
  size_t after_first = 0;
  for (int round = 0; round < 64; ++round) {
    chunk.clear();
    const uint32_t a = rng() % 128, b = rng() % 128;
    for (uint32_t i = 0; i < 128; ++i) {
      RawRecord r;
      r.payload = (i == a || i == b) ? big : small;
      chunk.add(r, 0);
    }
    chunk.extract(ex);
    for (size_t i = 0; i < chunk.size(); ++i) {
      REQUIRE(chunk.ok(i));
      chunk.take_fields(i, slots.data());
      REQUIRE(slots[0].as_string().size() == ((i == a || i == b) ? 64 * 1024 : 5));
    }
    if (round == 0) after_first = chunk.held_bytes();
  }
  INFO("held after the first round " << after_first << ", after 64: " << chunk.held_bytes());
  CHECK(chunk.held_bytes() < after_first + 2 * engine::Chunk::kKeepStringBytes * 4);
  // A record far above the chunk size is not kept in the arena after the chunk is recycled.
  RawRecord huge;
  const std::string payload(4 * engine::Chunk::kMaxBytes, 'y');
  huge.payload = payload;
  chunk.clear();
  chunk.add(huge, 0);
  REQUIRE(chunk.held_bytes() >= payload.size());
  chunk.clear();
  CHECK(chunk.held_bytes() < engine::Chunk::kMaxBytes);
}

TEST_CASE("parse pool: auto gives 2 threads on a multi-core machine, else 1, and the CLI overrides the job",
          "[pool]") {
  REQUIRE(engine::resolve_workers(3, 0) == 3);
  REQUIRE(engine::resolve_workers(3, 4) == 3);  // the CLI overrides the job
  REQUIRE(engine::resolve_workers(0, 4) == 4);
  REQUIRE(engine::resolve_workers(1, 0) == 1);
  int want = engine::usable_cpus() >= 2 ? 2 : 1;
  REQUIRE(engine::resolve_workers(0, 0) == want);
  REQUIRE(engine::usable_cpus() >= 1);
  REQUIRE(engine::usable_cpus() <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST_CASE("parse pool: auto counts the CPUs a cgroup quota leaves (a container started with --cpus)",
          "[pool]") {
  REQUIRE(engine::cpus_under_quota("max 100000", 8) == 8);
  REQUIRE(engine::cpus_under_quota("100000 100000", 8) == 1);
  REQUIRE(engine::cpus_under_quota("150000 100000", 8) == 2);  // 1.5 CPUs: rounded up
  REQUIRE(engine::cpus_under_quota("50000 100000", 8) == 1);   // at least 1
  REQUIRE(engine::cpus_under_quota("800000 100000", 2) == 2);  // never above the affinity mask
  REQUIRE(engine::cpus_under_quota("", 4) == 4);               // unreadable: no cap
  REQUIRE(engine::cpus_under_quota("lots 100000", 4) == 4);
  REQUIRE(engine::cpus_under_quota("100000 0", 4) == 4);
}

TEST_CASE(
    "parse pool: parsing ahead pays when extraction is a third of the record path, two thirds with partials",
    "[pool]") {
  REQUIRE(engine::parse_ahead_pays(50, 100));
  REQUIRE(engine::parse_ahead_pays(60, 40));
  REQUIRE_FALSE(engine::parse_ahead_pays(49, 100));
  REQUIRE_FALSE(engine::parse_ahead_pays(0, 1));
  // With partial aggregation the parse threads must take at least twice the batch loop's time.
  REQUIRE(engine::parse_ahead_pays(200, 100, true));
  REQUIRE(engine::parse_ahead_pays(95, 5, true));
  REQUIRE_FALSE(engine::parse_ahead_pays(199, 100, true));
  REQUIRE_FALSE(engine::parse_ahead_pays(53, 47, true));  // W3: 1M keys, chunk tables do not shrink
}

TEST_CASE("parse pool: auto keeps the parse thread for parse-heavy jobs and drops it for state-heavy ones",
          "[pool]") {
  // Measured over the first 64 chunks on the system clock (one chunk per poll of 100 records here). The two
  // jobs sit far on either side of the line so that the choice holds on a loaded machine and under ASan.
  const bool multi = std::thread::hardware_concurrency() >= 2;
  Options o;
  o.manual_clock = false;
  o.per_poll = 100;
  auto total = [](const Result& r) {
    int64_t n = 0;
    for (const auto& row : r.rows[0]) n += std::stoll(row.substr(row.find_last_of("[,") + 1));  // [..., n]
    return n;
  };
  SECTION("parse-heavy: a 4 KB document whose only needed field comes last, counted per batch") {
    std::vector<Rec> in;
    for (int i = 0; i < 8000; ++i) {
      Rec r;
      r.partition = i % 3;
      r.offset = i;
      r.payload = "{\"pad\":[";
      for (int j = 0; j < 150; ++j) r.payload += "{\"a\":\"xyzxyzxyz\",\"b\":1.5,\"c\":true},";
      r.payload += "null],\"k\":" + std::to_string(i % 5) + "}";
      in.push_back(std::move(r));
    }
    const char* job = R"yaml(
batch: 1s
source: stdin
fields: { k: { path: k, type: int } }
outputs: [ { name: n, aggregate: { n: count() }, to: console } ]
)yaml";
    Result r = run(job, in, 0, o);
    REQUIRE(r.rc == 0);
    REQUIRE(r.workers == (multi ? 2 : 1));
    CHECK(r.parse_ahead == multi);
    CHECK(total(r) == 8000);
  }
  SECTION("state-heavy: tiny records into sliding windows over many keys in four outputs") {
    std::vector<Rec> in;
    for (int i = 0; i < 8000; ++i) {
      Rec r;
      r.partition = i % 3;
      r.offset = i;
      r.payload = "{\"k\":" + std::to_string(i) + "}";
      in.push_back(std::move(r));
    }
    std::string job = R"yaml(
batch: 1s
source: stdin
fields: { k: { path: k, type: int } }
outputs:
  - { name: n, aggregate: { n: count() }, to: console }
)yaml";
    for (int o2 = 0; o2 < 4; ++o2)
      job += "  - { name: w" + std::to_string(o2) + ", group_by: [k, \"k * 7 + " + std::to_string(o2) +
             "\", \"k % 13\"], window: { sliding: 1h, every: 1s }, aggregate: { n: count(), s: sum(k), m: "
             "max(k) }, where: \"k * 3 > -1 and k + 1 > 0\", limit: 1, to: console }\n";
    Result r = run(job, in, 0, o);
    REQUIRE(r.rc == 0);
    REQUIRE(r.workers == (multi ? 2 : 1));
    CHECK_FALSE(r.parse_ahead);
    CHECK(total(r) == 8000);
  }
}

TEST_CASE("config: workers is an integer from 1 to 64 or auto", "[pool]") {
  auto job = [](const std::string& w) {
    return "source: stdin\n" + w + "outputs: [ { name: o, aggregate: { n: count() }, to: console } ]\n";
  };
  auto ok = config::load_job_text(job(""), "j.yaml");
  REQUIRE(ok.ok());
  REQUIRE(ok.job->workers == 0);
  auto a = config::load_job_text(job("workers: auto\n"), "j.yaml");
  REQUIRE(a.ok());
  REQUIRE(a.job->workers == 0);
  auto three = config::load_job_text(job("workers: 3\n"), "j.yaml");
  REQUIRE(three.ok());
  REQUIRE(three.job->workers == 3);
  REQUIRE_THAT(config::explain_job(*three.job),
               Catch::Contains("workers    3 record-path thread(s): the batch loop and 2 parse thread(s)"));
  for (const char* bad : {"0", "-1", "65", "many", "1.5", "[2]"}) {
    INFO(bad);
    auto r = config::load_job_text(job(std::string("workers: ") + bad + "\n"), "j.yaml");
    REQUIRE(!r.ok());
    REQUIRE(r.errors.size() == 1);
    REQUIRE_THAT(r.errors[0].format(), Catch::Contains("workers"));
    REQUIRE_THAT(r.errors[0].format(), Catch::Contains("j.yaml:2:"));
    if (std::string(bad) != "[2]") {
      REQUIRE_THAT(r.errors[0].format(), Catch::Contains("the batch loop and N-1 parse threads"));
    }
  }
  auto typo = config::load_job_text(job("worker: 2\n"), "j.yaml");
  REQUIRE(!typo.ok());
  REQUIRE_THAT(typo.errors[0].format(), Catch::Contains("workers"));  // did you mean
}

TEST_CASE("parse pool: times RFC 3339 cannot write: a message timestamp is null, an event time is bad",
          "[pool]") {
  // docs/semantics.md, "How values are written": a time exists in years 0000-9999 only.
  std::vector<Rec> input;
  for (int64_t ts : {int64_t(1484148840000), int64_t(253402300800000), int64_t(253402300799999)}) {
    Rec r = rec("{\"v\":1}");
    r.timestamp_ms = ts;
    input.push_back(r);
  }
  const std::string meta = R"yaml(
batch: 1s
source: stdin
outputs:
  - name: o
    select: { t: "_timestamp" }
    to: console
)yaml";
  for (int w : {1, 2}) {
    INFO("workers " << w);
    Result r = run(meta, input, w, Options{});
    REQUIRE(r.rc == 0);
    REQUIRE(r.rows[0] == std::vector<std::string>{"[\"2017-01-11T15:34:00.000Z\"]", "[null]",
                                                  "[\"9999-12-31T23:59:59.999Z\"]"});
  }
  std::vector<Rec> events;
  for (const char* ts : {"1484148841000", "253402300800000", "-62167219200001", "1484148842000"})
    events.push_back(rec(std::string("{\"ts\":") + ts + "}"));
  const std::string ev = R"yaml(
batch: 1s
time: { event: ts, lateness: 0s }
source: stdin
fields: { ts: { path: ts, type: int } }
on_error: { action: dead_letter, dead_letter: { file: { path: unused.jsonl } } }
outputs:
  - name: o
    window: { tumbling: 10s }
    aggregate: { n: count() }
    to: console
)yaml";
  for (int w : {1, 2}) {
    INFO("workers " << w);
    Result r = run(ev, events, w, Options{});
    REQUIRE(r.rc == 0);
    REQUIRE(r.rows[0] ==
            std::vector<std::string>{"[\"2017-01-11T15:34:00.000Z\",\"2017-01-11T15:34:10.000Z\",2]"});
    REQUIRE(r.bad == 2);
    REQUIRE(r.dead.size() == 2);
    REQUIRE_THAT(r.dead[0], Catch::Contains("event time field 'ts' (253402300800000) is a time out of range "
                                            "(years 0000 to 9999)"));
    REQUIRE_THAT(r.dead[1],
                 Catch::Contains("event time field 'ts' (-62167219200001) is a time out of range"));
  }
}
