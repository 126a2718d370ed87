#include "connectors/stdin/stdin_source.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "test_util.h"

using weir::PollResult;
using weir::StdinSource;
using weir::test::Collect;
using weir::test::in_ms;

namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fd) == 0); }
  ~Pipe() {
    close_write();
    if (fd[0] >= 0) ::close(fd[0]);
  }
  void write(const std::string& s) {
    REQUIRE(::write(fd[1], s.data(), s.size()) == static_cast<ssize_t>(s.size()));
  }
  void close_write() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
};

}  // namespace

TEST_CASE("stdin: lines from the descriptor, End at EOF", "[connectors]") {
  Pipe p;
  p.write("{\"a\":1}\r\n\nsecond\nno newline");
  p.close_write();
  StdinSource s(p.fd[0]);
  REQUIRE(s.bounded());
  REQUIRE_FALSE(s.replayable());
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  PollResult r = PollResult::Ok;
  for (int i = 0; i < 10 && r == PollResult::Ok; ++i) r = s.poll(c, in_ms(1000), 100);
  REQUIRE(r == PollResult::End);
  REQUIRE(c.payloads() == std::vector<std::string>{"{\"a\":1}", "", "second", "no newline"});
  REQUIRE(c.recs[3].line == 4);
}

TEST_CASE("stdin: poll keeps its deadline while no input arrives, and waits for whole lines",
          "[connectors]") {
  Pipe p;
  StdinSource s(p.fd[0]);
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(s.poll(c, in_ms(100), 100) == PollResult::Ok);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(ms >= 90);
  REQUIRE(ms < 1000);
  p.write("par");
  REQUIRE(s.poll(c, in_ms(50), 100) == PollResult::Ok);
  REQUIRE(c.recs.empty());
  p.write("tial\nnext\n");
  REQUIRE(s.poll(c, in_ms(1000), 1) == PollResult::Ok);
  REQUIRE(c.payloads() == std::vector<std::string>{"partial"});
  REQUIRE(s.poll(c, in_ms(1000), 100) == PollResult::Ok);
  REQUIRE(c.payloads() == std::vector<std::string>{"partial", "next"});
  p.close_write();
  REQUIRE(s.poll(c, in_ms(1000), 100) == PollResult::End);
  REQUIRE(s.positions()[0].offset == 13);
}

TEST_CASE("stdin: an oversized line is cut to the cap + 1 bytes, with its real size", "[connectors]") {
  Pipe p;
  StdinSource s(p.fd[0], 8, 64);
  REQUIRE(s.open(nullptr).is_ok());
  p.write(std::string(5000, 'x') + "\nok\n");
  p.close_write();
  Collect c;
  while (s.poll(c, in_ms(1000), 100) == PollResult::Ok) {
  }
  REQUIRE(c.payloads() == std::vector<std::string>{std::string(9, 'x'), "ok"});
  REQUIRE(c.recs[0].full_size == 5000);
  REQUIRE(c.recs[1].full_size == -1);
}
