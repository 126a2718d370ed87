// A loopback TCP proxy in front of PostgreSQL that can lose a COMMIT's reply: after it forwards a simple
// query "COMMIT" it waits, then closes both sides without passing the server's answer back. This makes the
// "connection lost during COMMIT, but the transaction did commit" case happen on demand.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace weir::test {

class CommitDroppingProxy {
 public:
  explicit CommitDroppingProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 16) != 0) {
      throw std::runtime_error("proxy: bind/listen failed");
    }
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~CommitDroppingProxy() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  // The next COMMIT passes to the server, its reply never comes back and the connection is cut.
  void drop_next_commit_reply() { drop_ = true; }
  int dropped() const { return dropped_; }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      serve(client);  // one connection at a time is all the tests need
    }
  }

  void serve(int client) {
    int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(upstream_port_));
    if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(client);
      ::close(server);
      return;
    }
    char buf[65536];
    bool cut = false;
    while (!stop_ && !cut) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents != 0) {
        ssize_t n = read(client, buf, sizeof buf);
        if (n <= 0) break;
        if (write(server, buf, size_t(n)) != n) break;
        std::string_view chunk(buf, size_t(n));
        if (drop_ && chunk.find(std::string_view("COMMIT\0", 7)) != std::string_view::npos) {
          drop_ = false;
          std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the server commit
          ++dropped_;
          cut = true;
        }
      }
      if (!cut && fds[1].revents != 0) {
        ssize_t n = read(server, buf, sizeof buf);
        if (n <= 0) break;
        if (write(client, buf, size_t(n)) != n) break;
      }
    }
    ::close(client);
    ::close(server);
  }

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> drop_{false};
  std::atomic<int> dropped_{0};
  std::thread thread_;
};

}  // namespace weir::test
