#include "connectors/socket/socket_source.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "engine/log.h"

namespace weir {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("socket");
  return l;
}

int timeout_ms(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::time_point until) {
  if (until <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

}  // namespace

SocketSource::SocketSource(config::SocketSource cfg, size_t max_line)
    : cfg_(std::move(cfg)), where_(fmt::format("{}:{}", cfg_.host, cfg_.port)), buf_(max_line, 64 << 10) {}

SocketSource::~SocketSource() {
  close();
}

Status SocketSource::open(const Positions* /*resume*/) {
  if (cfg_.port <= 0 || cfg_.port > 65535) {
    return Status::fatal(fmt::format("socket source: port {} is not in 1..65535", cfg_.port));
  }
  drop_socket();
  state_ = State::Idle;
  next_attempt_ = clock::now();
  backoff_ = kMinBackoff;
  failing_ = false;
  was_connected_ = false;
  return Status::ok();
}

void SocketSource::drop_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SocketSource::close() {
  drop_socket();
  state_ = State::Idle;
  buf_.clear();
}

void SocketSource::resolve() {
  addrs_.clear();
  addr_idx_ = 0;
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(cfg_.port);
  int rc = ::getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    last_failure_ = fmt::format("cannot resolve host {}: {}", cfg_.host, ::gai_strerror(rc));
    return;
  }
  for (struct addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Addr a;
    std::memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    addrs_.push_back(a);
  }
  ::freeaddrinfo(res);
}

void SocketSource::start_connect(clock::time_point now) {
  if (addr_idx_ >= addrs_.size()) resolve();
  while (addr_idx_ < addrs_.size()) {
    const Addr& a = addrs_[addr_idx_++];
    fd_ = ::socket(a.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last_failure_ = fmt::format("socket() failed: {}", std::strerror(errno));
      continue;
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a.sa), a.len) == 0) {
      state_ = State::Connected;
      return;
    }
    if (errno == EINPROGRESS) {
      state_ = State::Connecting;
      return;
    }
    last_failure_ = std::strerror(errno);
    drop_socket();
  }
  on_connect_failed(last_failure_, now);
}

void SocketSource::on_connect_failed(const std::string& why, clock::time_point now) {
  drop_socket();
  if (addr_idx_ < addrs_.size()) {  // another address of the host to try right away
    state_ = State::Idle;
    next_attempt_ = now;
    return;
  }
  ++failed_attempts_;
  if (!failing_) {
    logger()->warn("Cannot connect to {}: {}; retrying with backoff (up to {} ms).", where_, why,
                   kMaxBackoff.count());
    failing_ = true;
  } else {
    logger()->debug("Connecting to {} failed again: {}; next attempt in {} ms.", where_, why,
                    backoff_.count());
  }
  state_ = State::Idle;
  next_attempt_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  addrs_.clear();
  addr_idx_ = 0;
}

void SocketSource::on_disconnected(const std::string& why, clock::time_point now) {
  drop_socket();
  logger()->warn("Connection to {} lost ({}) after {} lines; reconnecting.", where_, why, lines_);
  failing_ = true;
  state_ = State::Idle;
  next_attempt_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  addrs_.clear();
  addr_idx_ = 0;
}

PollResult SocketSource::poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                              size_t max_records) {
  size_t delivered = 0;
  RawRecord r;
  LineBuffer::Line line;
  auto emit = [&] {
    ++lines_;
    r.payload = line.text;
    r.full_size = line.truncated ? static_cast<int64_t>(line.size) : -1;
    r.line = lines_;
    h.on_record(r);
    ++delivered;
  };
  while (delivered < max_records) {
    auto now = clock::now();
    switch (state_) {
      case State::Idle:
        if (now < next_attempt_) {
          if (delivered > 0) return PollResult::Ok;
          if (next_attempt_ >= deadline) {
            std::this_thread::sleep_until(deadline);
            return PollResult::Ok;
          }
          std::this_thread::sleep_until(next_attempt_);
          continue;
        }
        if (now >= deadline) return PollResult::Ok;
        start_connect(now);
        break;
      case State::Connecting: {
        struct pollfd p {};
        p.fd = fd_;
        p.events = POLLOUT;
        int rc = ::poll(&p, 1, delivered > 0 ? 0 : timeout_ms(now, deadline));
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) return PollResult::Ok;
        int err = 0;
        socklen_t len = sizeof err;
        if (rc < 0 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
          last_failure_ = std::strerror(err);
          on_connect_failed(last_failure_, clock::now());
        } else {
          state_ = State::Connected;
        }
        break;
      }
      case State::Connected: {
        if (failing_ || !was_connected_) {
          if (failing_) {
            logger()->info("Connected to {} after {} failed attempts.", where_, failed_attempts_);
          } else {
            logger()->info("Connected to {}.", where_);
          }
          failing_ = false;
          was_connected_ = true;
          failed_attempts_ = 0;
          buf_.clear();
        }
        while (delivered < max_records && buf_.next(line)) emit();
        if (delivered >= max_records) return PollResult::Ok;
        if (now >= deadline) return PollResult::Ok;
        struct pollfd p {};
        p.fd = fd_;
        p.events = POLLIN;
        int rc = ::poll(&p, 1, delivered > 0 ? 0 : timeout_ms(now, deadline));
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) return PollResult::Ok;
        char* dst = buf_.space();
        ssize_t n = ::read(fd_, dst, buf_.space_size());
        if (n > 0) {
          buf_.commit(static_cast<size_t>(n));
          backoff_ = kMinBackoff;  // the connection works: the next loss retries quickly
          continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        std::string why = n == 0 ? "closed by the server" : std::strerror(errno);
        if (buf_.finish(line)) emit();  // the last line, cut by the close
        buf_.clear();
        on_disconnected(why, clock::now());
        break;
      }
    }
  }
  return PollResult::Ok;
}

Positions SocketSource::positions() const {
  return {Position{where_, lines_, 0}};
}

}  // namespace weir
