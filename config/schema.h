// Every job-file key, declared once as data (STYLE.md "Config: declared once, checked completely").
// The same declaration drives parsing (type + default), validation (unknown keys with "did you mean",
// required keys, bounds, allowed values), `weir explain` (what is shown, what is secret) and the
// reference table in docs/job-reference.md.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/job.h"

namespace weir::config {

class Ctx;

enum class KeyKind {
  String,
  Int,
  Bool,
  Duration,
  Bytes,
  Enum,     // one of `allowed`
  Expr,     // an expression (spec §10)
  Strings,  // a string or a list of strings
  Map,
  List,
  Other,  // several forms; `type` says which
};

struct KeyDecl {
  std::string_view name;
  KeyKind kind = KeyKind::String;
  std::string_view def;  // default as written in a job file; "" = none
  std::string_view doc;  // one line
  bool required = false;
  std::vector<std::string_view> allowed = {};         // Enum
  int64_t min = std::numeric_limits<int64_t>::min();  // Int, Duration (ms), Bytes
  int64_t max = std::numeric_limits<int64_t>::max();
  std::string_view type = {};  // overrides the type column for Other
  bool secret = false;         // redacted in explain
};

struct SectionDecl {
  std::string_view path;   // "source.kafka", "outputs[]", ...
  std::string_view title;  // for the reference
  std::vector<KeyDecl> keys;
  const KeyDecl* find(std::string_view name) const;
  std::vector<std::string> names() const;
};

// All sections, in reference order.
const std::vector<SectionDecl>& sections();
const SectionDecl& section(std::string_view path);  // programmer error if absent

// The reference tables (markdown) generated from the declarations.
std::string reference_markdown();
std::string key_type_text(const KeyDecl& k);

// Reads one YAML map against a section: reports unknown/duplicate/missing-required keys once, then
// hands out typed values (absent keys give the declared default). Each read also records the effective
// value as text into `settings` (when given), redacted if the key is secret; explain prints those.
class MapReader {
 public:
  MapReader(Ctx& ctx, const YAML::Node& node, const SectionDecl& sec, std::string what,
            Properties* settings = nullptr);

  bool is_map() const { return is_map_; }
  bool has(std::string_view key) const;
  YAML::Node node(std::string_view key) const;  // undefined node when absent
  Loc loc(std::string_view key) const;          // the value's position (the key's when the value is null)
  Loc map_loc() const { return map_loc_; }
  const std::string& what() const { return what_; }
  Ctx& ctx() { return ctx_; }

  std::optional<std::string> str(std::string_view key);
  std::optional<int64_t> integer(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<int64_t> duration(std::string_view key);
  std::optional<int64_t> bytes(std::string_view key);
  std::optional<std::string> choice(std::string_view key);
  std::optional<std::vector<std::string>> strings(std::string_view key);
  // Records a setting computed elsewhere (e.g. a default that depends on another section).
  void record(std::string_view key, std::string value);

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  const Entry* entry(std::string_view key) const;
  std::string path(std::string_view key) const;  // a key's name in messages
  const KeyDecl& decl(std::string_view key) const;
  std::optional<std::string> text_or_default(std::string_view key, const Entry*& e);
  void record_value(const KeyDecl& d, const std::string& text, bool is_default);

  Ctx& ctx_;
  const SectionDecl& sec_;
  std::string what_;
  Properties* settings_;
  bool is_map_ = false;
  Loc map_loc_;
  std::vector<Entry> entries_;
};

// Replaces a recorded setting (or appends it).
void set_setting(Properties& settings, std::string_view key, std::string value);

}  // namespace weir::config
