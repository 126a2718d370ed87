// The Prometheus text exposition (format 0.0.4) of the daemon's jobs, for GET /metrics.
// Labels carry only job names, output names, states and file paths: never a payload value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cmd/daemon/sample.h"

namespace weir::daemon {

// A label value escaped as the text format requires: backslash, double quote and newline.
std::string escape_label_value(std::string_view v);

std::string render_prometheus(const std::vector<JobSample>& jobs, const std::vector<FileProblem>& problems);

}  // namespace weir::daemon
