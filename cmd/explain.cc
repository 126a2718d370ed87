// `weir explain JOB.yaml` (spec §11): the compiled pipeline in words, secrets redacted.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cmd/commands.h"
#include "config/explain.h"
#include "config/load.h"

namespace weir::cmd {

int explain_file(const std::string& file, std::ostream& out, std::ostream& err) {
  config::LoadResult r = config::load_job_file(file);
  if (!r.ok()) {
    for (const auto& d : r.errors) err << d.format() << "\n";
    return 2;
  }
  out << config::explain_job(*r.job);
  return 0;
}

void register_explain(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("explain", "Show the parsed job: per output its operators, state and sinks");
  auto file = std::make_shared<std::string>();
  cmd->add_option("job", *file, "Job file")->required();
  cmd->callback([file, &exit_code] { exit_code = explain_file(*file, std::cout, std::cerr); });
}

}  // namespace weir::cmd
