// Spec §8: no input may crash the extractor; every bad record gets a short, clear error.
#include <catch2/catch.hpp>

#include "engine/fields/extract.h"
#include "helpers.h"

using namespace weir;
using namespace weir::fields::test;
using weir::fields::Extractor;

namespace {
// Built per test: field() uses Catch assertions, which need a running test.
#define kFields (std::vector<config::Field>{field("a", "a"), field("s", "s")})
}  // namespace

TEST_CASE("bad input: malformed JSON", "[fields]") {
  CHECK(bad(kFields, R"({"a":1,})") == "malformed JSON at byte 7: expected a string key");
  CHECK(bad(kFields, R"({"a" 1})") == "malformed JSON at byte 5: expected ':' after an object key");
  CHECK(bad(kFields, R"({"a":1 "b":2})") ==
        "malformed JSON at byte 7: expected ',' or '}' after an object member");
  CHECK(bad(kFields, R"({"a":[1 2]})") ==
        "malformed JSON at byte 8: expected ',' or ']' after an array element");
  CHECK(bad(kFields, R"({"a":tru})").find("invalid literal") != std::string::npos);
  CHECK(bad(kFields, R"({"a":01})").find("malformed JSON at byte 6") != std::string::npos);
  CHECK(bad(kFields, R"({"a":-})").find("invalid number") != std::string::npos);
  CHECK(bad(kFields, R"({"a":1.})").find("expected a digit after '.'") != std::string::npos);
  CHECK(bad(kFields, R"({"a":1e+})").find("exponent") != std::string::npos);
  CHECK(bad(kFields, R"({"a":'x'})").find("unexpected character") != std::string::npos);
  CHECK(bad(kFields, R"({"a":"\x"})").find("invalid escape") != std::string::npos);
  CHECK(bad(kFields, R"({"a":"\u12G4"})").find("invalid \\u escape") != std::string::npos);
  CHECK(bad(kFields, "{\"a\":\"tab\there\"}").find("unescaped control character") != std::string::npos);
  CHECK(bad(kFields, R"({"a":1}{"b":2})") == "malformed JSON at byte 7: unexpected data after the document");
  CHECK(bad(kFields, R"({a:1})") == "malformed JSON at byte 1: expected a string key");
  // Malformed parts outside the declared paths are found too.
  CHECK(bad(kFields, R"({"zzz":{"q":[1,2,}]}})").find("malformed JSON") != std::string::npos);
  CHECK(bad(kFields, R"({"zzz":"\q"})").find("invalid escape") != std::string::npos);
}

TEST_CASE("bad input: truncated JSON", "[fields]") {
  const std::string doc = R"({"a":{"b":[1,2.5,"x\u00e9",true,null]},"s":"text"})";
  REQUIRE(run(kFields, doc).ok);
  for (size_t n = 1; n < doc.size(); ++n) {
    INFO("prefix length " << n);
    std::string e = bad(kFields, doc.substr(0, n));
    CHECK(e.rfind("truncated JSON", 0) == 0);
  }
}

TEST_CASE("bad input: empty message and whitespace", "[fields]") {
  CHECK(bad(kFields, "") == "empty message");
  CHECK(bad(kFields, " \n\t") == "empty message (only whitespace)");
  // Surrounding whitespace is fine.
  CHECK(run(kFields, " \r\n{ \"a\" : 1 }\n ").ok);
}

TEST_CASE("bad input: top level not an object", "[fields]") {
  CHECK(bad(kFields, "[1,2]") == "top-level JSON value is an array, expected an object");
  CHECK(bad(kFields, R"("x")") == "top-level JSON value is a string, expected an object");
  CHECK(bad(kFields, "42") == "top-level JSON value is a number, expected an object");
  CHECK(bad(kFields, "true") == "top-level JSON value is a boolean, expected an object");
  CHECK(bad(kFields, "null") == "top-level JSON value is null, expected an object");
  CHECK(bad(kFields, "hello") == "malformed JSON at byte 0: unexpected character (expected '{')");
  // Text that merely starts like a literal is malformed JSON, not a null or a boolean.
  CHECK(bad(kFields, "not json") == "malformed JSON at byte 0: unexpected character (expected '{')");
  CHECK(bad(kFields, "tru") == "malformed JSON at byte 0: unexpected character (expected '{')");
  CHECK(bad(kFields, "fals e") == "malformed JSON at byte 0: unexpected character (expected '{')");
}

TEST_CASE("bad input: invalid UTF-8 in a string and in a key", "[fields]") {
  CHECK(bad(kFields, "{\"s\":\"ab\xFF\"}") == "invalid UTF-8 at byte 8");
  CHECK(bad(kFields, "{\"k\xC3\":1}") == "invalid UTF-8 at byte 3");
  CHECK(bad(kFields, "{\"s\":\"\xC0\xAF\"}") == "invalid UTF-8 at byte 6");          // overlong '/'
  CHECK(bad(kFields, "{\"s\":\"\xED\xA0\x80\"}") == "invalid UTF-8 at byte 6");      // surrogate
  CHECK(bad(kFields, "{\"s\":\"\xF4\x90\x80\x80\"}") == "invalid UTF-8 at byte 6");  // > U+10FFFF
  CHECK(bad(kFields, "{\"s\":\"\xE6\x97\"}") == "invalid UTF-8 at byte 6");          // cut sequence
  // Valid multi-byte text passes through unchanged.
  auto r = run(kFields, "{\"s\":\"\xE5\x90\x8D\xE5\x89\x8D \xF0\x9F\x98\x8B\"}");
  REQUIRE(r.ok);
  CHECK(r.slots[1] == Value::string("\xE5\x90\x8D\xE5\x89\x8D \xF0\x9F\x98\x8B"));
}

