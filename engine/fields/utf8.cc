// valid_utf8: strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
#include <cstring>

#include "engine/fields/extract.h"
#include "engine/fields/internal.h"

namespace weir::fields {

namespace detail {

size_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 16 bytes at a time.
    while (end - p >= 16) {
      uint64_t a, b;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + 8, 8);
      if ((a | b) & 0x8080808080808080ULL) break;
      p += 16;
    }
    if (p >= end) break;
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    auto cont = [&](ptrdiff_t k) { return (p[k] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) {
      if (end - p < 2 || !cont(1)) return p - reinterpret_cast<const unsigned char*>(s.data());
      p += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (end - p < 3 || !cont(1) || !cont(2)) return p - reinterpret_cast<const unsigned char*>(s.data());
      if (c == 0xE0 && p[1] < 0xA0) return p - reinterpret_cast<const unsigned char*>(s.data());  // overlong
      if (c == 0xED && p[1] > 0x9F) return p - reinterpret_cast<const unsigned char*>(s.data());  // surrogate
      p += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (end - p < 4 || !cont(1) || !cont(2) || !cont(3))
        return p - reinterpret_cast<const unsigned char*>(s.data());
      if (c == 0xF0 && p[1] < 0x90) return p - reinterpret_cast<const unsigned char*>(s.data());  // overlong
      if (c == 0xF4 && p[1] > 0x8F)
        return p - reinterpret_cast<const unsigned char*>(s.data());  // above U+10FFFF
      p += 4;
    } else {
      return p - reinterpret_cast<const unsigned char*>(s.data());
    }
  }
  return std::string_view::npos;
}

}  // namespace detail

bool valid_utf8(std::string_view s) {
  return detail::first_invalid_utf8(s) == std::string_view::npos;
}

}  // namespace weir::fields
