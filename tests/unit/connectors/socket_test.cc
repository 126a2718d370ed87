#include "connectors/socket/socket_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "test_util.h"

using weir::PollResult;
using weir::SocketSource;
using weir::test::Collect;
using weir::test::in_ms;

namespace {

// A listening socket on 127.0.0.1 (port 0: an ephemeral one).
struct Server {
  int fd = -1;
  int port = 0;
  explicit Server(int want_port = 0) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(want_port));
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~Server() {
    if (fd >= 0) ::close(fd);
  }
  // Waits up to 2 s for a client.
  int accept_one() {
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 2000) == 1);
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(c >= 0);
    return c;
  }
};

void send_all(int fd, const std::string& s) {
  REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()));
}

weir::config::SocketSource cfg(int port) {
  weir::config::SocketSource c;
  c.host = "127.0.0.1";
  c.port = port;
  return c;
}

// Polls until `n` records arrived or about 3 s passed.
void poll_until(SocketSource& s, Collect& c, size_t n) {
  for (int i = 0; i < 60 && c.recs.size() < n; ++i) REQUIRE(s.poll(c, in_ms(50), 1000) == PollResult::Ok);
}

}  // namespace

TEST_CASE("socket: lines from a TCP server, reconnects after the server restarts", "[connectors]") {
  auto server = std::make_unique<Server>();
  int port = server->port;
  SocketSource s(cfg(port));
  REQUIRE_FALSE(s.bounded());
  REQUIRE_FALSE(s.replayable());
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  REQUIRE(s.poll(c, in_ms(50), 100) == PollResult::Ok);  // connects
  int conn = server->accept_one();
  send_all(conn, "one\r\ntwo\nthr");
  poll_until(s, c, 2);
  REQUIRE(c.payloads() == std::vector<std::string>{"one", "two"});
  send_all(conn, "ee\n");
  poll_until(s, c, 3);
  REQUIRE(c.payloads() == std::vector<std::string>{"one", "two", "three"});
  REQUIRE(s.connected());

  // The server goes away: the cut last line is delivered, then the source keeps retrying.
  send_all(conn, "cut");
  ::close(conn);
  server.reset();
  poll_until(s, c, 4);
  REQUIRE(c.payloads().back() == "cut");
  for (int i = 0; i < 5; ++i) REQUIRE(s.poll(c, in_ms(50), 100) == PollResult::Ok);
  REQUIRE_FALSE(s.connected());

  // Back on the same port: the source reconnects by itself (backoff is at most a few hundred ms here).
  server = std::make_unique<Server>(port);
  for (int i = 0; i < 60 && !s.connected(); ++i) REQUIRE(s.poll(c, in_ms(50), 100) == PollResult::Ok);
  REQUIRE(s.connected());
  conn = server->accept_one();
  send_all(conn, "again\n");
  poll_until(s, c, 5);
  REQUIRE(c.payloads().back() == "again");
  REQUIRE(c.recs.back().line == 5);
  ::close(conn);
}

TEST_CASE("socket: poll keeps its deadline while nothing listens", "[connectors]") {
  int port;
  {
    Server tmp;
    port = tmp.port;
  }  // closed: connections are refused
  SocketSource s(cfg(port));
  REQUIRE(s.open(nullptr).is_ok());
  Collect c;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(s.poll(c, in_ms(60), 100) == PollResult::Ok);
    REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
  }
  REQUIRE(c.recs.empty());
  REQUIRE_FALSE(s.connected());
}

TEST_CASE("socket: a bad port is an error at open", "[connectors]") {
  SocketSource s(cfg(0));
  REQUIRE(s.open(nullptr).is_fatal());
  SocketSource s2(cfg(70000));
  REQUIRE(s2.open(nullptr).is_fatal());
}
