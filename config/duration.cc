// Duration and byte-size text (spec §2, §8).
#include <fmt/format.h>

#include <limits>

#include "config/internal.h"

namespace weir::config {

// Splits "123unit" into its digits and unit; false when there are no leading digits or it overflows.
static bool split_number(std::string_view text, int64_t& n, std::string_view& unit) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 18) return false;
  if (!parse_int(text.substr(0, i), n)) return false;
  unit = text.substr(i);
  return true;
}

static std::optional<int64_t> times(int64_t n, int64_t mul) {
  if (n > std::numeric_limits<int64_t>::max() / mul) return std::nullopt;
  return n * mul;
}

std::optional<int64_t> parse_duration(std::string_view text) {
  int64_t n;
  std::string_view unit;
  if (!split_number(text, n, unit)) return std::nullopt;
  if (unit == "ms") return n;
  if (unit == "s") return times(n, 1000);
  if (unit == "m") return times(n, 60 * 1000);
  if (unit == "h") return times(n, 3600 * 1000);
  return std::nullopt;
}

std::optional<int64_t> parse_bytes(std::string_view text) {
  int64_t n;
  std::string_view unit;
  if (!split_number(text, n, unit)) return std::nullopt;
  struct U {
    std::string_view name;
    int64_t mul;
  };
  static constexpr U units[] = {{"", 1},
                                {"B", 1},
                                {"KB", 1000},
                                {"MB", 1000 * 1000},
                                {"GB", 1000 * 1000 * 1000},
                                {"KiB", 1024},
                                {"MiB", 1024 * 1024},
                                {"GiB", 1024 * 1024 * 1024}};
  for (const auto& u : units)
    if (unit == u.name) return times(n, u.mul);
  return std::nullopt;
}

std::string format_duration(int64_t ms) {
  if (ms != 0 && ms % 3600000 == 0) return fmt::format("{}h", ms / 3600000);
  if (ms != 0 && ms % 60000 == 0) return fmt::format("{}m", ms / 60000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace weir::config
