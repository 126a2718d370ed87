#include "connectors/generate/generate_source.h"

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <set>

#include "test_util.h"

using weir::GenerateSource;
using weir::PollResult;
using weir::Positions;
using weir::Value;
using weir::config::GenNode;
using weir::test::Collect;
using weir::test::in_ms;

namespace {

GenNode leaf(GenNode::Kind k) {
  GenNode n;
  n.kind = k;
  return n;
}

GenNode one_of(std::vector<Value> choices) {
  GenNode n = leaf(GenNode::Kind::OneOf);
  n.choices = std::move(choices);
  return n;
}

GenNode int_range(int64_t lo, int64_t hi) {
  GenNode n = leaf(GenNode::Kind::IntRange);
  n.int_lo = lo;
  n.int_hi = hi;
  return n;
}

// The spec's example template (§3), plus every other kind.
GenNode example() {
  GenNode t;
  t.children.emplace_back("branch",
                          one_of({Value::string("Kazan"), Value::string("SPB"), Value::string("Surgut")}));
  t.children.emplace_back("amount", int_range(-100, 100));
  GenNode user;
  user.children.emplace_back("screen_name", one_of({Value::string("alice"), Value::string("bob")}));
  t.children.emplace_back("user", user);
  GenNode words = leaf(GenNode::Kind::Words);
  words.words = {"hello", "world", "#spark", "say \"hi\""};
  words.min_words = 3;
  words.max_words = 12;
  t.children.emplace_back("text", words);
  GenNode f = leaf(GenNode::Kind::FloatRange);
  f.float_lo = 1.5;
  f.float_hi = 2.5;
  t.children.emplace_back("price", f);
  t.children.emplace_back("ts", leaf(GenNode::Kind::NowMs));
  t.children.emplace_back("seq", leaf(GenNode::Kind::Sequence));
  GenNode c = leaf(GenNode::Kind::Constant);
  c.constant = Value::string("v1");
  t.children.emplace_back("version", c);
  return t;
}

weir::config::GenerateSource config(GenNode t, std::optional<uint64_t> seed, double rate = 0,
                                    std::optional<int64_t> limit = std::nullopt) {
  weir::config::GenerateSource c;
  c.tmpl = std::move(t);
  c.seed = seed;
  c.rate_per_s = rate;
  c.limit = limit;
  return c;
}

std::vector<std::string> take(GenerateSource& s, size_t n) {
  Collect c;
  while (c.recs.size() < n) {
    REQUIRE(s.poll(c, in_ms(2000), n - c.recs.size()) != PollResult::Error);
  }
  return c.payloads();
}

GenerateSource::ClockFn fixed_clock(int64_t ms) {
  return [ms] { return ms; };
}

}  // namespace

TEST_CASE("generate: every template kind produces what it says", "[connectors]") {
  GenerateSource s(config(example(), 42), fixed_clock(1484148840000));
  REQUIRE(s.open(nullptr).is_ok());
  auto docs = take(s, 2000);
  std::set<int64_t> amounts;
  std::set<std::string> branches, names, words;
  size_t min_words = 100, max_words = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    rapidjson::Document d;
    std::string padded = docs[i];
    padded.reserve(padded.size() + 32);  // RapidJSON's SSE4.2 scanner reads 16-byte blocks
    d.Parse(padded.c_str());
    INFO(docs[i]);
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.MemberCount() == 8);
    REQUIRE(std::string(d.MemberBegin()->name.GetString()) == "branch");  // keys in template order
    branches.insert(d["branch"].GetString());
    REQUIRE(d["amount"].IsInt64());
    int64_t a = d["amount"].GetInt64();
    REQUIRE(a >= -100);
    REQUIRE(a <= 100);
    amounts.insert(a);
    names.insert(d["user"]["screen_name"].GetString());
    std::string text = d["text"].GetString();
    size_t n = 0;
    // Split on spaces; "say \"hi\"" is one word containing a space, so count list matches greedily.
    std::string rest = text;
    while (!rest.empty()) {
      bool matched = false;
      for (std::string w : {"say \"hi\"", "hello", "world", "#spark"}) {
        if (rest.rfind(w, 0) == 0) {
          words.insert(w);
          rest = rest.substr(w.size());
          if (!rest.empty()) {
            REQUIRE(rest[0] == ' ');
            rest = rest.substr(1);
          }
          ++n;
          matched = true;
          break;
        }
      }
      REQUIRE(matched);
    }
    min_words = std::min(min_words, n);
    max_words = std::max(max_words, n);
    REQUIRE(d["price"].IsDouble());
    REQUIRE(d["price"].GetDouble() >= 1.5);
    REQUIRE(d["price"].GetDouble() < 2.5);
    REQUIRE(d["ts"].GetInt64() == 1484148840000);
    REQUIRE(d["seq"].GetInt64() == static_cast<int64_t>(i));
    REQUIRE(std::string(d["version"].GetString()) == "v1");
  }
  REQUIRE(branches == std::set<std::string>{"Kazan", "SPB", "Surgut"});
  REQUIRE(names == std::set<std::string>{"alice", "bob"});
  REQUIRE(amounts.size() == 201);  // both ends of the inclusive range occur
  REQUIRE(words.size() == 4);
  REQUIRE(min_words == 3);
  REQUIRE(max_words == 12);
}

