// State::add_string_key (the row path for one string key counted, OutputPlan::count_key): the same state as
// add() with the key as a Value, record for record — the same emissions, the same lateness, the same
// checkpoint bytes — for every window kind, with keys that are empty, long, non-ASCII or that collide in
// length, and with groups that were created by add() and are then found by add_string_key() and back.
#include <catch2/catch.hpp>

#include <random>

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
