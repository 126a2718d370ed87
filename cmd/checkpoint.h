// `weir checkpoint show DIR` (spec §11): what a checkpoint holds.
#pragma once

#include <CLI/CLI.hpp>

namespace weir::cmd {

void register_checkpoint(CLI::App& app, int& exit_code);

}  // namespace weir::cmd
