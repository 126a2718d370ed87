// Subcommands owned by the job-file area: `weir validate` and `weir explain` (spec §11).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace weir::cmd {

// `weir validate FILE...`: every problem to stderr as FILE:LINE:COL: message, `FILE: ok` per valid
// file to stdout; exit_code 2 if any file is invalid, else 0.
void register_validate(CLI::App& app, int& exit_code);
// `weir explain JOB.yaml`: the parsed job (secrets redacted) to stdout; on errors as validate, exit 2.
void register_explain(CLI::App& app, int& exit_code);

// The bodies, with their streams, for tests. Return the exit code.
int validate_files(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);
int explain_file(const std::string& file, std::ostream& out, std::ostream& err);

}  // namespace weir::cmd
