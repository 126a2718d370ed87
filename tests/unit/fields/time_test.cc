#include <catch2/catch.hpp>

#include "engine/fields/extract.h"
#include "helpers.h"

using namespace weir;
using namespace weir::fields::test;
using weir::config::TimeFormat;
using weir::fields::Extractor;
using weir::fields::parse_time;

namespace {

int64_t ms_of(const Value& v, TimeFormat fmt, const std::string& strf = "") {
  int64_t ms = 0;
  INFO("value " << v.to_display());
  REQUIRE(parse_time(v, fmt, strf, ms));
  return ms;
}

bool parses(const Value& v, TimeFormat fmt, const std::string& strf = "") {
  int64_t ms = 0;
  return parse_time(v, fmt, strf, ms);
}

constexpr int64_t k20170111 = 1484148840000;  // 2017-01-11T15:34:00Z

}  // namespace

TEST_CASE("time: rfc3339 with fractions and offsets", "[fields]") {
  CHECK(ms_of(Value::string("2017-01-11T15:34:00Z"), TimeFormat::Rfc3339) == k20170111);
  CHECK(ms_of(Value::string("2017-01-11T15:34:00.123Z"), TimeFormat::Rfc3339) == k20170111 + 123);
  CHECK(ms_of(Value::string("2017-01-11T15:34:00.1Z"), TimeFormat::Rfc3339) == k20170111 + 100);
  CHECK(ms_of(Value::string("2017-01-11T15:34:00.123456789Z"), TimeFormat::Rfc3339) == k20170111 + 123);
  CHECK(ms_of(Value::string("2017-01-11T18:34:00+03:00"), TimeFormat::Rfc3339) == k20170111);
  CHECK(ms_of(Value::string("2017-01-11T10:04:00.5-05:30"), TimeFormat::Rfc3339) == k20170111 + 500);
  CHECK(ms_of(Value::string("2017-01-11 15:34:00z"), TimeFormat::Rfc3339) == k20170111);
  CHECK(ms_of(Value::string("1969-12-31T23:59:59.999Z"), TimeFormat::Rfc3339) == -1);
  CHECK(ms_of(Value::string("2016-02-29T00:00:00Z"), TimeFormat::Rfc3339) == 1456704000000);
  CHECK_FALSE(parses(Value::string("2017-02-29T00:00:00Z"), TimeFormat::Rfc3339));
  CHECK_FALSE(parses(Value::string("2017-01-11T15:34:00"), TimeFormat::Rfc3339));  // no zone
  CHECK_FALSE(parses(Value::string("2017-01-11T24:00:00Z"), TimeFormat::Rfc3339));
  CHECK_FALSE(parses(Value::string("2017-13-11T15:34:00Z"), TimeFormat::Rfc3339));
  CHECK_FALSE(parses(Value::string("2017-01-11T15:34:00.Z"), TimeFormat::Rfc3339));
  CHECK_FALSE(parses(Value::string("2017-01-11T15:34:00Zjunk"), TimeFormat::Rfc3339));
  CHECK_FALSE(parses(Value::string(""), TimeFormat::Rfc3339));
  CHECK_FALSE(parses(Value::integer(5), TimeFormat::Rfc3339));
}

TEST_CASE("time: epoch_ms and epoch_s from numbers and strings", "[fields]") {
  CHECK(ms_of(Value::integer(k20170111), TimeFormat::EpochMs) == k20170111);
  CHECK(ms_of(Value::string("1484148840000"), TimeFormat::EpochMs) == k20170111);
  CHECK(ms_of(Value::integer(1484148840), TimeFormat::EpochS) == k20170111);
  CHECK(ms_of(Value::string("1484148840"), TimeFormat::EpochS) == k20170111);
  CHECK(ms_of(Value::real(1484148840.25), TimeFormat::EpochS) == k20170111 + 250);
  CHECK(ms_of(Value::string("1484148840.25"), TimeFormat::EpochS) == k20170111 + 250);
  CHECK(ms_of(Value::integer(-1000), TimeFormat::EpochMs) == -1000);
  CHECK_FALSE(parses(Value::string("soon"), TimeFormat::EpochMs));
  CHECK_FALSE(parses(Value::integer(INT64_MAX), TimeFormat::EpochS));  // overflows ms
  CHECK_FALSE(parses(Value::real(1e300), TimeFormat::EpochMs));
  CHECK_FALSE(parses(Value::boolean(true), TimeFormat::EpochMs));
}

