// Follows a directory with inotify. Events are only a hint to rescan: the supervisor compares file contents,
// so a burst of editor writes (or a spurious event) costs one rescan after the debounce delay.
#pragma once

#include <string>

namespace weir::daemon {

class DirWatcher {
 public:
  DirWatcher() = default;
  ~DirWatcher();
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // Starts watching `dir`. False with `error` when inotify is unavailable or the directory cannot be watched.
  bool open(const std::string& dir, std::string& error);
  int fd() const { return fd_; }
  // Reads every pending event; true when one of them may concern a job file (a *.yaml/*.yml name, a
  // Kubernetes-style `..data` symlink swap, the directory itself, or an overflowed queue).
  bool drain();
  // Set by drain() when the directory itself was removed or moved away.
  bool dir_gone() const { return dir_gone_; }

 private:
  int fd_ = -1;
  bool dir_gone_ = false;
};

}  // namespace weir::daemon
