// The fast skip of values no field needs (extract.cc, skip_value): it must accept exactly what the
// full parser accepts, and a problem inside a skipped value must give the same error as anywhere else.
#include <catch2/catch.hpp>

#include <algorithm>

#include "engine/fields/extract.h"
#include "engine/fields/internal.h"
#include "helpers.h"

using namespace weir;
using namespace weir::fields::test;
using weir::fields::Extractor;

namespace {

// Extracts `doc` with the fast skip on and off (helpers.h, both_ways); `ok_out`: whether it was good.
void same_both_ways(const std::vector<config::Field>& fs, const std::string& doc, bool* ok_out = nullptr) {
  Result a = both_ways(fs, doc);
  if (ok_out) *ok_out = a.ok;
}

}  // namespace

TEST_CASE("fast skip: a bad byte inside a skipped string at every offset modulo 16", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a")};
  struct Bad {
    std::string bytes;
    std::string message;  // "" for invalid UTF-8
    size_t at = 0;        // where the error is reported, from the first bad byte
  };
  const std::vector<Bad> bads = {
      {std::string(1, '\0'), "raw NUL byte inside a string"},
      {"\x01", "unescaped control character inside a string"},
      {"\x1F", "unescaped control character inside a string"},
      {"\n", "unescaped control character inside a string"},
      {"\\q", "invalid escape in a string", 1},
      {"\\u12G4", "invalid \\u escape: expected 4 hex digits", 2},
      {"\xFF", ""},
      {"\x80", ""},
      {"\xC3(", ""},
      {"\xC0\xAF", ""},
      {"\xED\xA0\x80", ""},
      {"\xF4\x90\x80\x80", ""},
      {"\xE6\x97", ""},
  };
  for (const auto& bad_bytes : bads) {
    for (size_t k = 0; k < 48; ++k) {
      // Valid multi-byte text and escapes before the bad byte, so the scan has resumed after them.
      const std::string prefix = k % 2 ? std::string(k, 'x') : "\xC3\xA9\\n" + std::string(k, 'y');
      const std::string head = R"({"skip":{"k":[1,")" + prefix;
      const std::string doc = head + bad_bytes.bytes + std::string(k % 7 + 20, 'z') + R"("]},"a":1})";
      const std::string expected =
          bad_bytes.message.empty() ? "invalid UTF-8 at byte " + std::to_string(head.size())
                                    : "malformed JSON at byte " + std::to_string(head.size() + bad_bytes.at) +
                                          ": " + bad_bytes.message;
      INFO("offset " << k << ", bad bytes " << bad_bytes.message);
      CHECK(bad(fs, doc) == expected);
      same_both_ways(fs, doc);
      // The same string where a field wants it (the full parser) gives the same error.
      CHECK(bad({field("a", "a"), field("k", "skip.k[1]")}, doc) == expected);
    }
  }
}

TEST_CASE("fast skip: valid skipped values at every length modulo 16", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a"), field("t", "t")};
  for (size_t k = 0; k < 40; ++k) {
    const std::string s(k, 'q');
    const std::string doc = R"({"skip":{"s":")" + s + "\xE2\x9C\xA8" + s +
                            R"(\"\\\/\b\f\n\r\t\u00e9\ud83d\ude0b","n":[0,-0,)" +
                            "-12.5e+3,1E-2,0.25,true,false,null,[],{},[{}],{\"\":\"\"}]},\"a\":\"" + s +
                            "\",\"t\":" + std::to_string(k) + "}";
    auto r = run(fs, doc);
    INFO("length " << k << ": " << doc);
    REQUIRE(r.ok);
    CHECK(r.slots[0] == Value::string(s));
    CHECK(r.slots[1] == Value::integer(static_cast<int64_t>(k)));
    same_both_ways(fs, doc);
  }
}

