// parse_time (spec §4): rfc3339, epoch_ms, epoch_s and strftime-style formats.
//
// The strftime parser is our own (not strptime(3)): it is locale-independent, does not touch
// the TZ environment, handles %z offsets, and is fast enough for every record. Supported
// directives: %Y %y %m %d %e %H %I %M %S %p %j %b %h %B %a %A %z %Z (UTC/GMT/Z only) %s
// %f (fraction of a second, an extension) %T %F %D %R %n %t %%. Whitespace in the format
// matches any run of whitespace (including none) in the input, as strptime does.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/fields/extract.h"
#include "engine/fields/internal.h"

namespace weir::fields {
namespace detail {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Reads between min and max digits.
bool digits(std::string_view s, size_t& i, int min, int max, int64_t& out) {
  int n = 0;
  int64_t v = 0;
  while (n < max && i < s.size() && is_digit(s[i])) {
    v = v * 10 + (s[i] - '0');
    ++i;
    ++n;
  }
  if (n < min) return false;
  out = v;
  return true;
}

// Fraction digits after the '.', as milliseconds (truncated; any number of digits).
bool fraction_ms(std::string_view s, size_t& i, int64_t& ms) {
  int n = 0;
  ms = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (n < 3) ms = ms * 10 + (s[i] - '0');
    ++n;
    ++i;
  }
  if (n == 0) return false;
  for (int k = n; k < 3; ++k) ms *= 10;
  return true;
}

// ±hh:mm, ±hhmm, ±hh, or Z; sets offset in minutes (local = UTC + offset).
bool zone(std::string_view s, size_t& i, int64_t& offset_min) {
  if (i >= s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
    offset_min = 0;
    return true;
  }
  if (s[i] != '+' && s[i] != '-') return false;
  const bool neg = s[i] == '-';
  ++i;
  int64_t hh = 0, mm = 0;
  if (!digits(s, i, 2, 2, hh)) return false;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!digits(s, i, 2, 2, mm)) return false;
  } else if (i < s.size() && is_digit(s[i])) {
    if (!digits(s, i, 2, 2, mm)) return false;
  }
  if (hh > 23 || mm > 59) return false;
  offset_min = (neg ? -1 : 1) * (hh * 60 + mm);
  return true;
}

bool match_name(std::string_view s, size_t& i, const char* const* names, int count, int& index) {
  // Longest match first so "March" is not read as "Mar" + "ch".
  int best = -1;
  size_t best_len = 0;
  for (int k = 0; k < count; ++k) {
    const size_t len = std::strlen(names[k]);
    if (len <= best_len || i + len > s.size()) continue;
    bool eq = true;
    for (size_t j = 0; j < len && eq; ++j) eq = lower(s[i + j]) == names[k][j];
    if (eq) {
      best = k;
      best_len = len;
    }
  }
  if (best < 0) return false;
  index = best;
  i += best_len;
  return true;
}

constexpr const char* kMonths[] = {"jan",     "feb",       "mar",     "apr",      "may",     "jun",
                                   "jul",     "aug",       "sep",     "oct",      "nov",     "dec",
                                   "january", "february",  "march",   "april",    "june",    "july",
                                   "august",  "september", "october", "november", "december"};
constexpr int kMonthOf[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12};
constexpr const char* kDays[] = {"sun",       "mon",      "tue",    "wed",     "thu",
                                 "fri",       "sat",      "sunday", "monday",  "tuesday",
                                 "wednesday", "thursday", "friday", "saturday"};

struct Parts {
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, ms = 0;
  int64_t yday = -1;       // %j, 1-based
  int64_t offset_min = 0;  // %z
  int pm = -1;             // %p: 0 am, 1 pm
  bool hour12 = false;
  bool have_epoch = false;
  int64_t epoch_s = 0;
};

