// `weir daemon --jobs DIR` (spec §11): runs every job file in DIR and follows edits. The supervisor lives in
// cmd/daemon/ (see cmd/daemon/README.md); this file only declares the subcommand.
#pragma once

#include <CLI/CLI.hpp>

namespace weir::cmd {

void register_daemon(CLI::App& app, int& exit_code);

}  // namespace weir::cmd
