// Partial aggregation on the parse threads (issue 9, engine/partial_agg.h): in processing time with
// `workers` > 1 the aggregating outputs run on the thread that extracts a chunk, into chunk-local tables
// merged in read order by the batch loop. Rows, dead letters (and their order) and every count must be
// exactly those of `workers: 1`.
#include <unistd.h>
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>

#include "pool_harness.h"

using namespace pool_test;

namespace {

// Processing-time records: users, languages, int followers, dyadic float scores (sums exact in any
// order), comma-separated tags, and bad records of every kind the outputs see.
std::vector<Rec> make_proc_input(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Rec> v;
  const char* langs[] = {"en", "es", "de", "ja"};
  for (size_t i = 0; i < n; ++i) {
    Rec r;
    r.partition = static_cast<int32_t>(rng() % 3);
    r.offset = static_cast<int64_t>(i);
    r.timestamp_ms = kStart + static_cast<int64_t>(i);
    if (rng() % 4 != 0) r.key = "k" + std::to_string(rng() % 30);
    const std::string user = "u" + std::to_string(rng() % 150);
    const std::string lang = rng() % 9 == 0 ? "null" : std::string("\"") + langs[rng() % 4] + "\"";
    const std::string followers = rng() % 11 == 0 ? "null" : std::to_string(rng() % 5000);
    const std::string score = std::to_string(static_cast<double>(static_cast<int>(rng() % 400) - 200) / 16.0);
    std::string tags;
    switch (rng() % 5) {
      case 0:
        tags = "null";
        break;
      case 1:
        tags = "\"a,,b" + std::to_string(rng() % 4) + "\"";  // empty tokens are dropped
        break;
      case 2:
        tags = "\",,\"";  // nothing left: filtered
        break;
      default:
        // "x10".."x14" make `tags`' select fail for that element only (3 characters: division by zero).
        tags = "\"x" + std::to_string(rng() % 15) + ",y" + std::to_string(rng() % 3) + ",0\"";
    }
    const int64_t div = static_cast<int64_t>(rng() % 25);  // 0: division by zero in some outputs
    switch (rng() % 50) {
      case 0:
        r.payload = "{\"user\":{\"name\":\"" + user;  // truncated
        break;
      case 1:
        r.payload = "{\"lang\":\"en\"}";  // user.name required
        break;
      case 2:
        r.payload = "{\"user\":{\"name\":\"" + user + "\",\"followers\":\"many\"}}";  // not an int
        break;
      case 3:
        r.null_payload = true;
        break;
      case 4:
        r.payload = "{\"user\":{\"name\":\"" + user + "\"},\"pad\":\"" + std::string(500, 'x') + "\"}";
        break;
      default:
        r.payload = "{\"user\":{\"name\":\"" + user + "\",\"followers\":" + followers + "},\"lang\":" + lang +
                    ",\"score\":" + score + ",\"div\":" + std::to_string(div) + ",\"tags\":" + tags + "}";
    }
    v.push_back(std::move(r));
  }
  return v;
}

const char* kProcJob = R"yaml(
batch: 1s
source: stdin
fields:
  user: { path: user.name, required: true }
  lang: lang
  followers: { path: user.followers, type: int }
  score: { path: score, type: float }
  div: { path: div, type: int }
  tags: tags
on_error:
  action: dead_letter
  max_record_bytes: 400
  dead_letter: { file: { path: /dev/null } }
outputs:
  - name: all
    window: { tumbling: 3s }
    group_by: [lang]
    aggregate:
      n: count()
      nf: count(followers)
      s: sum(followers)
      a: avg(followers)
      lo: min(user)
      hi: max(followers)
      f: first(user)
      l: last(followers)
      d: count_distinct(user)
      fs: sum(score)
      fa: avg(score)
    to: console
  - name: slide
    where: "followers > 100 and followers / div > 10"
    window: { sliding: 5s, every: 2s }
    group_by: [lang, { big: "followers > 2500" }]
    aggregate: { n: count(), s: sum(followers), f: first(user), l: last(user), d: count_distinct(lang) }
    to: console
  - name: tags
    explode: { field: tags, split: ",", as: tag }
    select: { w: "100 / (length(tag) - 3) + followers / (div + 1)" }
    group_by: [tag]
    aggregate: { n: count(), s: sum(w), k: count_distinct(_key), p: max(_partition), o: min(_offset) }
    to: console
  - name: pass
    where: "followers > 4000"
    select: { u: user, r: "followers / div", p: _partition, o: _offset, k: _key, topic: _topic }
    to: console
  - name: total
    window: total
    aggregate: { n: count(), s: sum(followers), fs: sum(score), f: first(user), l: last(user) }
    to: console
  - name: per-batch
    group_by: [user]
    aggregate: { n: count(), s: sum(score) }
    to: console
)yaml";

}  // namespace