bool to_ms(const Parts& p, int64_t& out) {
  if (p.have_epoch) {
    if (p.epoch_s > std::numeric_limits<int64_t>::max() / 1000 - 1 ||
        p.epoch_s < std::numeric_limits<int64_t>::min() / 1000 + 1) {
      return false;
    }
    out = p.epoch_s * 1000 + p.ms;
    return true;
  }
  int64_t hour = p.hour;
  if (p.hour12) {
    if (hour < 1 || hour > 12) return false;
    if (p.pm >= 0) hour = hour % 12 + (p.pm ? 12 : 0);
  } else if (p.pm >= 0) {
    return false;  // %p without %I
  }
  if (p.year < -999999 || p.year > 999999) return false;
  if (hour > 23 || p.minute > 59 || p.second > 60) return false;
  int64_t days;
  if (p.yday > 0) {
    if (p.yday > (leap(p.year) ? 366 : 365)) return false;
    days = days_from_civil(p.year, 1, 1) + p.yday - 1;
  } else {
    if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > days_in_month(p.year, int(p.month))) return false;
    days = days_from_civil(p.year, unsigned(p.month), unsigned(p.day));
  }
  out = days * kMsPerDay + ((hour * 60 + p.minute - p.offset_min) * 60 + p.second) * 1000 + p.ms;
  return true;
}

bool rfc3339(std::string_view s, int64_t& out) {
  Parts p;
  size_t i = 0;
  if (!digits(s, i, 4, 4, p.year) || i >= s.size() || s[i++] != '-') return false;
  if (!digits(s, i, 2, 2, p.month) || i >= s.size() || s[i++] != '-') return false;
  if (!digits(s, i, 2, 2, p.day) || i >= s.size()) return false;
  const char t = s[i++];
  if (t != 'T' && t != 't' && t != ' ') return false;
  if (!digits(s, i, 2, 2, p.hour) || i >= s.size() || s[i++] != ':') return false;
  if (!digits(s, i, 2, 2, p.minute) || i >= s.size() || s[i++] != ':') return false;
  if (!digits(s, i, 2, 2, p.second)) return false;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    if (!fraction_ms(s, i, p.ms)) return false;
  }
  if (!zone(s, i, p.offset_min) || i != s.size()) return false;
  return to_ms(p, out);
}

bool strftime_parse(std::string_view s, std::string_view f, Parts& p, int nest = 0) {
  size_t i = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    const char c = f[k];
    if (is_space(c)) {
      while (i < s.size() && is_space(s[i])) ++i;
      continue;
    }
    if (c != '%' || k + 1 == f.size()) {
      if (i >= s.size() || s[i] != c) return false;
      ++i;
      continue;
    }
    const char d = f[++k];
    std::string_view rest = s.substr(i);
    size_t j = 0;
    int idx = 0;
    bool ok = true;
    switch (d) {
      case 'Y': {
        bool neg = !rest.empty() && rest[0] == '-';
        if (neg || (!rest.empty() && rest[0] == '+')) ++j;
        ok = digits(rest, j, 1, 6, p.year);
        if (neg) p.year = -p.year;
        break;
      }
      case 'y': {
        int64_t yy = 0;
        ok = digits(rest, j, 2, 2, yy);
        p.year = yy < 69 ? 2000 + yy : 1900 + yy;
        break;
      }
      case 'm':
        ok = digits(rest, j, 1, 2, p.month);
        break;
      case 'e':
        if (!rest.empty() && rest[0] == ' ') ++j;
        [[fallthrough]];
      case 'd':
        ok = digits(rest, j, 1, 2, p.day);
        break;
      case 'H':
        ok = digits(rest, j, 1, 2, p.hour);
        break;
      case 'I':
        ok = digits(rest, j, 1, 2, p.hour);
        p.hour12 = true;
        break;
      case 'M':
        ok = digits(rest, j, 1, 2, p.minute);
        break;
      case 'S':
        ok = digits(rest, j, 1, 2, p.second);
        break;
      case 'f':
        ok = fraction_ms(rest, j, p.ms);
        break;
      case 'j':
        ok = digits(rest, j, 1, 3, p.yday) && p.yday >= 1;
        break;
      case 'p':
        if (rest.size() >= 2 && (lower(rest[1]) == 'm') && (lower(rest[0]) == 'a' || lower(rest[0]) == 'p')) {
          p.pm = lower(rest[0]) == 'p';
          j = 2;
        } else {
          ok = false;
        }
        break;
      case 'b':
      case 'h':
      case 'B':
        ok = match_name(rest, j, kMonths, 23, idx);
        if (ok) p.month = kMonthOf[idx];
        break;
      case 'a':
      case 'A':
        ok = match_name(rest, j, kDays, 14, idx);
        break;
      case 'z':
        ok = zone(rest, j, p.offset_min);
        break;
      case 'Z':
        if (rest.substr(0, 3) == "UTC" || rest.substr(0, 3) == "GMT") {
          j = 3;
        } else if (!rest.empty() && rest[0] == 'Z') {
          j = 1;
        } else {
          ok = false;
        }
        break;
      case 's': {
        bool neg = !rest.empty() && rest[0] == '-';
        if (neg) ++j;
        int64_t v = 0;
        ok = digits(rest, j, 1, 18, v);
        p.epoch_s = neg ? -v : v;
        p.have_epoch = true;
        break;
      }
      case 'T':
      case 'F':
      case 'D':
      case 'R': {
        if (nest > 8) return false;
        const char* sub = d == 'T' ? "%H:%M:%S" : d == 'F' ? "%Y-%m-%d" : d == 'D' ? "%m/%d/%y" : "%H:%M";
        // Expand in place: parse the sub-format against the rest, then continue.
        std::string expanded = std::string(sub) + std::string(f.substr(k + 1));
        return strftime_parse(rest, expanded, p, nest + 1);
      }
      case 'n':
      case 't':
        while (j < rest.size() && is_space(rest[j])) ++j;
        break;
      case '%':
        ok = !rest.empty() && rest[0] == '%';
        j = 1;
        break;
      default:
        return false;  // unsupported directive
    }
    if (!ok) return false;
    i += j;
  }
  return i == s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool parse_epoch_int(int64_t v, config::TimeFormat fmt, int64_t& epoch_ms) {
  if (fmt == config::TimeFormat::EpochMs) {
    epoch_ms = v;
    return true;
  }
  if (fmt != config::TimeFormat::EpochS) return false;
  if (v > std::numeric_limits<int64_t>::max() / 1000 || v < std::numeric_limits<int64_t>::min() / 1000) {
    return false;
  }
  epoch_ms = v * 1000;
  return true;
}

