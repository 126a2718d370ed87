// The console sink (spec §7): per emission a "---- Time: <window_end> ----" header, then up to
// `rows` rows as an aligned table (or one JSON object per row with `format: json`), then
// "... (N more rows)" when rows were cut, then a blank line. Best-effort: never fails a batch.
#pragma once

#include <iosfwd>
#include <string>

#include "config/job.h"
#include "connectors/sink.h"

namespace weir {

class ConsoleSink : public Sink {
 public:
  // `out` (default std::cout) must outlive the sink; it is flushed after every batch.
  explicit ConsoleSink(config::ConsoleSink cfg, std::ostream* out = nullptr);

  Status open(const SinkContext& ctx) override;
  Status write(const BatchOutput& batch) override;

  // The text written for one emission (exposed for tests and `weir` previews).
  static std::string render(const config::ConsoleSink& cfg, const RowSchema& schema, const Emission& e);

 private:
  config::ConsoleSink cfg_;
  std::ostream* out_;
  SinkContext ctx_;
};

}  // namespace weir