TEST_CASE("partial aggregation: workers 2-3 give exactly the rows, dead letters and counts of workers 1",
          "[pool][partial]") {
  auto input = make_proc_input(20000, 5);
  for (size_t per_poll : {size_t(1), size_t(777), size_t(5000)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(kProcJob, input, 1, o);
    REQUIRE(one.rc == 0);
    REQUIRE_FALSE(one.partial);
    // The input exercises what it should.
    REQUIRE(one.bad > 500);
    REQUIRE(one.out_bad[1] > 0);  // division by zero in `slide`'s where
    REQUIRE(one.out_bad[2] > 0);  // a bad exploded element in `tags`
    REQUIRE(one.out_bad[3] > 0);  // division by zero in the pass-through output
    REQUIRE(one.kept[2] > 0);
    REQUIRE(one.rows[0].size() > 10);
    REQUIRE(one.rows[1].size() > 10);
    REQUIRE(one.rows[3].size() > 100);
    REQUIRE(one.rows[4].size() > 5);
    for (int w : {2, 3}) {
      INFO("per_poll " << per_poll << ", workers " << w);
      Result many = run(kProcJob, input, w, o);
      REQUIRE(many.partial);
      require_same(one, many);
    }
  }
}

TEST_CASE("partial aggregation: extraction fused with aggregation when every output aggregates",
          "[pool][partial]") {
  // Without the pass-through output nothing reads a chunk's values after the parse thread: each record is
  // extracted straight into the thread's slots and aggregated at once (PartialAggregator::fused()).
  std::string job = kProcJob;
  const size_t from = job.find("  - name: pass\n");
  job.erase(from, job.find("  - name: total\n") - from);
  REQUIRE(job.find("name: pass") == std::string::npos);
  auto input = make_proc_input(12000, 17);
  for (size_t per_poll : {size_t(1), size_t(3000)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(job, input, 1, o);
    REQUIRE(one.rows.size() == 5);
    REQUIRE(one.out_bad[2] > 0);
    Result two = run(job, input, 2, o);
    REQUIRE(two.partial);
    require_same(one, two);
  }
}

TEST_CASE("partial aggregation: a sum/avg argument that is not a number is a bad record on both paths",
          "[pool][partial]") {
  // `v` has type any: numbers, numeric strings, strings, bools, lists and nulls. A non-number makes the
  // record bad in the outputs that sum or average it (dead-lettered, nothing of it added), on the parse
  // threads as on the batch loop; `plain` never sums `v` and takes every record.
  const char* job = R"yaml(
batch: 1s
source: stdin
fields: { g: g, v: v, parts: parts }
on_error: { action: dead_letter, dead_letter: { file: { path: /dev/null } } }
outputs:
  - name: sums
    group_by: [g]
    aggregate: { n: count(), s: sum(v), a: avg(v), lo: min(v), hi: max(v), f: first(v), l: last(v) }
    to: console
  - name: plain
    group_by: [g]
    aggregate: { n: count(), c: count(v), d: count_distinct(v) }
    to: console
  - name: split
    explode: { field: parts, split: ",", as: p }
    select: { x: "coalesce(to_int(p), p)" }
    group_by: [g]
    aggregate: { n: count(), s: sum(x) }
    to: console
)yaml";
  std::mt19937 rng(11);
  std::vector<Rec> input;
  const char* values[] = {"1", "2.5", "-7", "\"x\"", "\"3\"", "true", "[1]", "null", "40", "0.25"};
  const char* parts[] = {"\"1,2\"", "\"3,y,4\"", "\"5\"", "null", "\",,\""};
  for (size_t i = 0; i < 6000; ++i) {
    Rec r = rec("{\"g\":" + std::to_string(rng() % 7) + ",\"v\":" + values[rng() % 10] +
                ",\"parts\":" + parts[rng() % 5] + "}");
    r.offset = static_cast<int64_t>(i);
    input.push_back(std::move(r));
  }
  for (size_t per_poll : {size_t(1), size_t(700)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(job, input, 1, o);
    REQUIRE(one.rc == 0);
    REQUIRE(one.out_bad[0] > 1000);  // about half the records
    REQUIRE(one.out_bad[1] == 0);
    REQUIRE(one.out_bad[2] > 500);
    REQUIRE(one.kept[1] == input.size());
    REQUIRE(one.kept[0] + one.out_bad[0] == input.size());
    Result two = run(job, input, 2, o);
    REQUIRE(two.partial);
    require_same(one, two);
  }
}

TEST_CASE("partial aggregation: only in processing time, without on_error stop, with an aggregating output",
          "[pool][partial]") {
  auto input = make_proc_input(3000, 9);
  Options o;
  o.per_poll = 500;
  std::string stop = kProcJob;
  stop.replace(stop.find("action: dead_letter"), 19, "action: stop");
  Result s1 = run(stop, input, 1, o);
  Result s2 = run(stop, input, 2, o);
  REQUIRE(s1.rc == 1);
  REQUIRE(s2.parse_ahead);
  REQUIRE_FALSE(s2.partial);
  require_same(s1, s2);

  const std::string pass_only = R"(
batch: 1s
source: stdin
fields: { user: { path: user.name, required: true }, followers: { path: user.followers, type: int } }
on_error: { action: skip, max_record_bytes: 400 }
outputs:
  - { name: p, select: { u: user }, to: console }
)";
  Result p2 = run(pass_only, input, 2, o);
  REQUIRE(p2.parse_ahead);
  REQUIRE_FALSE(p2.partial);
  require_same(run(pass_only, input, 1, o), p2);

  const std::string event = R"(
batch: 1s
source: stdin
time: { event: t }
fields: { t: { path: ts, type: time, format: epoch_ms }, user: { path: user.name, required: true } }
on_error: { action: skip, max_record_bytes: 400 }
outputs:
  - { name: n, aggregate: { n: count() }, to: console }
)";
  Result e2 = run(event, input, 2, o);
  REQUIRE(e2.parse_ahead);
  REQUIRE_FALSE(e2.partial);
}

