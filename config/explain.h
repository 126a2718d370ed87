// `weir explain`: the loaded job in words — source, fields, and per output its operators in order,
// the state it keeps and its sinks. Secrets are redacted.
#pragma once

#include <string>

#include "config/job.h"

namespace weir::config {

std::string explain_job(const Job& job);

// Result type of an aggregate given the job's fields ("int", "float", "int or float", "any", ...).
std::string aggregate_type(const Job& job, const Aggregate& a);

}  // namespace weir::config
