// config::parse_path (spec §4): the field path syntax, compiled once when the job is loaded.
//
//   path    := segment ('.' segment)*
//   segment := key ('[' (N | '*') ']')*
//   key     := bare | '"' chars '"' | "'" chars "'"
//
// A bare key is any run of characters other than . [ ] " '. A quoted key may hold anything;
// inside it a backslash escapes the next character (\" or \\). `[N]` is an array index (N >= 0),
// `[*]` every element (the field becomes a list).
#include <limits>

#include "config/job.h"

namespace weir::config {

namespace {

PathError error_at(size_t pos, std::string what) {
  int col = static_cast<int>(pos) + 1;
  return PathError{col, std::move(what) + " at column " + std::to_string(col)};
}

}  // namespace

std::variant<std::vector<PathStep>, PathError> parse_path(std::string_view text) {
  std::vector<PathStep> steps;
  if (text.empty()) return PathError{1, "empty path"};
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    // A key: quoted or bare.
    PathStep key;
    key.kind = PathStep::Kind::Key;
    if (i < n && (text[i] == '"' || text[i] == '\'')) {
      const char quote = text[i];
      const size_t open = i++;
      bool closed = false;
      while (i < n) {
        char c = text[i];
        if (c == '\\' && i + 1 < n) {
          key.key.push_back(text[i + 1]);
          i += 2;
        } else if (c == quote) {
          ++i;
          closed = true;
          break;
        } else {
          key.key.push_back(c);
          ++i;
        }
      }
      if (!closed) return error_at(open, "unterminated quote");
    } else {
      const size_t start = i;
      while (i < n && text[i] != '.' && text[i] != '[' && text[i] != ']' && text[i] != '"' &&
             text[i] != '\'') {
        ++i;
      }
      if (i == start) {
        if (i < n && (text[i] == '[' || text[i] == ']')) {
          return error_at(i, std::string("expected a key before '") + text[i] + "'");
        }
        return error_at(i, "empty key");
      }
      if (i < n && (text[i] == '"' || text[i] == '\'')) {
        return error_at(i, "a quote may only start a key");
      }
      key.key.assign(text.substr(start, i - start));
    }
    steps.push_back(std::move(key));

    // Any number of [N] / [*].
    while (i < n && text[i] == '[') {
      ++i;
      PathStep idx;
      if (i < n && text[i] == '*') {
        idx.kind = PathStep::Kind::All;
        ++i;
      } else {
        idx.kind = PathStep::Kind::Index;
        if (i < n && text[i] == '-') return error_at(i, "array index must be >= 0");
        const size_t digits = i;
        int64_t v = 0;
        while (i < n && text[i] >= '0' && text[i] <= '9') {
          int d = text[i] - '0';
          if (v > (std::numeric_limits<int64_t>::max() - d) / 10) {
            return error_at(digits, "array index too large");
          }
          v = v * 10 + d;
          ++i;
        }
        if (i == digits) return error_at(i, "expected an array index or '*'");
        idx.index = v;
      }
      if (i >= n || text[i] != ']') return error_at(i < n ? i : n, "expected ']'");
      ++i;
      steps.push_back(std::move(idx));
    }

    if (i == n) break;
    if (text[i] != '.') {
      return error_at(i, std::string("expected '.' or '[' but found '") + text[i] + "'");
    }
    ++i;  // the dot; a key must follow
  }
  return steps;
}

}  // namespace weir::config