TEST_CASE("partial aggregation: int sums beyond int64 inside a chunk and floats in a later chunk",
          "[pool][partial]") {
  // Chunks of 2048 records: the int sum leaves int64 inside the first chunk (and the batch), the second
  // chunk brings floats into a state that was narrow.
  std::vector<Rec> input;
  for (int i = 0; i < 6000; ++i) {
    std::string x;
    if (i < 2048) {
      x = i % 2 == 0 ? "9223372036854775000" : "-9223372036854775000";
      if (i == 1000 || i == 1001) x = "9223372036854775000";  // two more: beyond int64 for a while
    } else if (i < 4096) {
      x = i % 3 == 0 ? "0.125" : "7";
    } else {
      x = std::to_string(i);
    }
    input.push_back(rec("{\"g\":\"g" + std::to_string(i % 3) + "\",\"x\":" + x + "}"));
  }
  const std::string job = R"(
batch: 1s
source: stdin
fields: { g: g, x: x }
on_error: { action: skip }
outputs:
  - { name: by-g, group_by: [g], window: { tumbling: 2s }, aggregate: { s: sum(x), a: avg(x), n: count(x) }, to: console }
  - { name: all, window: total, aggregate: { s: sum(x), mx: max(x) }, to: console }
)";
  for (size_t per_poll : {size_t(1000), size_t(6000)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(job, input, 1, o);
    Result two = run(job, input, 2, o);
    REQUIRE(two.partial);
    require_same(one, two);
    bool wide = false;  // the total went beyond int64 and came out as a float
    for (const auto& r : one.rows[1]) wide = wide || r.find("e+19") != std::string::npos;
    INFO(one.rows[1].front());
    REQUIRE(wide);
    REQUIRE(one.rows[0].size() >= 3);
  }
}

