#include <catch2/catch.hpp>

#include "engine/fields/extract.h"
#include "helpers.h"

using namespace weir;
using namespace weir::fields::test;
using weir::fields::Extractor;
using FT = weir::config::FieldType;

TEST_CASE("extract: dotted paths, indexes and missing values", "[fields]") {
  std::vector<config::Field> fs = {field("author", "user.screen_name"), field("first", "tags[0].text"),
                                   field("second", "tags[1].text"), field("nope", "user.nope.deeper"),
                                   field("text", "text")};
  auto r = run(fs, R"({"text":"hi","user":{"id":1,"screen_name":"alice","x":[1,{"a":2}]},)"
                   R"("tags":[{"text":"a"},{"text":"b","n":null}]})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string("alice"));
  CHECK(r.slots[1] == Value::string("a"));
  CHECK(r.slots[2] == Value::string("b"));
  CHECK(r.slots[3].is_null());
  CHECK(r.slots[4] == Value::string("hi"));

  // Paths that meet a value of the wrong shape are missing, not errors.
  auto shapes = run(fs, R"({"user":"alice","tags":{"0":{"text":"x"}},"text":"t"})");
  REQUIRE(shapes.ok);
  CHECK(shapes.slots[0].is_null());
  CHECK(shapes.slots[1].is_null());
}

TEST_CASE("extract: [*] makes a list, merged with [N] on the same array", "[fields]") {
  std::vector<config::Field> fs = {
      field("tags", "entities.hashtags[*].text"), field("first", "entities.hashtags[0].text"),
      field("all", "entities.hashtags[*]"), field("nums", "nums[*]"), field("nested", "m[*][*]")};
  auto r = run(fs, R"({"entities":{"hashtags":[{"text":"spark","i":[1,2]},{"other":1},{"text":"kafka"}]},)"
                   R"("nums":[1, 2.5, "x", null, true],"m":[[1,2],[3]]})");
  REQUIRE(r.ok);
  REQUIRE(r.slots[0].type() == Type::List);
  const List& tags = r.slots[0].as_list();
  REQUIRE(tags.size() == 2);  // elements without the rest of the path are left out
  CHECK(tags[0] == Value::string("spark"));
  CHECK(tags[1] == Value::string("kafka"));
  CHECK(r.slots[1] == Value::string("spark"));
  // Objects in a list become their compact JSON text.
  const List& all = r.slots[2].as_list();
  REQUIRE(all.size() == 3);
  CHECK(all[0] == Value::string(R"({"text":"spark","i":[1,2]})"));
  CHECK(all[1] == Value::string(R"({"other":1})"));
  const List& nums = r.slots[3].as_list();
  REQUIRE(nums.size() == 5);
  CHECK(nums[0].type() == Type::Int);
  CHECK(nums[1] == Value::real(2.5));
  CHECK(nums[2] == Value::string("x"));
  CHECK(nums[3].is_null());
  CHECK(nums[4] == Value::boolean(true));
  // Nested [*] flattens.
  const List& nested = r.slots[4].as_list();
  REQUIRE(nested.size() == 3);
  CHECK(nested[2] == Value::integer(3));

  // An empty array is an empty list; a missing array is null; a non-array is null.
  auto empty = run(fs, R"({"entities":{"hashtags":[]},"nums":{"a":1}})");
  REQUIRE(empty.ok);
  REQUIRE(empty.slots[0].type() == Type::List);
  CHECK(empty.slots[0].as_list().empty());
  CHECK(empty.slots[1].is_null());
  CHECK(empty.slots[3].is_null());
  CHECK(empty.slots[4].is_null());
}

TEST_CASE("extract: an any path to an array is a list, objects stay compact JSON text", "[fields]") {
  std::vector<config::Field> fs = {field("arr", "tags"), field("obj", "user")};
  auto r = run(fs, R"({"tags":["x", 2, 2.5, null, [true, "y\u00e9"], {"a": 1}],"user":{"n": [1, 2]}})");
  REQUIRE(r.ok);
  REQUIRE(r.slots[0].type() == Type::List);
  const List& a = r.slots[0].as_list();
  REQUIRE(a.size() == 6);
  CHECK(a[0] == Value::string("x"));
  CHECK(a[1].type() == Type::Int);
  CHECK(a[2] == Value::real(2.5));
  CHECK(a[3].is_null());
  REQUIRE(a[4].type() == Type::List);
  CHECK(a[4].as_list()[1] == Value::string("y\xc3\xa9"));
  CHECK(a[5] == Value::string(R"({"a":1})"));
  CHECK(r.slots[1] == Value::string(R"({"n":[1,2]})"));
  auto empty = run(fs, R"({"tags":[]})");
  REQUIRE(empty.ok);
  REQUIRE(empty.slots[0].type() == Type::List);
  CHECK(empty.slots[0].as_list().empty());
}

TEST_CASE("extract: [*] with a declared type converts each element", "[fields]") {
  std::vector<config::Field> fs = {field("ids", "items[*].id", FT::Int)};
  auto r = run(fs, R"({"items":[{"id":1},{"id":"2"},{"id":3}]})");
  REQUIRE(r.ok);
  REQUIRE(r.slots[0].as_list().size() == 3);
  CHECK(r.slots[0].as_list()[1] == Value::integer(2));
  auto e = bad(fs, R"({"items":[{"id":1},{"id":"x"}]})");
  CHECK(e == R"(field 'ids' (items[*].id): JSON string "x" does not convert to int)");
}

TEST_CASE("extract: quoted keys with dots and brackets", "[fields]") {
  std::vector<config::Field> fs = {field("xy", R"(meta."x.y")"), field("br", R"("a[0]".b)"),
                                   field("esc", R"(meta."q\"k")")};
  auto r = run(fs, R"({"meta":{"x":{"y":1},"x.y":"dotted","q\"k":"quoted"},"a[0]":{"b":7}})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string("dotted"));
  CHECK(r.slots[1] == Value::integer(7));
  CHECK(r.slots[2] == Value::string("quoted"));
}

