#include "connectors/files/files_source.h"

#include <catch2/catch.hpp>

#include "test_util.h"

using weir::FilesSource;
using weir::PollResult;
using weir::Positions;
using weir::test::Collect;
using weir::test::in_ms;
using weir::test::TempDir;

namespace {

weir::config::FilesSource cfg(const TempDir& d, std::string pattern = "*", bool once = true) {
  weir::config::FilesSource c;
  c.dir = d.path();
  c.pattern = std::move(pattern);
  c.once = once;
  return c;
}

// Polls until End (bounded) and returns what was delivered.
Collect drain(FilesSource& s) {
  Collect c;
  for (int i = 0; i < 1000; ++i) {
    PollResult r = s.poll(c, in_ms(1000), 3);
    REQUIRE(r != PollResult::Error);
    if (r == PollResult::End) return c;
  }
  FAIL("the files source did not end");
  return c;
}

}  // namespace

TEST_CASE("files: matching files are read once, in name order, with file, line and stream", "[connectors]") {
  TempDir d;
  d.write("b.jsonl", "b1\nb2\n");
  d.write("a.jsonl", "a1\na2\na3\n");
  d.write("c.txt", "not matched\n");
  d.write(".hidden.jsonl", "dot files need an explicit dot in the pattern\n");
  FilesSource s(cfg(d, "*.jsonl"));
  REQUIRE(s.bounded());
  REQUIRE(s.replayable());
  REQUIRE(s.open(nullptr).is_ok());
  Collect c = drain(s);
  REQUIRE(c.payloads() == std::vector<std::string>{"a1", "a2", "a3", "b1", "b2"});
  REQUIRE(c.recs[0].file == d.file("a.jsonl"));
  REQUIRE(c.recs[2].line == 3);
  REQUIRE(c.recs[2].stream == 0);
  REQUIRE(c.recs[3].file == d.file("b.jsonl"));
  REQUIRE(c.recs[3].line == 1);
  REQUIRE(c.recs[3].stream == 1);
  Positions p = s.positions();
  REQUIRE(p == Positions{{d.file("a.jsonl"), 9, 3}, {d.file("b.jsonl"), 6, 2}});
}

TEST_CASE("files: CRLF, empty lines and a final line without newline", "[connectors]") {
  TempDir d;
  d.write("x", "one\r\n\r\n\ntwo\r\nlast");
  FilesSource s(cfg(d));
  REQUIRE(s.open(nullptr).is_ok());
  Collect c = drain(s);
  REQUIRE(c.payloads() == std::vector<std::string>{"one", "", "", "two", "last"});
  REQUIRE(c.recs[4].line == 5);
  REQUIRE(s.positions()[0].offset == 17);
}

TEST_CASE("files: a line over the cap is cut to cap + 1 bytes and the next line is intact", "[connectors]") {
  TempDir d;
  std::string huge(300000, 'h');
  d.write("x", "small\n" + huge + "\nafter\n");
  FilesSource s(cfg(d), 1000, 4096);
  REQUIRE(s.open(nullptr).is_ok());
  Collect c = drain(s);
  REQUIRE(c.recs.size() == 3);
  REQUIRE(c.recs[1].payload == std::string(1001, 'h'));
  REQUIRE(c.recs[1].full_size == 300000);  // the real size, for the error and the dead letter
  REQUIRE(c.recs[0].full_size == -1);
  REQUIRE(c.recs[2].payload == "after");
  REQUIRE(c.recs[2].full_size == -1);
  REQUIRE(c.recs[2].line == 3);
  REQUIRE(s.positions()[0].offset == static_cast<int64_t>(6 + huge.size() + 1 + 6));
}

TEST_CASE("files: resuming from positions continues after the last delivered line", "[connectors]") {
  TempDir d;
  d.write("1.log", "a\nb\n");
  d.write("2.log", "c\nd\ne\nf\n");
  FilesSource first(cfg(d));
  REQUIRE(first.open(nullptr).is_ok());
  Collect c;
  REQUIRE(first.poll(c, in_ms(1000), 4) == PollResult::Ok);
  REQUIRE(c.payloads() == std::vector<std::string>{"a", "b", "c", "d"});
  Positions p = first.positions();
  REQUIRE(p == Positions{{d.file("1.log"), 4, 2}, {d.file("2.log"), 4, 2}});

  FilesSource second(cfg(d));
  REQUIRE(second.open(&p).is_ok());
  Collect rest = drain(second);
  REQUIRE(rest.payloads() == std::vector<std::string>{"e", "f"});
  REQUIRE(rest.recs[0].line == 3);
  REQUIRE(rest.recs[0].file == d.file("2.log"));

  // Fully read files stay done.
  p = second.positions();
  FilesSource third(cfg(d));
  REQUIRE(third.open(&p).is_ok());
  REQUIRE(drain(third).recs.empty());
}

TEST_CASE("files: a file shorter than its position is read again from the start", "[connectors]") {
  TempDir d;
  d.write("x", "new\n");
  Positions p = {{d.file("x"), 100, 10}};
  FilesSource s(cfg(d));
  REQUIRE(s.open(&p).is_ok());
  Collect c = drain(s);
  REQUIRE(c.payloads() == std::vector<std::string>{"new"});
  REQUIRE(c.recs[0].line == 1);
}

