#include "connectors/file/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace weir::fsutil {
namespace {

std::string err(std::string_view what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string make_parent_dirs(const std::string& path) {
  std::string dir = parent_of(path);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    std::string prefix = dir.substr(0, i);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return err("cannot create directory", prefix);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fmt::format("{} is not a directory", dir);
  }
  return {};
}

std::string pwrite_all(int fd, std::string_view data, off_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fmt::format("write failed: {}", std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

std::string write_all(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fmt::format("write failed: {}", std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

std::string write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return err("cannot create", tmp);
  std::string e = write_all(fd, data);
  if (e.empty() && ::fsync(fd) != 0) e = err("cannot fsync", tmp);
  ::close(fd);
  if (!e.empty()) return e;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return err("cannot rename to", path);
  std::string dir = parent_of(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return err("cannot open directory", dir);
  if (::fsync(dfd) != 0) e = err("cannot fsync directory", dir);
  ::close(dfd);
  return e;
}

std::string read_file(const std::string& path, std::string& out, bool& missing) {
  out.clear();
  missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      missing = true;
      return {};
    }
    return err("cannot open", path);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string e = err("cannot read", path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1 << 20)) break;  // a commit record is tiny; do not read a huge wrong file whole
  }
  ::close(fd);
  return {};
}

}  // namespace weir::fsutil
