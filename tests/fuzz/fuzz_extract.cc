// Fuzz target: field extraction (spec §4, §8) over arbitrary bytes. Besides "never crashes" (ASan, UBSan), it
// checks three invariants on every input:
//   1. the fast skip of unwanted values and the full parser give the same verdict, error and values;
//   2. weir accepts a document exactly when RapidJSON (iterative, UTF-8 validated) parses it to an object,
//   apart
//      from three documented differences: lone \u surrogates (weir: U+FFFD), numbers beyond a double (weir:
//      valid JSON, only an error when converted), nesting deeper than kMaxDepth (weir: bad record); and one
//      of RapidJSON's: it stops at a NUL byte, so it accepts NULs after the document;
//   3. a string, integer, bool or null at a wanted path decodes to what RapidJSON decodes (the last of
//   duplicate
//      keys wins, as weir documents).
#include <rapidjson/document.h>
#include <rapidjson/error/error.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/job.h"
#include "engine/fields/extract.h"
#include "fuzz_check.h"

namespace {

using weir::Type;
using weir::Value;
using weir::config::Field;
using weir::config::FieldType;
using weir::fields::Extractor;

Field field(const char* name, const char* path, FieldType type = FieldType::Any, bool required = false) {
  Field f;
  f.name = name;
  f.path_text = path;
  auto parsed = weir::config::parse_path(f.path_text);
  if (!std::holds_alternative<std::vector<weir::config::PathStep>>(parsed)) std::abort();
  f.path = std::get<std::vector<weir::config::PathStep>>(parsed);
  f.type = type;
  f.required = required;
  return f;
}

// Fields of type any: a good JSON object never fails them (what invariant 2 needs).
std::vector<Field> any_fields() {
  return {field("s", "s"),       field("o", "o"),       field("ok", "o.k"),        field("oa1", "o.a[1]"),
          field("l", "l[*]"),    field("lk", "l[*].k"), field("ll", "l[*][*]"),    field("xyz", "x.y.z"),
          field("q", "\"q.k\""), field("n", "n"),       field("deep", "a.b.c.d.e")};
}

// Typed, required and time fields: conversions and their errors (invariant 1 only).
std::vector<Field> typed_fields() {
  std::vector<Field> f = {field("i", "i", FieldType::Int),          field("f", "f", FieldType::Float),
                          field("b", "b", FieldType::Bool),         field("str", "s", FieldType::String),
                          field("r", "r", FieldType::String, true), field("t", "t", FieldType::Time),
                          field("e", "e", FieldType::Time),         field("li", "l[*]", FieldType::Int)};
  f[6].time_format = weir::config::TimeFormat::EpochMs;
  return f;
}

struct Pair {
  std::vector<Field> fields;
  Extractor fast;
  Extractor full;
  explicit Pair(std::vector<Field> fs)
      : fields(std::move(fs)),
        fast(fields, weir::config::Decode::Json),
        full(fields, weir::config::Decode::Json) {
    full.set_fast_skip(false);
  }
};

struct Result {
  bool ok = false;
  std::string error;
  std::vector<Value> slots;
};

Result run(const Extractor& x, size_t n, std::string_view doc) {
  Result r;
  r.slots.resize(n);
  r.ok = x.extract(doc, r.slots.data(), r.error);
  return r;
}

// Invariant 1; returns the fast skip's result.
Result both_ways(const Pair& p, std::string_view doc, const std::string& input) {
  Result a = run(p.fast, p.fields.size(), doc);
  Result b = run(p.full, p.fields.size(), doc);
  if (a.ok != b.ok || a.error != b.error) {
    weir::fuzz::fail("fast skip and full parser disagree: '" + a.error + "' vs '" + b.error + "'", input);
  }
  if (a.ok) {
    for (size_t i = 0; i < a.slots.size(); ++i) {
      if (a.slots[i].type() != b.slots[i].type() || a.slots[i].to_json() != b.slots[i].to_json()) {
        weir::fuzz::fail(
            "field " + p.fields[i].name + ": " + a.slots[i].to_json() + " vs " + b.slots[i].to_json(), input);
      }
    }
  }
  return a;
}

const rapidjson::Value* last_member(const rapidjson::Value& obj, const char* name) {
  const rapidjson::Value* found = nullptr;
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    if (std::string_view(m->name.GetString(), m->name.GetStringLength()) == name) found = &m->value;
  }
  return found;
}

// Invariants 2 and 3 for the any-typed fields.
void against_rapidjson(const Result& w, std::string_view doc, const std::string& input) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(doc.data(), doc.size());
  if (d.HasParseError()) {
    const auto code = d.GetParseError();
    if (code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid ||
        code == rapidjson::kParseErrorNumberTooBig)
      return;  // weir's documented differences; the fast/full check above still ran
    if (w.ok)
      weir::fuzz::fail("weir accepted a document RapidJSON refuses (code " + std::to_string(code) + ")",
                       input);
    return;
  }
  // RapidJSON's streams take a NUL byte for the end of the input, so it accepts a document followed by NULs,
  // which weir (rightly) refuses: "raw NUL byte after the document".
  if (doc.find('\0') != std::string_view::npos) return;
  if (!d.IsObject()) {
    if (w.ok) weir::fuzz::fail("weir accepted a document whose top level is not an object", input);
    return;
  }
  if (!w.ok) {
    if (w.error.find("nested deeper than") != std::string::npos) return;
    // A number beyond a double that RapidJSON's fast path does not see as one (9223372031348623157e308).
    if (w.error.find("is out of range for a float") != std::string::npos) return;
    // RapidJSON skips a stray non-ASCII byte before the document ("\xBB{}"); weir refuses it at that byte.
    if (const size_t at = w.error.find("at byte "); at != std::string::npos) {
      const size_t off = std::strtoull(w.error.c_str() + at + 8, nullptr, 10);
      if (off < doc.size() && static_cast<unsigned char>(doc[off]) >= 0x80) return;
    }
    weir::fuzz::fail("weir refused a JSON object RapidJSON parses: " + w.error, input);
  }
  const rapidjson::Value* s = last_member(d, "s");
  const Value& got = w.slots[0];
  if (s == nullptr || s->IsNull()) {
    if (got.type() != Type::Null) weir::fuzz::fail("s: expected null, got " + got.to_json(), input);
  } else if (s->IsString()) {
    // RapidJSON decodes a lone low surrogate escape (\udc00) to its 3-byte CESU form, which is not UTF-8;
    // weir gives U+FFFD for every lone surrogate.
    if (!weir::fields::valid_utf8(std::string_view(s->GetString(), s->GetStringLength()))) return;
    if (got.type() != Type::String ||
        got.as_string() != std::string_view(s->GetString(), s->GetStringLength()))
      weir::fuzz::fail("s: string decoded differently: " + got.to_json(), input);
  } else if (s->IsInt64()) {
    if (got.type() != Type::Int || got.as_int() != s->GetInt64())
      weir::fuzz::fail("s: integer decoded differently: " + got.to_json(), input);
  } else if (s->IsBool()) {
    if (got.type() != Type::Bool || got.as_bool() != s->GetBool())
      weir::fuzz::fail("s: bool decoded differently: " + got.to_json(), input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Pair any(any_fields());
  static const Pair typed(typed_fields());
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string_view doc(reinterpret_cast<const char*>(data), size);
  const Result w = both_ways(any, doc, input);
  against_rapidjson(w, doc, input);
  both_ways(typed, doc, input);
  return 0;
}
