// valid_utf8: strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

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

// Whole-buffer validation 16 bytes at a time (SSSE3), after the "lookup" algorithm of Keiser and
// Lemire, "Validating UTF-8 in less than one instruction per byte" (2021): every pair of adjacent
// bytes is classified by three 16-entry table lookups (high nibble of the first byte, its low
// nibble, high nibble of the second byte); a bit left set in all three names an error. Third and
// fourth bytes of 3- and 4-byte sequences are checked against the lead two and three bytes back.
__attribute__((target("ssse3"))) bool valid_utf8_ssse3(const unsigned char* s, size_t n) {
  constexpr uint8_t kTooShort = 1 << 0;   // lead or ASCII followed by a lead
  constexpr uint8_t kTooLong = 1 << 1;    // ASCII followed by a continuation
  constexpr uint8_t kOverlong3 = 1 << 2;  // E0 80..9F
  constexpr uint8_t kTooLarge = 1 << 3;   // F4 90..BF, F5..FF
  constexpr uint8_t kSurrogate = 1 << 4;  // ED A0..BF
  constexpr uint8_t kOverlong2 = 1 << 5;  // C0, C1
  constexpr uint8_t kTooLarge1000 = 1 << 6;
  constexpr uint8_t kOverlong4 = 1 << 6;  // F0 80..8F
  constexpr uint8_t kTwoConts = 1 << 7;   // a continuation that no lead asked for
  constexpr uint8_t kCarry = kTooShort | kTooLong | kTwoConts;
  auto c = [](uint8_t v) { return static_cast<char>(v); };
  const __m128i byte1_high = _mm_setr_epi8(
      c(kTooLong), c(kTooLong), c(kTooLong), c(kTooLong), c(kTooLong), c(kTooLong), c(kTooLong), c(kTooLong),
      c(kTwoConts), c(kTwoConts), c(kTwoConts), c(kTwoConts), c(kTooShort | kOverlong2), c(kTooShort),
      c(kTooShort | kOverlong3 | kSurrogate), c(kTooShort | kTooLarge | kTooLarge1000 | kOverlong4));
  const uint8_t big = kCarry | kTooLarge | kTooLarge1000;
  const __m128i byte1_low =
      _mm_setr_epi8(c(kCarry | kOverlong3 | kOverlong2 | kOverlong4), c(kCarry | kOverlong2), c(kCarry),
                    c(kCarry), c(kCarry | kTooLarge), c(big), c(big), c(big), c(big), c(big), c(big), c(big),
                    c(big), c(big | kSurrogate), c(big), c(big));
  const uint8_t cont_8 = kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 | kOverlong4;
  const uint8_t cont_9 = kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge;
  const uint8_t cont_ab = kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge;
  const __m128i byte2_high =
      _mm_setr_epi8(c(kTooShort), c(kTooShort), c(kTooShort), c(kTooShort), c(kTooShort), c(kTooShort),
                    c(kTooShort), c(kTooShort), c(cont_8), c(cont_9), c(cont_ab), c(cont_ab), c(kTooShort),
                    c(kTooShort), c(kTooShort), c(kTooShort));
  const __m128i nibble = _mm_set1_epi8(0x0F);
  // Bytes that start a sequence too long to end within the block: F0.. at 13, E0.. at 14, C0.. at 15.
  const __m128i incomplete_max =
      _mm_setr_epi8(c(255), c(255), c(255), c(255), c(255), c(255), c(255), c(255), c(255), c(255), c(255),
                    c(255), c(255), c(0xF0 - 1), c(0xE0 - 1), c(0xC0 - 1));
  __m128i error = _mm_setzero_si128();
  __m128i prev = _mm_setzero_si128();
  __m128i prev_incomplete = _mm_setzero_si128();
  auto check = [&](__m128i in) {
    if (_mm_movemask_epi8(in) == 0) {
      error = _mm_or_si128(error, prev_incomplete);
      prev_incomplete = _mm_setzero_si128();
      prev = in;
      return;
    }
    const __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
    const __m128i p1_high = _mm_shuffle_epi8(byte1_high, _mm_and_si128(_mm_srli_epi16(prev1, 4), nibble));
    const __m128i p1_low = _mm_shuffle_epi8(byte1_low, _mm_and_si128(prev1, nibble));
    const __m128i in_high = _mm_shuffle_epi8(byte2_high, _mm_and_si128(_mm_srli_epi16(in, 4), nibble));
    const __m128i special = _mm_and_si128(_mm_and_si128(p1_high, p1_low), in_high);
    const __m128i prev2 = _mm_alignr_epi8(in, prev, 14);
    const __m128i prev3 = _mm_alignr_epi8(in, prev, 13);
    const __m128i third = _mm_subs_epu8(prev2, _mm_set1_epi8(c(0xE0 - 0x80)));   // >= 0x80 only for 111_____
    const __m128i fourth = _mm_subs_epu8(prev3, _mm_set1_epi8(c(0xF0 - 0x80)));  // >= 0x80 only for 1111____
    const __m128i must_cont = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8(c(0x80)));
    error = _mm_or_si128(error, _mm_xor_si128(must_cont, special));
    prev_incomplete = _mm_subs_epu8(in, incomplete_max);
    prev = in;
  };
  size_t i = 0;
  while (i + 16 <= n) {
    if (i + 64 <= n) {
      // ASCII fast path, 64 bytes per test. Any ASCII block serves as `prev` for the next one.
      const auto* q = reinterpret_cast<const __m128i*>(s + i);
      const __m128i any = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)),
                                       _mm_or_si128(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3)));
      if (_mm_movemask_epi8(any) == 0) {
        error = _mm_or_si128(error, prev_incomplete);
        prev_incomplete = prev = _mm_setzero_si128();
        i += 64;
        continue;
      }
    }
    check(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
    i += 16;
  }
  // The tail, padded with NULs (ASCII): a sequence cut by the end of the buffer is too short.
  alignas(16) unsigned char tail[16] = {};
  for (size_t k = 0; i + k < n; ++k) tail[k] = s[i + k];
  check(_mm_load_si128(reinterpret_cast<const __m128i*>(tail)));
  error = _mm_or_si128(error, prev_incomplete);
  return _mm_movemask_epi8(_mm_cmpeq_epi8(error, _mm_setzero_si128())) == 0xFFFF;
}

