#include "connectors/console/console_sink.h"

#include <catch2/catch.hpp>

#include <sstream>

using weir::BatchOutput;
using weir::ConsoleSink;
using weir::Emission;
using weir::Value;

namespace {

weir::SinkContext ctx() {
  weir::SinkContext c;
  c.job = "j";
  c.output = "o";
  c.schema.aggregating = true;
  c.schema.columns = {
      {"window_end", weir::Type::Time}, {"author", weir::Type::String}, {"tweets", weir::Type::Int}};
  return c;
}

Emission emission(int n) {
  Emission e;
  e.window_start_ms = 1484148780000;
  e.window_end_ms = 1484148840000;
  const char* names[] = {"alice", "bob", "rmoff", "zoë"};
  for (int i = 0; i < n; ++i) {
    e.rows.push_back(
        {Value::time(1484148840000), Value::string(names[i % 4]), Value::integer(100 / (i + 1))});
  }
  return e;
}

std::string run(weir::config::ConsoleSink cfg, std::vector<Emission> es) {
  std::ostringstream out;
  ConsoleSink s(cfg, &out);
  REQUIRE(s.open(ctx()).is_ok());
  BatchOutput b;
  b.batch_id = 1;
  b.emissions = std::move(es);
  REQUIRE(s.write(b).is_ok());
  REQUIRE_FALSE(s.exactly_once());
  return out.str();
}

}  // namespace

TEST_CASE("console: a table per emission with a time header and cut rows", "[connectors]") {
  weir::config::ConsoleSink cfg;
  cfg.rows = 3;
  std::string got = run(cfg, {emission(4), emission(1)});
  REQUIRE(got ==
          "---- Time: 2017-01-11T15:34:00.000Z ----\n"
          "window_end               | author | tweets\n"
          "-------------------------+--------+-------\n"
          "2017-01-11T15:34:00.000Z | alice  |    100\n"
          "2017-01-11T15:34:00.000Z | bob    |     50\n"
          "2017-01-11T15:34:00.000Z | rmoff  |     33\n"
          "... (1 more rows)\n"
          "\n"
          "---- Time: 2017-01-11T15:34:00.000Z ----\n"
          "window_end               | author | tweets\n"
          "-------------------------+--------+-------\n"
          "2017-01-11T15:34:00.000Z | alice  |    100\n"
          "\n");
}

TEST_CASE("console: widths count code points, nulls, newlines and empty emissions", "[connectors]") {
  weir::config::ConsoleSink cfg;
  Emission e = emission(0);
  e.rows.push_back({Value(), Value::string("zoë"), Value()});
  e.rows.push_back({Value(), Value::string("a\nb"), Value::integer(7)});
  std::string got = run(cfg, {e, emission(0)});
  REQUIRE(got ==
          "---- Time: 2017-01-11T15:34:00.000Z ----\n"
          "window_end | author | tweets\n"
          "-----------+--------+-------\n"
          "null       | zoë    |   null\n"
          "null       | a\\nb   |      7\n"
          "\n"
          "---- Time: 2017-01-11T15:34:00.000Z ----\n"
          "(no rows)\n"
          "\n");
}

TEST_CASE("console: json format prints one object per row", "[connectors]") {
  weir::config::ConsoleSink cfg;
  cfg.rows = 2;
  cfg.format = weir::config::ConsoleSink::Format::Json;
  std::string got = run(cfg, {emission(3)});
  REQUIRE(got ==
          "---- Time: 2017-01-11T15:34:00.000Z ----\n"
          "{\"window_end\":\"2017-01-11T15:34:00.000Z\",\"author\":\"alice\",\"tweets\":100}\n"
          "{\"window_end\":\"2017-01-11T15:34:00.000Z\",\"author\":\"bob\",\"tweets\":50}\n"
          "... (1 more rows)\n"
          "\n");
}
