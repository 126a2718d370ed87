// Keeping secrets out of `weir explain` and logs.
#pragma once

#include <string>
#include <string_view>

namespace weir::config {

// The libpq connection keywords whose values are secrets. The one list: `weir explain` (redact_dsn below)
// and the PostgreSQL sink's own redaction (pg::redact_dsn) both use it. Inline: the sink does not link the
// config library.
inline bool is_secret_dsn_keyword(std::string_view keyword) {
  return keyword == "password" || keyword == "sslpassword";
}

// A libpq keyword string with the value of every secret keyword (is_secret_dsn_keyword, whatever its case)
// replaced by ***, e.g. `password=***`, `sslpassword = ***`; or a postgresql:// URL with its password and
// every secret query parameter (`?sslpassword=***`) replaced by ***. Other text is returned unchanged.
std::string redact_dsn(std::string_view dsn);
// Property names that may hold secrets: *password*, *secret*, sasl.*, ssl.key* (case-insensitive).
bool is_secret_property(std::string_view name);
// The value, or "***" when the property looks secret.
std::string redact_property(std::string_view name, std::string_view value);

}  // namespace weir::config