TEST_CASE("bad input: an escaped NUL (u0000) is kept, a raw NUL byte is malformed", "[fields]") {
  auto r = run(kFields, R"({"s":"a\u0000b"})");
  REQUIRE(r.ok);
  CHECK(r.slots[1].as_string() == std::string("a\0b", 3));
  CHECK(bad(kFields, std::string("{\"s\":\"a\0b\"}", 11)) ==
        "malformed JSON at byte 7: raw NUL byte inside a string");
  CHECK(bad(kFields, std::string("{\"a\":1}\0", 8)) ==
        "malformed JSON at byte 7: raw NUL byte after the document");
  CHECK(bad(kFields, std::string("{\"a\":\0}", 7)) == "malformed JSON at byte 5: raw NUL byte");
  CHECK(bad(kFields, std::string("\0{}", 3)) == "malformed JSON at byte 0: raw NUL byte");
}

TEST_CASE("bad input: surrogate escapes", "[fields]") {
  auto pair = run(kFields, R"({"s":"\ud83d\ude0b"})");
  REQUIRE(pair.ok);
  CHECK(pair.slots[1] == Value::string("\xF0\x9F\x98\x8B"));
  // A lone surrogate cannot be UTF-8: it becomes U+FFFD rather than invalid text.
  auto lone = run(kFields, R"({"s":"a\ud83db","a":"\udc00"})");
  REQUIRE(lone.ok);
  CHECK(lone.slots[1] == Value::string("a\xEF\xBF\xBD"
                                       "b"));
  CHECK(lone.slots[0] == Value::string("\xEF\xBF\xBD"));
}

TEST_CASE("bad input: deep nesting is refused without a crash", "[fields]") {
  const int depth = 100000;
  std::string deep = "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  CHECK(bad(kFields, deep) == "JSON nested deeper than 512 levels");
  std::string objs;
  for (int i = 0; i < depth; ++i) objs += "{\"a\":";
  CHECK(bad(kFields, objs) == "JSON nested deeper than 512 levels");
  // Exactly 512 levels is fine, 513 is not.
  std::string ok = std::string(1, '{') + "\"a\":" + std::string(511, '[') + std::string(511, ']') + "}";
  CHECK(run(kFields, ok).ok);
  std::string over = std::string(1, '{') + "\"a\":" + std::string(512, '[') + std::string(512, ']') + "}";
  CHECK(bad(kFields, over) == "JSON nested deeper than 512 levels");
}

TEST_CASE("bad input: a 2 MB document works", "[fields]") {
  std::string doc = "{\"pad\":[";
  for (int i = 0; i < 40000; ++i) {
    if (i) doc += ',';
    doc += R"({"k":"some text \u00e9 here","n":12345.678,"b":[true,false,null]})";
  }
  doc += R"(],"s":"end","a":{"x":1}})";
  REQUIRE(doc.size() > 2'000'000);
  auto r = run(kFields, doc);
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::string(R"({"x":1})"));
  CHECK(r.slots[1] == Value::string("end"));
  std::string big_string = "{\"s\":\"" + std::string(2'100'000, 'x') + "\"}";
  auto s = run(kFields, big_string);
  REQUIRE(s.ok);
  CHECK(s.slots[1].as_string().size() == 2'100'000);
}

TEST_CASE("bad input: garbage never crashes", "[fields]") {
  // Deterministic pseudo-random mutations of a valid document: each must either extract or fail
  // with a message; with ASan this also proves no out-of-bounds reads.
  const std::string base = R"({"a":{"b":[1,-2.5e3,"x\u00e9\n",true,null,{"c":"\ud83d\ude0b"}]},"s":"text"})";
  std::vector<config::Field> fs = {field("a", "a"), field("s", "s"), field("c", "a.b[*].c"),
                                   field("n", "a.b[1]", weir::config::FieldType::Float)};
  Extractor x(fs, config::Decode::Json);
  std::vector<Value> slots(fs.size());
  Lcg next{12345};
  int good = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string doc = base;
    mutate(doc, next, 3, 4, std::string_view("{}[]\",:\\0e-.", 13));
    std::string err;
    if (x.extract(doc, slots.data(), err)) {
      ++good;
    } else {
      REQUIRE_FALSE(err.empty());
    }
  }
  CHECK(good > 0);
}

TEST_CASE("valid_utf8", "[fields]") {
  using weir::fields::valid_utf8;
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii text that is longer than sixteen bytes"));
  CHECK(valid_utf8("\xC3\xA9\xE5\x90\x8D\xF0\x9F\x98\x8B and ascii \xF4\x8F\xBF\xBF"));
  CHECK(valid_utf8(std::string("nul \0 is valid UTF-8", 20)));
  CHECK_FALSE(valid_utf8("\x80"));
  CHECK_FALSE(valid_utf8("long ascii prefix of many bytes \xC3"));
  CHECK_FALSE(valid_utf8("\xC1\xBF"));          // overlong
  CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong
  CHECK_FALSE(valid_utf8("\xF0\x80\x80\xAF"));  // overlong
  CHECK_FALSE(valid_utf8("\xED\xBF\xBF"));      // surrogate
  CHECK_FALSE(valid_utf8("\xF5\x80\x80\x80"));  // beyond U+10FFFF
  CHECK_FALSE(valid_utf8("\xE5\x90x"));         // bad continuation
}
