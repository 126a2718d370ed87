// The shipped jobs/, many mistakes in one file, explain, the generated reference, the CLI bodies.
#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cmd/commands.h"
#include "config/explain.h"
#include "config/schema.h"
#include "helpers.h"

using namespace weir::config;
using namespace weir::config::test;
namespace fs = std::filesystem;

TEST_CASE("every job in jobs/ loads without errors") {
  setenv("WEIR_PG_DSN", "host=localhost dbname=weir user=weir password=hunter2", 0);
  fs::path dir = fs::path(WEIR_SOURCE_DIR) / "jobs";
  REQUIRE(fs::is_directory(dir));
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    LoadResult r = load_job_file(e.path().string());
    INFO(e.path().string() << "\n" << all_errors(r));
    CHECK(r.ok());
    if (r.ok())
      CHECK(r.job->name ==
            (e.path().stem() == "twitter-authors" ? "twitter-authors" : e.path().stem().string()));
  }
  CHECK(n >= 10);
}

TEST_CASE("five different mistakes in one file give five located messages in file order") {
  LoadResult r = load(
      "batch: 5\n"  // 1: bad duration
      "source: stdin\n"
      "outputs:\n"
      "  - name: Top\n"                // 4: bad name
      "    where: \"a = = 1\"\n"       // 5: syntax error at column 5
      "    aggregate: { c: cnt() }\n"  // 6: unknown aggregate (and no cascade about window/group_by)
      "    lmit: 3\n"                  // 7: unknown key
      "    group_by: [a]\n"
      "    window: { tumbling: 10s }\n"
      "    to: console\n");
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].format().rfind("job.yaml:1:8: batch: '5' is not a duration", 0) == 0);
  CHECK(r.errors[1].format().rfind("job.yaml:4:11: output name 'Top' must match", 0) == 0);
  CHECK(r.errors[2].format().rfind("job.yaml:5:17: where: ", 0) == 0);
  CHECK(r.errors[3].format().rfind(
            "job.yaml:6:21: aggregate 'c': unknown aggregate 'cnt' (did you mean 'count'?)", 0) == 0);
  CHECK(r.errors[4].format().rfind("job.yaml:7:5: unknown key 'lmit' in output 'Top' (did you mean 'limit'?)",
                                   0) == 0);
}

TEST_CASE("explain shows operators in order, types, sinks, and redacts secrets") {
  setenv("WEIR_T_PW", "hunter2", 1);
  Job j =
      ok("job: ex\nbatch: 5s\nsource:\n  kafka:\n    brokers: k:9092\n    topics: [tw]\n"
         "    properties: { sasl.password: \"${WEIR_T_PW}\", client.id: weir }\n"
         "fields:\n  author: user.screen_name\n  amount: { path: amount, type: int }\n"
         "outputs:\n  - name: o\n    where: amount > 0\n    explode: { field: author, split: ' ', as: w }\n"
         "    group_by: [w]\n    window: { sliding: 60s, every: 5s }\n"
         "    aggregate: { c: count(), s: sum(amount), f: first(w) }\n    having: c > 1\n    order_by: [c "
         "desc]\n"
         "    limit: 3\n    to:\n      - console\n"
         "      - postgres: { dsn: \"postgresql://u:${WEIR_T_PW}@db/x\", table: t, mode: upsert, key: "
         "[window_end, w] }\n");
  std::string text = explain_job(j);
  INFO(text);
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("sasl.password: ***") != std::string::npos);
  CHECK(text.find("client.id: weir") != std::string::npos);
  CHECK(text.find("postgresql://u:***@db/x") != std::string::npos);
  CHECK(text.find("group: weir-ex (default)") != std::string::npos);
  size_t pos = 0;
  for (const char* step : {"where", "explode", "group_by", "window", "aggregate  c = count() : int",
                           "aggregate  s = sum(amount) : int", "aggregate  f = first(w) : any", "having",
                           "order_by", "limit", "state", "to         console", "to         postgres"}) {
    size_t p = text.find(step, pos);
    INFO(step);
    CHECK(p != std::string::npos);
    if (p != std::string::npos) pos = p;
  }
  CHECK(text.find("12 panes of 5s") != std::string::npos);
}

TEST_CASE("explain redacts every secret keyword of a PostgreSQL DSN, sslpassword too") {
  for (const char* dsn : {"host=db user=weir sslpassword=KeySecret11 password=PwSecret22 sslmode=verify-full",
                          "postgresql://weir:PwSecret22@db/x?sslpassword=KeySecret11&sslmode=verify-full"}) {
    Job j = ok(std::string("job: ex\nsource: stdin\nfields:\n  a: a\noutputs:\n  - name: o\n    to:\n"
                           "      - postgres: { dsn: \"") +
               dsn + "\", table: t }\n");
    std::string text = explain_job(j);
    INFO(text);
    CHECK(text.find("KeySecret11") == std::string::npos);
    CHECK(text.find("PwSecret22") == std::string::npos);
    CHECK(text.find("sslpassword=***") != std::string::npos);
    CHECK(text.find("sslmode=verify-full") != std::string::npos);
  }
}

TEST_CASE("docs/job-reference.md is generated from the declarations") {
  std::string want = reference_markdown();
  fs::path doc = fs::path(WEIR_SOURCE_DIR) / "docs" / "job-reference.md";
  if (std::getenv("WEIR_UPDATE_DOCS")) std::ofstream(doc) << want;
  std::ifstream in(doc);
  std::stringstream got;
  got << in.rdbuf();
  INFO("regenerate with: WEIR_UPDATE_DOCS=1 weir_config_tests");
  CHECK(got.str() == want);
  // Every declared key is in it.
  for (const auto& s : sections())
    for (const auto& k : s.keys) CHECK(want.find(fmt::format("| `{}` |", k.name)) != std::string::npos);
}

TEST_CASE("weir validate: ok per valid file, every problem of invalid ones, exit 2") {
  fs::path dir = fs::temp_directory_path() / "weir-config-validate-test";
  fs::create_directories(dir);
  std::ofstream(dir / "good.yaml") << "source: stdin\noutputs: [{ name: o, to: console }]\n";
  std::ofstream(dir / "bad.yaml") << "source: stdin\nbatch: 5\noutputs: [{ name: o, to: consol }]\n";
  std::ostringstream out, err;
  int rc = weir::cmd::validate_files({(dir / "good.yaml").string(), (dir / "bad.yaml").string()}, out, err);
  CHECK(rc == 2);
  CHECK(out.str() == (dir / "good.yaml").string() + ": ok\n");
  CHECK(err.str().find((dir / "bad.yaml").string() + ":2:8: ") != std::string::npos);
  CHECK(err.str().find((dir / "bad.yaml").string() + ":3:26: ") != std::string::npos);
  std::ostringstream out2, err2;
  CHECK(weir::cmd::validate_files({(dir / "good.yaml").string()}, out2, err2) == 0);
  std::ostringstream out3, err3;
  CHECK(weir::cmd::explain_file((dir / "good.yaml").string(), out3, err3) == 0);
  CHECK(out3.str().find("output o") != std::string::npos);
  CHECK(weir::cmd::explain_file((dir / "missing.yaml").string(), out3, err3) == 2);
  fs::remove_all(dir);
}
