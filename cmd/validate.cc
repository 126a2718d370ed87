// `weir validate FILE...` (spec §11).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cmd/commands.h"
#include "config/load.h"

namespace weir::cmd {

int validate_files(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  int rc = 0;
  for (const auto& f : files) {
    config::LoadResult r = config::load_job_file(f);
    if (r.ok()) {
      out << f << ": ok\n";
      continue;
    }
    rc = 2;
    for (const auto& d : r.errors) err << d.format() << "\n";
  }
  return rc;
}

void register_validate(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("validate", "Check job files; print every problem as FILE:LINE:COL: message");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("files", *files, "Job files")->required();
  cmd->callback([files, &exit_code] { exit_code = validate_files(*files, std::cout, std::cerr); });
}

}  // namespace weir::cmd