bool parse_epoch_double(double v, config::TimeFormat fmt, int64_t& epoch_ms) {
  if (fmt == config::TimeFormat::EpochS) {
    v *= 1000;
  } else if (fmt != config::TimeFormat::EpochMs) {
    return false;
  }
  if (!std::isfinite(v) || v >= 9.2e18 || v <= -9.2e18) return false;
  epoch_ms = static_cast<int64_t>(std::llround(v));
  return true;
}

bool parse_epoch_number(std::string_view num, config::TimeFormat fmt, int64_t& epoch_ms) {
  num = trim(num);
  if (!num.empty() && num[0] == '+') num.remove_prefix(1);
  if (num.empty()) return false;
  const char* end = num.data() + num.size();
  int64_t i = 0;
  auto r = std::from_chars(num.data(), end, i);
  if (r.ec == std::errc() && r.ptr == end) return parse_epoch_int(i, fmt, epoch_ms);
  double d = 0;
  auto rd = std::from_chars(num.data(), end, d);
  if (rd.ec != std::errc() || rd.ptr != end) return false;
  return parse_epoch_double(d, fmt, epoch_ms);
}

bool parse_time_text(std::string_view s, config::TimeFormat fmt, const std::string& strftime,
                     int64_t& epoch_ms) {
  switch (fmt) {
    case config::TimeFormat::Rfc3339:
      return rfc3339(trim(s), epoch_ms);
    case config::TimeFormat::EpochMs:
    case config::TimeFormat::EpochS:
      return parse_epoch_number(s, fmt, epoch_ms);
    case config::TimeFormat::Strftime: {
      Parts p;
      return strftime_parse(trim(s), strftime, p) && to_ms(p, epoch_ms);
    }
  }
  return false;
}

}  // namespace detail

bool parse_time(const Value& v, config::TimeFormat fmt, const std::string& strftime, int64_t& epoch_ms) {
  switch (v.type()) {
    case Type::String:
      return detail::parse_time_text(v.as_string(), fmt, strftime, epoch_ms);
    case Type::Int:
      return detail::parse_epoch_int(v.as_int(), fmt, epoch_ms);
    case Type::Float:
      return detail::parse_epoch_double(v.as_float(), fmt, epoch_ms);
    case Type::Time:
      epoch_ms = v.as_time();
      return true;
    default:
      return false;
  }
}

}  // namespace weir::fields
