// The rule for a PostgreSQL table name in a job file (spec §7), shared by `weir validate` (config/sinks.cc)
// and the sink itself (connectors/postgres), so that a name validate accepts is one the sink accepts.
// Header-only: config does not link the PostgreSQL sink.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weir::config {

// `table` or `schema.table`, each part [A-Za-z_][A-Za-z0-9_]* and at most 63 bytes (PostgreSQL's limit).
// Both parts are always quoted in SQL; the restriction keeps names unambiguous to write (no quoting
// syntax in the job file, no dot inside a part). Returns what is wrong, or nullopt.
inline std::optional<std::string> pg_table_name_problem(std::string_view text) {
  auto part_ok = [](std::string_view p) {
    if (p.empty() || p.size() > 63) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      char c = p[i];
      bool ok =
          (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
      if (!ok) return false;
    }
    return true;
  };
  size_t dot = text.find('.');
  bool ok = dot == std::string_view::npos ? part_ok(text)
                                          : part_ok(text.substr(0, dot)) && part_ok(text.substr(dot + 1));
  if (ok) return std::nullopt;
  return std::string(
      "use `table` or `schema.table`, each part letters, digits and underscores, not starting with a digit, "
      "at "
      "most 63 characters");
}

}  // namespace weir::config
