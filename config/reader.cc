// MapReader: one YAML map read against its section declaration.
#include <fmt/format.h>

#include <cassert>

#include "config/internal.h"
#include "config/redact.h"
#include "config/schema.h"

namespace weir::config {

void set_setting(Properties& settings, std::string_view key, std::string value) {
  for (auto& [k, v] : settings)
    if (k == key) {
      v = std::move(value);
      return;
    }
  settings.emplace_back(std::string(key), std::move(value));
}

MapReader::MapReader(Ctx& ctx, const YAML::Node& node, const SectionDecl& sec, std::string what,
                     Properties* settings)
    : ctx_(ctx), sec_(sec), what_(std::move(what)), settings_(settings) {
  map_loc_ = Ctx::loc(node);
  if (!node.IsDefined() || node.IsNull()) {
    is_map_ = true;  // `key:` with nothing: an empty map
  } else if (!node.IsMap()) {
    ctx.error(node, fmt::format("{} must be a map, got {}", what_, describe(node)));
    return;
  } else {
    is_map_ = true;
    for (const auto& kv : node) {
      const YAML::Node& k = kv.first;
      if (!k.IsScalar()) {
        ctx.error(k, fmt::format("{}: keys must be strings, got {}", what_, describe(k)));
        continue;
      }
      std::string name = k.Scalar();
      if (!sec.find(name)) {
        ctx.error(k, fmt::format("unknown key '{}' in {}{}", name, what_, did_you_mean(name, sec.names())));
        continue;
      }
      if (entry(name)) {
        ctx.error(k, fmt::format("duplicate key '{}' in {}", name, what_));
        continue;
      }
      entries_.push_back(Entry{name, k, kv.second});
    }
  }
  for (const auto& d : sec.keys)
    if (d.required && !entry(d.name))
      ctx.error(map_loc_, fmt::format("{} needs '{}' ({})", what_, d.name, d.doc));
}

const MapReader::Entry* MapReader::entry(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

const KeyDecl& MapReader::decl(std::string_view key) const {
  const KeyDecl* d = sec_.find(key);
  assert(d && "key read but not declared");
  return *d;
}

std::string MapReader::path(std::string_view key) const {
  if (what_ == "the job") return std::string(key);                                     // top level: `batch`
  if (!what_.empty() && what_.back() == '\'') return what_ + ": " + std::string(key);  // output 'o': limit
  return what_ + "." + std::string(key);                                               // source.kafka.start
}

bool MapReader::has(std::string_view key) const {
  return entry(key) != nullptr;
}

YAML::Node MapReader::node(std::string_view key) const {
  const Entry* e = entry(key);
  return e ? e->value : YAML::Node(YAML::NodeType::Undefined);
}

Loc MapReader::loc(std::string_view key) const {
  const Entry* e = entry(key);
  if (!e) return map_loc_;
  if (e->value.IsNull()) return Ctx::loc(e->key_node);
  return Ctx::loc(e->value);
}

void MapReader::record_value(const KeyDecl& d, const std::string& text, bool is_default) {
  if (!settings_) return;
  std::string v = d.secret ? redact_dsn(text) : text;
  set_setting(*settings_, d.name, is_default ? v + " (default)" : v);
}

void MapReader::record(std::string_view key, std::string value) {
  if (settings_) set_setting(*settings_, key, std::move(value));
}

// The value's text (after ${ENV}), or the declared default when absent; `e` tells which.
std::optional<std::string> MapReader::text_or_default(std::string_view key, const Entry*& e) {
  const KeyDecl& d = decl(key);
  e = entry(key);
  if (!e || e->value.IsNull()) {
    if (e && d.required) ctx_.error(loc(key), fmt::format("{}: '{}' needs a value", what_, key));
    e = nullptr;
    if (d.def.empty() || d.def.find('<') != std::string_view::npos) return std::nullopt;  // computed later
    return std::string(d.def);
  }
  return scalar_text(ctx_, e->value, path(key));
}

std::optional<std::string> MapReader::str(std::string_view key) {
  const Entry* e;
  auto t = text_or_default(key, e);
  if (t) record_value(decl(key), *t, !e);
  return t;
}

std::optional<int64_t> MapReader::integer(std::string_view key) {
  const KeyDecl& d = decl(key);
  const Entry* e;
  auto t = text_or_default(key, e);
  if (!t) return std::nullopt;
  int64_t v;
  if (!parse_int(*t, v)) {
    ctx_.error(loc(key), fmt::format("{} must be an integer, got '{}'", path(key), *t));
    return std::nullopt;
  }
  if (v < d.min || v > d.max) {
    ctx_.error(loc(key),
               d.max == std::numeric_limits<int64_t>::max()
                   ? fmt::format("{} must be at least {}, got {}", path(key), d.min, v)
                   : fmt::format("{} must be between {} and {}, got {}", path(key), d.min, d.max, v));
    return std::nullopt;
  }
  record_value(d, *t, !e);
  return v;
}

std::optional<bool> MapReader::boolean(std::string_view key) {
  const Entry* e;
  auto t = text_or_default(key, e);
  if (!t) return std::nullopt;
  if (*t == "true" || *t == "false") {
    record_value(decl(key), *t, !e);
    return *t == "true";
  }
  ctx_.error(loc(key), fmt::format("{} must be true or false, got '{}'", path(key), *t));
  return std::nullopt;
}

std::optional<int64_t> MapReader::duration(std::string_view key) {
  const KeyDecl& d = decl(key);
  const Entry* e;
  auto t = text_or_default(key, e);
  if (!t) return std::nullopt;
  auto v = parse_duration(*t);
  if (!v) {
    ctx_.error(loc(key), fmt::format("{}: '{}' is not a duration (write an integer followed by ms, s, m "
                                     "or h, e.g. 500ms, 5s, 1m)",
                                     path(key), *t));
    return std::nullopt;
  }
  if (*v < d.min) {
    ctx_.error(loc(key),
               fmt::format("{} must be at least {}, got {}", path(key), format_duration(d.min), *t));
    return std::nullopt;
  }
  record_value(d, *t, !e);
  return v;
}

std::optional<int64_t> MapReader::bytes(std::string_view key) {
  const KeyDecl& d = decl(key);
  const Entry* e;
  auto t = text_or_default(key, e);
  if (!t) return std::nullopt;
  auto v = parse_bytes(*t);
  if (!v) {
    ctx_.error(loc(key),
               fmt::format("{}: '{}' is not a byte size (e.g. 1000, 512KiB, 1MiB, 1MB)", path(key), *t));
    return std::nullopt;
  }
  if (*v < d.min) {
    ctx_.error(loc(key), fmt::format("{} must be at least {}, got {}", path(key), d.min, *t));
    return std::nullopt;
  }
  record_value(d, *t, !e);
  return v;
}

std::optional<std::string> MapReader::choice(std::string_view key) {
  const KeyDecl& d = decl(key);
  const Entry* e;
  auto t = text_or_default(key, e);
  if (!t) return std::nullopt;
  std::vector<std::string> allowed(d.allowed.begin(), d.allowed.end());
  for (const auto& a : allowed)
    if (a == *t) {
      record_value(d, *t, !e);
      return t;
    }
  ctx_.error(loc(key), fmt::format("{} must be one of {}, got '{}'{}", path(key), fmt::join(allowed, ", "),
                                   *t, did_you_mean(*t, allowed)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> MapReader::strings(std::string_view key) {
  const KeyDecl& d = decl(key);
  const Entry* e = entry(key);
  if (!e || e->value.IsNull()) return std::nullopt;
  std::vector<std::string> out;
  std::string what = path(key);
  if (e->value.IsSequence()) {
    for (const auto& item : e->value)
      if (auto s = scalar_text(ctx_, item, what)) out.push_back(*s);
  } else if (auto s = scalar_text(ctx_, e->value, what)) {
    // "h1:9092,h2:9092" is a list too.
    size_t start = 0;
    while (start <= s->size()) {
      size_t c = s->find(',', start);
      if (c == std::string::npos) c = s->size();
      std::string part = s->substr(start, c - start);
      while (!part.empty() && part.front() == ' ') part.erase(part.begin());
      while (!part.empty() && part.back() == ' ') part.pop_back();
      if (!part.empty()) out.push_back(part);
      start = c + 1;
    }
  } else {
    return std::nullopt;
  }
  if (out.empty()) {
    ctx_.error(loc(key), fmt::format("{} must not be empty", what));
    return std::nullopt;
  }
  record_value(d, fmt::format("{}", fmt::join(out, ",")), false);
  return out;
}

}  // namespace weir::config
