// Internals of field extraction shared by extract.cc, convert.cc and time.cc. Not a public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/job.h"
#include "engine/value.h"

namespace weir::fields::detail {

// One JSON value as the parser saw it, before conversion. `text` is the decoded string, the
// number's JSON text, or the raw JSON text of an object/array (views into the payload or a
// scratch buffer: valid only until the next parser step).
enum class RawKind : uint8_t { Null, Bool, Number, String, Object, Array };
struct Raw {
  RawKind kind = RawKind::Null;
  bool b = false;       // Bool
  bool is_int = false;  // Number: written without fraction or exponent
  std::string_view text;
};

std::string_view raw_kind_name(RawKind k);

// Converts `r` (not Null) to the field's declared type into `out`. On failure returns false and
// sets `error` to a sentence naming the field, its path, what was found and what was expected.
// `scratch` is a reusable buffer.
bool convert(const config::Field& f, const Raw& r, Value& out, std::string& scratch, std::string& error);

// Appends `raw` (valid JSON) to `out` without the whitespace outside strings.
void compact_json(std::string_view raw, std::string& out);

// Length (2-4) of the valid multi-byte UTF-8 sequence starting at p (*p >= 0x80), or 0.
inline size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned c = *p;
  const ptrdiff_t left = end - p;
  auto cont = [&](ptrdiff_t k) { return (p[k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && p[1] > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && p[1] > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Offset of the first byte that is not valid UTF-8, or npos.
size_t first_invalid_utf8(std::string_view s);

// Whether s is valid UTF-8: 32 bytes at a time when the CPU has AVX2, 16 with SSSE3, else
// first_invalid_utf8. The kernels are exposed for tests; call them only when the CPU has the feature.
bool valid_utf8_fast(std::string_view s);
bool valid_utf8_ssse3(const unsigned char* s, size_t n);
bool valid_utf8_avx2(const unsigned char* s, size_t n);
bool cpu_has_ssse3();
bool cpu_has_avx2();

// Time parsing from text or from a JSON number's text.
bool parse_time_text(std::string_view s, config::TimeFormat fmt, const std::string& strftime,
                     int64_t& epoch_ms);
bool parse_epoch_number(std::string_view num, config::TimeFormat fmt, int64_t& epoch_ms);
bool parse_epoch_double(double v, config::TimeFormat fmt, int64_t& epoch_ms);
bool parse_epoch_int(int64_t v, config::TimeFormat fmt, int64_t& epoch_ms);

}  // namespace weir::fields::detail
