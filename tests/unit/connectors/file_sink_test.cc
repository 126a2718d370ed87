#include "connectors/file/file_sink.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "connectors/file/file_dead_letter.h"
#include "test_util.h"

using weir::BatchOutput;
using weir::FileSink;
using weir::Value;
using weir::test::TempDir;

namespace {

weir::SinkContext ctx(std::string output = "authors") {
  weir::SinkContext c;
  c.job = "twitter";
  c.output = std::move(output);
  c.schema.columns = {
      {"window_end", weir::Type::Time}, {"author", weir::Type::String}, {"n", weir::Type::Int}};
  return c;
}

BatchOutput batch(uint64_t id, std::vector<weir::Row> rows) {
  BatchOutput b;
  b.batch_id = id;
  weir::Emission e;
  e.window_end_ms = 1484148840000;
  e.rows = std::move(rows);
  b.emissions.push_back(std::move(e));
  return b;
}

weir::Row row(const char* author, int64_t n) {
  return {Value::time(1484148840000), Value::string(author), Value::integer(n)};
}

weir::config::FileSink cfg(const std::string& path, bool csv = false) {
  weir::config::FileSink c;
  c.path = path;
  c.format = csv ? weir::config::FileSink::Format::Csv : weir::config::FileSink::Format::Jsonl;
  return c;
}

int mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

const char* kLine1 = R"({"window_end":"2017-01-11T15:34:00.000Z","author":"alice","n":3})"
                     "\n";
const char* kLine2 = R"({"window_end":"2017-01-11T15:34:00.000Z","author":"bob","n":1})"
                     "\n";

}  // namespace

TEST_CASE("file sink: jsonl rows, parent directories created, file modes", "[connectors]") {
  TempDir d;
  std::string path = d.file("out/sub/authors.jsonl");
  FileSink s(cfg(path));
  REQUIRE(s.exactly_once());
  REQUIRE(s.open(ctx()).is_ok());
  REQUIRE(s.committed_batch() == 0);
  REQUIRE(s.write(batch(1, {row("alice", 3), row("bob", 1)})).is_ok());
  REQUIRE(s.committed_batch() == 1);
  REQUIRE(d.read("out/sub/authors.jsonl") == std::string(kLine1) + kLine2);
  REQUIRE(mode_of(path) == 0644);
  REQUIRE(mode_of(FileSink::commit_path(path)) == 0600);
}

TEST_CASE("file sink: csv with a header once and RFC 4180 quoting", "[connectors]") {
  TempDir d;
  std::string path = d.file("a.csv");
  {
    FileSink s(cfg(path, true));
    REQUIRE(s.open(ctx()).is_ok());
    REQUIRE(s.write(batch(1, {})).is_ok());  // no rows: nothing written, not even the header
    REQUIRE(d.read("a.csv").empty());
    REQUIRE(s.write(batch(2, {row("a,b", 1), row("say \"hi\"", 2)})).is_ok());
    REQUIRE(s.write(batch(3, {{Value(), Value::string(""), Value::real(1.5)},
                              {Value::boolean(true), Value::string("x\ny"),
                               Value::list({Value::integer(1), Value::string("z")})}}))
                .is_ok());
  }
  FileSink again(cfg(path, true));
  REQUIRE(again.open(ctx()).is_ok());
  REQUIRE(again.write(batch(4, {row("c", 9)})).is_ok());
  REQUIRE(d.read("a.csv") ==
          "window_end,author,n\n"
          "2017-01-11T15:34:00.000Z,\"a,b\",1\n"
          "2017-01-11T15:34:00.000Z,\"say \"\"hi\"\"\",2\n"
          ",\"\",1.5\n"
          "true,\"x\ny\",\"[1,\"\"z\"\"]\"\n"
          "2017-01-11T15:34:00.000Z,c,9\n");
}

TEST_CASE("file sink: a replayed batch is not written twice, also after a reopen", "[connectors]") {
  TempDir d;
  std::string path = d.file("o.jsonl");
  {
    FileSink s(cfg(path));
    REQUIRE(s.open(ctx()).is_ok());
    REQUIRE(s.write(batch(1, {row("alice", 3)})).is_ok());
    REQUIRE(s.write(batch(1, {row("alice", 3)})).is_ok());
  }
  FileSink s(cfg(path));
  REQUIRE(s.open(ctx()).is_ok());
  REQUIRE(s.committed_batch() == 1);
  REQUIRE(s.write(batch(1, {row("alice", 3)})).is_ok());
  REQUIRE(s.write(batch(2, {row("bob", 1)})).is_ok());
  REQUIRE(d.read("o.jsonl") == std::string(kLine1) + kLine2);
  REQUIRE(s.committed_batch() == 2);
}