// The same algorithm 32 bytes at a time (AVX2). The lookup tables are repeated in both 128-bit
// lanes (vpshufb works per lane); the bytes one, two and three back cross the lane boundary through
// a permute of the previous and current blocks.
struct Utf8Avx2 {
  __m256i byte1_high, byte1_low, byte2_high, incomplete_max;
  __m256i error, prev, prev_incomplete;

  static constexpr uint8_t kTooShort = 1 << 0;
  static constexpr uint8_t kTooLong = 1 << 1;
  static constexpr uint8_t kOverlong3 = 1 << 2;
  static constexpr uint8_t kTooLarge = 1 << 3;
  static constexpr uint8_t kSurrogate = 1 << 4;
  static constexpr uint8_t kOverlong2 = 1 << 5;
  static constexpr uint8_t kTooLarge1000 = 1 << 6;
  static constexpr uint8_t kOverlong4 = 1 << 6;
  static constexpr uint8_t kTwoConts = 1 << 7;
  static constexpr uint8_t kCarry = kTooShort | kTooLong | kTwoConts;
  static constexpr uint8_t kBig = kCarry | kTooLarge | kTooLarge1000;
  static constexpr uint8_t kCont8 =
      kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 | kOverlong4;
  static constexpr uint8_t kCont9 = kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge;
  static constexpr uint8_t kContAB = kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge;
  static constexpr uint8_t kByte1High[16] = {kTooLong,
                                             kTooLong,
                                             kTooLong,
                                             kTooLong,
                                             kTooLong,
                                             kTooLong,
                                             kTooLong,
                                             kTooLong,
                                             kTwoConts,
                                             kTwoConts,
                                             kTwoConts,
                                             kTwoConts,
                                             kTooShort | kOverlong2,
                                             kTooShort,
                                             kTooShort | kOverlong3 | kSurrogate,
                                             kTooShort | kTooLarge | kTooLarge1000 | kOverlong4};
  static constexpr uint8_t kByte1Low[16] = {kCarry | kOverlong3 | kOverlong2 | kOverlong4,
                                            kCarry | kOverlong2,
                                            kCarry,
                                            kCarry,
                                            kCarry | kTooLarge,
                                            kBig,
                                            kBig,
                                            kBig,
                                            kBig,
                                            kBig,
                                            kBig,
                                            kBig,
                                            kBig,
                                            kBig | kSurrogate,
                                            kBig,
                                            kBig};
  static constexpr uint8_t kByte2High[16] = {kTooShort, kTooShort, kTooShort, kTooShort, kTooShort, kTooShort,
                                             kTooShort, kTooShort, kCont8,    kCont9,    kContAB,   kContAB,
                                             kTooShort, kTooShort, kTooShort, kTooShort};
  // Bytes that start a sequence too long to end within the block: F0.. at 29, E0.. at 30, C0.. at 31.
  static constexpr uint8_t kIncompleteMax[32] = {
      255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,      255,      255,
      255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0xF0 - 1, 0xE0 - 1, 0xC0 - 1};

