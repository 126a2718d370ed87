// `weir run` (spec §11).
#pragma once

#include <CLI/CLI.hpp>

namespace weir::cmd {

void register_run(CLI::App& app, int& exit_code);

// Default state directory: $WEIR_STATE_DIR, systemd's $STATE_DIRECTORY, /var/lib/weir for root,
// else $XDG_STATE_HOME/weir or ~/.local/state/weir.
std::string default_state_dir();

// Installs SIGINT/SIGTERM handlers: the first asks for a graceful stop, the second for an immediate one.
void install_stop_signals();
int stop_requested();

}  // namespace weir::cmd
