// Value: the dynamically typed cell that flows through weir — a field of a record,
// a group key, an aggregate result, a column of an output row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace weir {

// Type of a value. `Time` is a UTC instant in epoch milliseconds.
enum class Type : uint8_t { Null, Bool, Int, Float, String, Time, List };

std::string_view type_name(Type t);

struct TimeMs {
  int64_t ms = 0;
  bool operator==(const TimeMs&) const = default;
};

class Value;
using List = std::vector<Value>;

// The deepest list nesting a decoder of stored values (checkpoint rows, window group keys) accepts: above
// what JSON input can produce (the extractor stops at 512 levels), so every value weir made decodes again.
constexpr int kMaxStoredListDepth = 1024;

class Value {
 public:
  Value() = default;  // null
  static Value boolean(bool b) { return Value(Rep(std::in_place_index<1>, b)); }
  static Value integer(int64_t i) { return Value(Rep(std::in_place_index<2>, i)); }
  static Value real(double d) { return Value(Rep(std::in_place_index<3>, d)); }
  static Value string(std::string s) { return Value(Rep(std::in_place_index<4>, std::move(s))); }
  static Value string(std::string_view s) { return Value(Rep(std::in_place_index<4>, std::string(s))); }
  static Value string(const char* s) { return Value(Rep(std::in_place_index<4>, std::string(s))); }
  static Value time(int64_t epoch_ms) { return Value(Rep(std::in_place_index<5>, TimeMs{epoch_ms})); }
  static Value list(List items) {
    return Value(Rep(std::in_place_index<6>, std::make_shared<const List>(std::move(items))));
  }

  Type type() const { return static_cast<Type>(rep_.index()); }
  bool is_null() const { return rep_.index() == 0; }
  bool is_number() const { return rep_.index() == 2 || rep_.index() == 3; }

  bool as_bool() const { return std::get<1>(rep_); }
  int64_t as_int() const { return std::get<2>(rep_); }
  double as_float() const { return std::get<3>(rep_); }
  const std::string& as_string() const { return std::get<4>(rep_); }
  int64_t as_time() const { return std::get<5>(rep_).ms; }
  const List& as_list() const { return *std::get<6>(rep_); }
  // Int or Float as double (caller checks is_number()).
  double to_double() const { return rep_.index() == 2 ? double(as_int()) : as_float(); }

  // Reuses the string buffer when this value already holds a string (no allocation in steady state).
  void set_string(std::string_view s) {
    if (auto* p = std::get_if<4>(&rep_)) {
      p->assign(s.data(), s.size());
    } else {
      rep_.emplace<4>(s);
    }
  }
  void set_null() { rep_.emplace<0>(); }

  // Equality for grouping: Int and Float compare numerically (1 == 1.0); NaN equals NaN.
  bool operator==(const Value& o) const { return compare(*this, o) == 0; }
  // Total order used for sorting and group keys:
  // null < bool < number (Int/Float numerically) < string (bytewise) < time < list (lexicographic).
  static int compare(const Value& a, const Value& b);
  size_t hash() const;

  // Human form for the console: strings unquoted, times RFC 3339 with ms, floats and lists as JSON
  // (a whole float keeps its ".0": 2.0), null as "null".
  std::string to_display() const;
  // JSON text of this value (strings escaped, times as RFC 3339 UTC strings with ms, floats always with
  // a '.' or an exponent so they read back as floats: 2.0; NaN/Infinity as null).
  std::string to_json() const;
  void append_json(std::string& out) const;

 private:
  using Rep =
      std::variant<std::monostate, bool, int64_t, double, std::string, TimeMs, std::shared_ptr<const List>>;
  explicit Value(Rep r) : rep_(std::move(r)) {}
  Rep rep_;
};

struct ValueHash {
  size_t operator()(const Value& v) const { return v.hash(); }
};

// Group key: the values of one output's group_by columns.
using Key = std::vector<Value>;
struct KeyHash {
  size_t operator()(const Key& k) const;
};
struct KeyLess {
  bool operator()(const Key& a, const Key& b) const;
};

// The instants RFC 3339 can write (its year has exactly four digits): 0000-01-01T00:00:00.000Z to
// 9999-12-31T23:59:59.999Z. A time outside them makes a record bad where it is made (field conversion, time
// arithmetic, a default), so sinks only ever see times they can write (spec §7).
constexpr int64_t kMinRfc3339Ms = -62167219200000LL;  // 0000-01-01T00:00:00.000Z
constexpr int64_t kMaxRfc3339Ms = 253402300799999LL;  // 9999-12-31T23:59:59.999Z
constexpr bool time_in_rfc3339_range(int64_t epoch_ms) {
  return epoch_ms >= kMinRfc3339Ms && epoch_ms <= kMaxRfc3339Ms;
}

// Formats epoch milliseconds as RFC 3339 UTC with milliseconds: 2017-01-11T15:34:00.000Z.
// The hash of a string's bytes, as Value::hash() gives it for a string (group tables hash stored keys with
// it without building a Value). Deterministic: the same in every process and on every run.
uint64_t hash_bytes(std::string_view s);

std::string format_rfc3339_ms(int64_t epoch_ms);
void append_rfc3339_ms(std::string& out, int64_t epoch_ms);
// Appends d to out as a JSON number that reads back as a float: shortest round-trip digits, with ".0"
// added to a whole number (2.0, -0.0, 1e+300 as is). NaN and ±Infinity have no JSON form: "null".
void append_json_double(std::string& out, double d);
// Appends s to out as a JSON string literal (quotes included), escaping as RFC 8259 requires.
// Invalid UTF-8 bytes are replaced with U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace weir