  __attribute__((target("avx2"))) static __m256i table(const uint8_t (&t)[16]) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
  }

  __attribute__((target("avx2"))) void init() {
    byte1_high = table(kByte1High);
    byte1_low = table(kByte1Low);
    byte2_high = table(kByte2High);
    incomplete_max = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kIncompleteMax));
    error = prev = prev_incomplete = _mm256_setzero_si256();
  }

  __attribute__((target("avx2"))) void ascii() {
    error = _mm256_or_si256(error, prev_incomplete);
    prev_incomplete = prev = _mm256_setzero_si256();
  }

  __attribute__((target("avx2"))) void check(__m256i in) {
    if (_mm256_movemask_epi8(in) == 0) {
      error = _mm256_or_si256(error, prev_incomplete);
      prev_incomplete = _mm256_setzero_si256();
      prev = in;
      return;
    }
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    // [prev.high, in.low]: the lane before each lane of `in`.
    const __m256i before = _mm256_permute2x128_si256(prev, in, 0x21);
    const __m256i prev1 = _mm256_alignr_epi8(in, before, 15);
    const __m256i p1_high =
        _mm256_shuffle_epi8(byte1_high, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nibble));
    const __m256i p1_low = _mm256_shuffle_epi8(byte1_low, _mm256_and_si256(prev1, nibble));
    const __m256i in_high =
        _mm256_shuffle_epi8(byte2_high, _mm256_and_si256(_mm256_srli_epi16(in, 4), nibble));
    const __m256i special = _mm256_and_si256(_mm256_and_si256(p1_high, p1_low), in_high);
    const __m256i prev2 = _mm256_alignr_epi8(in, before, 14);
    const __m256i prev3 = _mm256_alignr_epi8(in, before, 13);
    const __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8(static_cast<char>(0xE0 - 0x80)));
    const __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8(static_cast<char>(0xF0 - 0x80)));
    const __m256i must_cont =
        _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8(static_cast<char>(0x80)));
    error = _mm256_or_si256(error, _mm256_xor_si256(must_cont, special));
    prev_incomplete = _mm256_subs_epu8(in, incomplete_max);
    prev = in;
  }
};

__attribute__((target("avx2"))) bool valid_utf8_avx2(const unsigned char* s, size_t n) {
  Utf8Avx2 v;
  v.init();
  size_t i = 0;
  while (i + 32 <= n) {
    if (i + 64 <= n) {
      const auto* q = reinterpret_cast<const __m256i*>(s + i);
      const __m256i a = _mm256_loadu_si256(q);
      const __m256i b = _mm256_loadu_si256(q + 1);
      if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
        v.ascii();  // an ASCII block serves as `prev` for the next one
      } else {
        v.check(a);
        v.check(b);
      }
      i += 64;
      continue;
    }
    v.check(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
    i += 32;
  }
  // The tail, padded with NULs (ASCII): a sequence cut by the end of the buffer is too short.
  alignas(32) unsigned char tail[32] = {};
  if (n > i) std::memcpy(tail, s + i, n - i);
  v.check(_mm256_load_si256(reinterpret_cast<const __m256i*>(tail)));
  const __m256i error = _mm256_or_si256(v.error, v.prev_incomplete);
  return _mm256_testz_si256(error, error) != 0;
}

bool cpu_has_ssse3() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") != 0;
  }();
  return has;
}

bool cpu_has_avx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
}

bool valid_utf8_fast(std::string_view s) {
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  if (cpu_has_avx2()) return valid_utf8_avx2(u, s.size());
  if (cpu_has_ssse3()) return valid_utf8_ssse3(u, s.size());
  return first_invalid_utf8(s) == std::string_view::npos;
}

}  // namespace detail

bool valid_utf8(std::string_view s) {
  return detail::first_invalid_utf8(s) == std::string_view::npos;
}

}  // namespace weir::fields