TEST_CASE("partial aggregation: a merge into windows a restart left closed makes the chunk late",
          "[pool][partial]") {
  // The first run closes the tumbling window [kStart, kStart + 10s) at its end of input; a second run from
  // the same checkpoint whose clock starts inside that window adds to it: every record is late (processing
  // time), and dead-lettered in the same order with either path.
  auto input = make_proc_input(4000, 3);
  const std::string job = R"(
batch: 1s
source: stdin
fields: { user: { path: user.name, required: true }, followers: { path: user.followers, type: int } }
on_error: { action: dead_letter, late: dead_letter, max_record_bytes: 400, dead_letter: { file: { path: /dev/null } } }
outputs:
  - { name: n, group_by: [user], window: { tumbling: 10s }, aggregate: { n: count(), s: sum(followers) }, to: console }
  - { name: p, where: "followers > 4900", select: { u: user }, to: console }
)";
  std::vector<Result> late;
  for (int w : {1, 2}) {
    const auto dir = std::filesystem::temp_directory_path() / ("weir-pagg-late-" + std::to_string(w));
    std::filesystem::remove_all(dir);
    Options first;
    first.per_poll = 500;
    first.step_ms = 2;  // 4000 records: 8 s
    first.checkpoint_dir = dir.string();
    Result r1 = run(job, input, w, first);
    REQUIRE(r1.rc == 0);
    REQUIRE(r1.late == 0);
    Options again = first;
    again.step_ms = 0;  // the clock stays at kStart: inside the closed window
    late.push_back(run(job, input, w, again));
    std::filesystem::remove_all(dir);
  }
  REQUIRE(late[1].partial);
  REQUIRE(late[0].late > 1000);
  REQUIRE(late[0].out_late[0] > 1000);
  REQUIRE(late[0].kept[0] == 0);
  REQUIRE(late[0].kept[1] > 0);  // the pass-through output is not late
  require_same(late[0], late[1]);
}

namespace {

// make_proc_input's records with an event time `ts` (epoch ms, rising 0-39 ms a record over ~6 minutes):
// now and then one far behind the watermark (late), a bad event time or none at all.
std::vector<Rec> make_event_input(size_t n, uint32_t seed) {
  std::vector<Rec> v = make_proc_input(n, seed);
  std::mt19937 rng(seed + 1000);
  int64_t ts = kStart;
  for (Rec& r : v) {
    ts += static_cast<int64_t>(rng() % 40);
    if (r.null_payload || r.payload.empty() || r.payload[0] != '{') continue;
    std::string t;
    switch (rng() % 60) {
      case 0:
      case 1:
        t = "\"ts\":" + std::to_string(ts - 20000) + ",";  // far behind: late in every window
        break;
      case 2:
        t = "\"ts\":\"yesterday\",";  // not a time
        break;
      case 3:
        break;  // no event time
      default:
        t = "\"ts\":" + std::to_string(ts) + ",";
    }
    r.payload.insert(1, t);
  }
  return v;
}

}  // namespace