TEST_CASE("generate: one_of keeps the JSON type of its choices, floats stay floats", "[connectors]") {
  GenNode t;
  t.children.emplace_back("x", one_of({Value::integer(7), Value::boolean(true), Value(), Value::real(2.0)}));
  GenNode f = leaf(GenNode::Kind::FloatRange);
  f.float_lo = 3;
  f.float_hi = 3;  // an empty range yields its bound, written as a float
  t.children.emplace_back("f", f);
  std::set<std::string> seen;
  for (int n = 0; n < 200; ++n) {
    std::string doc = GenerateSource::document(t, 1, n);
    seen.insert(doc);
  }
  REQUIRE(seen == std::set<std::string>{R"({"x":7,"f":3.0})", R"({"x":true,"f":3.0})",
                                        R"({"x":null,"f":3.0})", R"({"x":2.0,"f":3.0})"});
}

TEST_CASE("generate: the same seed gives the same documents, another seed others", "[connectors]") {
  GenerateSource a(config(example(), 42), fixed_clock(5));
  GenerateSource b(config(example(), 42), fixed_clock(5));
  GenerateSource c(config(example(), 43), fixed_clock(5));
  REQUIRE(a.open(nullptr).is_ok());
  REQUIRE(b.open(nullptr).is_ok());
  REQUIRE(c.open(nullptr).is_ok());
  auto da = take(a, 500), db = take(b, 500), dc = take(c, 500);
  REQUIRE(da == db);
  REQUIRE(da != dc);
  for (size_t n = 0; n < da.size(); n += 37) REQUIRE(GenerateSource::document(example(), 42, n, 5) == da[n]);
  // Pinned output: the generator must not change across platforms/versions.
  GenNode t;
  t.children.emplace_back("a", int_range(0, 999));
  GenNode f = leaf(GenNode::Kind::FloatRange);
  f.float_lo = 0;
  f.float_hi = 1;
  t.children.emplace_back("f", f);
  REQUIRE(GenerateSource::document(t, 42, 0) == R"({"a":146,"f":0.07605266093393359})");
  REQUIRE(GenerateSource::document(t, 42, 2) == R"({"a":993,"f":0.7802110234232635})");
}