TEST_CASE("extract: keys written with escapes match their decoded form", "[fields]") {
  std::vector<config::Field> fs = {field("a", "caf\xC3\xA9"), field("b", "x")};
  auto r = run(fs, R"({"caf\u00e9":"yes","\u0078":"ex"})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string("yes"));
  CHECK(r.slots[1] == Value::string("ex"));
}

TEST_CASE("extract: type any", "[fields]") {
  std::vector<config::Field> fs = {field("s", "s"), field("i", "i"), field("big", "big"), field("f", "f"),
                                   field("b", "b"), field("o", "o"), field("a", "a"),     field("n", "n")};
  auto r = run(fs, R"({"s":"x\ny","i":-42,"big":123456789012345678901234567890,"f":1.5e3,"b":false,)"
                   R"("o":{ "k" : [1, 2, {"z" : "a b"}] , "e":"\"q\"" },"a":[ ],"n":null})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string("x\ny"));
  CHECK(r.slots[1].type() == Type::Int);
  CHECK(r.slots[1].as_int() == -42);
  CHECK(r.slots[2].type() == Type::Float);  // beyond int64: a float
  CHECK(r.slots[2].as_float() == Approx(1.2345678901234568e29));
  CHECK(r.slots[3].type() == Type::Float);
  CHECK(r.slots[3].as_float() == 1500.0);
  CHECK(r.slots[4] == Value::boolean(false));
  CHECK(r.slots[5] == Value::string(R"({"k":[1,2,{"z":"a b"}],"e":"\"q\""})"));
  CHECK(r.slots[6] == Value::list({}));  // arrays are lists
  CHECK(r.slots[7].is_null());
}

TEST_CASE("extract: type string", "[fields]") {
  std::vector<config::Field> fs = {field("s", "v", FT::String)};
  CHECK(run(fs, R"({"v":"abc"})").slots[0] == Value::string("abc"));
  CHECK(run(fs, R"({"v":12.50})").slots[0] == Value::string("12.50"));  // numbers: their JSON text
  CHECK(run(fs, R"({"v":-7})").slots[0] == Value::string("-7"));
  CHECK(run(fs, R"({"v":true})").slots[0] == Value::string("true"));
  CHECK(bad(fs, R"({"v":{"a":1}})") == "field 's' (v): JSON object does not convert to string");
  CHECK(bad(fs, R"({"v":[1]})") == "field 's' (v): JSON array does not convert to string");
}

