#include "connectors/file/file_sink.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "connectors/file/fs_util.h"
#include "connectors/file/row_format.h"
#include "engine/log.h"

namespace weir {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("file");
  return l;
}

}  // namespace

FileSink::FileSink(config::FileSink cfg) : cfg_(std::move(cfg)) {}

FileSink::~FileSink() {
  close();
}

void FileSink::close() {
  if (fd_ >= 0) ::close(fd_);  // also releases the lock
  fd_ = -1;
}

Status FileSink::save_commit(const CommitRecord& c) {
  std::string e = fsutil::write_file_atomic(commit_path(cfg_.path), render_commit_record(c), 0600);
  if (!e.empty()) return Status::retryable(fmt::format("file sink {}: {}", cfg_.path, e));
  return Status::ok();
}

Status FileSink::open(const SinkContext& ctx) {
  close();
  ctx_ = ctx;
  const std::string& path = cfg_.path;
  if (std::string e = fsutil::make_parent_dirs(path); !e.empty()) {
    return Status::fatal(fmt::format("file sink {}: {}", path, e));
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status::fatal(fmt::format("file sink: cannot open {}: {}", path, std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    close();
    return Status::fatal(fmt::format("file sink: {} is being written by another process", path));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    close();
    return Status::fatal(fmt::format("file sink: cannot stat {}: {}", path, std::strerror(errno)));
  }
  auto size = static_cast<uint64_t>(st.st_size);

  std::string text;
  bool missing = false;
  if (std::string e = fsutil::read_file(commit_path(path), text, missing); !e.empty()) {
    close();
    return Status::fatal(fmt::format("file sink: {}", e));
  }
  if (missing) {
    // A new file, or one that existed before weir: keep what is there and commit from its end, so a
    // crash during the first batch leaves a tail that the next write cuts off.
    commit_ = CommitRecord{ctx.job, ctx.output, 0, size};
    if (Status s = save_commit(commit_); !s.is_ok()) {
      close();
      return Status::fatal(s.message());
    }
    return Status::ok();
  }
  auto rec = parse_commit_record(text);
  if (!rec) {
    close();
    return Status::fatal(fmt::format(
        "file sink: commit record {} is not valid; restore it or remove it together with {} to start over",
        commit_path(path), path));
  }
  if (rec->job != ctx.job || rec->output != ctx.output) {
    close();
    return Status::fatal(
        fmt::format("file sink: {} is written by job {} output {}, not by job {} output {}; give each output "
                    "its own file",
                    path, rec->job, rec->output, ctx.job, ctx.output));
  }
  commit_ = *rec;
  if (size < commit_.length) {
    logger()->warn(
        "Job {} output {}: {} has {} bytes, fewer than the {} committed (was it truncated or rotated?); "
        "appending after what is there.",
        ctx.job, ctx.output, path, size, commit_.length);
    commit_.length = size;
    if (Status s = save_commit(commit_); !s.is_ok()) {
      close();
      return Status::fatal(s.message());
    }
  }
  return Status::ok();
}

Status FileSink::write(const BatchOutput& batch) {
  if (fd_ < 0) return Status::fatal(fmt::format("file sink {}: write before open", cfg_.path));
  if (batch.batch_id <= commit_.batch) return Status::ok();  // already written before a restart

  buf_.clear();
  for (const Emission& e : batch.emissions) {
    for (const Row& row : e.rows) {
      if (cfg_.format == config::FileSink::Format::Csv) {
        if (buf_.empty() && commit_.length == 0) filefmt::append_csv_header(buf_, ctx_.schema);
        filefmt::append_csv_row(buf_, row);
      } else {
        filefmt::append_jsonl_row(buf_, ctx_.schema, row);
      }
    }
  }

  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return Status::retryable(fmt::format("file sink: cannot stat {}: {}", cfg_.path, std::strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_size) != commit_.length) {
    if (static_cast<uint64_t>(st.st_size) > commit_.length) {
      logger()->info("Job {} output {}: dropping {} uncommitted bytes at the end of {} before batch {}.",
                     ctx_.job, ctx_.output, static_cast<uint64_t>(st.st_size) - commit_.length, cfg_.path,
                     batch.batch_id);
    }
    if (::ftruncate(fd_, static_cast<off_t>(commit_.length)) != 0) {
      return Status::retryable(
          fmt::format("file sink: cannot truncate {}: {}", cfg_.path, std::strerror(errno)));
    }
  }
  if (!buf_.empty()) {
    if (std::string e = fsutil::pwrite_all(fd_, buf_, static_cast<off_t>(commit_.length)); !e.empty()) {
      return Status::retryable(fmt::format("file sink {}: {}", cfg_.path, e));
    }
    if (::fdatasync(fd_) != 0) {
      return Status::retryable(
          fmt::format("file sink: cannot fsync {}: {}", cfg_.path, std::strerror(errno)));
    }
  }
  CommitRecord next = commit_;
  next.batch = batch.batch_id;
  next.length += buf_.size();
  if (Status s = save_commit(next); !s.is_ok()) return s;
  commit_ = next;
  return Status::ok();
}

}  // namespace weir