TEST_CASE("generate: resuming from positions continues the same sequence", "[connectors]") {
  SECTION("with a configured seed") {
    GenerateSource whole(config(example(), 9), fixed_clock(0));
    REQUIRE(whole.open(nullptr).is_ok());
    auto all = take(whole, 300);

    GenerateSource first(config(example(), 9), fixed_clock(0));
    REQUIRE(first.open(nullptr).is_ok());
    auto head = take(first, 120);
    Positions p = first.positions();
    REQUIRE(p.size() == 1);
    REQUIRE(p[0].stream == "generated");
    REQUIRE(p[0].offset == 120);

    GenerateSource second(config(example(), 9), fixed_clock(0));
    REQUIRE(second.open(&p).is_ok());
    auto tail = take(second, 180);
    head.insert(head.end(), tail.begin(), tail.end());
    REQUIRE(head == all);
  }
  SECTION("each record's position is its 1-based sequence number, continued after a resume") {
    GenerateSource first(config(example(), 9), fixed_clock(0));
    REQUIRE(first.open(nullptr).is_ok());
    Collect c;
    while (c.recs.size() < 3) REQUIRE(first.poll(c, in_ms(2000), 3 - c.recs.size()) != PollResult::Error);
    Positions p = first.positions();
    GenerateSource second(config(example(), 9), fixed_clock(0));
    REQUIRE(second.open(&p).is_ok());
    while (c.recs.size() < 5) REQUIRE(second.poll(c, in_ms(2000), 5 - c.recs.size()) != PollResult::Error);
    std::vector<int64_t> lines;
    for (const auto& r : c.recs) lines.push_back(r.line);
    REQUIRE(lines == std::vector<int64_t>{1, 2, 3, 4, 5});
  }
  SECTION("without a seed the random seed is carried in the position") {
    GenerateSource first(config(example(), std::nullopt), fixed_clock(0));
    REQUIRE(first.open(nullptr).is_ok());
    take(first, 10);
    Positions p = first.positions();
    GenerateSource second(config(example(), std::nullopt), fixed_clock(0));
    REQUIRE(second.open(&p).is_ok());
    REQUIRE(second.seed() == first.seed());
    auto tail = take(second, 5);
    for (int i = 0; i < 5; ++i)
      REQUIRE(tail[i] == GenerateSource::document(example(), first.seed(), 10 + i, 0));
  }
}

TEST_CASE("generate: limit makes it bounded and End comes after the last record", "[connectors]") {
  GenerateSource s(config(example(), 1, 0, 25));
  REQUIRE(s.bounded());
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  REQUIRE(s.poll(c, in_ms(1000), 10) == PollResult::Ok);
  REQUIRE(c.recs.size() == 10);
  PollResult r = s.poll(c, in_ms(1000), 1000);
  REQUIRE(r == PollResult::End);
  REQUIRE(c.recs.size() == 25);
  REQUIRE(s.poll(c, in_ms(1000), 1000) == PollResult::End);
  REQUIRE(c.recs.size() == 25);
  REQUIRE(s.positions()[0].offset == 25);
  // Resumed at the limit: nothing more.
  Positions p = s.positions();
  GenerateSource again(config(example(), 1, 0, 25));
  REQUIRE(again.open(&p).is_ok());
  Collect c2;
  REQUIRE(again.poll(c2, in_ms(1000), 1000) == PollResult::End);
  REQUIRE(c2.recs.empty());
  GenerateSource unbounded(config(example(), 1));
  REQUIRE_FALSE(unbounded.bounded());
}

TEST_CASE("generate: rate paces records", "[connectors]") {
  GenerateSource s(config(example(), 1, 1000));
  REQUIRE(s.open(nullptr).is_ok());
  auto t0 = std::chrono::steady_clock::now();
  take(s, 200);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(ms >= 150);
  // A poll returns by its deadline even when the rate allows few records.
  GenerateSource slow(config(example(), 1, 2));
  REQUIRE(slow.open(nullptr).is_ok());
  Collect c;
  t0 = std::chrono::steady_clock::now();
  REQUIRE(slow.poll(c, in_ms(100), 1000) == PollResult::Ok);
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(ms < 1000);
  REQUIRE(c.recs.size() == 1);
}

TEST_CASE("generate: the max rate generates millions of small documents per second", "[connectors]") {
  GenNode t;
  t.children.emplace_back("branch", one_of({Value::string("Kazan"), Value::string("SPB")}));
  t.children.emplace_back("currency", one_of({Value::string("RUB"), Value::string("USD")}));
  t.children.emplace_back("amount", int_range(-100, 100));
  GenerateSource s(config(t, 3, 0, 1000000));
  REQUIRE(s.open(nullptr).is_ok());
  struct Count : weir::RecordHandler {
    size_t n = 0, bytes = 0;
    void on_record(const weir::RawRecord& r) override {
      ++n;
      bytes += r.payload.size();
    }
  } h;
  auto t0 = std::chrono::steady_clock::now();
  while (s.poll(h, in_ms(1000), 65536) != PollResult::End) {
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(h.n == 1000000);
  WARN("generate: " << static_cast<int64_t>(h.n / secs) << " documents/s");
}
