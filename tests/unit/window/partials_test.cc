// window::Partials + State::merge (issue 9, partial aggregation on the parse threads): merging a chunk's
// table gives exactly what adding its records one by one gives (with dyadic floats, whose sums are exact in
// any order), refuses exactly what add() refuses, and keeps first/last in record order across chunks.
#include <catch2/catch.hpp>

#include <climits>
#include <random>

#include "tests/unit/window/window_test_util.h"

using namespace wtest;
using weir::window::Partials;
using weir::window::State;

namespace {

struct Rec {
  Key key;
  std::vector<Value> args;
};

std::string advance(State& st, int64_t wm) {
  std::vector<Emission> out;
  st.advance(wm, out);
  return dump(out);
}

// Random records for `aggs` over a few keys; values are small ints, dyadic floats (k/8), strings or nulls.
std::vector<Rec> records(std::mt19937& rng, size_t n, const std::vector<A>& aggs, size_t keys) {
  std::vector<Rec> v;
  for (size_t i = 0; i < n; ++i) {
    Rec r;
    for (size_t k = 0; k < keys; ++k) {
      switch (rng() % 4) {
        case 0:
          r.key.push_back(I(static_cast<int64_t>(rng() % 3)));
          break;
        case 1:
          r.key.push_back(F(static_cast<double>(rng() % 3)));  // 1.0 and 1 are one group
          break;
        default:
          r.key.push_back(S(rng() % 2 ? "a" : "bb"));
      }
    }
    for (A a : aggs) {
      if (a == A::Count) {
        r.args.push_back(N());
        continue;
      }
      switch (rng() % 6) {
        case 0:
          r.args.push_back(N());
          break;
        case 1:
          r.args.push_back(F(static_cast<double>(static_cast<int>(rng() % 64) - 32) / 8.0));
          break;
        case 2:
          if (a != A::Sum && a != A::Avg) {
            r.args.push_back(S(rng() % 2 ? "x" : "y"));
            break;
          }
          [[fallthrough]];
        default:
          r.args.push_back(I(static_cast<int64_t>(rng() % 1000) - 500));
      }
    }
    v.push_back(std::move(r));
  }
  return v;
}

}  // namespace

TEST_CASE("partials: merging chunk tables equals adding the records one by one", "[window][partials]") {
  const std::vector<A> all = {A::Count, A::CountOf, A::Sum,  A::Avg,          A::Min,
                              A::Max,   A::First,   A::Last, A::CountDistinct};
  const std::vector<A> invertible = {A::Count, A::CountOf, A::Sum, A::Avg};
  struct Geometry {
    K kind;
    int64_t length, every;
  };
  const std::vector<Geometry> geometries = {{K::Batch, 1000, 1000},   {K::Tumbling, 3000, 3000},
                                            {K::Sliding, 3000, 1000}, {K::Sliding, 2500, 1000},
                                            {K::Sliding, 1000, 3000}, {K::Total, 2000, 2000}};
  std::mt19937 rng(42);
  for (const auto& g : geometries) {
    for (const auto* aggs : {&all, &invertible}) {
      for (size_t keys : {size_t(0), size_t(1), size_t(2)}) {
        INFO("kind " << static_cast<int>(g.kind) << " " << g.length << "/" << g.every << ", aggs "
                     << aggs->size() << ", keys " << keys);
        State one(plan(g.kind, g.length, g.every, *aggs, keys, keys == 0));
        State merged(plan(g.kind, g.length, g.every, *aggs, keys, keys == 0));
        one.start_at(0);
        merged.start_at(0);
        Partials parts(plan(g.kind, g.length, g.every, *aggs, keys));
        int64_t refused = 0;
        for (int64_t t = 0; t < 20000; t += 500) {
          // A few chunks at each time, some empty; the watermark moves every other step.
          for (int chunk = 0; chunk < 3; ++chunk) {
            auto recs = records(rng, rng() % 40, *aggs, keys);
            parts.clear();
            bool any = false, ok = true;
            for (const Rec& r : recs) {
              bool a = one.add(t, r.key, r.args.data());
              ok = any ? ok : a;
              REQUIRE((!any || a == ok));  // every record at t is taken, or none
              any = true;
              parts.add(r.key, r.args.data());
            }
            REQUIRE(parts.records() == recs.size());
            const bool m = merged.merge(t, parts);
            if (any) REQUIRE(m == ok);
            if (!m) ++refused;
          }
          if (t % 1000 == 500) {
            REQUIRE(advance(one, t + 500) == advance(merged, t + 500));
            // A record at a closed window is refused by both.
            parts.clear();
            parts.add(Key(keys, S("a")), std::vector<Value>(aggs->size(), I(1)).data());
            REQUIRE(one.add(t - 3000, Key(keys, S("a")), std::vector<Value>(aggs->size(), I(1)).data()) ==
                    merged.merge(t - 3000, parts));
          }
          REQUIRE(one.groups() == merged.groups());
          REQUIRE(one.panes() == merged.panes());
        }
        if (aggs == &invertible) {
          // The same state, word for word (count_distinct sets may list their values in another order).
          std::string a, b;
          one.save(a);
          merged.save(b);
          REQUIRE(a == b);
        }
        REQUIRE(advance(one, INT64_MAX) == advance(merged, INT64_MAX));
        parts.clear();
        parts.add(Key(keys, I(1)), std::vector<Value>(aggs->size(), I(1)).data());
        REQUIRE_FALSE(merged.merge(30000, parts));                          // after the end of input
        if (g.every == 3000 && g.kind == K::Sliding) REQUIRE(refused > 0);  // between windows
      }
    }
  }
}

