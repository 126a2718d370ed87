// Keeping secrets out of `weir explain` and logs.
#pragma once

#include <string>
#include <string_view>

namespace weir::config {

// A libpq keyword string with `password=...` replaced by `password=***`, or a postgresql:// URL with its
// password replaced by ***. Other text is returned unchanged.
std::string redact_dsn(std::string_view dsn);
// Property names that may hold secrets: *password*, *secret*, sasl.*, ssl.key* (case-insensitive).
bool is_secret_property(std::string_view name);
// The value, or "***" when the property looks secret.
std::string redact_property(std::string_view name, std::string_view value);

}  // namespace weir::config
