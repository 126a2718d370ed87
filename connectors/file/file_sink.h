// The file sink (spec §7, §9): rows appended to `path` as JSON lines or CSV, exactly once per batch.
//
// Next to the data file, "<path>.weir-commit" (mode 0600, replaced atomically) records the job,
// the output, the last committed batch id and the data file's committed length. write():
// a batch id <= the committed one is skipped; otherwise the data file is cut back to the committed
// length (dropping a torn tail left by a crash), the rows are appended and fsynced, and then the
// commit record is replaced. A crash at any point therefore leaves either the old or the new batch.
#pragma once

#include <string>

#include "config/job.h"
#include "connectors/file/commit_record.h"
#include "connectors/sink.h"

namespace weir {

class FileSink : public Sink {
 public:
  explicit FileSink(config::FileSink cfg);
  ~FileSink() override;

  Status open(const SinkContext& ctx) override;
  uint64_t committed_batch() override { return commit_.batch; }
  Status write(const BatchOutput& batch) override;
  bool exactly_once() const override { return true; }
  void close() override;

  static std::string commit_path(const std::string& data_path) { return data_path + ".weir-commit"; }

 private:
  Status save_commit(const CommitRecord& c);

  config::FileSink cfg_;
  SinkContext ctx_;
  int fd_ = -1;
  CommitRecord commit_;
  std::string buf_;
};

}  // namespace weir