TEST_CASE("fast skip: bad structure, numbers and literals inside skipped values", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a")};
  const std::vector<std::string> inner = {
      "[1 2]",   "[1,]",  "[,1]",     "{\"k\" 1}", "{\"k\":1,}", "{k:1}", "{\"k\":1]", "[1}",
      "01",      "-",     "1.",       "1.e3",      "1e",         "1e+",   "+1",        ".5",
      "tru",     "nul",   "falsey",   "truex",     "nulll",      "\"\\",  "\"abc",     "[\"a\" \"b\"]",
      "{\"a\"}", "[true", "{\"k\":}", "[-]",       "1-2",        "0x10",  "1e5.5",     "[\"\\u12\"]"};
  for (const auto& v : inner) {
    for (size_t pad = 0; pad < 17; ++pad) {
      const std::string doc =
          "{\"p\":\"" + std::string(pad, 'p') + "\",\"skip\":[{\"x\":" + v + "}],\"a\":1}";
      INFO(doc);
      bad(fs, doc);
      same_both_ways(fs, doc);
    }
  }
}

TEST_CASE("fast skip: every prefix of a document with skipped parts is truncated", "[fields]") {
  std::vector<config::Field> fs = {field("name", "user.name"), field("t", "text")};
  const std::string doc =
      R"({"meta":{"k":[1,2.5e-3,-0,true,false,null,"x\u00e9\ud83d\ude0b",{},[]]},"text":"hi \u263a",)"
      R"("user":{"id":12,"name":"Ann","tags":[{"t":"a"},{"t":"\"b\""}],"bio":"caf\u00e9 )"
      "\xE2\x9C\xA8"
      R"( long enough to cross sixteen bytes"},"tail":[[[]]]})";
  bool ok = false;
  same_both_ways(fs, doc, &ok);
  REQUIRE(ok);
  for (size_t n = 1; n < doc.size(); ++n) {
    INFO("prefix length " << n);
    const std::string e = bad(fs, doc.substr(0, n));
    const bool cut_utf8 = e.rfind("invalid UTF-8", 0) == 0;  // a prefix may end inside a sequence
    CHECK((e.rfind("truncated JSON", 0) == 0 || cut_utf8));
    same_both_ways(fs, doc.substr(0, n));
  }
}

TEST_CASE("fast skip: nesting limits inside skipped values", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a")};
  // The root object is level 1: a skipped value may open 511 more levels, not 512.
  const std::string ok = "{\"skip\":" + std::string(511, '[') + std::string(511, ']') + ",\"a\":1}";
  CHECK(run(fs, ok).ok);
  const std::string over = "{\"skip\":" + std::string(512, '[') + std::string(512, ']') + ",\"a\":1}";
  CHECK(bad(fs, over) == "JSON nested deeper than 512 levels");
  std::string objs = "{\"skip\":";
  for (int i = 0; i < 100000; ++i) objs += "{\"a\":[";
  CHECK(bad(fs, objs) == "JSON nested deeper than 512 levels");
  // Deep inside a wanted object, the skipped values count from where they are.
  std::string mixed = "{\"a\":{\"b\":" + std::string(510, '[') + std::string(510, ']') + "}}";
  CHECK(run(fs, mixed).ok);
  mixed = "{\"a\":{\"b\":" + std::string(511, '[') + std::string(511, ']') + "}}";
  CHECK(bad(fs, mixed) == "JSON nested deeper than 512 levels");
  same_both_ways(fs, mixed);
}

TEST_CASE("fast skip: random mutations agree with the full parser", "[fields]") {
  const std::string base =
      R"({"id":1,"skip":{"b":[1,-2.5e3,"x\u00e9\n",true,null,{"c":"\ud83d\ude0b"}],"s":"some longer text here"},)"
      R"("user":{"name":"Ann","x":[{},[],""]},"s":"text"})";
  std::vector<config::Field> fs = {field("name", "user.name"), field("s", "s"), field("id", "id")};
  Lcg next{99};
  int good = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string doc = base;
    mutate(doc, next, 2, 3, std::string_view("{}[]\",:\\0e-.\x80 ", 15));
    bool ok = false;
    same_both_ways(fs, doc, &ok);
    good += ok ? 1 : 0;
  }
  CHECK(good > 100);
}