TEST_CASE(
    "partial aggregation: event time falls back to aggregating on the batch loop, with the same results",
    "[pool][partial]") {
  // kProcJob's outputs (tumbling, sliding, exploded, total and per-batch aggregations, a pass-through) in
  // event time: the parse threads only extract, and each record goes into the windows of its own event time,
  // late ones dead-lettered. Were the chunks aggregated at the batch start as in processing time, rows, late
  // counts and dead letters would differ.
  std::string event = kProcJob;
  event.replace(event.find("source: stdin\n"), 14,
                "source: stdin\ntime: { event: ts, lateness: 2s, idle: 1h }\n");
  event.replace(event.find("fields:\n"), 8, "fields:\n  ts: { path: ts, type: time, format: epoch_ms }\n");
  event.replace(event.find("  max_record_bytes"), 0, "  late: dead_letter\n");
  auto input = make_event_input(20000, 21);
  {
    // The same job and records in processing time would aggregate on the parse threads.
    std::string proc = event;
    proc.erase(proc.find("time: {"), proc.find('\n', proc.find("time: {")) + 1 - proc.find("time: {"));
    REQUIRE(proc.find("event:") == std::string::npos);
    Options o;
    o.per_poll = 777;
    REQUIRE(run(proc, input, 2, o).partial);
  }
  for (size_t per_poll : {size_t(1), size_t(777), size_t(5000)}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(event, input, 1, o);
    REQUIRE(one.rc == 0);
    // The input exercises what it should: bad records (event time too), late ones in the windowed outputs,
    // several windows per windowed output.
    REQUIRE(one.in == input.size());
    REQUIRE(one.bad > 700);
    REQUIRE(one.late > 300);
    REQUIRE(one.out_late[0] > 300);  // tumbling
    REQUIRE(one.out_late[1] > 50);   // sliding (after its where)
    REQUIRE(one.out_late[5] > 300);  // per-batch
    REQUIRE(one.out_bad[1] > 0);
    REQUIRE(one.out_bad[2] > 0);
    REQUIRE(one.rows[0].size() > 300);  // ~6 minutes of 3 s windows, per language
    REQUIRE(one.rows[1].size() > 100);
    REQUIRE(one.rows[3].size() > 100);
    REQUIRE(one.rows[5].size() > 1000);
    for (int w : {2, 3}) {
      INFO("per_poll " << per_poll << ", workers " << w);
      Result many = run(event, input, w, o);
      require_same(one, many);
      REQUIRE(many.parse_ahead);
      REQUIRE_FALSE(many.partial);
    }
  }
}

namespace {

// The rows of a JSON array row (no nested arrays, no commas inside strings): its elements as text.
std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  size_t from = 1;
  while (from < row.size()) {
    size_t to = row.find(',', from);
    if (to == std::string::npos) to = row.size() - 1;
    out.push_back(row.substr(from, to - from));
    from = to + 1;
  }
  return out;
}

// Output `per-batch` of kProcJob ([start, end, user, n, s]): records counted per user over all its rows.
std::map<std::string, int64_t> per_user(const Result& r) {
  std::map<std::string, int64_t> n;
  for (const auto& row : r.rows[5]) {
    auto c = cells(row);
    REQUIRE(c.size() == 5);
    n[c[2]] += std::stoll(c[3]);
  }
  return n;
}

// Polls of `per_poll` records at 2 ms a record, with checkpoints in `dir`.
Options polls_of(size_t per_poll, const TempDir& dir) {
  Options o;
  o.per_poll = per_poll;
  o.step_ms = 2;
  o.checkpoint_dir = dir.str();
  return o;
}

// kProcJob stopped (at `level`) during poll `stop_after`, then resumed from its checkpoint in `dir` with the
// clock at `restart_ms` (-1: where the first run's clock ended) and the sinks at the first run's last batch.
std::pair<Result, Result> stop_and_resume(const std::vector<Rec>& input, int workers, const Options& o,
                                          const TempDir& dir, int stop_after, int level, int64_t restart_ms) {
  Options first = o;
  first.checkpoint_dir = dir.str();
  first.stop_after_polls = stop_after;
  first.stop_level = level;
  Result r1 = run(kProcJob, input, workers, first);
  REQUIRE(r1.rc == 0);
  REQUIRE(r1.partial == (workers > 1));
  Options again = o;
  again.checkpoint_dir = dir.str();
  again.resume = true;
  again.clock_start_ms = restart_ms < 0 ? r1.clock_end_ms : restart_ms;
  again.sinks_committed = r1.batch_ids[0].back();
  Result r2 = run(kProcJob, input, workers, again);
  REQUIRE(r2.rc == 0);
  REQUIRE(r2.partial == (workers > 1));
  return {std::move(r1), std::move(r2)};
}

}  // namespace

