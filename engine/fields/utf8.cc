// valid_utf8: strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
#include <emmintrin.h>

#include "engine/fields/extract.h"
#include "engine/fields/internal.h"

namespace weir::fields {

namespace detail {

size_t first_invalid_utf8(std::string_view s) {
  const auto* begin = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = begin;
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 16 bytes at a time.
    while (end - p >= 16) {
      const int m = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      if (m != 0) {
        p += __builtin_ctz(static_cast<unsigned>(m));
        break;
      }
      p += 16;
    }
    while (p < end && *p < 0x80) ++p;
    // A run of multi-byte sequences.
    while (p < end && *p >= 0x80) {
      const size_t n = utf8_sequence(p, end);
      if (n == 0) return static_cast<size_t>(p - begin);
      p += n;
    }
  }
  return std::string_view::npos;
}

}  // namespace detail

bool valid_utf8(std::string_view s) {
  return detail::first_invalid_utf8(s) == std::string_view::npos;
}

}  // namespace weir::fields
