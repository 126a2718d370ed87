// LineBuffer: splits a byte stream into lines (no I/O: the caller reads into space() and commits).
// Shared by the files, stdin and socket sources.
//
// A line ends at '\n'; a trailing '\r' is stripped (CRLF). A line longer than `max_line` bytes is
// delivered, once its end is found, as its first max_line + 1 bytes (so `text.size() > max_line` tells
// the consumer it was too long), marked `truncated`, with its real length in `size`; the rest of it is
// skipped without being stored: memory stays bounded by max_line + the read chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace weir {

class LineBuffer {
 public:
  static constexpr size_t kDefaultMaxLine = size_t{16} << 20;
  static constexpr size_t kDefaultChunk = size_t{1} << 20;

  struct Line {
    std::string_view text;  // valid until the next call on this buffer
    uint64_t bytes = 0;     // raw bytes this line took in the input, newline and skipped tail included
    uint64_t size = 0;      // the line's real length (without "\n" or "\r\n"); text.size() unless truncated
    bool truncated = false;
  };

  explicit LineBuffer(size_t max_line = kDefaultMaxLine, size_t chunk = kDefaultChunk);

  // The next complete line, or false when more input is needed.
  bool next(Line& out);
  // At end of input: the final line without a newline, if any (false when nothing is pending).
  bool finish(Line& out);

  // Where to read the next bytes into; then commit(n). Call space() before space_size(): it makes
  // the room (at least chunk / 2 bytes).
  char* space();
  size_t space_size() const { return cap_ - end_; }
  void commit(size_t n) { end_ += n; }

  // Bytes received but not yet returned as (part of) a line.
  uint64_t pending() const { return discarding_ ? discarded_ + (end_ - begin_) : end_ - begin_; }
  // Drops everything buffered (e.g. after a reconnect or a seek).
  void clear();
  size_t max_line() const { return max_line_; }

 private:
  void make_room();
  Line deliver(size_t len, uint64_t bytes, uint64_t size, bool truncated);
  // Discarding: whether the input byte just before buffer position `end` (>= the kept prefix's end) is '\r'.
  bool cr_before(size_t end) const;
  void drop_after_kept();

  size_t max_line_;
  size_t chunk_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t begin_ = 0;         // start of the pending line
  size_t scan_ = 0;          // bytes before this were searched for '\n' already
  size_t end_ = 0;           // end of data
  bool discarding_ = false;  // holding max_line + 1 bytes of a too-long line, skipping the rest
  uint64_t discarded_ = 0;   // bytes of that line skipped so far
  bool dropped_cr_ = false;  // the last byte skipped was '\r' (it may turn out to be the CR of a CRLF)
};

}  // namespace weir
