// A small binary encoding for checkpoints: LEB128 varints, zigzag signed ints, length-prefixed bytes,
// and Values. The Reader never reads past its input: every read reports failure instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/value.h"

namespace weir::codec {

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void put_i64(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
inline void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s.data(), s.size());
}
inline void put_f64(std::string& out, double d) {
  char b[8];
  std::memcpy(b, &d, 8);
  out.append(b, 8);
}
void put_value(std::string& out, const Value& v);

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool i64(int64_t& v) {
    uint64_t u;
    if (!varint(u)) return false;
    v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool bytes(std::string_view& s) {
    uint64_t n;
    if (!varint(n) || n > in_.size() - pos_) return false;
    s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool str(std::string& s) {
    std::string_view v;
    if (!bytes(v)) return false;
    s.assign(v);
    return true;
  }
  bool f64(double& d) {
    if (in_.size() - pos_ < 8) return false;
    std::memcpy(&d, in_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool value(Value& v, int depth = 0);
  // A count of items each at least `min_bytes` long: fails when the rest of the input cannot hold them.
  bool count(uint64_t& n, size_t min_bytes = 1) {
    return varint(n) && n <= (in_.size() - pos_) / (min_bytes == 0 ? 1 : min_bytes);
  }
  bool done() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// CRC-32C (Castagnoli), hardware-accelerated with SSE4.2.
uint32_t crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace weir::codec