TEST_CASE("file sink: a torn tail after the last commit is cut off by the next write", "[connectors]") {
  TempDir d;
  std::string path = d.file("o.jsonl");
  {
    FileSink s(cfg(path));
    REQUIRE(s.open(ctx()).is_ok());
    REQUIRE(s.write(batch(1, {row("alice", 3)})).is_ok());
  }
  d.append("o.jsonl", "{\"window_end\":\"2017-01-11T15:34:00.000Z\",\"auth");  // a crash mid-batch 2
  FileSink s(cfg(path));
  REQUIRE(s.open(ctx()).is_ok());
  REQUIRE(s.committed_batch() == 1);
  REQUIRE(s.write(batch(2, {row("bob", 1)})).is_ok());
  REQUIRE(d.read("o.jsonl") == std::string(kLine1) + kLine2);
}

TEST_CASE("file sink: a crash during the very first batch leaves nothing behind", "[connectors]") {
  TempDir d;
  d.write("o.jsonl", "existing line kept\n");
  std::string path = d.file("o.jsonl");
  {
    FileSink s(cfg(path));
    REQUIRE(s.open(ctx()).is_ok());  // commits the existing length before any batch
  }
  d.append("o.jsonl", "torn");
  FileSink s(cfg(path));
  REQUIRE(s.open(ctx()).is_ok());
  REQUIRE(s.committed_batch() == 0);
  REQUIRE(s.write(batch(1, {row("alice", 3)})).is_ok());
  REQUIRE(d.read("o.jsonl") == std::string("existing line kept\n") + kLine1);
}

TEST_CASE("file sink: refuses a file of another output, a corrupt commit record, a second writer",
          "[connectors]") {
  TempDir d;
  std::string path = d.file("o.jsonl");
  {
    FileSink s(cfg(path));
    REQUIRE(s.open(ctx()).is_ok());
    FileSink second(cfg(path));
    weir::Status st = second.open(ctx());
    REQUIRE(st.is_fatal());
    REQUIRE(st.message().find("another process") != std::string::npos);
  }
  FileSink other(cfg(path));
  weir::Status st = other.open(ctx("other-output"));
  REQUIRE(st.is_fatal());
  REQUIRE(st.message().find("authors") != std::string::npos);

  d.write("o.jsonl.weir-commit", "{\"format\":1,\"job\":");
  FileSink corrupt(cfg(path));
  st = corrupt.open(ctx());
  REQUIRE(st.is_fatal());
  REQUIRE(st.message().find("not valid") != std::string::npos);
}

TEST_CASE("file sink: a data file shorter than committed (rotated) is appended to", "[connectors]") {
  TempDir d;
  std::string path = d.file("o.jsonl");
  {
    FileSink s(cfg(path));
    REQUIRE(s.open(ctx()).is_ok());
    REQUIRE(s.write(batch(1, {row("alice", 3)})).is_ok());
  }
  d.write("o.jsonl", "");
  FileSink s(cfg(path));
  REQUIRE(s.open(ctx()).is_ok());
  REQUIRE(s.committed_batch() == 1);
  REQUIRE(s.write(batch(2, {row("bob", 1)})).is_ok());
  REQUIRE(d.read("o.jsonl") == kLine2);
}

TEST_CASE("file dead letters: one JSON line per entry, appended", "[connectors]") {
  TempDir d;
  weir::FileDeadLetterSink dl(cfg(d.file("dlq/bad.jsonl")));
  REQUIRE(dl.open("twitter").is_ok());
  REQUIRE(dl.write(R"({"error":"malformed JSON","payload":"{x"})").is_ok());
  REQUIRE(dl.write(R"({"error":"empty message","payload":""})").is_ok());
  REQUIRE(dl.flush().is_ok());
  REQUIRE(
      d.read("dlq/bad.jsonl") ==
      "{\"error\":\"malformed JSON\",\"payload\":\"{x\"}\n{\"error\":\"empty message\",\"payload\":\"\"}\n");
  dl.close();
  weir::FileDeadLetterSink again(cfg(d.file("dlq/bad.jsonl")));
  REQUIRE(again.open("twitter").is_ok());
  REQUIRE(again.write("{}").is_ok());
  REQUIRE(again.flush().is_ok());
  REQUIRE(d.read("dlq/bad.jsonl") ==
          "{\"error\":\"malformed JSON\",\"payload\":\"{x\"}\n{\"error\":\"empty "
          "message\",\"payload\":\"\"}\n{}\n");
}
