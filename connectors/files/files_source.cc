#include "connectors/files/files_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "engine/log.h"

namespace weir {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("files");
  return l;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace

FilesSource::FilesSource(config::FilesSource cfg, size_t max_line, size_t read_chunk)
    : cfg_(std::move(cfg)), buf_(max_line, read_chunk) {}

FilesSource::~FilesSource() {
  close();
}

Status FilesSource::open(const Positions* resume) {
  struct stat st {};
  if (::stat(cfg_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::fatal(
        fmt::format("files source: directory {} does not exist or is not a directory", cfg_.dir));
  }
  close();
  files_.clear();
  by_name_.clear();
  pending_.clear();
  resume_.clear();
  if (resume != nullptr) {
    for (const Position& p : *resume) resume_[p.stream] = p;
  }
  // Checkpointed files that are not in the directory any more are forgotten, as they would be at a rescan.
  if (scan()) resume_.clear();
  return Status::ok();
}

bool FilesSource::scan() {
  last_scan_ = std::chrono::steady_clock::now();
  DIR* d = ::opendir(cfg_.dir.c_str());
  if (d == nullptr) {
    logger()->warn("Cannot list directory {}: {}.", cfg_.dir, std::strerror(errno));
    return false;
  }
  std::vector<std::string> found;
  std::vector<bool> present(files_.size(), false);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (auto known = by_name_.find(name); known != by_name_.end()) {
      present[known->second] = true;
      continue;
    }
    if (::fnmatch(cfg_.pattern.c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
    if (e->d_type != DT_REG) {
      if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) continue;
      struct stat st {};
      if (::stat(join_path(cfg_.dir, name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    }
    found.push_back(std::move(name));
  }
  ::closedir(d);
  // A file read to its end that is no longer there is forgotten: its position leaves the checkpoint, and a
  // new file of that name is a new file. One still being read (or waiting) keeps its place until its end.
  for (auto it = by_name_.begin(); it != by_name_.end();) {
    File& f = files_[it->second];
    if (!present[it->second] && f.done && static_cast<int>(it->second) != current_) {
      f.gone = true;
      std::string().swap(f.path);
      it = by_name_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(found.begin(), found.end());
  for (std::string& name : found) {
    File f;
    f.path = join_path(cfg_.dir, name);
    auto it = resume_.find(f.path);
    if (it != resume_.end()) {
      struct stat st {};
      int64_t size = ::stat(f.path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
      if (size < it->second.offset) {
        logger()->warn(
            "File {} is now {} bytes, shorter than its checkpointed position {}; reading it again from the "
            "start.",
            f.path, size, it->second.offset);
      } else {
        f.offset = static_cast<uint64_t>(it->second.offset);
        f.lines = it->second.aux;
        f.done = size == it->second.offset;
      }
      resume_.erase(it);
    }
    auto idx = static_cast<uint32_t>(files_.size());
    if (!f.done) pending_.emplace(name, idx);
    by_name_.emplace(std::move(name), idx);
    files_.push_back(std::move(f));
  }
  return true;
}

bool FilesSource::open_file(File& f) {
  fd_ = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    logger()->warn("Cannot open {}: {}; skipping it.", f.path, std::strerror(errno));
    return false;
  }
  if (f.offset > 0 && ::lseek(fd_, static_cast<off_t>(f.offset), SEEK_SET) < 0) {
    logger()->warn("Cannot seek {} to {}: {}; skipping it.", f.path, f.offset, std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  buf_.clear();
  return true;
}

void FilesSource::finish_file(File& f) {
  f.done = true;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (static_cast<int>(it->second) == current_) {
      pending_.erase(it);
      break;
    }
  }
  current_ = -1;
}

PollResult FilesSource::poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                             size_t max_records) {
  using clock = std::chrono::steady_clock;
  size_t delivered = 0;
  RawRecord r;
  auto emit = [&](File& f, uint32_t stream, const LineBuffer::Line& line) {
    f.offset += line.bytes;
    f.lines += 1;
    r.payload = line.text;
    r.full_size = line.truncated ? static_cast<int64_t>(line.size) : -1;
    r.file = f.path;
    r.line = f.lines;
    r.stream = stream;
    h.on_record(r);
    ++delivered;
  };
  while (delivered < max_records) {
    if (current_ < 0) {
      if (pending_.empty() && clock::now() - last_scan_ >= kRescanEvery) scan();
      if (pending_.empty()) {
        if (cfg_.once) {
          scan();  // files that appeared since the last scan still belong to this run
          if (pending_.empty()) return PollResult::End;
          continue;
        }
        if (delivered > 0) return PollResult::Ok;
        auto now = clock::now();
        if (now >= deadline) return PollResult::Ok;
        std::this_thread::sleep_until(std::min(deadline, last_scan_ + kRescanEvery));
        continue;
      }
      current_ = static_cast<int>(pending_.begin()->second);
      if (!open_file(files_[current_])) {
        finish_file(files_[current_]);
        continue;
      }
    }
    File& f = files_[current_];
    auto stream = static_cast<uint32_t>(current_);
    LineBuffer::Line line;
    size_t since_check = 0;
    bool out_of_time = false;
    while (delivered < max_records && buf_.next(line)) {
      emit(f, stream, line);
      if (++since_check == 4096) {
        since_check = 0;
        if (clock::now() >= deadline) {
          out_of_time = true;
          break;
        }
      }
    }
    if (out_of_time || delivered >= max_records) return PollResult::Ok;
    if (clock::now() >= deadline) return PollResult::Ok;
    char* dst = buf_.space();
    ssize_t n = ::read(fd_, dst, buf_.space_size());
    if (n > 0) {
      buf_.commit(static_cast<size_t>(n));
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      logger()->error("Reading {} failed at byte {}: {}; skipping the rest of the file.", f.path,
                      f.offset + buf_.pending(), std::strerror(errno));
      finish_file(f);
      continue;
    }
    if (buf_.finish(line)) emit(f, stream, line);
    finish_file(f);
  }
  return PollResult::Ok;
}

Positions FilesSource::positions() const {
  Positions out;
  out.reserve(files_.size());
  for (const File& f : files_) {
    if (!f.gone) out.push_back(Position{f.path, static_cast<int64_t>(f.offset), f.lines});
  }
  return out;
}

void FilesSource::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  current_ = -1;
  buf_.clear();
}

}  // namespace weir
