#include "connectors/file/file_dead_letter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "connectors/file/fs_util.h"

namespace weir {

FileDeadLetterSink::FileDeadLetterSink(config::FileSink cfg) : cfg_(std::move(cfg)) {}

FileDeadLetterSink::~FileDeadLetterSink() {
  close();
}

Status FileDeadLetterSink::open(const std::string& /*job*/) {
  close();
  if (std::string e = fsutil::make_parent_dirs(cfg_.path); !e.empty()) {
    return Status::fatal(fmt::format("dead-letter file {}: {}", cfg_.path, e));
  }
  fd_ = ::open(cfg_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return Status::fatal(
        fmt::format("dead-letter file: cannot open {}: {}", cfg_.path, std::strerror(errno)));
  }
  return Status::ok();
}

Status FileDeadLetterSink::write_out() {
  if (fd_ < 0) return Status::fatal(fmt::format("dead-letter file {}: write before open", cfg_.path));
  if (pending_.empty()) return Status::ok();
  if (std::string e = fsutil::write_all(fd_, pending_); !e.empty()) {
    return Status::retryable(fmt::format("dead-letter file {}: {}", cfg_.path, e));
  }
  pending_.clear();
  return Status::ok();
}

Status FileDeadLetterSink::write(const std::string& entry_json) {
  pending_ += entry_json;
  pending_ += '\n';
  if (pending_.size() >= (size_t{1} << 20)) return write_out();
  return Status::ok();
}

Status FileDeadLetterSink::flush() {
  if (Status s = write_out(); !s.is_ok()) return s;
  if (::fdatasync(fd_) != 0) {
    return Status::retryable(
        fmt::format("dead-letter file: cannot fsync {}: {}", cfg_.path, std::strerror(errno)));
  }
  return Status::ok();
}

void FileDeadLetterSink::close() {
  if (fd_ >= 0) {
    (void)write_out();
    ::close(fd_);
  }
  fd_ = -1;
}

}  // namespace weir
