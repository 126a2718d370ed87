// Extraction from real tweets (Twitter API v1.1 search results).
#include <catch2/catch.hpp>

#include <fstream>

#include "engine/fields/extract.h"
#include "helpers.h"

using namespace weir;
using namespace weir::fields::test;
using weir::fields::Extractor;

TEST_CASE("tweets: author, hashtags and created_at from real tweets", "[fields]") {
  const char* path = "/work/shared/testdata/tweets-100.jsonl";
  std::ifstream in(path);
  if (!in) {
    WARN("skipped: " << path << " is absent");
    return;
  }
  std::vector<config::Field> fs = {
      field("author", "user.screen_name", config::FieldType::String),
      field("tags", "entities.hashtags[*].text"),
      time_field("ts", "created_at", config::TimeFormat::Strftime, "%a %b %d %H:%M:%S %z %Y"),
      field("id", "id", config::FieldType::Int),
      field("lang", "metadata.iso_language_code"),
      field("first_tag", "entities.hashtags[0].text")};
  fs[0].required = true;
  Extractor x(fs, config::Decode::Json);
  std::vector<Value> slots(fs.size());
  std::string line, err;
  int n = 0, with_tags = 0;
  while (std::getline(in, line)) {
    INFO("line " << n + 1);
    REQUIRE(x.extract(line, slots.data(), err));
    CHECK(slots[0].type() == Type::String);
    CHECK_FALSE(slots[0].as_string().empty());
    REQUIRE(slots[1].type() == Type::List);
    if (!slots[1].as_list().empty()) {
      ++with_tags;
      CHECK(slots[5] == slots[1].as_list()[0]);
      CHECK(slots[1].as_list()[0].type() == Type::String);
    } else {
      CHECK(slots[5].is_null());
    }
    CHECK(slots[2].type() == Type::Time);
    // All tweets in the sample are from 2014-08-31 (UTC) or close to it.
    CHECK(slots[2].as_time() >= 1409356800000);
    CHECK(slots[2].as_time() < 1409529600000);
    CHECK(slots[3].type() == Type::Int);
    ++n;
  }
  CHECK(n == 100);
  CHECK(with_tags > 0);

  // The first tweet, checked by hand.
  std::ifstream again(path);
  std::getline(again, line);
  REQUIRE(x.extract(line, slots.data(), err));
  CHECK(slots[2] == Value::time(1409444955000));  // Sun Aug 31 00:29:15 +0000 2014
  CHECK(slots[3] == Value::integer(505874924095815681));
  CHECK(slots[4] == Value::string("ja"));
}
