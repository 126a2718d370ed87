#include "config/redact.h"

#include <algorithm>
#include <cctype>

namespace weir::config {

static std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string redact_dsn(std::string_view dsn) {
  std::string s(dsn);
  std::string l = lower(s);
  if (l.rfind("postgresql://", 0) == 0 || l.rfind("postgres://", 0) == 0) {
    size_t scheme = s.find("://") + 3;
    size_t end = s.find_first_of("/?#", scheme);
    if (end == std::string::npos) end = s.size();
    size_t at = s.rfind('@', end);
    if (at != std::string::npos && at >= scheme) {
      size_t colon = s.find(':', scheme);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
    // password=... in the query string
    for (size_t p = s.find("password=", s.find('?') == std::string::npos ? s.size() : s.find('?'));
         p != std::string::npos; p = s.find("password=", p + 1)) {
      size_t v = p + 9, e = s.find('&', v);
      s.replace(v, (e == std::string::npos ? s.size() : e) - v, "***");
    }
    return s;
  }
  // Keyword form: password=value, password = 'quoted value'
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t p = lower(s).find("password", i);
    if (p == std::string::npos || (p > 0 && !std::isspace(static_cast<unsigned char>(s[p - 1])))) {
      if (p == std::string::npos) break;
      out.append(s, i, p + 8 - i);
      i = p + 8;
      continue;
    }
    size_t q = p + 8;
    while (q < s.size() && s[q] == ' ') ++q;
    if (q >= s.size() || s[q] != '=') {
      out.append(s, i, q - i);
      i = q;
      continue;
    }
    ++q;
    while (q < s.size() && s[q] == ' ') ++q;
    out.append(s, i, q - i);
    size_t e = q;
    if (e < s.size() && s[e] == '\'') {
      ++e;
      while (e < s.size() && s[e] != '\'') e += (s[e] == '\\' ? 2 : 1);
      e = std::min(e + 1, s.size());
    } else {
      while (e < s.size() && !std::isspace(static_cast<unsigned char>(s[e]))) ++e;
    }
    out += "***";
    i = e;
  }
  if (i < s.size()) out.append(s, i, std::string::npos);
  return out;
}

bool is_secret_property(std::string_view name) {
  std::string l = lower(name);
  return l.find("password") != std::string::npos || l.find("secret") != std::string::npos ||
         l.rfind("sasl.", 0) == 0 || l.rfind("ssl.key", 0) == 0;
}

std::string redact_property(std::string_view name, std::string_view value) {
  return is_secret_property(name) ? "***" : std::string(value);
}

}  // namespace weir::config
