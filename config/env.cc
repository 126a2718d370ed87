// ${NAME} / ${NAME:-default} / $${ substitution in string values (spec §2).
#include <fmt/format.h>

#include <cstdlib>

#include "config/internal.h"

namespace weir::config {

static bool env_name_ok(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

std::optional<std::string> substitute_env(std::string_view text, std::string& error) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      error = fmt::format("'${{' without a closing '}}' (write $${{ for a literal ${{)");
      return std::nullopt;
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::string_view name = body;
    std::optional<std::string_view> def;
    if (size_t d = body.find(":-"); d != std::string_view::npos) {
      name = body.substr(0, d);
      def = body.substr(d + 2);
    }
    if (!env_name_ok(name)) {
      error = fmt::format("'${{{}}}' is not a valid environment variable reference", body);
      return std::nullopt;
    }
    const char* v = std::getenv(std::string(name).c_str());
    if (v && (*v || !def)) {
      out += v;
    } else if (def) {
      out += *def;
    } else {
      error = fmt::format("environment variable {} is not set", name);
      return std::nullopt;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace weir::config
