// Ctx (diagnostics and positions) and small YAML/text helpers used by every section parser.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config/internal.h"

namespace weir::config {

std::string Diagnostic::format() const {
  if (line > 0) return fmt::format("{}:{}:{}: {}", file, line, col, message);
  return fmt::format("{}: {}", file, message);
}

Ctx::Ctx(std::string file, std::string_view text) : file_(std::move(file)) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines_.emplace_back(line);
    start = nl + 1;
  }
}

void Ctx::error(Loc loc, std::string message) {
  errors_.push_back(Diagnostic{file_, loc.line, loc.col, std::move(message)});
}

std::vector<Diagnostic> Ctx::take_errors() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.line != b.line) return a.line < b.line;
    return a.col < b.col;
  });
  // The same message at the same place twice (e.g. one path used by two outputs) is said once.
  errors_.erase(std::unique(errors_.begin(), errors_.end(),
                            [](const Diagnostic& a, const Diagnostic& b) {
                              return a.line == b.line && a.col == b.col && a.message == b.message;
                            }),
                errors_.end());
  return std::move(errors_);
}

Loc Ctx::loc(const YAML::Node& n) {
  if (!n.IsDefined()) return {};
  auto m = n.Mark();
  if (m.is_null()) return {};
  return Loc{m.line + 1, m.column + 1};
}

Loc Ctx::loc_in_scalar(const YAML::Node& n, const std::string& value, int col) const {
  return exact_loc_in_scalar(n, value, col).value_or(loc(n));
}

std::optional<Loc> Ctx::exact_loc_in_scalar(const YAML::Node& n, const std::string& value, int col) const {
  Loc start = loc(n);
  if (start.line <= 0 || start.line > int(lines_.size()) || col < 1) return std::nullopt;
  const std::string& line = lines_[start.line - 1];
  size_t p = size_t(start.col - 1);
  if (p >= line.size()) return std::nullopt;
  char q = line[p];
  if (q != '"' && q != '\'') {
    if (line.compare(p, value.size(), value) == 0) return Loc{start.line, start.col + col - 1};
    return std::nullopt;
  }
  // Quoted on one line: walk the raw text, unescaping, until the value's col-th character.
  std::string decoded;
  size_t i = p + 1, target = 0;
  bool found = false;
  while (i < line.size()) {
    if (!found && decoded.size() == size_t(col - 1)) target = i, found = true;
    char c = line[i];
    if (c == q) {
      if (q == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
        decoded += '\'', i += 2;
        continue;
      }
      break;  // closing quote
    }
    if (q == '"' && c == '\\' && i + 1 < line.size()) {
      char e = line[i + 1];
      decoded += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      i += 2;
      continue;
    }
    decoded += c, ++i;
  }
  if (i >= line.size() || decoded != value || !found) return std::nullopt;
  return Loc{start.line, int(target) + 1};
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return fmt::format("'{}'", n.Scalar());
}

static size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_d = 0;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    size_t limit = std::max<size_t>(2, std::min(word.size(), c.size()) / 3);
    // A prefix counts as close too: `integer` -> `int`, `tumble` -> `tumbling`.
    bool prefix = std::min(word.size(), c.size()) >= 3 &&
                  (c.compare(0, word.size(), word) == 0 || word.compare(0, c.size(), c) == 0);
    if (prefix) d = std::min<size_t>(d, 1);
    if (d <= limit && (!best || d < best_d)) best = c, best_d = d;
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto c = closest(word, candidates);
  // Never suggest the word itself: when it is a candidate, something else is wrong with it.
  return c && *c != word ? fmt::format(" (did you mean '{}'?)", *c) : "";
}

std::optional<std::string> scalar_text(Ctx& ctx, const YAML::Node& n, std::string_view what) {
  if (!n.IsScalar()) {
    ctx.error(n, fmt::format("{} must be a string, got {}", what, describe(n)));
    return std::nullopt;
  }
  std::string err;
  auto s = substitute_env(n.Scalar(), err);
  if (!s) ctx.error(n, fmt::format("{}: {}", what, err));
  return s;
}

bool parse_int(std::string_view s, int64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_float(std::string_view s, double& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

Value scalar_value(const std::string& text, bool quoted) {
  if (quoted) return Value::string(text);
  if (text == "true" || text == "True" || text == "TRUE") return Value::boolean(true);
  if (text == "false" || text == "False" || text == "FALSE") return Value::boolean(false);
  if (text == "null" || text == "~" || text == "Null" || text == "NULL" || text.empty()) return Value();
  int64_t i;
  if (parse_int(text, i)) return Value::integer(i);
  double d;
  if (parse_float(text, d)) return Value::real(d);
  return Value::string(text);
}

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace weir::config
