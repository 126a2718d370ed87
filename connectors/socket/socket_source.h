// The socket source (spec §3): a TCP client to host:port, one record per line. A failed connect or
// a lost connection is retried with capped exponential backoff (100 ms doubling to 5 s), logging
// one line per state change, not per retry. Non-blocking throughout: poll() returns by its deadline.
// Unbounded; not replayable (records in flight when weir stops are not re-read).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/files/line_buffer.h"
#include "connectors/source.h"

namespace weir {

class SocketSource : public Source {
 public:
  explicit SocketSource(config::SocketSource cfg, size_t max_line = LineBuffer::kDefaultMaxLine);
  ~SocketSource() override;

  Status open(const Positions* resume) override;
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                  size_t max_records) override;
  // {"host:port", lines read, 0}: informational only.
  Positions positions() const override;
  bool bounded() const override { return false; }
  bool replayable() const override { return false; }
  void close() override;

  bool connected() const { return state_ == State::Connected; }

  static constexpr std::chrono::milliseconds kMinBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{5000};

 private:
  enum class State { Idle, Connecting, Connected };
  using clock = std::chrono::steady_clock;

  struct Addr {
    sockaddr_storage sa{};
    socklen_t len = 0;
  };
  void resolve();
  void start_connect(clock::time_point now);
  void on_connect_failed(const std::string& why, clock::time_point now);
  void on_disconnected(const std::string& why, clock::time_point now);
  void drop_socket();

  config::SocketSource cfg_;
  std::string where_;  // host:port for logs
  LineBuffer buf_;
  State state_ = State::Idle;
  int fd_ = -1;
  std::vector<Addr> addrs_;  // resolved at each round of attempts; tried in order
  size_t addr_idx_ = 0;
  clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_ = kMinBackoff;
  bool failing_ = false;  // a failure was logged; the next success logs the recovery
  bool was_connected_ = false;
  int64_t lines_ = 0;
  int64_t failed_attempts_ = 0;
  std::string last_failure_;
};

}  // namespace weir