TEST_CASE("time: strftime formats, including Twitter's", "[fields]") {
  const std::string twitter = "%a %b %d %H:%M:%S %z %Y";
  CHECK(ms_of(Value::string("Sun Aug 31 00:29:15 +0000 2014"), TimeFormat::Strftime, twitter) ==
        1409444955000);
  CHECK(ms_of(Value::string("Sun Aug 31 02:29:15 +0200 2014"), TimeFormat::Strftime, twitter) ==
        1409444955000);
  CHECK(ms_of(Value::string("Sat Aug 30 19:29:15 -0500 2014"), TimeFormat::Strftime, twitter) ==
        1409444955000);
  CHECK_FALSE(parses(Value::string("Sun Aug 32 00:29:15 +0000 2014"), TimeFormat::Strftime, twitter));
  CHECK_FALSE(parses(Value::string("Sun Foo 31 00:29:15 +0000 2014"), TimeFormat::Strftime, twitter));
  CHECK_FALSE(parses(Value::string("Sun Aug 31 00:29:15 2014"), TimeFormat::Strftime, twitter));

  CHECK(ms_of(Value::string("2017-01-11 15:34:00"), TimeFormat::Strftime, "%Y-%m-%d %H:%M:%S") == k20170111);
  CHECK(ms_of(Value::string("2017-01-11T15:34:00.042"), TimeFormat::Strftime, "%FT%T.%f") == k20170111 + 42);
  CHECK(ms_of(Value::string("11/January/2017:15:34:00 +0000"), TimeFormat::Strftime,
              "%d/%B/%Y:%H:%M:%S %z") == k20170111);
  CHECK(ms_of(Value::string("01/11/17 03:34 PM"), TimeFormat::Strftime, "%D %I:%M %p") == k20170111);
  CHECK(ms_of(Value::string("2017 011 15:34 UTC"), TimeFormat::Strftime, "%Y %j %R %Z") == k20170111);
  CHECK(ms_of(Value::string("1484148840"), TimeFormat::Strftime, "%s") == k20170111);
  CHECK(ms_of(Value::string("100%"), TimeFormat::Strftime, "%j%%") == 99 * 86400000LL);
  CHECK_FALSE(parses(Value::string("2017-01-11"), TimeFormat::Strftime, "%Y-%m-%d %H"));
  CHECK_FALSE(parses(Value::string("2017-01-11"), TimeFormat::Strftime, "%Q"));
}