TEST_CASE("partials: first and last follow record order across chunks and groups", "[window][partials]") {
  auto p = plan(K::Tumbling, 1000, 1000, {A::First, A::Last, A::Count}, 1);
  State st(p);
  Partials parts(p);
  parts.add({S("a")}, std::vector<Value>{I(1), I(1), N()}.data());
  parts.add({S("b")}, std::vector<Value>{I(2), I(2), N()}.data());
  parts.add({S("a")}, std::vector<Value>{N(), N(), N()}.data());  // nulls do not count for first/last
  REQUIRE(parts.groups() == 2);
  REQUIRE(st.merge(100, parts));
  parts.clear();
  REQUIRE(parts.groups() == 0);
  REQUIRE(parts.records() == 0);
  parts.add({S("b")}, std::vector<Value>{I(3), I(3), N()}.data());
  parts.add({S("a")}, std::vector<Value>{I(4), I(4), N()}.data());
  REQUIRE(st.merge(200, parts));
  REQUIRE(st.add(300, {S("a")}, std::vector<Value>{I(5), I(5), N()}.data()));
  CHECK(advance(st, 1000) == R"([0,1000) "a" i:1 i:5 i:4; "b" i:2 i:3 i:2)");
}

TEST_CASE("partials: int sums beyond int64 and floats in a later chunk widen the state as add() does",
          "[window][partials]") {
  auto p = plan(K::Tumbling, 1000, 1000, {A::Sum, A::Avg, A::Count}, 1);
  State one(p), merged(p);
  Partials parts(p);
  auto feed = [&](int64_t t, std::vector<Value> xs) {
    parts.clear();
    for (const Value& x : xs) {
      std::vector<Value> args{x, x, N()};
      REQUIRE(one.add(t, {S("k")}, args.data()));
      parts.add({S("k")}, args.data());
    }
    REQUIRE(merged.merge(t, parts));
  };
  // Inside one chunk the sum leaves int64 and comes back: the table widens itself, the state stays exact.
  feed(0, {I(INT64_MAX), I(INT64_MAX), I(-INT64_MAX), I(5)});
  // The sum leaves int64 in the state only (the chunk's own sum fits): the state widens before merging.
  feed(10, {I(INT64_MAX - 10)});
  // A float in a later chunk.
  feed(20, {F(0.25), I(3)});
  const std::string want = advance(one, 1000);
  CHECK(want == advance(merged, 1000));
  CHECK(want.find("f:") != std::string::npos);  // the sum became a float (beyond int64)
  // A fresh window: narrow int chunks, then a float chunk.
  feed(1000, {I(1), I(2)});
  feed(1001, {F(0.5)});
  CHECK(advance(one, 2000) == advance(merged, 2000));
}

TEST_CASE("partials: clear() frees what one chunk made large (huge keys, huge sets, very many groups)",
          "[window][partials]") {
  auto p = plan(K::Tumbling, 1000, 1000, {A::Count, A::CountDistinct}, 1);
  State st(p);
  Partials parts(p);
  auto chunk = [&](const std::vector<std::pair<std::string, int64_t>>& recs) {
    parts.clear();
    for (const auto& [k, v] : recs) parts.add({Value::string(k)}, std::vector<Value>{N(), I(v)}.data());
    REQUIRE(st.merge(0, parts));
  };
  chunk({{"a", 1}});
  parts.clear();
  const size_t base = parts.held_bytes();
  // Entry k holds a 1 MB key after chunk k: without the cap every position would keep one.
  const std::string big(1 << 20, 'x');
  for (int k = 0; k < 16; ++k) {
    std::vector<std::pair<std::string, int64_t>> recs;
    for (int j = 0; j < k; ++j) recs.emplace_back(std::to_string(j), j);
    recs.emplace_back(big + std::to_string(k), 0);
    chunk(recs);
  }
  parts.clear();
  CHECK(parts.held_bytes() < base + 64 * 1024);
  // One group with 100,000 distinct values, and a chunk of 100,000 groups.
  std::vector<std::pair<std::string, int64_t>> recs;
  for (int64_t v = 0; v < 100000; ++v) recs.emplace_back("g", v);
  chunk(recs);
  recs.clear();
  for (int64_t v = 0; v < 100000; ++v) recs.emplace_back(std::to_string(v), v);
  chunk(recs);
  parts.clear();
  INFO("held " << parts.held_bytes());
  CHECK(parts.held_bytes() < 4 * 1024 * 1024);  // kKeepEntries small entries (~3 MB); 100k entries: ~70 MB
  // Still correct afterwards: the state counted every record.
  chunk({{"a", 7}, {"a", 8}});
  std::vector<Emission> out;
  st.advance(1000, out);
  REQUIRE(out.size() == 1);
  size_t records = 0;
  for (const auto& r : out[0].rows) records += static_cast<size_t>(r[1].as_int());  // key, count, distinct
  CHECK(records == 1 + 16 * 17 / 2 + 100000 + 100000 + 2);
}