TEST_CASE("fast skip: whitespace wherever JSON allows it, garbage wherever it does not", "[fields]") {
  // The parser looks for ':' and ',' before it looks for whitespace, and the fast skip only checks for
  // whitespace where a key or value does not start: each gap between two tokens gets every whitespace
  // byte (same fields as the compact text) and a stray byte (the same error both ways).
  std::vector<config::Field> fs = {field("name", "user.name"), field("n", "n"),
                                   field("tags", "user.tags[*]")};
  const std::vector<std::string> tokens = {
      "{",       "\"skip\"", ":",     "{",     "\"a\"", ":",        "[",     "1", ",",      "-2.5e3",   ",",
      "true",    ",",        "{",     "}",     ",",     "[",        "]",     ",", "null",   "]",        ",",
      "\"b\"",   ":",        "\"x\"", "}",     ",",     "\"user\"", ":",     "{", "\"id\"", ":",        "12",
      ",",       "\"tags\"", ":",     "[",     "\"t\"", ",",        "\"u\"", "]", ",",      "\"name\"", ":",
      "\"Ann\"", "}",        ",",     "\"n\"", ":",     "7",        "}"};
  std::string compact;
  for (const auto& t : tokens) compact += t;
  auto expected = run(fs, compact);
  REQUIRE(expected.ok);
  CHECK(expected.slots[0] == Value::string("Ann"));
  CHECK(expected.slots[1] == Value::integer(7));
  for (size_t gap = 0; gap <= tokens.size(); ++gap) {
    for (const char* fill : {" ", "\t", "\n", "\r", " \n\t\r ", "x", "\x01", "\"", "+", ",", "}"}) {
      std::string doc;
      for (size_t i = 0; i < tokens.size(); ++i) {
        if (i == gap) doc += fill;
        doc += tokens[i];
      }
      if (gap == tokens.size()) doc += fill;
      INFO("gap " << gap << ": " << doc);
      const Result r = both_ways(fs, doc);
      const bool space = std::string_view(fill).find_first_not_of(" \t\n\r") == std::string_view::npos;
      if (space) {
        REQUIRE(r.ok);
        for (size_t f = 0; f < fs.size(); ++f) CHECK(r.slots[f] == expected.slots[f]);
        // ... and the fast skip took the whitespace itself, without a rerun of the full parser.
        Extractor x(fs, config::Decode::Json);
        CHECK(run(x, fs.size(), doc).ok);
        CHECK(x.reruns() == 0);
      } else {
        CHECK_FALSE(r.ok);
      }
    }
  }
}

TEST_CASE("fast skip: numbers of every length, and stray bytes right after them", "[fields]") {
  std::vector<config::Field> fs = {field("a", "a"), field("w", "w")};
  for (size_t k = 1; k <= 40; ++k) {
    std::string digits;
    for (size_t i = 0; i < k; ++i) digits += static_cast<char>('1' + i % 9);
    for (const std::string& num :
         {digits, "-" + digits, digits + "." + digits, "0." + digits + "e-" + std::to_string(k)}) {
      for (const std::string after : {"", "x", "/", ":", ".", "e", "-", "\x80", "\"q\""}) {
        // Skipped (inside an object the fast skip takes, and as a member the parser skips), and wanted.
        const std::string doc = "{\"s\":{\"n\":[" + num + after + "]},\"m\":" + num + after +
                                ",\"w\":" + num + after + ",\"a\":1}";
        INFO(doc);
        const Result r = both_ways(fs, doc);
        CHECK(r.ok == after.empty());
        if (after.empty()) {
          Extractor x(fs, config::Decode::Json);
          CHECK(run(x, fs.size(), doc).ok);
          CHECK(x.reruns() == 0);
        }
      }
    }
  }
}

