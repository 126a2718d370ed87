#include "cmd/daemon/watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cmd/daemon/supervisor.h"

namespace weir::daemon {

DirWatcher::~DirWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

bool DirWatcher::open(const std::string& dir, std::string& error) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error = std::string("inotify_init1: ") + std::strerror(errno);
    return false;
  }
  uint32_t mask = IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (inotify_add_watch(fd_, dir.c_str(), mask) < 0) {
    error = std::string("inotify_add_watch ") + dir + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool DirWatcher::drain() {
  alignas(struct inotify_event) char buf[16384];
  bool relevant = false;
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: nothing more
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & (IN_Q_OVERFLOW)) relevant = true;
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        dir_gone_ = true;
        relevant = true;
      }
      if (ev->len == 0) continue;
      std::string name(ev->name);
      if (is_job_file_name(name) || name.rfind("..", 0) == 0) relevant = true;
    }
  }
  return relevant;
}

}  // namespace weir::daemon
