// The SIMD fast paths of the extractor (keys read in place, unneeded scalars skipped inline, strings
// scanned 16 bytes at a time) at every position of their blocks, and a differential test against
// RapidJSON: random and mutated documents must be good or bad alike, with the same extracted values.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>

#include "engine/fields/extract.h"
#include "helpers.h"

using namespace weir;
using namespace weir::fields::test;
using weir::fields::Extractor;

TEST_CASE("simd: a bad byte at each position 0..63 of a long key, needed or not", "[fields]") {
  const std::vector<config::Field> fs = {field("a", "a"), field("b", "user.b")};
  struct Bad {
    std::string bytes;
    std::string expected;  // error text after "at byte N: ", or "utf8"
  };
  const std::vector<Bad> bads = {{std::string(1, '\0'), "raw NUL byte inside a string"},
                                 {"\x1F", "unescaped control character inside a string"},
                                 {"\t", "unescaped control character inside a string"},
                                 {"\\x", "invalid escape in a string"},
                                 {"\xFF", "utf8"},
                                 {"\xC3", "utf8"}};
  for (const auto& b : bads) {
    for (size_t k = 0; k < 64; ++k) {
      for (const char* where : {"top", "user", "skipped"}) {
        const std::string key = std::string(k, 'k') + b.bytes + std::string(70 - k, 'z');
        std::string head;
        if (std::strcmp(where, "top") == 0) head = "{\"a\":1,\"";
        if (std::strcmp(where, "user") == 0) head = "{\"a\":1,\"user\":{\"";
        if (std::strcmp(where, "skipped") == 0) head = "{\"a\":1,\"other\":{\"";
        const std::string doc = head + key + "\":2}}";
        Result r = both_ways(fs, doc);
        INFO(where << " key, bad byte at " << k << ": " << b.expected);
        REQUIRE_FALSE(r.ok);
        const size_t at = head.size() + k + (b.bytes[0] == '\\' ? 1 : 0);
        if (b.expected == "utf8") {
          CHECK(r.error == "invalid UTF-8 at byte " + std::to_string(at));
        } else {
          CHECK(r.error == "malformed JSON at byte " + std::to_string(at) + ": " + b.expected);
        }
      }
    }
  }
}

TEST_CASE("simd: a quote, escape or non-ASCII text at each position 0..63 of a key", "[fields]") {
  const std::vector<config::Field> fs = {field("x", "user.k" + std::string(40, 'k')), field("a", "a")};
  for (size_t k = 0; k < 64; ++k) {
    // An escaped quote, an escaped letter that spells the wanted key, and valid multi-byte text.
    const std::string tail = std::string(40, 'k');
    const std::string spelled = "k" + tail.substr(0, k % 40) + "\\u006b" + tail.substr(k % 40 + 1);
    const std::string doc = "{\"user\":{\"" + std::string(k, 'p') + "\\\"q\":1,\"" + std::string(k, 'p') +
                            "\xE5\x90\x8D\":2,\"" + spelled + "\":\"hit\"},\"" + std::string(k, 'a') +
                            "\":0,\"a\":7}";
    Result r = both_ways(fs, doc);
    INFO("k = " << k << ": " << doc);
    REQUIRE(r.ok);
    CHECK(r.slots[0] == Value::string("hit"));
    CHECK(r.slots[1] == Value::integer(7));
  }
}

TEST_CASE("simd: unterminated keys and strings at the end of the buffer", "[fields]") {
  const std::vector<config::Field> fs = {field("a", "a"), field("b", "user.b")};
  const std::string truncated = "truncated JSON: the message ends before the document does (";
  for (size_t k = 0; k < 80; ++k) {
    const std::string s(k, 's');
    for (const std::string& doc : {"{\"" + s, "{\"a\":\"" + s, "{\"z\":\"" + s, "{\"user\":{\"" + s,
                                   "{\"z\":[\"" + s, "{\"" + s + "\\", "{\"z\":\"" + s + "\\u00"}) {
      Result r = both_ways(fs, doc);
      INFO(doc);
      REQUIRE_FALSE(r.ok);
      CHECK(r.error == truncated + std::to_string(doc.size()) + " bytes)");
    }
  }
}

