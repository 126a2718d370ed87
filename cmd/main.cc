// weir: the command line (spec §11). One file per subcommand; this file wires them together.
// Exit codes: 0 success, 1 runtime failure, 2 invalid job file or usage.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cmd/checkpoint.h"
#include "cmd/commands.h"
#include "cmd/daemon.h"
#include "cmd/run.h"

int main(int argc, char** argv) {
  CLI::App app{"weir: a streaming daemon for declarative YAML jobs"};
  app.require_subcommand(1);
  int exit_code = 0;
  weir::cmd::register_run(app, exit_code);
  weir::cmd::register_checkpoint(app, exit_code);
  weir::cmd::register_validate(app, exit_code);
  weir::cmd::register_explain(app, exit_code);
  weir::cmd::register_daemon(app, exit_code);
  auto* version = app.add_subcommand("version", "Print weir's version");
  version->callback([] { fmt::print("weir {}\n", WEIR_VERSION); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
