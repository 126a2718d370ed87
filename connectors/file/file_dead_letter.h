// Dead letters to a file (spec §8): one JSON object per line, appended. Entries are buffered and
// written when 1 MiB is pending or at flush(), which also fsyncs (at-least-once across crashes).
#pragma once

#include <string>

#include "config/job.h"
#include "connectors/sink.h"

namespace weir {

class FileDeadLetterSink : public DeadLetterSink {
 public:
  explicit FileDeadLetterSink(config::FileSink cfg);
  ~FileDeadLetterSink() override;

  Status open(const std::string& job) override;
  Status write(const std::string& entry_json) override;
  Status flush() override;
  void close() override;

 private:
  Status write_out();

  config::FileSink cfg_;
  int fd_ = -1;
  std::string pending_;
};

}  // namespace weir
