#include "connectors/files/line_buffer.h"

#include <algorithm>
#include <cstring>

namespace weir {

LineBuffer::LineBuffer(size_t max_line, size_t chunk)
    : max_line_(max_line), chunk_(std::max<size_t>(chunk, 16)) {}

LineBuffer::Line LineBuffer::deliver(size_t len, uint64_t bytes, uint64_t size, bool truncated) {
  Line l;
  l.text = std::string_view(buf_.get() + begin_, len);
  l.bytes = bytes;
  l.size = size;
  l.truncated = truncated;
  return l;
}

bool LineBuffer::cr_before(size_t end) const {
  size_t keep = begin_ + max_line_ + 1;
  if (end > keep) return buf_[end - 1] == '\r';
  return discarded_ > 0 ? dropped_cr_ : buf_[keep - 1] == '\r';
}

void LineBuffer::drop_after_kept() {
  size_t keep = begin_ + max_line_ + 1;
  if (end_ > keep) {
    dropped_cr_ = buf_[end_ - 1] == '\r';
    discarded_ += end_ - keep;
  }
  end_ = scan_ = keep;
}

bool LineBuffer::next(Line& out) {
  if (discarding_) {
    size_t keep = begin_ + max_line_ + 1;
    const void* nl = std::memchr(buf_.get() + keep, '\n', end_ - keep);
    if (nl == nullptr) {
      drop_after_kept();
      return false;
    }
    size_t p = static_cast<size_t>(static_cast<const char*>(nl) - buf_.get());
    uint64_t size = discarded_ + (p - begin_) - (cr_before(p) ? 1 : 0);
    out = deliver(max_line_ + 1, discarded_ + (p + 1 - begin_), size, true);
    begin_ = scan_ = p + 1;
    discarding_ = false;
    discarded_ = 0;
    return true;
  }
  if (scan_ < end_) {
    const void* nl = std::memchr(buf_.get() + scan_, '\n', end_ - scan_);
    if (nl != nullptr) {
      size_t p = static_cast<size_t>(static_cast<const char*>(nl) - buf_.get());
      size_t len = p - begin_;
      uint64_t bytes = len + 1;
      if (len > 0 && buf_[p - 1] == '\r') --len;
      bool truncated = len > max_line_;
      out = deliver(truncated ? max_line_ + 1 : len, bytes, len, truncated);
      begin_ = scan_ = p + 1;
      return true;
    }
    scan_ = end_;
  }
  if (end_ - begin_ >= max_line_ + 2) {
    // Longer than max_line even if it ends with "\r": keep the first max_line + 1 bytes, skip the rest.
    discarding_ = true;
    discarded_ = 0;
    drop_after_kept();
  }
  return false;
}

bool LineBuffer::finish(Line& out) {
  if (discarding_) {
    uint64_t size = discarded_ + (end_ - begin_) - (cr_before(end_) ? 1 : 0);
    out = deliver(max_line_ + 1, discarded_ + (end_ - begin_), size, true);
    discarding_ = false;
    discarded_ = 0;
    begin_ = scan_ = end_;
    return true;
  }
  if (end_ == begin_) return false;
  size_t len = end_ - begin_;
  uint64_t bytes = len;
  if (buf_[end_ - 1] == '\r') --len;
  bool truncated = len > max_line_;
  out = deliver(truncated ? max_line_ + 1 : len, bytes, len, truncated);
  begin_ = scan_ = end_;
  return true;
}

void LineBuffer::make_room() {
  if (begin_ == end_) {
    begin_ = scan_ = end_ = 0;
  } else if (begin_ > 0 && cap_ - end_ < chunk_ / 2) {
    size_t n = end_ - begin_;
    std::memmove(buf_.get(), buf_.get() + begin_, n);
    scan_ -= begin_;
    end_ = n;
    begin_ = 0;
  }
  if (cap_ - end_ >= chunk_ / 2 && buf_) return;
  size_t want = std::max(cap_ * 2, end_ + chunk_);
  want = std::min(want, std::max(max_line_ + 2 + chunk_, end_ + chunk_));
  if (want <= cap_) return;
  std::unique_ptr<char[]> nb(new char[want]);
  if (end_ > begin_) std::memcpy(nb.get(), buf_.get() + begin_, end_ - begin_);
  scan_ -= begin_;
  end_ -= begin_;
  begin_ = 0;
  buf_ = std::move(nb);
  cap_ = want;
}

char* LineBuffer::space() {
  make_room();
  return buf_.get() + end_;
}

void LineBuffer::clear() {
  begin_ = scan_ = end_ = 0;
  discarding_ = false;
  discarded_ = 0;
  dropped_cr_ = false;
}

}  // namespace weir
