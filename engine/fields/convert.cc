// Conversion of one raw JSON value to a field's declared type (spec §4).
//
//   any     string -> String; integer -> Int (Float beyond int64); other number -> Float;
//           bool -> Bool; array -> List (elements converted the same way, so `explode` can take
//           a plain path to an array); object -> its compact JSON text as a String
//   string  string -> String; number -> its JSON text; bool -> "true"/"false"; object/array: bad
//   int     JSON integer in int64; a string holding one ("42"); anything else (4.0, "4.5"): bad
//   float   any JSON number or numeric string (finite)
//   bool    true/false, or the strings "true"/"false" (any case)
//   time    per format: rfc3339 / strftime from strings; epoch_ms / epoch_s from numbers or
//           numeric strings; an instant outside years 0000-9999 (which RFC 3339 cannot write): bad
// null never reaches here: it is treated as missing by the extractor.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>

#include "engine/fields/internal.h"

namespace weir::fields::detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

enum class IntResult { Ok, NotInt, OutOfRange };

IntResult parse_int(std::string_view s, int64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return IntResult::NotInt;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, out);
  if (r.ptr != end) return IntResult::NotInt;
  if (r.ec == std::errc::result_out_of_range) return IntResult::OutOfRange;
  return r.ec == std::errc() ? IntResult::Ok : IntResult::NotInt;
}

// A finite decimal number (no "inf"/"nan", no hex).
bool parse_float(std::string_view s, double& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) return false;
  }
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, out);
  return r.ec == std::errc() && r.ptr == end && std::isfinite(out);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

void describe(const Raw& r, std::string& out) {
  out += "JSON ";
  out += raw_kind_name(r.kind);
  if (r.kind == RawKind::Object || r.kind == RawKind::Array) return;
  out += ' ';
  std::string_view t = r.kind == RawKind::Bool ? (r.b ? "true" : "false") : r.text;
  const bool cut = t.size() > 40;
  if (cut) t = t.substr(0, 40);
  if (r.kind == RawKind::String) {
    append_json_string(out, t);
  } else {
    out += t;
  }
  if (cut) out += "...";
}

bool fail(const config::Field& f, const Raw& r, std::string_view why, std::string& error) {
  error = "field '" + f.name + "' (" + f.path_text + "): ";
  describe(r, error);
  error += ' ';
  error += why;
  return false;
}

bool fail_type(const config::Field& f, const Raw& r, std::string& error) {
  std::string why = "does not convert to ";
  why += config::field_type_name(f.type);
  if (f.type == config::FieldType::Time) {
    switch (f.time_format) {
      case config::TimeFormat::Rfc3339:
        why += " (format rfc3339)";
        break;
      case config::TimeFormat::EpochMs:
        why += " (format epoch_ms)";
        break;
      case config::TimeFormat::EpochS:
        why += " (format epoch_s)";
        break;
      case config::TimeFormat::Strftime:
        why += " (format \"" + f.strftime + "\")";
        break;
    }
  }
  return fail(f, r, why, error);
}

}  // namespace

std::string_view raw_kind_name(RawKind k) {
  switch (k) {
    case RawKind::Null:
      return "null";
    case RawKind::Bool:
      return "bool";
    case RawKind::Number:
      return "number";
    case RawKind::String:
      return "string";
    case RawKind::Object:
      return "object";
    case RawKind::Array:
      return "array";
  }
  return "?";
}

void compact_json(std::string_view raw, std::string& out) {
  bool in_string = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < raw.size()) {
        out += raw[++i];
      } else if (c == '"') {
        in_string = false;
      }
    } else if (!is_space(c)) {
      out += c;
      if (c == '"') in_string = true;
    }
  }
}

