// OutputPlan::count_key (the row path for one string key counted): an output on it gives the same outcome,
// the same error and the same rows as the general path (the same plan with count_key unset) for every
// record, including those it hands to the general path (a null or non-string key, a non-string explode
// source) and records that are late, filtered by `where`, or explode to nothing.
#include <catch2/catch.hpp>

#include <random>

#include "config/load.h"
#include "engine/output_runner.h"
#include "engine/plan.h"

using namespace weir;

namespace {

engine::JobPlan compile_job(const std::string& yaml) {
  auto loaded = config::load_job_text(yaml, "test.yaml");
  INFO((loaded.errors.empty() ? std::string() : loaded.errors[0].format()));
  REQUIRE(loaded.ok());
  auto c = engine::compile(*loaded.job);
  REQUIRE(c.plan);
  return std::move(*c.plan);
}

int slot_of(const engine::JobPlan& p, const std::string& name) {
  for (size_t i = 0; i < p.slots.size(); ++i) {
    if (p.slots[i].name == name) return static_cast<int>(i);
  }
  FAIL("no slot " << name);
  return -1;
}

std::string rows(std::vector<Emission>& es) {
  std::string s;
  for (const Emission& e : es) {
    s += "[" + std::to_string(e.window_start_ms) + "," + std::to_string(e.window_end_ms) + ")";
    for (const Row& r : e.rows) {
      s += " {";
      for (const Value& v : r) s += v.to_json() + " ";
      s += "}";
    }
    s += "\n";
  }
  es.clear();
  return s;
}

// A random value for a key field: mostly strings with mixed case, sometimes null, an int or a list.
Value key_value(std::mt19937& rng) {
  static const char* const words[] = {"Word", "word", "WORD", "a", "", "éTé", "https://t.co/AbCdEfGhIj", "x"};
  switch (rng() % 10) {
    case 0:
      return Value();
    case 1:
      return Value::integer(static_cast<int64_t>(rng() % 3));
    default:
      return Value::string(words[rng() % std::size(words)]);
  }
}

Value text_value(std::mt19937& rng) {
  static const char* const words[] = {
      "The", "the", "THE", "cat", "Cat", "", "  ", "émile", "https://t.co/AbC"};
  if (rng() % 12 == 0) return Value();
  if (rng() % 12 == 0) return Value::integer(7);
  std::string s;
  for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
    s += words[rng() % std::size(words)];
    s += rng() % 3 ? " " : "  ";
  }
  return Value::string(s);
}

// One random record's author, text and lang, written into both slot arrays.
struct Record {
  Value author, text;
};
Record record(std::mt19937& rng, const engine::JobPlan& plan, std::vector<Value>& sa,
              std::vector<Value>& sb) {
  Record r{key_value(rng), text_value(rng)};
  const Value lang = Value::string(rng() % 4 ? "en" : "fr");
  for (auto* s : {&sa, &sb}) {
    (*s)[static_cast<size_t>(slot_of(plan, "author"))] = r.author;
    (*s)[static_cast<size_t>(slot_of(plan, "text"))] = r.text;
    (*s)[static_cast<size_t>(slot_of(plan, "lang"))] = lang;
  }
  return r;
}

void compare_paths(const std::string& yaml, bool event_time) {
  engine::JobPlan plan = compile_job(yaml);
  for (const engine::OutputPlan& fast : plan.outputs) {
    CAPTURE(fast.name);
    REQUIRE(fast.count_key);  // every output of these jobs takes the path
    engine::OutputPlan general = fast;
    general.count_key.reset();
    engine::OutputRunner a(fast), b(general);
    if (!event_time) {
      a.start_at(0);
      b.start_at(0);
    }
    std::mt19937 rng(7);
    std::vector<Value> sa(plan.slots.size()), sb(plan.slots.size());
    int64_t wm = 0;
    for (int i = 0; i < 3000; ++i) {
      const Record r = record(rng, plan, sa, sb);
      const int64_t at = event_time ? wm + static_cast<int64_t>(rng() % 3000) - 1000 : (i / 100) * 1000;
      std::string ea, eb;
      const auto oa = a.process(sa.data(), at, ea);
      const auto ob = b.process(sb.data(), at, eb);
      CAPTURE(i, r.author.to_json(), r.text.to_json());
      REQUIRE(static_cast<int>(oa) == static_cast<int>(ob));
      REQUIRE(ea == eb);
      if (i % 100 == 99) {
        wm = event_time ? wm + static_cast<int64_t>(rng() % 1500) : (i / 100 + 1) * 1000;
        a.advance(wm);
        b.advance(wm);
        std::vector<Emission> xa, xb;
        a.take(0, wm, xa);
        b.take(0, wm, xb);
        REQUIRE(rows(xa) == rows(xb));
      }
    }
  }
}

