#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/value.h"

using weir::Value;

TEST_CASE("value: ints and floats compare and hash numerically", "[value]") {
  REQUIRE(Value::integer(1) == Value::real(1.0));
  REQUIRE(Value::integer(1).hash() == Value::real(1.0).hash());
  REQUIRE(Value::compare(Value::integer(2), Value::real(2.5)) < 0);
  REQUIRE(Value::compare(Value(), Value::boolean(false)) < 0);
  REQUIRE(Value::compare(Value::string("b"), Value::string("a")) > 0);
}

TEST_CASE("value: ints and floats compare exactly beyond 2^53, and equal values hash equal", "[value]") {
  const double two63 = 9223372036854775808.0, two53 = 9007199254740992.0;
  const int64_t max = INT64_MAX, min = INT64_MIN;
  // INT64_MAX rounds to 2^63 as a double, but is less than it (they hashed differently while comparing equal,
  // so as group keys they split a group).
  CHECK(Value::compare(Value::integer(max), Value::real(two63)) < 0);
  CHECK(Value::compare(Value::real(two63), Value::integer(max)) > 0);
  CHECK(Value::integer(min) == Value::real(-two63));
  CHECK(Value::integer(min).hash() == Value::real(-two63).hash());
  CHECK(Value::compare(Value::integer(int64_t(1) << 53 | 1), Value::real(two53)) > 0);
  CHECK(Value::integer(int64_t(1) << 62) == Value::real(4611686018427387904.0));
  CHECK(Value::compare(Value::integer(0), Value::real(0.5)) < 0);
  CHECK(Value::compare(Value::integer(0), Value::real(-0.5)) > 0);
  CHECK(Value::compare(Value::integer(-1), Value::real(-0.5)) < 0);
  CHECK(Value::integer(0) == Value::real(-0.0));
  CHECK(Value::compare(Value::integer(max), Value::real(INFINITY)) < 0);
  CHECK(Value::compare(Value::integer(min), Value::real(-INFINITY)) > 0);
  CHECK(Value::compare(Value::integer(max), Value::real(NAN)) < 0);  // NaN after every number
  CHECK(Value::compare(Value::real(NAN), Value::real(NAN)) == 0);
  // Whatever compares equal hashes equal; and compare is antisymmetric.
  std::vector<Value> vals;
  for (int64_t i : {min, min + 1, int64_t(-1) << 53, int64_t(-1), int64_t(0), int64_t(1),
                    (int64_t(1) << 53) + 1, max - 1, max})
    vals.push_back(Value::integer(i));
  for (double d : {-two63, -two53, -1.5, -1.0, -0.0, 0.0, 0.5, 1.0, two53, two53 + 2, two63, 1e300,
                   double(INFINITY), double(NAN)})
    vals.push_back(Value::real(d));
  for (const Value& a : vals) {
    for (const Value& b : vals) {
      INFO(a.to_display() << " vs " << b.to_display());
      CHECK(Value::compare(a, b) == -Value::compare(b, a));
      if (Value::compare(a, b) == 0) CHECK(a.hash() == b.hash());
    }
  }
}

TEST_CASE("value: JSON text escapes and replaces invalid UTF-8", "[value]") {
  REQUIRE(Value::string("a\"b\\\n\x01").to_json() == "\"a\\\"b\\\\\\n\\u0001\"");
  REQUIRE(Value::string(std::string("x\xff y")).to_json() == "\"x\xEF\xBF\xBD y\"");
  REQUIRE(Value::string("日本").to_json() == "\"日本\"");
  REQUIRE(Value::time(1484148840000).to_json() == "\"2017-01-11T15:34:00.000Z\"");
  REQUIRE(Value::time(-1).to_display() == "1969-12-31T23:59:59.999Z");
  REQUIRE(Value::real(0.5).to_json() == "0.5");
  REQUIRE(Value::list({Value::integer(1), Value()}).to_json() == "[1,null]");
}

TEST_CASE("value: a float's JSON text always reads back as a float", "[value]") {
  // Shortest round-trip digits, and a whole number keeps a ".0" (spec §5: avg, a float sum and a
  // `type: float` field are floats; a JSON reader must not get the int 2).
  CHECK(Value::real(2.0).to_json() == "2.0");
  CHECK(Value::real(-3.0).to_json() == "-3.0");
  CHECK(Value::real(0.0).to_json() == "0.0");
  CHECK(Value::real(-0.0).to_json() == "-0.0");
  CHECK(Value::real(1e15).to_json() == "1000000000000000.0");
  CHECK(Value::real(1e300).to_json() == "1e+300");
  CHECK(Value::real(-2.5e-7).to_json() == "-2.5e-07");
  CHECK(Value::real(0.1).to_json() == "0.1");
  CHECK(Value::real(1.0 / 3).to_json() == "0.3333333333333333");
  CHECK(Value::real(2.0).to_display() == "2.0");
  CHECK(Value::list({Value::real(1.0), Value::integer(1)}).to_json() == "[1.0,1]");
  // JSON has no NaN or Infinity: null.
  CHECK(Value::real(std::nan("")).to_json() == "null");
  CHECK(Value::real(INFINITY).to_json() == "null");
  CHECK(Value::real(-INFINITY).to_json() == "null");
  // Every finite float reads back as the same double.
  for (double d :
       {2.0, 1e15, 1e16, 123456789012345680.0, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 100.0}) {
    std::string t = Value::real(d).to_json();
    INFO(t);
    CHECK(t.find_first_of(".e") != std::string::npos);
    CHECK(std::stod(t) == d);
  }
}

TEST_CASE("value: a string's hash is hash_bytes of its bytes, and every byte of it counts", "[value]") {
  // Group tables hash a stored key's bytes with hash_bytes() and a looked-up key with Value::hash(): they
  // must agree. And a change in any one byte, at any length (the short forms read 1-3 bytes, two 4-byte or
  // two 8-byte words; longer strings 16 bytes a step and an overlapping tail), changes the hash: a hash that
  // skipped a byte would put "ab" and "ac" into one bucket chain at every table size.
  std::set<uint64_t> seen;
  size_t count = 0;
  for (size_t n = 0; n <= 70; ++n) {
    std::string base;
    for (size_t i = 0; i < n; ++i) base += static_cast<char>('a' + (i * 5 + n) % 26);
    CHECK(Value::string(base).hash() == weir::hash_bytes(base));
    seen.insert(weir::hash_bytes(base));
    ++count;
    for (size_t i = 0; i < n; ++i) {
      for (unsigned char flip : {0x01, 0x20, 0x80}) {
        std::string s = base;
        s[i] = static_cast<char>(static_cast<unsigned char>(s[i]) ^ flip);
        seen.insert(weir::hash_bytes(s));
        ++count;
      }
    }
  }
  CHECK(seen.size() == count);  // no two of ~7,500 strings collide
  // A string and the same bytes with a NUL appended (the short forms pad with nothing): the length counts.
  CHECK(weir::hash_bytes(std::string_view("ab", 2)) != weir::hash_bytes(std::string_view("ab\0", 3)));
  CHECK(weir::hash_bytes(std::string_view("", 0)) != weir::hash_bytes(std::string_view("\0", 1)));
}