TEST_CASE("extract: type int", "[fields]") {
  std::vector<config::Field> fs = {field("n", "v", FT::Int)};
  CHECK(run(fs, R"({"v":42})").slots[0] == Value::integer(42));
  CHECK(run(fs, R"({"v":-9223372036854775808})").slots[0].as_int() == INT64_MIN);
  CHECK(run(fs, R"({"v":9223372036854775807})").slots[0].as_int() == INT64_MAX);
  auto s = run(fs, R"({"v":"42"})");
  REQUIRE(s.ok);
  CHECK(s.slots[0].type() == Type::Int);
  CHECK(s.slots[0].as_int() == 42);
  CHECK(run(fs, R"({"v":" -3 "})").slots[0] == Value::integer(-3));
  CHECK(bad(fs, R"({"v":4.0})") == "field 'n' (v): JSON number 4.0 is not an integer (type int)");
  CHECK(bad(fs, R"({"v":1e3})") == "field 'n' (v): JSON number 1e3 is not an integer (type int)");
  CHECK(bad(fs, R"({"v":"4.5"})") == R"(field 'n' (v): JSON string "4.5" does not convert to int)");
  CHECK(bad(fs, R"({"v":"abc"})") == R"(field 'n' (v): JSON string "abc" does not convert to int)");
  CHECK(bad(fs, R"({"v":true})") == "field 'n' (v): JSON bool true does not convert to int");
  CHECK(bad(fs, R"({"v":{}})") == "field 'n' (v): JSON object does not convert to int");
  CHECK(bad(fs, R"({"v":123456789012345678901234567890})") ==
        "field 'n' (v): JSON number 123456789012345678901234567890 is out of int64 range (type int)");
  CHECK(bad(fs, R"({"v":9223372036854775808})").find("out of int64 range") != std::string::npos);
  CHECK(bad(fs, R"({"v":"99999999999999999999"})").find("out of int64 range") != std::string::npos);
}

TEST_CASE("extract: type float", "[fields]") {
  std::vector<config::Field> fs = {field("x", "v", FT::Float)};
  auto i = run(fs, R"({"v":3})");
  REQUIRE(i.ok);
  CHECK(i.slots[0].type() == Type::Float);
  CHECK(i.slots[0].as_float() == 3.0);
  CHECK(run(fs, R"({"v":-2.5e-3})").slots[0].as_float() == -0.0025);
  CHECK(run(fs, R"({"v":"1.25"})").slots[0].as_float() == 1.25);
  CHECK(run(fs, R"({"v":123456789012345678901234567890})").slots[0].as_float() == Approx(1.2345678901e29));
  CHECK(bad(fs, R"({"v":"nan"})") == R"(field 'x' (v): JSON string "nan" does not convert to float)");
  CHECK(bad(fs, R"({"v":"inf"})").find("does not convert to float") != std::string::npos);
  CHECK(bad(fs, R"({"v":"1.5x"})").find("does not convert to float") != std::string::npos);
  CHECK(bad(fs, R"({"v":false})").find("JSON bool false") != std::string::npos);
  CHECK(bad(fs, R"({"v":1e999})").find("does not convert to float") != std::string::npos);
}

TEST_CASE("extract: type bool", "[fields]") {
  std::vector<config::Field> fs = {field("b", "v", FT::Bool)};
  CHECK(run(fs, R"({"v":true})").slots[0] == Value::boolean(true));
  CHECK(run(fs, R"({"v":"false"})").slots[0] == Value::boolean(false));
  CHECK(run(fs, R"({"v":"TRUE"})").slots[0] == Value::boolean(true));
  CHECK(bad(fs, R"({"v":1})") == "field 'b' (v): JSON number 1 does not convert to bool");
  CHECK(bad(fs, R"({"v":"yes"})") == R"(field 'b' (v): JSON string "yes" does not convert to bool)");
}

TEST_CASE("extract: long values are cut in error messages", "[fields]") {
  std::vector<config::Field> fs = {field("n", "v", FT::Int)};
  std::string e = bad(fs, R"({"v":")" + std::string(100, 'x') + "\"}");
  CHECK(e == R"(field 'n' (v): JSON string ")" + std::string(40, 'x') + R"("... does not convert to int)");
}

