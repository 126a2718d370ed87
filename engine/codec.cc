#include "engine/codec.h"

#include <nmmintrin.h>

namespace weir::codec {

void put_value(std::string& out, const Value& v) {
  out.push_back(static_cast<char>(v.type()));
  switch (v.type()) {
    case Type::Null:
      break;
    case Type::Bool:
      out.push_back(v.as_bool() ? 1 : 0);
      break;
    case Type::Int:
      put_i64(out, v.as_int());
      break;
    case Type::Float:
      put_f64(out, v.as_float());
      break;
    case Type::String:
      put_bytes(out, v.as_string());
      break;
    case Type::Time:
      put_i64(out, v.as_time());
      break;
    case Type::List:
      put_varint(out, v.as_list().size());
      for (const Value& e : v.as_list()) put_value(out, e);
      break;
  }
}

bool Reader::value(Value& v, int depth) {
  if (pos_ >= in_.size() || depth > kMaxStoredListDepth) return false;
  auto t = static_cast<uint8_t>(in_[pos_++]);
  switch (static_cast<Type>(t)) {
    case Type::Null:
      v = Value();
      return true;
    case Type::Bool:
      if (pos_ >= in_.size()) return false;
      v = Value::boolean(in_[pos_++] != 0);
      return true;
    case Type::Int: {
      int64_t i;
      if (!i64(i)) return false;
      v = Value::integer(i);
      return true;
    }
    case Type::Float: {
      double d;
      if (!f64(d)) return false;
      v = Value::real(d);
      return true;
    }
    case Type::String: {
      std::string_view s;
      if (!bytes(s)) return false;
      v = Value::string(s);
      return true;
    }
    case Type::Time: {
      int64_t i;
      if (!i64(i)) return false;
      v = Value::time(i);
      return true;
    }
    case Type::List: {
      uint64_t n;
      if (!count(n)) return false;
      List items(n);
      for (auto& e : items) {
        if (!value(e, depth + 1)) return false;
      }
      v = Value::list(std::move(items));
      return true;
    }
  }
  return false;
}

uint32_t crc32c(std::string_view data, uint32_t crc) {
  uint64_t c = ~crc;
  const char* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p));
    ++p;
    --n;
  }
  return ~c32;
}

}  // namespace weir::codec