TEST_CASE("time: fields of type time", "[fields]") {
  std::vector<config::Field> fs = {
      time_field("ts", "created_at", TimeFormat::Strftime, "%a %b %d %H:%M:%S %z %Y"),
      time_field("ms", "ms", TimeFormat::EpochMs), time_field("s", "s", TimeFormat::EpochS),
      time_field("r", "r", TimeFormat::Rfc3339)};
  auto r = run(fs, R"({"created_at":"Sun Aug 31 00:29:15 +0000 2014","ms":"1484148840000","s":1484148840,)"
                   R"("r":"2017-01-11T15:34:00.5Z"})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::time(1409444955000));
  CHECK(r.slots[1] == Value::time(k20170111));
  CHECK(r.slots[2] == Value::time(k20170111));
  CHECK(r.slots[3] == Value::time(k20170111 + 500));
  CHECK(bad(fs, R"({"r":"yesterday"})") ==
        R"(field 'r' (r): JSON string "yesterday" does not convert to time (format rfc3339))");
  CHECK(bad(fs, R"({"ms":true})") ==
        "field 'ms' (ms): JSON bool true does not convert to time (format epoch_ms)");
  CHECK(
      bad(fs, R"({"created_at":"2014-08-31"})") ==
      R"(field 'ts' (created_at): JSON string "2014-08-31" does not convert to time (format "%a %b %d %H:%M:%S %z %Y"))");
}

TEST_CASE("time: a time outside years 0000-9999 makes the record bad, in every format", "[fields]") {
  // Spec §7: sinks write times as RFC 3339, whose year has four digits; 10000-01-01 cannot be written.
  std::vector<config::Field> fs = {
      time_field("ms", "ms", TimeFormat::EpochMs), time_field("s", "s", TimeFormat::EpochS),
      time_field("r", "r", TimeFormat::Rfc3339), time_field("f", "f", TimeFormat::Strftime, "%Y-%m-%d"),
      time_field("x", "x", TimeFormat::Strftime, "%s")};
  // The first and the last instant that can be written are good.
  auto r =
      run(fs, R"({"ms":253402300799999,"s":-62167219200,"r":"9999-12-31T23:59:59.999Z","f":"0000-01-01",)"
              R"("x":"253402300799"})");
  REQUIRE(r.ok);
  CHECK(r.slots[0] == Value::time(253402300799999));
  CHECK(r.slots[1] == Value::time(-62167219200000));
  CHECK(r.slots[2] == Value::time(253402300799999));
  CHECK(r.slots[3] == Value::time(-62167219200000));
  CHECK(r.slots[3].to_json() == "\"0000-01-01T00:00:00.000Z\"");
  CHECK(r.slots[4] == Value::time(253402300799000));
  // One millisecond (or second) beyond them is not.
  CHECK(bad(fs, R"({"ms":253402300800000})") ==
        "field 'ms' (ms): JSON number 253402300800000 is a time out of range (years 0000 to 9999)");
  CHECK(bad(fs, R"({"ms":"-62167219200001"})") ==
        R"(field 'ms' (ms): JSON string "-62167219200001" is a time out of range (years 0000 to 9999))");
  CHECK(bad(fs, R"({"ms":2.6e14})") ==
        "field 'ms' (ms): JSON number 2.6e14 is a time out of range (years 0000 to 9999)");
  CHECK(bad(fs, R"({"s":253402300800})") ==
        "field 's' (s): JSON number 253402300800 is a time out of range (years 0000 to 9999)");
  CHECK(bad(fs, R"({"s":-62167219201})") ==
        "field 's' (s): JSON number -62167219201 is a time out of range (years 0000 to 9999)");
  // rfc3339 reads four-digit years only, but an offset can carry 9999-12-31 into year 10000, or 0000-01-01
  // back into year -1.
  CHECK(
      bad(fs, R"({"r":"9999-12-31T23:30:00-01:00"})") ==
      R"(field 'r' (r): JSON string "9999-12-31T23:30:00-01:00" is a time out of range (years 0000 to 9999))");
  CHECK(
      bad(fs, R"({"r":"0000-01-01T00:30:00+01:00"})") ==
      R"(field 'r' (r): JSON string "0000-01-01T00:30:00+01:00" is a time out of range (years 0000 to 9999))");
  CHECK(bad(fs, R"({"f":"10000-01-01"})") ==
        R"(field 'f' (f): JSON string "10000-01-01" is a time out of range (years 0000 to 9999))");
  CHECK(bad(fs, R"({"f":"-1-12-31"})") ==
        R"(field 'f' (f): JSON string "-1-12-31" is a time out of range (years 0000 to 9999))");
  CHECK(bad(fs, R"({"x":"253402300800"})") ==
        R"(field 'x' (x): JSON string "253402300800" is a time out of range (years 0000 to 9999))");
}
