// Issue 3's acceptance check: 1M generated {branch, currency, amount} records summed per branch/currency per
// batch by the real executor equal the generator's own tally.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <map>

#include "config/load.h"
#include "connectors/generate/generate_source.h"
#include "engine/executor.h"
#include "memory_connectors.h"

using namespace weir;

TEST_CASE("executor: 1M generated records summed per branch and currency equal the generator's tally",
          "[executor][generate]") {
  const char* yaml = R"(
batch: 1s
source:
  generate:
    rate: max
    limit: 1000000
    seed: 42
    template:
      branch: { one_of: [Kazan, SPB, Novosibirsk, Surgut] }
      currency: { one_of: [RUB, USD, EUR, GBP] }
      amount: { int: [-100, 100] }
fields:
  branch: branch
  currency: currency
  amount: { path: amount, type: int }
outputs:
  - name: flow
    group_by: [branch, currency]
    aggregate: { amount: sum(amount), n: count() }
    to: console
)";
  auto loaded = config::load_job_text(yaml, "tally.yaml");
  for (const auto& e : loaded.errors) FAIL(e.format());
  const config::Job& job = *loaded.job;
  auto compiled = engine::compile(job);
  REQUIRE(compiled.plan);
  const auto& gen = std::get<config::GenerateSource>(job.source.kind);

  // The generator's own tally, from its documents.
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> want;
  for (int64_t n = 0; n < 1000000; ++n) {
    std::string doc = GenerateSource::document(gen.tmpl, 42, n);
    rapidjson::Document d;
    d.Parse(doc.c_str());
    auto& t = want[{d["branch"].GetString(), d["currency"].GetString()}];
    t.first += d["amount"].GetInt64();
    t.second += 1;
  }

  engine::Connectors conn;
  conn.source = std::make_unique<GenerateSource>(gen);
  auto sink = std::make_unique<testing::MemorySink>();
  testing::MemorySink* out = sink.get();
  conn.sinks.emplace_back();
  conn.sinks.back().push_back(std::move(sink));
  SystemClock clock;
  engine::Executor ex(job, *compiled.plan, std::move(conn), clock);
  engine::StopFlag stop{0};
  REQUIRE(ex.run(stop) == 0);

  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> got;
  for (const auto& b : out->batches) {
    for (const auto& e : b.emissions) {
      for (const auto& r : e.rows) {
        auto& t = got[{r[2].as_string(), r[3].as_string()}];
        t.first += r[4].as_int();
        t.second += r[5].as_int();
      }
    }
  }
  REQUIRE(got == want);
  REQUIRE(want.size() == 16);
}