TEST_CASE("files: new files are picked up, an unbounded source never ends", "[connectors]") {
  TempDir d;
  FilesSource s(cfg(d, "*.in", false));
  REQUIRE_FALSE(s.bounded());
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));  // kept its deadline
  REQUIRE(c.recs.empty());
  d.write("tmp.part", "ignored\n");
  d.write("late.in", "hello\n");
  for (int i = 0; i < 20 && c.recs.empty(); ++i) REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(c.payloads() == std::vector<std::string>{"hello"});
  d.write("later.in", "again\n");
  for (int i = 0; i < 20 && c.recs.size() < 2; ++i) REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(c.payloads() == std::vector<std::string>{"hello", "again"});
  REQUIRE(c.recs[1].stream == 1);
}

TEST_CASE("files: positions forget files removed once read, files still there are never read again",
          "[connectors]") {
  // A long-running files source whose input is removed or archived once read: its checkpoint (and a
  // PostgreSQL sink's progress row) must not grow by one position per file forever.
  TempDir d;
  for (int i = 0; i < 5; ++i) d.write("f" + std::to_string(i) + ".in", "x" + std::to_string(i) + "\n");
  FilesSource s(cfg(d, "*.in", false));
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  for (int i = 0; i < 20 && c.recs.size() < 5; ++i) REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(c.recs.size() == 5);
  REQUIRE(s.positions().size() == 5);
  for (int i = 0; i < 4; ++i) std::filesystem::remove(d.file("f" + std::to_string(i) + ".in"));
  d.write("g.in", "y\n");
  for (int i = 0; i < 20 && c.recs.size() < 6; ++i) REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(c.payloads() == std::vector<std::string>{"x0", "x1", "x2", "x3", "x4", "y"});
  REQUIRE(c.recs[5].stream == 5);                                                     // streams stay put
  for (int i = 0; i < 3; ++i) REQUIRE(s.poll(c, in_ms(250), 100) == PollResult::Ok);  // rescans
  REQUIRE(c.recs.size() == 6);  // f4.in and g.in, still there, are not read again
  Positions p = s.positions();
  REQUIRE(p == Positions{{d.file("f4.in"), 3, 1}, {d.file("g.in"), 2, 1}});

  // A new file with a removed file's name is a new file: read from the start.
  d.write("f0.in", "new0\n");
  for (int i = 0; i < 20 && c.recs.size() < 7; ++i) REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(c.recs.size() == 7);
  REQUIRE(c.recs[6].payload == "new0");
  REQUIRE(c.recs[6].line == 1);

  // After a restart: a checkpointed file that is gone is forgotten too; the others are not read again.
  p.push_back({d.file("gone.in"), 50, 5});
  FilesSource again(cfg(d, "*.in", false));
  REQUIRE(again.open(&p).is_ok());
  Collect c2;
  for (int i = 0; i < 3; ++i) REQUIRE(again.poll(c2, in_ms(250), 100) == PollResult::Ok);
  REQUIRE(c2.payloads() == std::vector<std::string>{"new0"});  // only f0.in, new since p was taken
  REQUIRE(again.positions() ==
          Positions{{d.file("f0.in"), 5, 1}, {d.file("f4.in"), 3, 1}, {d.file("g.in"), 2, 1}});
  d.write("gone.in", std::string(60, 'z') + "\n");  // longer than its old position: still read whole
  for (int i = 0; i < 20 && c2.recs.size() < 2; ++i)
    REQUIRE(again.poll(c2, in_ms(100), 100) == PollResult::Ok);
  REQUIRE(c2.recs.size() == 2);
  REQUIRE(c2.recs[1].line == 1);
}

TEST_CASE("files: with once, files appearing before the end are read too", "[connectors]") {
  TempDir d;
  d.write("a", "1\n");
  FilesSource s(cfg(d));
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  REQUIRE(s.poll(c, in_ms(1000), 1) == PollResult::Ok);
  d.write("b", "2\n");
  for (int i = 0; i < 10; ++i) {
    if (s.poll(c, in_ms(1000), 10) == PollResult::End) break;
  }
  REQUIRE(c.payloads() == std::vector<std::string>{"1", "2"});
}

TEST_CASE("files: a missing directory is an error at open", "[connectors]") {
  weir::config::FilesSource c;
  c.dir = "/nonexistent/weir-test-dir";
  FilesSource s(c);
  weir::Status st = s.open(nullptr);
  REQUIRE(st.is_fatal());
  REQUIRE(st.message().find("/nonexistent/weir-test-dir") != std::string::npos);
}

TEST_CASE("files: reads millions of lines per second", "[connectors]") {
  TempDir d;
  std::string chunk;
  for (int i = 0; i < 100000; ++i)
    chunk += R"({"branch":"Kazan","currency":"RUB","amount":42})"
             "\n";
  for (int f = 0; f < 5; ++f) d.write("part-" + std::to_string(f), chunk);
  FilesSource s(cfg(d));
  REQUIRE(s.open(nullptr).is_ok());
  struct Count : weir::RecordHandler {
    size_t n = 0;
    void on_record(const weir::RawRecord& r) override { n += r.payload.size() > 0; }
  } h;
  auto t0 = std::chrono::steady_clock::now();
  while (s.poll(h, in_ms(1000), 65536) != PollResult::End) {
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(h.n == 500000);
  WARN("files: " << static_cast<int64_t>(h.n / secs) << " lines/s");
}
