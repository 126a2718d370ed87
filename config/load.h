// Loading and validating job files. Every problem is reported, each with its location.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/job.h"

namespace weir::config {

struct Diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem has no position (e.g. unreadable file)
  int col = 0;
  std::string message;
  // "FILE:LINE:COL: message" (or "FILE: message" without a position)
  std::string format() const;
};

struct LoadResult {
  std::optional<Job> job;          // set when there were no errors
  std::vector<Diagnostic> errors;  // every problem found, in file order
  bool ok() const { return errors.empty(); }
};

// Reads, parses and validates a job file. Never throws.
LoadResult load_job_file(const std::string& path);
// Same, from text (`file` is used in messages and for the default job name).
LoadResult load_job_text(const std::string& text, const std::string& file);

// Duration text (`500ms`, `5s`, `1m`, `2h`) to milliseconds; nullopt when malformed.
std::optional<int64_t> parse_duration(std::string_view text);
// Byte size text (`1MiB`, `512KiB`, `2MB`, `1000`) to bytes; nullopt when malformed.
std::optional<int64_t> parse_bytes(std::string_view text);

}  // namespace weir::config
