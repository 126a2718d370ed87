// PostgresSink against a real PostgreSQL (a throwaway server per test binary run, see pg_fixture.h).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "connectors/postgres/pg_sink.h"
#include "tests/unit/postgres/pg_fixture.h"
#include "tests/unit/postgres/tcp_proxy.h"

using namespace weir;
using weir::test::PgServer;
using Rows = std::vector<std::vector<std::string>>;

#if defined(__SANITIZE_ADDRESS__)
// libpqxx 6.4 leaks the PGresult of a statement whose connection was killed under it (a few hundred
// bytes per lost connection, inside libpq/libpqxx frames only); the tests kill connections on purpose.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpq.so.5\n";
}
#endif

namespace {

// Rows of a query as text ("NULL" for null).
Rows query(const std::string& sql) {
  pqxx::connection c(PgServer::shared().dsn());
  pqxx::nontransaction t(c);
  Rows out;
  for (const auto& row : t.exec(sql)) {
    std::vector<std::string> r;
    for (const auto& f : row) r.push_back(f.is_null() ? "NULL" : f.c_str());
    out.push_back(r);
  }
  return out;
}
void exec(const std::string& sql) {
  pqxx::connection c(PgServer::shared().dsn());
  pqxx::nontransaction t(c);
  t.exec(sql);
}
std::string scalar(const std::string& sql) {
  return query(sql).at(0).at(0);
}

RowSchema schema_of(std::vector<std::pair<std::string, Type>> cols) {
  RowSchema s;
  for (auto& [n, t] : cols) s.columns.push_back(Column{n, t});
  return s;
}

config::PostgresSink cfg_for(const std::string& table, bool create = true) {
  config::PostgresSink c;
  c.dsn = PgServer::shared().dsn();
  c.table = table;
  c.create = create;
  return c;
}

config::PostgresSink upsert_cfg(const std::string& table, std::vector<std::string> key) {
  auto c = cfg_for(table);
  c.mode = config::PostgresSink::Mode::Upsert;
  c.key = std::move(key);
  return c;
}

BatchOutput batch(uint64_t id, std::vector<Row> rows, int64_t window_end = 0) {
  BatchOutput b;
  b.batch_id = id;
  b.emissions.push_back(Emission{window_end - 1000, window_end, std::move(rows)});
  b.positions.push_back(Position{"tweets/0", int64_t(id * 10), 0});
  return b;
}

Row word_row(const std::string& w, int64_t n) {
  return Row{Value::string(w), Value::integer(n)};
}

// Each test case is its own job, so progress rows never carry over between test cases.
std::string test_job() {
  std::string name;
  for (char c : Catch::getResultCapture().getCurrentTestName()) name += std::isalnum(uint8_t(c)) ? c : '_';
  return name.substr(0, 40);
}

SinkContext ctx(const std::string& output, RowSchema s, const std::string& job = "") {
  return SinkContext{job.empty() ? test_job() : job, output, std::move(s)};
}

const RowSchema kWords = schema_of({{"word", Type::String}, {"n", Type::Int}});

// Captures what the weir.pg logger writes.
struct LogCapture {
  std::ostringstream out;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink =
      std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  std::shared_ptr<spdlog::logger> logger;
  LogCapture() {
    PostgresSink probe(config::PostgresSink{});  // makes sure weir.pg exists
    (void)probe;
    logger = spdlog::get("weir.pg");
    if (!logger) {
      logger = std::make_shared<spdlog::logger>("weir.pg");
      spdlog::register_logger(logger);
    }
    logger->sinks().push_back(sink);
    logger->set_level(spdlog::level::trace);
  }
  ~LogCapture() {
    auto& s = logger->sinks();
    s.erase(std::remove(s.begin(), s.end(), sink), s.end());
    logger->set_level(spdlog::level::info);
  }
  std::string text() {
    logger->flush();
    return out.str();
  }
};

// Waits until the given backend is waiting on a lock (or the given query text is running).
void wait_for_backend(int pid, const std::string& condition) {
  for (int i = 0; i < 200; ++i) {
    auto r = query("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid) + " AND " +
                   condition);
    if (r[0][0] == "1") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  FAIL("backend " << pid << " never matched: " << condition);
}

}  // namespace

TEST_CASE("append: a few batches land exactly with the progress row") {
  PostgresSink sink(cfg_for("words_append"));
  REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
  CHECK(sink.committed_batch() == 0);
  REQUIRE(sink.write(batch(1, {word_row("a", 1), word_row("b", 2)})).is_ok());
  REQUIRE(sink.write(batch(2, {})).is_ok());
  REQUIRE(
      sink.write(batch(3, {word_row("tab\there", 3), word_row("back\\slash\nnl", 4), Row{Value(), Value()}}))
          .is_ok());
  CHECK(sink.committed_batch() == 3);
  CHECK(query("SELECT word, n FROM words_append ORDER BY n NULLS LAST") ==
        Rows{{"a", "1"}, {"b", "2"}, {"tab\there", "3"}, {"back\\slash\nnl", "4"}, {"NULL", "NULL"}});
  CHECK(query("SELECT batch, positions::text FROM weir_progress WHERE job = '" + test_job() +
              "' AND output = 'counts'") ==
        Rows{{"3", R"([{"aux": 0, "offset": 30, "stream": "tweets/0"}])"}});
  CHECK(sink.rejected_rows().empty());
}

TEST_CASE("upsert: rolling windows keep one row per window_end and key - newer batches and later rows win") {
  auto s = schema_of({{"window_start", Type::Time},
                      {"window_end", Type::Time},
                      {"author", Type::String},
                      {"tweets", Type::Int}});
  PostgresSink sink(upsert_cfg("author_windows", {"window_end", "author"}));
  REQUIRE(sink.open(ctx("authors", s)).is_ok());
  auto row = [](int64_t end_s, const char* a, int64_t n) {
    return Row{Value::time((end_s - 60) * 1000), Value::time(end_s * 1000), Value::string(a),
               Value::integer(n)};
  };
  REQUIRE(sink.write(batch(1, {row(60, "ann", 1), row(60, "bob", 2)})).is_ok());
  BatchOutput b2 = batch(2, {row(60, "ann", 3), row(65, "ann", 1)});
  b2.emissions.push_back(
      Emission{5000, 65000, {row(65, "cy", 1), row(65, "cy", 5)}});  // same key twice: last wins
  REQUIRE(sink.write(b2).is_ok());
  CHECK(query("SELECT extract(epoch FROM window_end)::bigint, author, tweets FROM author_windows "
              "ORDER BY 1, 2") ==
        Rows{{"60", "ann", "3"}, {"60", "bob", "2"}, {"65", "ann", "1"}, {"65", "cy", "5"}});
  CHECK(
      scalar("SELECT count(*) FROM pg_index WHERE indrelid = 'author_windows'::regclass AND indisprimary") ==
      "1");
}

TEST_CASE("create: every row type gets its column type - unknown types are inferred from the first batch") {
  auto s = schema_of({{"t", Type::Time},
                      {"i", Type::Int},
                      {"f", Type::Float},
                      {"s", Type::String},
                      {"b", Type::Bool},
                      {"l", Type::List},
                      {"any_int", Type::Null},
                      {"any_float", Type::Null},
                      {"all_null", Type::Null}});
  PostgresSink sink(cfg_for("every_type"));
  REQUIRE(sink.open(ctx("types", s)).is_ok());
  // Unknown column types: the table waits for data.
  CHECK(scalar("SELECT to_regclass('every_type') IS NULL") == "t");
  REQUIRE(sink.write(batch(1, {})).is_ok());
  CHECK(scalar("SELECT to_regclass('every_type') IS NULL") == "t");
  REQUIRE(sink.write(batch(2, {Row{Value::time(1484148840123), Value::integer(-5), Value::real(2.5),
                                   Value::string("x"), Value::boolean(true),
                                   Value::list({Value::string("y"), Value::integer(1)}), Value(),
                                   Value::integer(1), Value()},
                               Row{Value(), Value(), Value(), Value(), Value(), Value(), Value::integer(7),
                                   Value::real(0.5), Value()}}))
              .is_ok());
  CHECK(query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'every_type' "
              "ORDER BY ordinal_position") == Rows{{"t", "timestamp with time zone"},
                                                   {"i", "bigint"},
                                                   {"f", "double precision"},
                                                   {"s", "text"},
                                                   {"b", "boolean"},
                                                   {"l", "jsonb"},
                                                   {"any_int", "bigint"},
                                                   {"any_float", "double precision"},
                                                   {"all_null", "text"}});
  CHECK(
      query(
          "SELECT (extract(epoch FROM t) * 1000)::bigint, i, f, s, b, l::text, any_int, any_float, all_null "
          "FROM every_type ORDER BY any_int NULLS FIRST") ==
      Rows{{"1484148840123", "-5", "2.5", "x", "t", R"(["y", 1])", "NULL", "1", "NULL"},
           {"NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "7", "0.5", "NULL"}});
  // A later batch whose values do not fit the inferred type: that row is rejected, the rest committed.
  REQUIRE(sink.write(batch(3, {Row{Value(), Value(), Value(), Value(), Value(), Value(),
                                   Value::string("text!"), Value(), Value()},
                               Row{Value(), Value(), Value(), Value(), Value(), Value(), Value::integer(9),
                                   Value(), Value::integer(3)}}))
              .is_ok());
  REQUIRE(sink.rejected_rows().size() == 1);
  CHECK(sink.rejected_rows()[0].column == "any_int");
  CHECK(query("SELECT any_int, all_null FROM every_type WHERE any_int = 9") == Rows{{"9", "3"}});
}

TEST_CASE("columns: renames map table columns to output columns") {
  auto c = cfg_for("renamed");
  c.columns = {{"branch_name", "branch"}, {"total", "amount"}};
  auto s = schema_of({{"branch", Type::String}, {"currency", Type::String}, {"amount", Type::Float}});
  PostgresSink sink(c);
  REQUIRE(sink.open(ctx("flow", s)).is_ok());
  REQUIRE(
      sink.write(batch(1, {Row{Value::string("north"), Value::string("EUR"), Value::real(12.5)}})).is_ok());
  CHECK(query("SELECT branch_name, currency, total FROM renamed") == Rows{{"north", "EUR", "12.5"}});
  CHECK(scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'renamed' AND "
               "column_name IN ('branch', 'amount')") == "0");
}

TEST_CASE("replay: the same batch id is written once whatever its rows") {
  PostgresSink sink(cfg_for("words_replay"));
  REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
  REQUIRE(sink.write(batch(1, {word_row("a", 1)})).is_ok());
  REQUIRE(sink.write(batch(1, {word_row("a", 1)})).is_ok());
  REQUIRE(sink.write(batch(1, {word_row("other", 9)})).is_ok());
  REQUIRE(sink.write(batch(2, {word_row("b", 2)})).is_ok());
  REQUIRE(sink.write(batch(2, {word_row("b", 2)})).is_ok());
  CHECK(query("SELECT word, n FROM words_replay ORDER BY n") == Rows{{"a", "1"}, {"b", "2"}});
  CHECK(sink.committed_batch() == 2);
}

TEST_CASE("committed_batch survives a new sink object - another output or job starts at 0") {
  {
    PostgresSink sink(cfg_for("words_restart"));
    REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
    for (uint64_t b = 1; b <= 3; ++b) REQUIRE(sink.write(batch(b, {word_row("w", int64_t(b))})).is_ok());
  }
  PostgresSink again(cfg_for("words_restart"));
  REQUIRE(again.open(ctx("counts", kWords)).is_ok());
  CHECK(again.committed_batch() == 3);
  REQUIRE(again.write(batch(3, {word_row("w", 3)})).is_ok());  // replay after a crash: skipped
  REQUIRE(again.write(batch(4, {word_row("w", 4)})).is_ok());
  CHECK(scalar("SELECT string_agg(n::text, ',' ORDER BY n) FROM words_restart") == "1,2,3,4");
  PostgresSink other(cfg_for("words_restart"));
  REQUIRE(other.open(ctx("other_output", kWords)).is_ok());
  CHECK(other.committed_batch() == 0);
  PostgresSink other_job(cfg_for("words_restart"));
  REQUIRE(other_job.open(ctx("counts", kWords, "another_job")).is_ok());
  CHECK(other_job.committed_batch() == 0);
}

TEST_CASE(
    "server stopped (-m immediate) for 3 s mid-run: write_with_retry commits every batch exactly once") {
  LogCapture log;
  PostgresSink sink(cfg_for("words_outage"), PostgresSink::RetryPolicy{std::chrono::milliseconds(100),
                                                                       std::chrono::milliseconds(1000)});
  REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
  std::atomic<bool> stop{false};
  std::thread outage;
  for (uint64_t b = 1; b <= 20; ++b) {
    if (b == 6) {
      outage = std::thread([] {
        PgServer::shared().stop();
        std::this_thread::sleep_for(std::chrono::seconds(3));
        PgServer::shared().start();
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    std::vector<Row> rows;
    for (int i = 0; i < 100; ++i) rows.push_back(word_row("b" + std::to_string(b), int64_t(b * 1000 + i)));
    Status s = sink.write_with_retry(batch(b, rows), stop);
    REQUIRE(s.is_ok());
  }
  outage.join();
  CHECK(query("SELECT count(*), count(DISTINCT n), min(n), max(n) FROM words_outage") ==
        Rows{{"2000", "2000", "1000", "20099"}});
  CHECK(scalar("SELECT batch FROM weir_progress WHERE job = '" + test_job() + "' AND output = 'counts'") ==
        "20");
  std::string text = log.text();
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
  };
  CHECK(count("PostgreSQL unreachable") == 1);
  CHECK(count("PostgreSQL reachable again after") == 1);
}

TEST_CASE("write_with_retry gives up with the retryable status when asked to stop") {
  auto c = cfg_for("words_stop");
  PostgresSink sink(c);
  REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
  PgServer::shared().stop();
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  Status s = sink.write_with_retry(batch(1, {word_row("a", 1)}), stop);
  auto took = std::chrono::steady_clock::now() - t0;
  stopper.join();
  PgServer::shared().start();
  CHECK(s.is_retryable());
  CHECK(took < std::chrono::seconds(2));
  REQUIRE(sink.write(batch(1, {word_row("a", 1)})).is_ok());
  CHECK(scalar("SELECT count(*) FROM words_stop") == "1");
}

TEST_CASE("open while the server is down is retryable and a later write sets everything up") {
  PgServer::shared().stop();
  PostgresSink sink(cfg_for("words_late_open"));
  Status st = sink.open(ctx("counts", kWords));
  PgServer::shared().start();
  REQUIRE(st.is_retryable());
  CHECK_THAT(st.message(), Catch::Contains("cannot connect to PostgreSQL at host=127.0.0.1"));
  std::atomic<bool> stop{false};
  REQUIRE(sink.write_with_retry(batch(1, {word_row("a", 1)}), stop).is_ok());
  CHECK(query("SELECT word, n FROM words_late_open") == Rows{{"a", "1"}});
  CHECK(sink.committed_batch() == 1);
}

TEST_CASE("pg_terminate_backend between batches and during a batch: no loss and no duplicates") {
  auto s = kWords;
  PostgresSink sink(upsert_cfg("words_terminated", {"word"}));
  REQUIRE(sink.open(ctx("counts", s)).is_ok());
  std::atomic<bool> stop{false};
  REQUIRE(sink.write(batch(1, {word_row("a", 1)})).is_ok());

  // Between batches.
  exec("SELECT pg_terminate_backend(" + std::to_string(sink.backend_pid()) + ")");
  REQUIRE(sink.write_with_retry(batch(2, {word_row("b", 2)}), stop).is_ok());

  // During a batch: waiting for the progress row lock.
  {
    pqxx::connection blocker(PgServer::shared().dsn());
    pqxx::work w(blocker);
    w.exec("SELECT * FROM weir_progress WHERE job = '" + test_job() + "' AND output = 'counts' FOR UPDATE");
    int pid = sink.backend_pid();
    REQUIRE(pid != 0);
    Status result = Status::ok();
    std::thread writer([&] { result = sink.write(batch(3, {word_row("c", 3)})); });
    wait_for_backend(pid, "wait_event_type = 'Lock'");
    exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    writer.join();
    CHECK(result.is_retryable());
    w.commit();
  }
  // During a batch: rows sent, waiting for the table lock in INSERT … ON CONFLICT.
  {
    REQUIRE(sink.write_with_retry(batch(3, {word_row("c", 3)}), stop).is_ok());
    pqxx::connection blocker(PgServer::shared().dsn());
    pqxx::work w(blocker);
    w.exec("LOCK TABLE words_terminated IN ACCESS EXCLUSIVE MODE");
    int pid = sink.backend_pid();
    Status result = Status::ok();
    std::thread writer([&] { result = sink.write(batch(4, {word_row("d", 4), word_row("a", 10)})); });
    wait_for_backend(pid, "wait_event_type = 'Lock'");
    exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    writer.join();
    CHECK(result.is_retryable());
    w.commit();
  }
  REQUIRE(sink.write_with_retry(batch(4, {word_row("d", 4), word_row("a", 10)}), stop).is_ok());
  REQUIRE(sink.write_with_retry(batch(4, {word_row("d", 4), word_row("a", 10)}), stop).is_ok());
  CHECK(query("SELECT word, n FROM words_terminated ORDER BY word") ==
        Rows{{"a", "10"}, {"b", "2"}, {"c", "3"}, {"d", "4"}});
  CHECK(sink.committed_batch() == 4);
}

TEST_CASE("connection lost during COMMIT: resolved from the progress row whether committed or not") {
  weir::test::CommitDroppingProxy proxy(std::stoi(PgServer::shared().port()));
  auto c = cfg_for("words_in_doubt");
  c.dsn = "host=127.0.0.1 port=" + std::to_string(proxy.port()) + " user=postgres dbname=postgres";
  PostgresSink sink(c);
  REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
  REQUIRE(sink.write(batch(1, {word_row("a", 1)})).is_ok());

  // The COMMIT reaches the server, its reply is lost: the sink finds out it did commit.
  proxy.drop_next_commit_reply();
  Status s = sink.write(batch(2, {word_row("b", 2)}));
  CHECK(proxy.dropped() == 1);
  CHECK(s.is_ok());
  CHECK(sink.committed_batch() == 2);

  // The server dies during COMMIT (a deferred trigger holds it there): not committed, so retryable.
  exec(
      "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$");
  exec(
      "CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON words_in_doubt DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION slow_commit()");
  Status result = Status::ok();
  int pid = sink.backend_pid();
  std::thread writer([&] { result = sink.write(batch(3, {word_row("c", 3)})); });
  wait_for_backend(pid, "query = 'COMMIT'");
  exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  writer.join();
  CHECK(result.is_retryable());
  exec("DROP TRIGGER slow ON words_in_doubt");
  std::atomic<bool> stop{false};
  REQUIRE(sink.write_with_retry(batch(3, {word_row("c", 3)}), stop).is_ok());
  CHECK(query("SELECT word, n FROM words_in_doubt ORDER BY n") == Rows{{"a", "1"}, {"b", "2"}, {"c", "3"}});
}

TEST_CASE("an existing table that does not fit is a fatal error naming table and column and types") {
  exec("CREATE TABLE author_counts (author text, tweets text)");
  auto s = schema_of({{"author", Type::String}, {"tweets", Type::Int}});
  PostgresSink sink(cfg_for("author_counts"));
  Status st = sink.open(ctx("authors", s));
  REQUIRE(st.is_fatal());
  CHECK_THAT(st.message(),
             Catch::Contains("column \"tweets\" of table \"author_counts\" is text, expected bigint"));

  exec("CREATE TABLE author_counts2 (author text)");
  PostgresSink missing_col(cfg_for("author_counts2"));
  st = missing_col.open(ctx("authors", s));
  REQUIRE(st.is_fatal());
  CHECK_THAT(st.message(),
             Catch::Contains("table \"author_counts2\" has no column \"tweets\" (expected bigint)"));

  exec("CREATE TABLE author_counts3 (author text, tweets bigint)");
  PostgresSink no_key(upsert_cfg("author_counts3", {"author"}));
  st = no_key.open(ctx("authors", s));
  REQUIRE(st.is_fatal());
  CHECK_THAT(st.message(), Catch::Contains("no primary key or unique constraint on (author)"));
  exec("ALTER TABLE author_counts3 ADD UNIQUE (author)");
  PostgresSink with_key(upsert_cfg("author_counts3", {"author"}));
  REQUIRE(with_key.open(ctx("authors", s)).is_ok());
}

TEST_CASE("a missing table without create is a fatal error") {
  PostgresSink sink(cfg_for("no_such_table", /*create=*/false));
  Status st = sink.open(ctx("counts", kWords));
  REQUIRE(st.is_fatal());
  CHECK_THAT(st.message(), Catch::Contains("table no_such_table does not exist"));
  CHECK_THAT(st.message(), Catch::Contains("create: true"));
  CHECK(scalar("SELECT to_regclass('no_such_table') IS NULL") == "t");
}

TEST_CASE("text PostgreSQL cannot hold - NUL or invalid UTF-8: that row is rejected and the others commit") {
  PostgresSink sink(cfg_for("words_nul"));
  REQUIRE(sink.open(ctx("counts", kWords)).is_ok());
  REQUIRE(sink.write(batch(1, {word_row("ok1", 1), word_row(std::string("nu\0l", 4), 2), word_row("ok3", 3),
                               word_row("bad \xff utf8", 4)}))
              .is_ok());
  CHECK(query("SELECT word, n FROM words_nul ORDER BY n") == Rows{{"ok1", "1"}, {"ok3", "3"}});
  REQUIRE(sink.rejected_rows().size() == 2);
  CHECK(sink.rejected_rows()[0].row == 1);
  CHECK(sink.rejected_rows()[0].column == "word");
  CHECK_THAT(sink.rejected_rows()[0].reason, Catch::Contains("NUL"));
  CHECK(sink.rejected_rows()[0].values[1].as_int() == 2);
  CHECK(sink.rejected_rows()[1].row == 3);
  CHECK_THAT(sink.rejected_rows()[1].reason, Catch::Contains("UTF-8"));
  CHECK(sink.committed_batch() == 1);
  REQUIRE(sink.write(batch(2, {word_row("ok5", 5)})).is_ok());
  CHECK(sink.rejected_rows().empty());
}

TEST_CASE("schema-qualified table: table and progress row live in that schema") {
  exec("CREATE SCHEMA analytics");
  PostgresSink sink(cfg_for("analytics.flow"));
  REQUIRE(sink.open(ctx("flow", kWords)).is_ok());
  REQUIRE(sink.write(batch(1, {word_row("x", 1)})).is_ok());
  CHECK(query("SELECT word, n FROM analytics.flow") == Rows{{"x", "1"}});
  CHECK(scalar("SELECT batch FROM analytics.weir_progress WHERE output = 'flow'") == "1");
  CHECK(scalar("SELECT to_regclass('public.flow') IS NULL") == "t");
  PostgresSink missing_schema(cfg_for("nowhere.flow"));
  CHECK(missing_schema.open(ctx("flow", kWords)).is_fatal());
}

TEST_CASE("identifiers: a table name with SQL in it is rejected before anything runs") {
  exec("CREATE TABLE victim (x int)");
  for (const char* bad : {"t\"; drop table victim; --", "victim; drop table victim", "a.b.c"}) {
    PostgresSink sink(cfg_for(bad));
    Status st = sink.open(ctx("counts", kWords));
    INFO(bad);
    REQUIRE(st.is_fatal());
    CHECK_THAT(st.message(), Catch::Contains("is not valid"));
  }
  CHECK(scalar("SELECT to_regclass('victim') IS NOT NULL") == "t");
  // Column names are quoted, so odd ones work as they are.
  auto s = schema_of({{"lower(author)", Type::String}, {"Count \"x\"", Type::Int}});
  PostgresSink odd(cfg_for("odd_columns"));
  REQUIRE(odd.open(ctx("counts", s)).is_ok());
  REQUIRE(odd.write(batch(1, {Row{Value::string("a"), Value::integer(1)}})).is_ok());
  CHECK(query("SELECT \"lower(author)\", \"Count \"\"x\"\"\" FROM odd_columns") == Rows{{"a", "1"}});
}

TEST_CASE("password_file: the password comes from the file and no password reaches the log") {
  LogCapture log;
  exec("CREATE ROLE weir_pw LOGIN PASSWORD 'Hunter2-secret'");
  exec("CREATE SCHEMA pw AUTHORIZATION weir_pw");
  // Require passwords for this role on TCP (the harness trusts everyone else).
  std::string hba = PgServer::shared().dir() + "/data/pg_hba.conf";
  {
    std::ifstream in(hba);
    std::stringstream old;
    old << in.rdbuf();
    std::ofstream out(hba, std::ios::trunc);
    out << "host all weir_pw 127.0.0.1/32 scram-sha-256\n" << old.str();
  }
  exec("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  char path[] = "/tmp/weir-pgpw-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  std::string pw = "Hunter2-secret\n";
  REQUIRE(write(fd, pw.data(), pw.size()) == ssize_t(pw.size()));
  ::close(fd);

  std::string base = "host=127.0.0.1 port=" + PgServer::shared().port() + " user=weir_pw dbname=postgres";
  auto c = cfg_for("pw.words_pw");
  c.dsn = base;
  c.password_file = path;
  PostgresSink sink(c);
  Status opened = sink.open(ctx("counts", kWords));
  INFO(opened.message());
  REQUIRE(opened.is_ok());
  REQUIRE(sink.write(batch(1, {word_row("a", 1)})).is_ok());
  CHECK(scalar("SELECT tableowner FROM pg_tables WHERE tablename = 'words_pw'") == "weir_pw");

  auto wrong = cfg_for("pw.words_pw");
  wrong.dsn = base + " password=Wrong-Pass-77";
  PostgresSink bad(wrong);
  Status st = bad.open(ctx("counts", kWords));
  REQUIRE(st.is_retryable());
  CHECK_THAT(st.message(), Catch::Contains("password authentication failed"));
  CHECK(st.message().find("Wrong-Pass-77") == std::string::npos);

  // A URL DSN with a password, against a port nobody listens on.
  auto down = cfg_for("pw.words_pw");
  down.dsn = "postgresql://weir_pw:Url-Secret-99@127.0.0.1:1/postgres";
  PostgresSink unreachable(down);
  Status st2 = unreachable.open(ctx("counts", kWords));
  REQUIRE(st2.is_retryable());
  CHECK(st2.message().find("Url-Secret-99") == std::string::npos);
  std::atomic<bool> stop{true};
  (void)unreachable.write_with_retry(batch(1, {word_row("a", 1)}), stop);

  std::string text = log.text();
  CHECK_THAT(text, Catch::Contains("host=127.0.0.1"));
  CHECK(text.find("Hunter2-secret") == std::string::npos);
  CHECK(text.find("Wrong-Pass-77") == std::string::npos);
  CHECK(text.find("Url-Secret-99") == std::string::npos);
  std::remove(path);
}

TEST_CASE("bad configuration is fatal at open with a clear message") {
  // No server needed: these fail before connecting.
  auto cfg_for = [](const std::string& table) {
    config::PostgresSink c;
    c.dsn = "host=127.0.0.1 port=1 user=postgres dbname=postgres";
    c.table = table;
    return c;
  };
  auto no_key = cfg_for("words_cfg");
  no_key.mode = config::PostgresSink::Mode::Upsert;
  Status st = PostgresSink(no_key).open(ctx("counts", kWords));
  REQUIRE(st.is_fatal());
  CHECK_THAT(st.message(), Catch::Contains("upsert needs `key:`"));
  auto bad_rename = cfg_for("words_cfg");
  bad_rename.columns = {{"x", "nope"}};
  st = PostgresSink(bad_rename).open(ctx("counts", kWords));
  REQUIRE(st.is_fatal());
  CHECK_THAT(st.message(), Catch::Contains("\"nope\""));
  auto bad_dsn = cfg_for("words_cfg");
  bad_dsn.dsn = "host=x bogus";
  CHECK(PostgresSink(bad_dsn).open(ctx("counts", kWords)).is_fatal());
  PostgresSink unopened(cfg_for("words_cfg"));
  CHECK(unopened.write(batch(1, {})).is_fatal());
}

// Throughput, for the report (hidden: run with `weir_postgres_tests "[bench]"`).
TEST_CASE("bench: 1M rows append and upsert", "[.][bench]") {
  auto s =
      schema_of({{"window_end", Type::Time}, {"key", Type::String}, {"n", Type::Int}, {"x", Type::Float}});
  auto rows_for = [](int base) {
    std::vector<Row> rows;
    rows.reserve(1000000);
    for (int i = 0; i < 1000000; ++i) {
      rows.push_back(Row{Value::time(1700000000000), Value::string("key-" + std::to_string(i)),
                         Value::integer(base + i), Value::real(i * 0.5)});
    }
    return rows;
  };
  for (bool upsert : {false, true}) {
    auto c = upsert ? upsert_cfg("bench_upsert", {"window_end", "key"}) : cfg_for("bench_append");
    PostgresSink sink(c);
    REQUIRE(sink.open(ctx(upsert ? "bench_upsert" : "bench_append", s)).is_ok());
    for (int round = 1; round <= 2; ++round) {
      BatchOutput b = batch(uint64_t(round), rows_for(round));
      auto t0 = std::chrono::steady_clock::now();
      REQUIRE(sink.write(b).is_ok());
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%s round %d: 1M rows in %.2f s = %.0f rows/s\n", upsert ? "upsert" : "append", round, secs,
                  1e6 / secs);
      CHECK(sink.rejected_rows().empty());
    }
    CHECK(scalar(std::string("SELECT count(*) FROM ") + (upsert ? "bench_upsert" : "bench_append")) ==
          (upsert ? "1000000" : "2000000"));
    if (upsert) CHECK(scalar("SELECT min(n) FROM bench_upsert") == "2");
  }
}