TEST_CASE("simd: unneeded scalars at the end of the buffer and cut short", "[fields]") {
  const std::vector<config::Field> fs = {field("a", "a")};
  for (const std::string v : {"true", "false", "null", "-12.5e+3", "\"str\""}) {
    for (size_t cut = 0; cut <= v.size(); ++cut) {
      const std::string doc = "{\"z\":" + v.substr(0, cut);
      Result r = both_ways(fs, doc);
      REQUIRE_FALSE(r.ok);
    }
    Result r = both_ways(fs, "{\"z\":" + v + "}");
    CHECK(r.ok);
  }
}

TEST_CASE("simd: deep nesting inside unneeded members and around needed ones", "[fields]") {
  const std::vector<config::Field> fs = {field("a", "a")};
  for (int depth : {510, 511, 512, 513, 600}) {
    // The document itself is level 1: `depth` more levels of arrays in a member.
    const std::string doc = "{\"z\":" + std::string(static_cast<size_t>(depth), '[') +
                            std::string(static_cast<size_t>(depth), ']') + ",\"a\":1}";
    Result r = both_ways(fs, doc);
    INFO("depth " << depth);
    if (depth + 1 <= fields::kMaxDepth) {
      CHECK(r.ok);
    } else {
      CHECK(r.error == "JSON nested deeper than 512 levels");
    }
  }
}

