// The one explicit table of connectors (STYLE.md: no self-registering statics): builds a job's source,
// sinks and dead-letter sink from its configuration.
#pragma once

#include <string>

#include "config/job.h"
#include "engine/executor.h"
#include "engine/plan.h"

namespace weir::connectors {

// Builds every connector of the job. Returns false with `error` naming the part that could not be built.
bool build(const config::Job& job, const engine::JobPlan& plan, engine::Connectors& out, std::string& error);

}  // namespace weir::connectors
