// fields: (spec §4) and time: (§6).
#include <fmt/format.h>

#include "config/internal.h"
#include "config/schema.h"
#include "engine/fields/extract.h"

namespace weir::config {

namespace {

FieldType field_type_from(std::string_view t) {
  if (t == "string") return FieldType::String;
  if (t == "int") return FieldType::Int;
  if (t == "float") return FieldType::Float;
  if (t == "bool") return FieldType::Bool;
  if (t == "time") return FieldType::Time;
  return FieldType::Any;
}

// Parses a path, reporting errors at the offending character of the scalar.
void set_path(Ctx& ctx, const YAML::Node& n, Field& f, const std::string& text) {
  f.path_text = text;
  auto r = parse_path(text);
  if (auto* err = std::get_if<PathError>(&r)) {
    ctx.error(ctx.loc_in_scalar(n, text, err->col),
              fmt::format("field '{}': path \"{}\": {}", f.name, text, err->message));
    return;
  }
  f.path = std::get<std::vector<PathStep>>(std::move(r));
}

// A default value of the declared type.
std::optional<Value> typed_default(Ctx& ctx, const YAML::Node& n, const Field& f) {
  if (!n.IsScalar()) {
    ctx.error(n, fmt::format("field '{}': default must be a scalar, got {}", f.name, describe(n)));
    return std::nullopt;
  }
  auto text = scalar_text(ctx, n, fmt::format("field '{}' default", f.name));
  if (!text) return std::nullopt;
  Value v = scalar_value(*text, is_quoted(n));
  auto bad = [&](std::string_view want) {
    ctx.error(n, fmt::format("field '{}': default '{}' is not {}", f.name, *text, want));
    return std::nullopt;
  };
  switch (f.type) {
    case FieldType::Any:
      return v;
    case FieldType::String:
      return Value::string(*text);
    case FieldType::Int: {
      int64_t i;
      if (!parse_int(*text, i)) return bad("an int");
      return Value::integer(i);
    }
    case FieldType::Float: {
      double d;
      if (!parse_float(*text, d)) return bad("a number");
      return Value::real(d);
    }
    case FieldType::Bool:
      if (*text != "true" && *text != "false") return bad("true or false");
      return Value::boolean(*text == "true");
    case FieldType::Time: {
      // Read in the field's own format, as the same text found in a document would be (spec §4:
      // the default stands in for the missing value). epoch_ms/epoch_s take a number (quoted or not);
      // rfc3339 and strftime take the text, so `default: 0` on an rfc3339 field is refused.
      int64_t ms = 0;
      if (!fields::parse_time(Value::string(*text), f.time_format, f.strftime, ms)) {
        switch (f.time_format) {
          case TimeFormat::EpochMs:
            return bad("a time in epoch milliseconds (format epoch_ms), e.g. 1484148840000");
          case TimeFormat::EpochS:
            return bad("a time in epoch seconds (format epoch_s), e.g. 1484148840");
          case TimeFormat::Rfc3339:
            return bad("an RFC 3339 time (the field's format is rfc3339), e.g. 2017-01-11T15:34:00Z");
          case TimeFormat::Strftime:
            return bad(fmt::format("a time in the field's format \"{}\"", f.strftime));
        }
      }
      if (!time_in_rfc3339_range(ms)) return bad("a time in years 0000 to 9999");
      return Value::time(ms);
    }
  }
  return v;
}

}  // namespace

std::vector<Field> parse_fields(Ctx& ctx, const YAML::Node& n) {
  std::vector<Field> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) {
    ctx.error(n, fmt::format("fields must be a map of name: path, got {}", describe(n)));
    return out;
  }
  for (const auto& kv : n) {
    Field f;
    f.loc = Ctx::loc(kv.first);
    if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
      ctx.error(kv.first, "field names must be non-empty strings");
      continue;
    }
    f.name = kv.first.Scalar();
    if (f.name.front() == '_') {
      ctx.error(kv.first,
                fmt::format("field name '{}' starts with '_', which is reserved for metadata fields "
                            "(_topic, _partition, _offset, _key, _timestamp, _raw ...)",
                            f.name));
      continue;
    }
    bool dup = false;
    for (const auto& g : out) dup = dup || g.name == f.name;
    if (dup) {
      ctx.error(kv.first, fmt::format("field '{}' is declared twice", f.name));
      continue;
    }
    const YAML::Node& v = kv.second;
    if (v.IsScalar()) {
      if (auto text = scalar_text(ctx, v, fmt::format("field '{}'", f.name))) set_path(ctx, v, f, *text);
    } else if (v.IsMap() || v.IsNull()) {
      MapReader r(ctx, v, section("fields.<name>"), fmt::format("field '{}'", f.name));
      if (r.has("path")) {
        if (auto text = r.str("path")) set_path(ctx, r.node("path"), f, *text);
      } else {
        set_path(ctx, kv.first, f, f.name);
      }
      if (auto t = r.choice("type")) f.type = field_type_from(*t);
      if (auto req = r.boolean("required")) f.required = *req;
      bool format_ok = true;
      if (r.has("format")) {
        auto fmt_text = r.str("format");
        format_ok = false;
        if (f.type != FieldType::Time) {
          ctx.error(r.loc("format"), fmt::format("field '{}': format applies to type time only", f.name));
        } else if (fmt_text) {
          if (*fmt_text == "rfc3339") {
            f.time_format = TimeFormat::Rfc3339;
            format_ok = true;
          } else if (*fmt_text == "epoch_ms") {
            f.time_format = TimeFormat::EpochMs;
            format_ok = true;
          } else if (*fmt_text == "epoch_s") {
            f.time_format = TimeFormat::EpochS;
            format_ok = true;
          } else if (fmt_text->find('%') != std::string::npos) {
            f.time_format = TimeFormat::Strftime;
            f.strftime = *fmt_text;
            format_ok = true;
          } else {
            ctx.error(r.loc("format"),
                      fmt::format("field '{}': format '{}' is not rfc3339, epoch_ms, epoch_s or a strftime "
                                  "pattern with %",
                                  f.name, *fmt_text));
          }
        }
      }
      // After `format`: a time default is read in the field's format.
      // (A format that is refused has its own error; its default is not read in a format it does not have.)
      if (r.has("default") && !r.node("default").IsNull() && (format_ok || f.type != FieldType::Time))
        f.default_value = typed_default(ctx, r.node("default"), f);
    } else {
      ctx.error(v, fmt::format("field '{}' must be a path or a map, got {}", f.name, describe(v)));
      continue;
    }
    out.push_back(std::move(f));
  }
  return out;
}

Time parse_time_section(Ctx& ctx, const YAML::Node& n) {
  Time t;
  t.loc = Ctx::loc(n);
  if (!n.IsDefined() || n.IsNull()) return t;
  if (n.IsScalar()) {
    if (n.Scalar() != "processing")
      ctx.error(n,
                fmt::format("time must be `processing` or {{ event: FIELD, lateness: D, idle: D }}, got '{}'",
                            n.Scalar()));
    return t;
  }
  MapReader r(ctx, n, section("time"), "time");
  if (!r.is_map()) return t;
  t.event = true;
  if (auto f = r.str("event")) t.field = *f;
  t.loc = r.loc("event");
  if (auto l = r.duration("lateness")) t.lateness_ms = *l;
  if (auto i = r.duration("idle")) t.idle_ms = *i;
  return t;
}

}  // namespace weir::config