TEST_CASE("partial aggregation: a stop mid-stream and a restart from its checkpoint lose and repeat nothing",
          "[pool][partial]") {
  // kProcJob (windows spanning the stop, a total, bad records dead-lettered) over 12000 records, polls of
  // 500 records and 2 ms a record: one poll per 1 s batch. The source stops the job during poll 7 (a signal
  // arriving then): the batch loop consumes what the poll read, closes that batch and waits for its
  // checkpoint. The second run resumes from it with the clock where the first left it. Both runs together
  // must be one uninterrupted run of workers 1: every batch's rows, dead letters and counts.
  auto input = make_proc_input(12000, 33);
  TempDir full_dir("weir-pagg-stop-full");
  Options o = polls_of(500, full_dir);
  Result full = run(kProcJob, input, 1, o);
  REQUIRE(full.rc == 0);
  REQUIRE(full.late == 0);
  REQUIRE(full.batch_ids[0].size() == 24);  // 12 s of input, 24 polls: a batch each
  for (int level : {1, 2}) {
    for (int w : {1, 2}) {
      INFO("stop level " << level << ", workers " << w);
      TempDir dir("weir-pagg-stop-" + std::to_string(w));
      auto [r1, r2] = stop_and_resume(input, w, o, dir, 7, level, -1);
      REQUIRE(r1.delivered == 3500);
      REQUIRE(r1.in == 3500);
      REQUIRE(r1.batch_input[0].back() == 3500);  // the stop's batch was checkpointed right after poll 7
      REQUIRE(r2.in == input.size() - 3500);
      require_same(full, both(r1, r2));
    }
  }
}

TEST_CASE("partial aggregation: a stop in the middle of a batch and a restart count every record once",
          "[pool][partial]") {
  // Polls of 300 records (0.6 s): the stop during poll 12 (7.2 s) closes the batch [7 s, 8 s) early. The
  // restart comes at the next batch (8 s), so the rest of the records are 0.8 s later than without the stop:
  // the windows after the stop differ from an uninterrupted run's, but no record is lost or counted twice
  // (counts, dead letters, records per user over all batches, the total's values), and workers 2 gives
  // exactly the rows of workers 1 in both runs.
  auto input = make_proc_input(12000, 41);
  TempDir full_dir("weir-pagg-midstop-full");
  Options o = polls_of(300, full_dir);
  Result full = run(kProcJob, input, 1, o);
  REQUIRE(full.rc == 0);
  std::vector<std::pair<Result, Result>> runs;
  for (int w : {1, 2}) {
    INFO("workers " << w);
    TempDir dir("weir-pagg-midstop-" + std::to_string(w));
    auto [r1, r2] = stop_and_resume(input, w, o, dir, 12, 1, kStart + 8000);
    REQUIRE(r1.in == 3600);
    REQUIRE(r1.clock_end_ms == kStart + 7200);
    REQUIRE(r1.batch_input[0].back() == 3600);
    Result all = both(r1, r2);
    REQUIRE(all.in == full.in);
    REQUIRE(all.bad == full.bad);
    REQUIRE(all.late == 0);
    REQUIRE(all.kept == full.kept);
    REQUIRE(all.out_bad == full.out_bad);
    REQUIRE(all.dead == full.dead);
    REQUIRE(per_user(all) == per_user(full));
    // The total's last row: [start, end, n, s, fs, f, l] over every record; only its end moved.
    auto last = cells(all.rows[4].back()), want = cells(full.rows[4].back());
    REQUIRE(last.size() == 7);
    REQUIRE(std::vector<std::string>(last.begin() + 2, last.end()) ==
            std::vector<std::string>(want.begin() + 2, want.end()));
    REQUIRE(last[1] != want[1]);
    runs.emplace_back(std::move(r1), std::move(r2));
  }
  require_same(runs[0].first, runs[1].first);
  require_same(runs[0].second, runs[1].second);
}

TEST_CASE("partial aggregation: a partition revocation mid-batch commits what was merged, as workers 1 does",
          "[pool][partial]") {
  // The revocation arrives with poll 6 (3.6 s: mid-batch with polls of 300 records, 0.6 s): the batch loop
  // ends the batch at once and checkpoints it with the positions right after the poll, so the chunks of that
  // poll must be merged into the state the checkpoint holds. The source keeps its partitions (assigned
  // again).
  auto input = make_proc_input(12000, 43);
  TempDir full_dir("weir-pagg-rebalance-full");
  Options o = polls_of(300, full_dir);
  Result full = run(kProcJob, input, 1, o);
  std::vector<Result> runs;
  for (int w : {1, 2}) {
    INFO("workers " << w);
    TempDir dir("weir-pagg-rebalance-" + std::to_string(w));
    Options r = o;
    r.checkpoint_dir = dir.str();
    r.rebalance_after_polls = 6;
    runs.push_back(run(kProcJob, input, w, r));
    REQUIRE(runs.back().rc == 0);
    REQUIRE(runs.back().partial == (w > 1));
  }
  const Result& one = runs[0];
  // The revocation's batch ends with the positions after poll 6, which no batch does without it.
  const auto& at = one.batch_input[0];
  REQUIRE(std::find(at.begin(), at.end(), 1800) != at.end());
  REQUIRE(std::find(full.batch_input[0].begin(), full.batch_input[0].end(), 1800) ==
          full.batch_input[0].end());
  REQUIRE(one.in == full.in);
  REQUIRE(one.bad == full.bad);
  REQUIRE(one.kept == full.kept);
  REQUIRE(one.dead == full.dead);
  REQUIRE(per_user(one) == per_user(full));
  require_same(one, runs[1]);
}