namespace {
// An element of an `any` array: the same conversion as a top-level `any` value. The extractor has
// already checked the document (depth, UTF-8), so this DOM parse of one array cannot fail on input
// the extractor accepted; it runs only for `any` fields that hold arrays, not on the hot path.
Value any_from_dom(const rapidjson::Value& v) {
  if (v.IsNull()) return Value();
  if (v.IsBool()) return Value::boolean(v.GetBool());
  if (v.IsInt64()) return Value::integer(v.GetInt64());
  if (v.IsNumber()) return Value::real(v.GetDouble());
  if (v.IsString()) return Value::string(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsArray()) {
    List items;
    items.reserve(v.Size());
    for (const auto& e : v.GetArray()) items.push_back(any_from_dom(e));
    return Value::list(std::move(items));
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return Value::string(std::string(buf.GetString(), buf.GetSize()));
}

bool array_to_list(std::string_view raw, Value& out) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseFullPrecisionFlag>(raw.data(), raw.size());
  if (d.HasParseError() || !d.IsArray()) return false;
  out = any_from_dom(d);
  return true;
}
}  // namespace

bool convert(const config::Field& f, const Raw& r, Value& out, std::string& scratch, std::string& error) {
  using FT = config::FieldType;
  switch (f.type) {
    case FT::Any:
      switch (r.kind) {
        case RawKind::String:
          out.set_string(r.text);
          return true;
        case RawKind::Bool:
          out = Value::boolean(r.b);
          return true;
        case RawKind::Number: {
          if (r.is_int) {
            int64_t i = 0;
            if (parse_int(r.text, i) == IntResult::Ok) {
              out = Value::integer(i);
              return true;
            }
          }
          double d = 0;
          if (!parse_float(r.text, d)) return fail(f, r, "is out of range for a float", error);
          out = Value::real(d);
          return true;
        }
        case RawKind::Array:
          if (array_to_list(r.text, out)) return true;
          [[fallthrough]];
        case RawKind::Object:
          scratch.clear();
          compact_json(r.text, scratch);
          out.set_string(scratch);
          return true;
        case RawKind::Null:
          out.set_null();
          return true;
      }
      break;
    case FT::String:
      switch (r.kind) {
        case RawKind::String:
        case RawKind::Number:
          out.set_string(r.text);
          return true;
        case RawKind::Bool:
          out.set_string(r.b ? "true" : "false");
          return true;
        default:
          return fail_type(f, r, error);
      }
    case FT::Int: {
      if (r.kind != RawKind::Number && r.kind != RawKind::String) return fail_type(f, r, error);
      if (r.kind == RawKind::Number && !r.is_int) return fail(f, r, "is not an integer (type int)", error);
      int64_t i = 0;
      switch (parse_int(r.kind == RawKind::String ? trim(r.text) : r.text, i)) {
        case IntResult::Ok:
          out = Value::integer(i);
          return true;
        case IntResult::OutOfRange:
          return fail(f, r, "is out of int64 range (type int)", error);
        case IntResult::NotInt:
          return fail_type(f, r, error);
      }
      break;
    }
    case FT::Float: {
      if (r.kind != RawKind::Number && r.kind != RawKind::String) return fail_type(f, r, error);
      double d = 0;
      if (!parse_float(r.kind == RawKind::String ? trim(r.text) : r.text, d)) return fail_type(f, r, error);
      out = Value::real(d);
      return true;
    }
    case FT::Bool:
      if (r.kind == RawKind::Bool) {
        out = Value::boolean(r.b);
        return true;
      }
      if (r.kind == RawKind::String) {
        std::string_view t = trim(r.text);
        if (iequals(t, "true") || iequals(t, "false")) {
          out = Value::boolean(t.size() == 4);
          return true;
        }
      }
      return fail_type(f, r, error);
    case FT::Time: {
      int64_t ms = 0;
      bool ok = false;
      if (r.kind == RawKind::String) {
        ok = parse_time_text(r.text, f.time_format, f.strftime, ms);
      } else if (r.kind == RawKind::Number) {
        ok = parse_epoch_number(r.text, f.time_format, ms);
      }
      if (!ok) return fail_type(f, r, error);
      // Sinks write times as RFC 3339, whose year has four digits (spec §7).
      if (!time_in_rfc3339_range(ms)) return fail(f, r, "is a time out of range (years 0000 to 9999)", error);
      out = Value::time(ms);
      return true;
    }
  }
  return fail_type(f, r, error);
}

}  // namespace weir::fields::detail
