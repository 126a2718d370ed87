// The stdin source (spec §3): one record per line from a file descriptor (standard input by
// default), bounded (ends at EOF), not replayable. poll() waits with poll(2), so it returns by its
// deadline even when no input arrives.
#pragma once

#include <chrono>

#include "connectors/files/line_buffer.h"
#include "connectors/source.h"

namespace weir {

class StdinSource : public Source {
 public:
  // `fd` is not closed by this class. `max_line`: see LineBuffer.
  explicit StdinSource(int fd = 0, size_t max_line = LineBuffer::kDefaultMaxLine,
                       size_t read_chunk = size_t{256} << 10);

  Status open(const Positions* resume) override;
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                  size_t max_records) override;
  // {"stdin", bytes read as lines, lines read}: informational, stdin cannot be re-read.
  Positions positions() const override;
  bool bounded() const override { return true; }
  bool replayable() const override { return false; }
  Status last_error() const override { return last_error_; }

 private:
  int fd_;
  LineBuffer buf_;
  uint64_t offset_ = 0;
  int64_t lines_ = 0;
  bool eof_ = false;
  Status last_error_ = Status::ok();
};

}  // namespace weir