TEST_CASE("extract: defaults and required fields", "[fields]") {
  config::Field lang = field("lang", "lang");
  lang.default_value = Value::string("und");
  config::Field n = field("n", "n", FT::Int);
  n.default_value = Value::integer(0);
  config::Field id = field("id", "id_str");
  id.required = true;
  std::vector<config::Field> fs = {lang, n, id};
  Extractor x(fs, config::Decode::Json);

  auto r = run(x, 3, R"({"id_str":"1"})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string("und"));
  CHECK(r.slots[1] == Value::integer(0));
  CHECK(r.slots[2] == Value::string("1"));

  auto nulls = run(x, 3, R"({"id_str":"1","lang":null,"n":null})");
  REQUIRE(nulls.ok);
  CHECK(nulls.slots[0] == Value::string("und"));
  CHECK(nulls.slots[1] == Value::integer(0));

  auto present = run(x, 3, R"({"id_str":"1","lang":"en","n":5})");
  REQUIRE(present.ok);
  CHECK(present.slots[0] == Value::string("en"));
  CHECK(present.slots[1] == Value::integer(5));

  std::string err;
  std::vector<Value> slots(3);
  CHECK_FALSE(x.extract(R"({"lang":"en"})", slots.data(), err));
  CHECK(err == "required field 'id' (id_str) is missing");
  CHECK_FALSE(x.extract(R"({"id_str":null})", slots.data(), err));
  CHECK(err == "required field 'id' (id_str) is null");
}

TEST_CASE("extract: slots are fully rewritten for every record", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a"), field("t", "t[*]")};
  Extractor x(fs, config::Decode::Json);
  std::vector<Value> slots(2);
  std::string err;
  REQUIRE(x.extract(R"({"a":"first","t":[1,2]})", slots.data(), err));
  CHECK(slots[0] == Value::string("first"));
  CHECK(slots[1].as_list().size() == 2);
  REQUIRE(x.extract(R"({"b":1})", slots.data(), err));
  CHECK(slots[0].is_null());
  CHECK(slots[1].is_null());
  REQUIRE(x.extract(R"({"a":2,"t":[3]})", slots.data(), err));
  CHECK(slots[0] == Value::integer(2));
  REQUIRE(slots[1].as_list().size() == 1);
  CHECK(slots[1].as_list()[0] == Value::integer(3));
  // A bad record in between leaves the next one unaffected.
  CHECK_FALSE(x.extract(R"({"a":"x","t":[1,)", slots.data(), err));
  REQUIRE(x.extract(R"({"a":"y"})", slots.data(), err));
  CHECK(slots[0] == Value::string("y"));
  CHECK(slots[1].is_null());
}

TEST_CASE("extract: duplicate keys: the last one wins", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a")};
  CHECK(run(fs, R"({"a":1,"a":2})").slots[0] == Value::integer(2));
  CHECK(run(fs, R"({"a":1,"a":null})").slots[0].is_null());
}

TEST_CASE("extract: a document without the declared fields, and no fields at all", "[fields]") {
  std::vector<config::Field> fs = {field("a", "x.y")};
  auto r = run(fs, R"({"other":{"deep":[1,2,{"x":{"y":1}}]}})");
  REQUIRE(r.ok);
  CHECK(r.slots[0].is_null());
  auto none = run({}, R"({"a":1})");
  CHECK(none.ok);
  // Even with no fields the document is validated.
  CHECK_FALSE(run({}, R"({"a":1)").ok);
}

TEST_CASE("extract: decode text", "[fields]") {
  config::Field line;
  line.name = "line";
  std::vector<config::Field> fs = {line};
  Extractor x(fs, config::Decode::Text);
  auto r = run(x, 1, "hello {not json");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string("hello {not json"));
  auto empty = run(x, 1, "");
  REQUIRE(empty.ok);
  CHECK(empty.slots[0] == Value::string(""));
  auto badr = run(x, 1, "caf\xC3");
  CHECK_FALSE(badr.ok);
  CHECK(badr.error == "invalid UTF-8 at byte 3");
}
