// The file sink's commit record (spec §9): which batch of which (job, output) the data file holds
// up to which byte length. Kept in "<path>.weir-commit" as one JSON object; parsing and rendering
// only (file_sink.cc does the I/O).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace weir {

struct CommitRecord {
  std::string job;
  std::string output;
  uint64_t batch = 0;   // last committed batch id (0: none yet)
  uint64_t length = 0;  // bytes of the data file that hold committed rows
  bool operator==(const CommitRecord&) const = default;
};

std::string render_commit_record(const CommitRecord& c);
// nullopt when the text is not a valid commit record.
std::optional<CommitRecord> parse_commit_record(std::string_view text);

}  // namespace weir
