// The files source (spec §3): every file in `dir` whose name matches `pattern` (fnmatch, a leading
// dot must be matched explicitly), read once in name order, one record per line. New files are
// picked up by rescanning the directory (at most every 200 ms). `once: true` makes it bounded.
//
// Positions: one per file {path, byte offset of the next unread line, lines read so far}, for the files
// still in `dir`: a file read to its end that is gone at a rescan (or at the start) is forgotten, so the
// positions stay bounded when files are removed or archived once read; a new file with that name later is
// a new file, read from the start. A file that shrank below its position is read again from the start
// (with a warning). Write files elsewhere and rename them into `dir`: a file is considered complete when
// its end is reached.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/files/line_buffer.h"
#include "connectors/source.h"

namespace weir {

class FilesSource : public Source {
 public:
  // `max_line`: lines longer than this are delivered as their first max_line + 1 bytes with their real
  // size in RawRecord::full_size (the registry passes max_record_bytes + 1; the engine rejects them).
  explicit FilesSource(config::FilesSource cfg, size_t max_line = LineBuffer::kDefaultMaxLine,
                       size_t read_chunk = LineBuffer::kDefaultChunk);
  ~FilesSource() override;

  Status open(const Positions* resume) override;
  PollResult poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                  size_t max_records) override;
  Positions positions() const override;
  bool bounded() const override { return cfg_.once; }
  bool replayable() const override { return true; }
  Status last_error() const override { return last_error_; }
  void close() override;

 private:
  struct File {
    std::string path;
    uint64_t offset = 0;  // byte offset of the next unread line
    int64_t lines = 0;    // lines delivered so far
    bool done = false;
    bool gone = false;  // read to its end, then no longer in the directory: forgotten (no position)
  };
  static constexpr std::chrono::milliseconds kRescanEvery{200};

  // Lists `dir`: adds new files, forgets finished ones that are gone. False when `dir` cannot be listed.
  bool scan();
  bool open_file(File& f);
  void finish_file(File& f);

  config::FilesSource cfg_;
  LineBuffer buf_;
  std::vector<File> files_;                  // index = stream (a gone file keeps its slot: streams stay put)
  std::map<std::string, uint32_t> by_name_;  // file name -> index
  std::map<std::string, uint32_t> pending_;  // not yet fully read, in name order
  std::map<std::string, Position> resume_;   // path -> position from the checkpoint
  int current_ = -1;
  int fd_ = -1;
  std::chrono::steady_clock::time_point last_scan_{};
  Status last_error_ = Status::ok();
};

}  // namespace weir
