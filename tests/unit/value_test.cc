#include <catch2/catch.hpp>

#include "engine/value.h"

using weir::Value;

TEST_CASE("value: ints and floats compare and hash numerically", "[value]") {
  REQUIRE(Value::integer(1) == Value::real(1.0));
  REQUIRE(Value::integer(1).hash() == Value::real(1.0).hash());
  REQUIRE(Value::compare(Value::integer(2), Value::real(2.5)) < 0);
  REQUIRE(Value::compare(Value(), Value::boolean(false)) < 0);
  REQUIRE(Value::compare(Value::string("b"), Value::string("a")) > 0);
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
