#include <catch2/catch.hpp>

#include "config/job.h"

using weir::config::parse_path;
using weir::config::PathError;
using weir::config::PathStep;
using Kind = weir::config::PathStep::Kind;

namespace {

std::vector<PathStep> ok(std::string_view text) {
  auto r = parse_path(text);
  INFO("path: " << text);
  if (auto* e = std::get_if<PathError>(&r)) FAIL("unexpected error: " << e->message);
  return std::get<std::vector<PathStep>>(r);
}

PathError bad(std::string_view text) {
  auto r = parse_path(text);
  INFO("path: " << text);
  REQUIRE(std::holds_alternative<PathError>(r));
  return std::get<PathError>(r);
}

}  // namespace

TEST_CASE("path: dotted keys", "[fields]") {
  auto s = ok("user.screen_name");
  REQUIRE(s.size() == 2);
  CHECK(s[0].kind == Kind::Key);
  CHECK(s[0].key == "user");
  CHECK(s[1].key == "screen_name");
  auto one = ok("text");
  REQUIRE(one.size() == 1);
  CHECK(one[0].key == "text");
  // Bare keys may hold anything but . [ ] and quotes (e.g. '-', '$', spaces, UTF-8).
  auto odd = ok("a-b.$c d.名前");
  REQUIRE(odd.size() == 3);
  CHECK(odd[1].key == "$c d");
  CHECK(odd[2].key == "名前");
}

TEST_CASE("path: indexes and [*]", "[fields]") {
  auto s = ok("entities.hashtags[0].text");
  REQUIRE(s.size() == 4);
  CHECK(s[1].key == "hashtags");
  CHECK(s[2].kind == Kind::Index);
  CHECK(s[2].index == 0);
  CHECK(s[3].key == "text");

  auto all = ok("entities.hashtags[*].text");
  REQUIRE(all.size() == 4);
  CHECK(all[2].kind == Kind::All);

  auto multi = ok("m[12][*][3]");
  REQUIRE(multi.size() == 4);
  CHECK(multi[1].index == 12);
  CHECK(multi[2].kind == Kind::All);
  CHECK(multi[3].index == 3);
}

TEST_CASE("path: quoted keys", "[fields]") {
  auto s = ok("meta.\"x.y\"");
  REQUIRE(s.size() == 2);
  CHECK(s[0].key == "meta");
  CHECK(s[1].key == "x.y");

  auto single = ok("'a[0]'.b");
  REQUIRE(single.size() == 2);
  CHECK(single[0].key == "a[0]");

  auto escaped = ok(R"("say \"hi\"\\"[1])");
  REQUIRE(escaped.size() == 2);
  CHECK(escaped[0].key == "say \"hi\"\\");
  CHECK(escaped[1].index == 1);

  auto empty = ok("a.\"\"");
  REQUIRE(empty.size() == 2);
  CHECK(empty[1].key.empty());
}

TEST_CASE("path: errors carry a 1-based column", "[fields]") {
  auto e = bad("user..name");
  CHECK(e.col == 6);
  CHECK(e.message == "empty key at column 6");

  CHECK(bad("").message == "empty path");
  CHECK(bad("user.").col == 6);
  CHECK(bad(".user").col == 1);

  auto q = bad("meta.\"x.y");
  CHECK(q.col == 6);
  CHECK(q.message == "unterminated quote at column 6");

  auto b = bad("tags[0");
  CHECK(b.col == 7);
  CHECK(b.message == "expected ']' at column 7");
  CHECK(bad("tags[*x]").message == "expected ']' at column 7");
  CHECK(bad("tags[]").message == "expected an array index or '*' at column 6");
  CHECK(bad("tags[-1]").message == "array index must be >= 0 at column 6");
  CHECK(bad("tags[99999999999999999999]").message == "array index too large at column 6");
  CHECK(bad("[0]").message == "expected a key before '[' at column 1");
  CHECK(bad("a.[0]").col == 3);
  CHECK(bad("a]").message == "expected '.' or '[' but found ']' at column 2");
  CHECK(bad("\"a\"b").message == "expected '.' or '[' but found 'b' at column 4");
  CHECK(bad("ab\"c\"").message == "a quote may only start a key at column 3");
}