TEST_CASE("extract: keys are found by length first, including keys of 63 bytes and longer", "[fields]") {
  const std::string k62(62, 'k'), k63(63, 'k'), k64(64, 'k'), k100(100, 'k');
  std::vector<config::Field> fs = {field("a", "\"" + k63 + "\""), field("b", "\"" + k100 + "\""),
                                   field("c", "t")};
  const std::string doc = "{\"" + k62 + "\":1,\"" + k64 + "\":2,\"" + k63 + "\":3,\"" +
                          std::string(100, 'j') + "\":4,\"" + k100 + "\":5,\"u\":6,\"tt\":7,\"t\":8}";
  const Result r = both_ways(fs, doc);
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::integer(3));
  CHECK(r.slots[1] == Value::integer(5));
  CHECK(r.slots[2] == Value::integer(8));
}

TEST_CASE("valid_utf8_fast and its SIMD kernels agree with the scalar check at every position", "[fields]") {
  using weir::fields::detail::first_invalid_utf8;
  using weir::fields::detail::valid_utf8_fast;
  namespace d = weir::fields::detail;
  // Every one- and two-byte string, and three- and four-byte strings from bytes that matter, placed
  // around the block edges of the 16-byte (SSSE3) and 32/64-byte (AVX2) kernels of an ASCII or
  // multi-byte background.
  std::vector<std::string> pieces;
  const std::vector<unsigned char> interesting = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                                  0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                                  0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF};
  for (int a = 0; a < 256; ++a) {
    pieces.emplace_back(1, static_cast<char>(a));
    for (int b = 0; b < 256; b += 1) pieces.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  for (unsigned char a : interesting) {
    for (unsigned char b : interesting) {
      for (unsigned char c : interesting) {
        pieces.push_back({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        for (unsigned char d : {0x41, 0x80, 0xBF, 0xC2}) {
          pieces.push_back(
              {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c), static_cast<char>(d)});
        }
      }
    }
  }
  const std::string backgrounds[] = {std::string(80, 'x'),
                                     "\xC3\xA9xyz\xE2\x9C\xA8\xF0\x9F\x98\x8B"
                                     "abcdefghij\xE5\x90\x8D\xE5\x89\x8Dklmnopqrstuvwxyz0123"
                                     "\xC3\xA9\xE2\x9C\xA8"
                                     "abcdefghijklmnopqrstuvwxyz\xF0\x9F\x98\x8B"};
  size_t checked = 0, invalid = 0;
  for (const auto& bg : backgrounds) {
    for (const auto& piece : pieces) {
      for (size_t at : {0, 13, 14, 15, 16, 29, 30, 31, 32, 33, 47, 60, 61, 62, 63, 64}) {
        // Cut the background at an ASCII byte so it stays valid around the piece.
        size_t cut = std::min(at, bg.size());
        while (cut > 0 && static_cast<unsigned char>(bg[cut]) >= 0x80) --cut;
        std::string s = bg.substr(0, cut) + piece;
        for (const size_t tail : {size_t{0}, size_t{19}}) {
          const std::string t = s + std::string(tail, 'q');
          const bool expected = first_invalid_utf8(t) == std::string::npos;
          const auto* u = reinterpret_cast<const unsigned char*>(t.data());
          if (valid_utf8_fast(t) != expected) {
            FAIL_CHECK("valid_utf8_fast disagrees on a piece at " << cut << " with " << tail
                                                                  << " bytes after");
          }
          if (d::cpu_has_ssse3() && d::valid_utf8_ssse3(u, t.size()) != expected) {
            FAIL_CHECK("the SSSE3 kernel disagrees on a piece at " << cut << " with " << tail
                                                                   << " bytes after");
          }
          if (d::cpu_has_avx2() && d::valid_utf8_avx2(u, t.size()) != expected) {
            FAIL_CHECK("the AVX2 kernel disagrees on a piece at " << cut << " with " << tail
                                                                  << " bytes after");
          }
          ++checked;
          invalid += expected ? 0 : 1;
        }
      }
    }
  }
  CHECK(checked > 1000000);
  CHECK(invalid > 100000);
}
