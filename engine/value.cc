#include "engine/value.h"

#include <cmath>
#include <cstring>
#include <ctime>
#include <functional>

#include <fmt/format.h>

namespace weir {

std::string_view type_name(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::Float:
      return "float";
    case Type::String:
      return "string";
    case Type::Time:
      return "time";
    case Type::List:
      return "list";
  }
  return "?";
}

namespace {
int type_rank(Type t) {
  switch (t) {
    case Type::Null:
      return 0;
    case Type::Bool:
      return 1;
    case Type::Int:
    case Type::Float:
      return 2;
    case Type::String:
      return 3;
    case Type::Time:
      return 4;
    case Type::List:
      return 5;
  }
  return 6;
}

// 2^63: every double d with -2^63 <= d < 2^63 truncates to an int64 exactly.
constexpr double kTwo63 = 9223372036854775808.0;

// An int against a float, exactly (converting the int to double would round it above 2^53 and make, e.g.,
// INT64_MAX equal to 2^63 while the two hash differently). NaN sorts after all numbers.
int cmp_int_float(int64_t i, double f) {
  if (std::isnan(f) || f >= kTwo63) return -1;
  if (f < -kTwo63) return 1;
  double t = std::trunc(f);
  auto fi = static_cast<int64_t>(t);
  if (i != fi) return i < fi ? -1 : 1;
  return f > t ? -1 : (f < t ? 1 : 0);
}

int cmp_num(const Value& a, const Value& b) {
  bool ai = a.type() == Type::Int, bi = b.type() == Type::Int;
  if (ai && bi) return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  if (ai) return cmp_int_float(a.as_int(), b.as_float());
  if (bi) return -cmp_int_float(b.as_int(), a.as_float());
  double x = a.as_float(), y = b.as_float();
  bool xn = std::isnan(x), yn = std::isnan(y);
  if (xn || yn) return xn == yn ? 0 : (xn ? 1 : -1);  // NaN sorts after all numbers
  return x < y ? -1 : (x > y ? 1 : 0);
}

inline size_t mix(size_t h, size_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}
}  // namespace

int Value::compare(const Value& a, const Value& b) {
  int ra = type_rank(a.type()), rb = type_rank(b.type());
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case Type::Null:
      return 0;
    case Type::Bool:
      return int(a.as_bool()) - int(b.as_bool());
    case Type::Int:
    case Type::Float:
      return cmp_num(a, b);
    case Type::String: {
      int c = a.as_string().compare(b.as_string());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Type::Time:
      return a.as_time() < b.as_time() ? -1 : (a.as_time() > b.as_time() ? 1 : 0);
    case Type::List: {
      const List& x = a.as_list();
      const List& y = b.as_list();
      size_t n = std::min(x.size(), y.size());
      for (size_t i = 0; i < n; ++i) {
        int c = compare(x[i], y[i]);
        if (c != 0) return c;
      }
      return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
    }
  }
  return 0;
}

namespace {

uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Both halves of the 128-bit product folded: every input bit reaches many output bits in one multiply.
uint64_t fold_mul(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

constexpr uint64_t kH0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kH1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kH2 = 0x8ebc6af09c88c6e3ULL;

}  // namespace

// 16 bytes per multiply, the tail read as (overlapping) whole words: most group keys (authors, words,
// currencies) are under 16 bytes and take one multiply and a finaliser. std::hash (murmur, 8 bytes a step
// and a byte loop for the tail) took ~140 instructions a key in W2.
uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = kH0 ^ (n * kH1);
  uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      a = (static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
          (static_cast<uint64_t>(static_cast<unsigned char>(p[n >> 1])) << 8) |
          static_cast<unsigned char>(p[n - 1]);
    }
  } else {
    while (n > 16) {
      h = fold_mul(load64(p) ^ kH1, load64(p + 8) ^ h);
      p += 16;
      n -= 16;
    }
    a = load64(p + n - 16);
    b = load64(p + n - 8);
  }
  return fold_mul(a ^ kH1 ^ h, b ^ kH2) ^ h;
}

size_t Value::hash() const {
  switch (type()) {
    case Type::Null:
      return 0x51ed27;
    case Type::Bool:
      return as_bool() ? 0x2545f491 : 0x4f1bbcdc;
    case Type::Int:
      return std::hash<int64_t>()(as_int()) * 0x9e3779b97f4a7c15ULL;
    case Type::Float: {
      double d = as_float();
      // Integral floats hash like the equal int so that 1 and 1.0 land in one group.
      if (d == std::trunc(d) && d >= -kTwo63 && d < kTwo63) {
        return std::hash<int64_t>()(static_cast<int64_t>(d)) * 0x9e3779b97f4a7c15ULL;
      }
      if (std::isnan(d)) return 0x7ff8;
      return std::hash<double>()(d);
    }
    case Type::String:
      return hash_bytes(as_string());
    case Type::Time:
      return mix(0x71e, std::hash<int64_t>()(as_time()));
    case Type::List: {
      size_t h = 0x115;
      for (const Value& v : as_list()) h = mix(h, v.hash());
      return h;
    }
  }
  return 0;
}

size_t KeyHash::operator()(const Key& k) const {
  size_t h = k.size();
  for (const Value& v : k) h = mix(h, v.hash());
  return h;
}

bool KeyLess::operator()(const Key& a, const Key& b) const {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    int c = Value::compare(a[i], b[i]);
    if (c != 0) return c < 0;
  }
  return a.size() < b.size();
}

void append_rfc3339_ms(std::string& out, int64_t epoch_ms) {
  int64_t secs = epoch_ms / 1000;
  int64_t ms = epoch_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) {
    out += "invalid-time";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(ms));
}

std::string format_rfc3339_ms(int64_t epoch_ms) {
  std::string s;
  append_rfc3339_ms(s, epoch_ms);
  return s;
}

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not valid UTF-8.
size_t utf8_seq_len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = s.size() - i;
  auto cont = [&](size_t k) { return k < n && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 > 0x8F) return 0;
    return 4;
  }
  return 0;
}
}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
      }
      ++i;
      continue;
    }
    size_t n = utf8_seq_len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  out.push_back('"');
}

void append_json_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN/Infinity
    return;
  }
  // Shortest round-trip digits; a whole number gets ".0" so that it reads back as a float
  // (2.0, -0.0), not as the int 2. An exponent (1e+300) already marks a float.
  const size_t start = out.size();
  fmt::format_to(std::back_inserter(out), "{}", d);
  if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
}

void Value::append_json(std::string& out) const {
  switch (type()) {
    case Type::Null:
      out += "null";
      break;
    case Type::Bool:
      out += as_bool() ? "true" : "false";
      break;
    case Type::Int:
      fmt::format_to(std::back_inserter(out), "{}", as_int());
      break;
    case Type::Float:
      append_json_double(out, as_float());
      break;
    case Type::String:
      append_json_string(out, as_string());
      break;
    case Type::Time:
      out.push_back('"');
      append_rfc3339_ms(out, as_time());
      out.push_back('"');
      break;
    case Type::List: {
      out.push_back('[');
      bool first = true;
      for (const Value& v : as_list()) {
        if (!first) out.push_back(',');
        first = false;
        v.append_json(out);
      }
      out.push_back(']');
      break;
    }
  }
}

std::string Value::to_json() const {
  std::string s;
  append_json(s);
  return s;
}

std::string Value::to_display() const {
  switch (type()) {
    case Type::Null:
      return "null";
    case Type::String:
      return as_string();
    case Type::Time:
      return format_rfc3339_ms(as_time());
    default:
      return to_json();
  }
}

}  // namespace weir
