// State::add_string_key (the row path for one string key counted, OutputPlan::count_key): the same state as
// add() with the key as a Value, record for record — the same emissions, the same lateness, the same
// checkpoint bytes — for every window kind, with keys that are empty, long, non-ASCII or that collide in
// length, and with groups that were created by add() and are then found by add_string_key() and back.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "engine/window/state_impl.h"
#include "tests/unit/window/window_test_util.h"

using namespace wtest;
using weir::window::State;

namespace {

const char* const kKeys[] = {"",
                             "a",
                             "A",
                             "ab",
                             "ba",
                             "word",
                             "Word",
                             "éclair",
                             "日本語",
                             "0123456789abcdef",
                             "0123456789abcdeF",
                             "https://t.co/abcdefghij",
                             "https://t.co/abcdefghiJ",
                             "x y",
                             "\x7f"};

std::string advance(State& st, int64_t wm) {
  std::vector<weir::Emission> out;
  st.advance(wm, out);
  return dump(out);
}

std::string saved(const State& st) {
  std::string s;
  st.save(s);
  return s;
}
}  // namespace

TEST_CASE("window: add_string_key equals add() of the one-string key, record for record", "[window]") {
  struct Case {
    K kind;
    int64_t length, every;
    std::vector<A> aggs;
  };
  const Case cases[] = {{K::Batch, 100, 100, {A::Count}},
                        {K::Tumbling, 100, 100, {A::Count, A::Count}},
                        {K::Sliding, 300, 100, {A::Count}},
                        {K::Sliding, 250, 100, {A::Count}},
                        {K::Total, 100, 100, {A::Count}}};
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    for (const Case& c : cases) {
      CAPTURE(seed, static_cast<int>(c.kind), c.length, c.every);
      std::mt19937 rng(seed);
      State a(plan(c.kind, c.length, c.every, c.aggs, 1));
      State b(plan(c.kind, c.length, c.every, c.aggs, 1));
      if (c.kind == K::Batch || c.kind == K::Total) {
        a.start_at(0);
        b.start_at(0);
      }
      int64_t wm = 0;
      for (int i = 0; i < 400; ++i) {
        const std::string key = kKeys[rng() % std::size(kKeys)];
        // Mostly in order, sometimes behind the watermark (late), sometimes far ahead.
        int64_t t = wm + static_cast<int64_t>(rng() % 200) - 60;
        if (rng() % 50 == 0) t += 5000;
        const Key k{Value::string(key)};
        // Either state creates groups either way: b alternates between the two entry points.
        const bool via_value = rng() % 4 == 0;
        const bool ra = a.add(t, k, nullptr);
        const bool rb = via_value ? b.add(t, k, nullptr) : b.add_string_key(t, key);
        REQUIRE(ra == rb);
        if (rng() % 10 == 0) {
          wm = std::max(wm, t - 50);
          REQUIRE(advance(a, wm) == advance(b, wm));
          REQUIRE(a.groups() == b.groups());
        }
      }
      REQUIRE(saved(a) == saved(b));
      REQUIRE(advance(a, INT64_MAX) == advance(b, INT64_MAX));
    }
  }
}

// add_string_key() finds groups by hash_string(); add() made them with hash(). Were they to differ, every
// add_string_key() would miss and take the slow path for an existing group (same results, no speed).
TEST_CASE("window: hash_string of a string equals hash of the one-value key holding it", "[window]") {
  using weir::window::detail::GroupTable;
  for (const char* k : kKeys) {
    const Value v = Value::string(k);
    CAPTURE(k);
    CHECK(GroupTable::hash_string(k) == GroupTable::hash(&v, 1));
  }
}

TEST_CASE("window: Partials::add_string_key equals Partials::add of the one-string key", "[window]") {
  for (K kind : {K::Batch, K::Sliding, K::Total}) {
    for (uint32_t seed = 1; seed <= 10; ++seed) {
      CAPTURE(static_cast<int>(kind), seed);
      std::mt19937 rng(seed);
      const auto p = plan(kind, kind == K::Sliding ? 300 : 100, 100, {A::Count, A::Count}, 1);
      State a(p), b(p);
      a.start_at(0);
      b.start_at(0);
      weir::window::Partials pa(p), pb(p);
      int64_t t = 0;
      for (int chunk = 0; chunk < 30; ++chunk) {
        for (int i = 0, n = static_cast<int>(rng() % 40); i < n; ++i) {
          const std::string key = kKeys[rng() % std::size(kKeys)];
          pa.add(Key{Value::string(key)}, nullptr);
          if (rng() % 3 == 0) {
            pb.add(Key{Value::string(key)}, nullptr);
          } else {
            pb.add_string_key(key);
          }
        }
        REQUIRE(pa.groups() == pb.groups());
        REQUIRE(pa.records() == pb.records());
        REQUIRE(a.merge(t, pa) == b.merge(t, pb));
        pa.clear();
        pb.clear();
        if (rng() % 3 == 0) {
          t += 100;
          REQUIRE(advance(a, t) == advance(b, t));
        }
      }
      REQUIRE(saved(a) == saved(b));
      REQUIRE(advance(a, INT64_MAX) == advance(b, INT64_MAX));
    }
  }
}

// Two keys of the same length whose 32-bit group hashes are equal (a birthday search over "k0000000"...):
// tables find a group by its hash and then compare the key bytes, and only colliding keys test that compare.
TEST_CASE("window: keys whose hashes collide stay apart, found by either path", "[window]") {
  using weir::window::detail::GroupTable;
  std::unordered_map<uint32_t, std::string> seen;
  std::string x, y;
  for (int i = 0; x.empty() && i < 2000000; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "k%07d", i);
    auto [it, fresh] = seen.emplace(GroupTable::hash_string(buf), buf);
    if (!fresh) {
      x = it->second;
      y = buf;
    }
  }
  CAPTURE(x, y);
  REQUIRE(!x.empty());
  REQUIRE(x.size() == y.size());
  const Value vx = Value::string(x), vy = Value::string(y);
  REQUIRE(GroupTable::hash(&vx, 1) == GroupTable::hash(&vy, 1));

  const auto p = plan(K::Batch, 100, 100, {A::Count}, 1);
  State st(p);
  st.start_at(0);
  REQUIRE(st.add_string_key(0, x));
  REQUIRE(st.add(0, Key{vy}, nullptr));
  REQUIRE(st.add_string_key(0, y));
  REQUIRE(st.add(0, Key{vx}, nullptr));
  REQUIRE(st.add_string_key(0, y));
  CHECK(st.groups() == 2);
  const std::string sx = x < y ? x : y, sy = x < y ? y : x;
  const int64_t cx = sx == x ? 2 : 3, cy = sx == x ? 3 : 2;
  CHECK(advance(st, 100) ==
        "[0,100) \"" + sx + "\" i:" + std::to_string(cx) + "; \"" + sy + "\" i:" + std::to_string(cy));

  weir::window::Partials parts(p);
  parts.add_string_key(x);
  parts.add(Key{vy}, nullptr);
  parts.add_string_key(y);
  parts.add(Key{vx}, nullptr);
  parts.add_string_key(y);
  CHECK(parts.groups() == 2);
  State merged(p);
  merged.start_at(0);
  REQUIRE(merged.merge(0, parts));
  CHECK(merged.groups() == 2);
  CHECK(advance(merged, 100) ==
        "[0,100) \"" + sx + "\" i:" + std::to_string(cx) + "; \"" + sy + "\" i:" + std::to_string(cy));
}
