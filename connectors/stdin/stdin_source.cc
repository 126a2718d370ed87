#include "connectors/stdin/stdin_source.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/log.h"

namespace weir {

StdinSource::StdinSource(int fd, size_t max_line, size_t read_chunk) : fd_(fd), buf_(max_line, read_chunk) {}

Status StdinSource::open(const Positions* resume) {
  if (resume != nullptr && !resume->empty()) {
    log::get("stdin")->info("Standard input cannot be replayed; reading it from where it is now.");
  }
  return Status::ok();
}

PollResult StdinSource::poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                             size_t max_records) {
  using clock = std::chrono::steady_clock;
  size_t delivered = 0;
  RawRecord r;
  LineBuffer::Line line;
  auto emit = [&] {
    offset_ += line.bytes;
    ++lines_;
    r.payload = line.text;
    r.full_size = line.truncated ? static_cast<int64_t>(line.size) : -1;
    r.line = lines_;
    h.on_record(r);
    ++delivered;
  };
  while (delivered < max_records) {
    if (buf_.next(line)) {
      emit();
      continue;
    }
    if (eof_) {
      if (buf_.finish(line)) emit();
      return PollResult::End;
    }
    // Return what we have rather than wait for more.
    auto now = clock::now();
    if (now >= deadline) return PollResult::Ok;
    int timeout_ms = 0;
    if (delivered == 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
      timeout_ms = static_cast<int>(std::min<int64_t>(left, 1 << 30));
    }
    struct pollfd p {};
    p.fd = fd_;
    p.events = POLLIN;
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      last_error_ = Status::fatal(fmt::format("stdin source: poll failed: {}", std::strerror(errno)));
      return PollResult::Error;
    }
    if (rc == 0) return PollResult::Ok;  // nothing to read before the deadline
    char* dst = buf_.space();
    ssize_t n = ::read(fd_, dst, buf_.space_size());
    if (n > 0) {
      buf_.commit(static_cast<size_t>(n));
    } else if (n == 0) {
      eof_ = true;
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      last_error_ = Status::fatal(fmt::format("stdin source: read failed: {}", std::strerror(errno)));
      return PollResult::Error;
    }
  }
  return PollResult::Ok;
}

Positions StdinSource::positions() const {
  return {Position{"stdin", static_cast<int64_t>(offset_), lines_}};
}

}  // namespace weir