// The same over process_partial() (the parse threads' path with workers >= 2): chunks of 50 records into a
// Partials table each, merged into a State per chunk; the tables and the states' rows must agree.
void compare_partial_paths(const std::string& yaml) {
  engine::JobPlan plan = compile_job(yaml);
  for (const engine::OutputPlan& fast : plan.outputs) {
    CAPTURE(fast.name);
    REQUIRE(fast.count_key);
    engine::OutputPlan general = fast;
    general.count_key.reset();
    window::Plan wp = fast.window;
    wp.bounds = true;
    window::State ca(wp), cb(wp);
    ca.start_at(0);
    cb.start_at(0);
    window::Partials pa(wp), pb(wp);
    engine::OutputRunner::Scratch xa(fast), xb(general);
    std::mt19937 rng(11);
    std::vector<Value> sa(plan.slots.size()), sb(plan.slots.size());
    for (int i = 0; i < 3000; ++i) {
      const Record r = record(rng, plan, sa, sb);
      std::string ea, eb;
      const auto oa = engine::OutputRunner::process_partial(fast, sa.data(), xa, pa, ea);
      const auto ob = engine::OutputRunner::process_partial(general, sb.data(), xb, pb, eb);
      CAPTURE(i, r.author.to_json(), r.text.to_json());
      REQUIRE(static_cast<int>(oa) == static_cast<int>(ob));
      REQUIRE(ea == eb);
      if (i % 50 == 49) {
        REQUIRE(pa.groups() == pb.groups());
        REQUIRE(pa.records() == pb.records());
        const int64_t at = (i / 500) * 1000;
        REQUIRE(ca.merge(at, pa) == cb.merge(at, pb));
        pa.clear();
        pb.clear();
        if (i % 500 == 499) {
          std::vector<Emission> xa_rows, xb_rows;
          ca.advance(at + 1000, xa_rows);
          cb.advance(at + 1000, xb_rows);
          REQUIRE(rows(xa_rows) == rows(xb_rows));
        }
      }
    }
  }
}

const char* const kJob = R"(
job: count-key
batch: 1s
source: stdin
fields:
  author: author
  text: text
  lang: lang
outputs:
  - name: per-author
    group_by: [author]
    window: { sliding: 3s, every: 1s }
    aggregate: { n: count() }
    to: console
  - name: per-author-lower
    where: "lang = 'en'"
    group_by: [lower(author)]
    aggregate: { n: count(), m: count() }
    order_by: [n desc]
    limit: 3
    to: console
  - name: words
    explode: { field: text, split: " ", as: word }
    group_by: [lower(word)]
    aggregate: { n: count() }
    to: console
  - name: words-upper
    explode: { field: text, split: " ", as: word }
    where: "text is not null"
    group_by: [upper(word)]
    window: { tumbling: 2s }
    aggregate: { n: count() }
    to: console
)";

}  // namespace

TEST_CASE("count_key: the string-key row path equals the general path, in processing time", "[engine]") {
  compare_paths(kJob, false);
}

TEST_CASE("count_key: the string-key row path equals the general path, in event time with late records",
          "[engine]") {
  std::string job = kJob;
  job.replace(job.find("fields:"), 7,
              "time: { event: ts, lateness: 1s }\nfields:\n  ts: { path: ts, type: int }");
  compare_paths(job, true);
}

TEST_CASE("count_key: the string-key row path equals the general path on the parse threads' tables",
          "[engine]") {
  compare_partial_paths(kJob);
}

TEST_CASE("count_key: which outputs take the string-key row path", "[engine]") {
  engine::JobPlan p = compile_job(R"yaml(
job: shapes
batch: 1s
source: stdin
fields:
  author: author
  text: text
  n: { path: n, type: int }
outputs:
  - { name: bare, group_by: [author], aggregate: { c: count() }, to: console }
  - { name: lower, group_by: [lower(author)], aggregate: { c: count() }, to: console }
  - { name: count-of, group_by: [author], aggregate: { c: count(text) }, to: console }
  - { name: sum, group_by: [author], aggregate: { c: count(), s: sum(n) }, to: console }
  - { name: two-keys, group_by: [author, text], aggregate: { c: count() }, to: console }
  - { name: concat, group_by: ["concat(author, 'x')"], aggregate: { c: count() }, to: console }
  - { name: select, select: { a: author }, group_by: [a], aggregate: { c: count() }, to: console }
  - name: explode-other-key
    explode: { field: text, split: " ", as: word }
    group_by: [author]
    aggregate: { c: count() }
    to: console
  - name: explode-word
    explode: { field: text, split: " ", as: word }
    group_by: [word]
    aggregate: { c: count() }
    to: console
)yaml");
  std::map<std::string, bool> taken;
  for (const auto& o : p.outputs) taken[o.name] = o.count_key.has_value();
  CHECK(taken == std::map<std::string, bool>{{"bare", true},
                                             {"lower", true},
                                             {"count-of", false},
                                             {"sum", false},
                                             {"two-keys", false},
                                             {"concat", false},
                                             {"select", false},
                                             {"explode-other-key", false},
                                             {"explode-word", true}});
}
