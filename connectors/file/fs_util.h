// Small POSIX file helpers for the file sinks. Each returns an error message (empty on success).
#pragma once

#include <sys/types.h>
#include <string>
#include <string_view>

namespace weir::fsutil {

// Creates the missing parent directories of `path` (mode 0755).
std::string make_parent_dirs(const std::string& path);
// Writes all of `data` at `offset` (pwrite loop; EINTR retried).
std::string pwrite_all(int fd, std::string_view data, off_t offset);
// Appends all of `data` (write loop on an O_APPEND descriptor).
std::string write_all(int fd, std::string_view data);
// Replaces `path` atomically with `data`: temp file, fsync, rename, fsync of the directory.
std::string write_file_atomic(const std::string& path, std::string_view data, mode_t mode);
// Reads a whole (small) file. `missing` is set when it does not exist.
std::string read_file(const std::string& path, std::string& out, bool& missing);

}  // namespace weir::fsutil