TEST_CASE("partial aggregation: auto dropping the parse threads mid-run gives the results of workers 1",
          "[pool][partial]") {
  // `workers: auto` decides once whether the parse threads pay, from the steady clock's timings, which the
  // test clock does not run: ExecutorOptions::parse_ahead_decision forces the decision after a given number
  // of chunks instead. From then on the records that were merged as chunk tables are added one by one on the
  // batch loop, in the middle of a batch and of windows; rows, dead letters and counts must not change. (The
  // decision is final: nothing switches back to the parse threads.)
  // kProcJob's records above max_record_bytes (1 in 50) each make the batch loop consume every chunk in
  // flight, and auto may decide there, in the middle of a poll. Without them, chunks fill up (2048 records)
  // and go to the parse thread while the poll goes on: auto decides only at the end of a poll. (A poll of
  // 12000 records fills more chunks than may be in flight: the batch loop consumes some during the poll.)
  const std::string large = kProcJob;
  const std::string no_large = [&] {
    std::string j = kProcJob;
    return j.replace(j.find("max_record_bytes: 400"), 21, "max_record_bytes: 4000");
  }();
  auto input = make_proc_input(20000, 47);
  for (auto [job, per_poll] : {std::pair{&large, size_t(1)}, std::pair{&large, size_t(777)},
                               std::pair{&large, size_t(5000)}, std::pair{&no_large, size_t(777)},
                               std::pair{&no_large, size_t(5000)}, std::pair{&no_large, size_t(12000)}}) {
    Options o;
    o.per_poll = per_poll;
    Result one = run(*job, input, 1, o);
    REQUIRE(one.rc == 0);
    for (int at : job == &large ? std::vector<int>{1, 6, 150} : std::vector<int>{1, 2, 5}) {
      INFO((job == &no_large ? "no records above max_record_bytes, " : "")
           << "per_poll " << per_poll << ", decided after " << at << " chunk(s)");
      std::vector<int> asked;
      Options drop = o;
      drop.parse_ahead_decision = [&](int chunks) -> std::optional<bool> {
        asked.push_back(chunks);
        if (chunks >= at) return false;
        return std::nullopt;
      };
      Result r = run(*job, input, 2, drop);
      require_same(one, r);
      // It was asked until it decided, then no more, with records before and after.
      REQUIRE(!asked.empty());
      REQUIRE(asked.back() >= at);
      for (size_t i = 0; i + 1 < asked.size(); ++i) REQUIRE(asked[i] < at);
      UNSCOPED_INFO("decided after " << r.decided_at << " records");
      REQUIRE(r.decided_at >= static_cast<size_t>(at));
      REQUIRE(r.decided_at < input.size());
      REQUIRE(r.workers == 2);
      REQUIRE_FALSE(r.parse_ahead);
      REQUIRE_FALSE(r.partial);
    }
    // Deciding to keep them changes nothing either.
    Options keep = o;
    int kept_asked = 0;
    keep.parse_ahead_decision = [&](int chunks) -> std::optional<bool> {
      ++kept_asked;
      if (chunks >= 3) return true;
      return std::nullopt;
    };
    Result k = run(*job, input, 2, keep);
    require_same(one, k);
    REQUIRE(kept_asked > 0);
    REQUIRE(k.parse_ahead);
    REQUIRE(k.partial);
  }
}
