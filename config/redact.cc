#include "config/redact.h"

#include <algorithm>
#include <cctype>

namespace weir::config {

static std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// A URL query parameter's name as libpq reads it: percent-decoded.
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string redact_url(std::string s) {
  size_t scheme = s.find("://") + 3;
  size_t end = s.find_first_of("/?#", scheme);
  if (end == std::string::npos) end = s.size();
  size_t at = s.rfind('@', end);
  if (at != std::string::npos && at >= scheme) {
    size_t colon = s.find(':', scheme);
    if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
  }
  // Query parameters: name=value&...; a secret name's value becomes ***.
  size_t q = s.find('?');
  if (q == std::string::npos) return s;
  std::string out = s.substr(0, q + 1);
  size_t i = q + 1;
  while (i <= s.size()) {
    size_t amp = s.find('&', i);
    if (amp == std::string::npos) amp = s.size();
    std::string_view param(s.data() + i, amp - i);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && is_secret_dsn_keyword(lower(percent_decode(param.substr(0, eq))))) {
      out.append(param.substr(0, eq + 1));
      out += "***";
    } else {
      out.append(param);
    }
    if (amp == s.size()) break;
    out += '&';
    i = amp + 1;
  }
  return out;
}

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  std::string s(dsn);
  std::string l = lower(s);
  if (l.rfind("postgresql://", 0) == 0 || l.rfind("postgres://", 0) == 0) return redact_url(std::move(s));
  // Keyword form, read as libpq reads it: keyword [spaces] = [spaces] value, where the value is 'quoted'
  // (backslash escapes) or runs to the next space (backslash escapes too). The text is kept as written but
  // for the values of secret keywords.
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t k = i;
    while (k < s.size() && is_space(s[k])) ++k;
    size_t k_end = k;
    while (k_end < s.size() && !is_space(s[k_end]) && s[k_end] != '=') ++k_end;
    size_t q = k_end;
    while (q < s.size() && is_space(s[q])) ++q;
    if (k == s.size()) break;  // only spaces left
    if (k_end == k) {          // a stray '=' (libpq refuses the DSN): text
      out.append(s, i, k + 1 - i);
      i = k + 1;
      continue;
    }
    if (q >= s.size() || s[q] != '=') {
      // Not keyword=value (libpq refuses the DSN): keep the word as text and go on with the next one, so that
      // a secret after it is still redacted.
      out.append(s, i, k_end - i);
      i = k_end;
      continue;
    }
    ++q;
    while (q < s.size() && is_space(s[q])) ++q;
    size_t e = q;
    if (e < s.size() && s[e] == '\'') {
      ++e;
      while (e < s.size() && s[e] != '\'') e += (s[e] == '\\' ? 2 : 1);
      e = std::min(e + 1, s.size());
    } else {
      while (e < s.size() && !is_space(s[e])) e += (s[e] == '\\' ? 2 : 1);
      e = std::min(e, s.size());
    }
    out.append(s, i, q - i);
    if (is_secret_dsn_keyword(lower(std::string_view(s).substr(k, k_end - k)))) {
      out += "***";
    } else {
      out.append(s, q, e - q);
    }
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
