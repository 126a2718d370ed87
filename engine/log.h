// Named loggers, one per module (weir.engine, weir.kafka, weir.pg, ...), sharing one sink and format.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace weir::log {

// The logger "weir.<module>", created on first use with the process-wide sink and level.
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Configures every weir logger: level name (trace|debug|info|warn|error|critical|off), format text|json.
// Returns false when the level or format is not known. Logs go to stderr.
bool setup(const std::string& level, const std::string& format);

}  // namespace weir::log