namespace {

// A random JSON document (an object at the top), using the kinds of text that hit the fast paths:
// keys and strings of 0..70 bytes, escapes, multi-byte UTF-8, numbers, literals, nesting.
struct Gen {
  Lcg next{1};
  std::string str(bool key) {
    static const char* pieces[] = {"a",
                                   "b",
                                   "text",
                                   "user",
                                   "\\n",
                                   "\\\"",
                                   "\\\\",
                                   "\\u00e9",
                                   "\\/",
                                   " ",
                                   "\xC3\xA9",
                                   "\xE5\x90\x8D",
                                   "\xF0\x9F\x98\x8B",
                                   "0"};
    std::string s = "\"";
    if (key && next() % 3 == 0) {
      s += next() % 2 ? "a" : "user";
    } else {
      const size_t n = next() % 24;
      for (size_t i = 0; i < n; ++i) s += pieces[next() % (sizeof pieces / sizeof *pieces)];
      if (next() % 4 == 0) s += std::string(next() % 40, 'x');
    }
    return s + "\"";
  }
  std::string value(int depth) {
    switch (next() % (depth > 4 ? 5 : 7)) {
      case 0:
        return str(false);
      case 1:
        return std::to_string(static_cast<int32_t>(next())) + (next() % 2 ? "" : ".5e-3");
      case 2:
        return next() % 2 ? "true" : "false";
      case 3:
        return "null";
      case 4:
        return "-0.25";
      case 5: {
        std::string s = "[";
        const size_t n = next() % 5;
        for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + value(depth + 1);
        return s + "]";
      }
      default:
        return object(depth + 1);
    }
  }
  std::string object(int depth) {
    std::string s = "{";
    const size_t n = next() % 7;
    for (size_t i = 0; i < n; ++i)
      s += std::string(i ? "," : "") + (next() % 8 ? "" : " ") + str(true) + ":" + value(depth);
    return s + "}";
  }
};

// RapidJSON's view of the document: good when it parses strictly to an object. Returns false for
// documents the two parsers treat differently by design (lone \u surrogates: ours makes them
// U+FFFD; numbers too big for a double).
bool rapid_verdict(const std::string& doc, rapidjson::Document& d, bool& good) {
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag |
          rapidjson::kParseIterativeFlag>(doc.data(), doc.size());
  if (d.HasParseError()) {
    const auto code = d.GetParseError();
    if (code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid ||
        code == rapidjson::kParseErrorNumberTooBig) {
      return false;
    }
    good = false;
    return true;
  }
  good = d.IsObject();
  return true;
}

// Deep equality with members in order (RapidJSON's operator== looks members up by name, which is
// wrong for duplicate keys).
bool same_json(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.IsObject() != b.IsObject() || a.IsArray() != b.IsArray()) return false;
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    for (auto x = a.MemberBegin(), y = b.MemberBegin(); x != a.MemberEnd(); ++x, ++y) {
      if (x->name != y->name || !same_json(x->value, y->value)) return false;
    }
    return true;
  }
  if (a.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!same_json(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

// Compares an extracted value with RapidJSON's value at the same path.
void same_value(const Value& ours, const rapidjson::Value* theirs, const std::string& doc) {
  INFO("payload: " << doc.substr(0, 300));
  if (theirs == nullptr || theirs->IsNull()) {
    CHECK(ours.is_null());
    return;
  }
  if (theirs->IsString()) {
    REQUIRE(ours.type() == Type::String);
    CHECK(ours.as_string() == std::string(theirs->GetString(), theirs->GetStringLength()));
  } else if (theirs->IsBool()) {
    CHECK(ours == Value::boolean(theirs->GetBool()));
  } else if (theirs->IsInt64()) {
    CHECK(ours == Value::integer(theirs->GetInt64()));
  } else if (theirs->IsNumber()) {
    REQUIRE(ours.is_number());
    CHECK(ours.to_double() == theirs->GetDouble());
  } else if (theirs->IsArray()) {
    REQUIRE(ours.type() == Type::List);
    CHECK(ours.as_list().size() == theirs->Size());
  } else {
    // An object: our compact JSON text must parse to the same object.
    REQUIRE(ours.type() == Type::String);
    rapidjson::Document again;
    again.Parse<rapidjson::kParseFullPrecisionFlag>(ours.as_string().data(), ours.as_string().size());
    REQUIRE_FALSE(again.HasParseError());
    CHECK(same_json(again, *theirs));
  }
}

}  // namespace

TEST_CASE("differential: random and mutated documents agree with RapidJSON", "[fields]") {
  const std::vector<config::Field> fs = {field("a", "a"), field("b", "user.a"), field("t", "text")};
  Extractor fast(fs, config::Decode::Json);
  Gen gen;
  size_t compared = 0, good = 0, bad_docs = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string doc = gen.object(0);
    if (i % 3 != 0) mutate(doc, gen.next, 3, 4, "{}[]\",:\\ 0a-eE.\x80\xC3");
    rapidjson::Document d;
    bool rapid_good = false;
    if (!rapid_verdict(doc, d, rapid_good)) continue;
    Result r = run_exact(fast, fs.size(), doc);
    INFO("payload: " << doc << "\nour error: " << r.error);
    REQUIRE(r.ok == rapid_good);
    ++compared;
    if (!r.ok) {
      ++bad_docs;
      continue;
    }
    ++good;
    auto member = [&](const rapidjson::Value& obj, const char* k) -> const rapidjson::Value* {
      // Duplicate keys: the last wins, as in the extractor.
      const rapidjson::Value* found = nullptr;
      for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        if (std::string(it->name.GetString(), it->name.GetStringLength()) == k) found = &it->value;
      }
      return found;
    };
    same_value(r.slots[0], member(d, "a"), doc);
    // A nested path under a duplicated key merges what every copy gave (an extractor rule RapidJSON
    // has no counterpart for): compare user.a only when "user" occurs once.
    size_t users = 0;
    for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) users += it->name == "user" ? 1 : 0;
    const rapidjson::Value* user = member(d, "user");
    if (users <= 1) same_value(r.slots[1], user && user->IsObject() ? member(*user, "a") : nullptr, doc);
    same_value(r.slots[2], member(d, "text"), doc);
  }
  CHECK(compared > 15000);
  CHECK(good > 5000);
  CHECK(bad_docs > 5000);
}
