// to: (spec §7) and on_error.dead_letter (§8): console, file, postgres, kafka.
#include <fmt/format.h>

#include <algorithm>

#include "config/internal.h"
#include "config/pg_names.h"
#include "config/redact.h"
#include "config/schema.h"

namespace weir::config {

namespace {

ConsoleSink console_sink(Ctx& ctx, const YAML::Node& n, Properties& settings) {
  ConsoleSink c;
  MapReader r(ctx, n, section("to.console"), "console", &settings);
  if (auto rows = r.integer("rows")) c.rows = int(std::min<int64_t>(*rows, 1 << 30));
  if (auto f = r.choice("format"))
    c.format = *f == "json" ? ConsoleSink::Format::Json : ConsoleSink::Format::Table;
  return c;
}

FileSink file_sink(Ctx& ctx, const YAML::Node& n, Properties& settings) {
  FileSink f;
  MapReader r(ctx, n, section("to.file"), "file", &settings);
  if (auto p = r.str("path")) f.path = *p;
  if (auto fmt_ = r.choice("format"))
    f.format = *fmt_ == "csv" ? FileSink::Format::Csv : FileSink::Format::Jsonl;
  return f;
}

PostgresSink postgres_sink(Ctx& ctx, const YAML::Node& n, Properties& settings) {
  PostgresSink p;
  MapReader r(ctx, n, section("to.postgres"), "postgres", &settings);
  if (auto d = r.str("dsn")) p.dsn = *d;
  if (auto f = r.str("password_file")) p.password_file = *f;
  if (auto t = r.str("table")) p.table = *t;
  if (auto m = r.choice("mode"))
    p.mode = *m == "upsert" ? PostgresSink::Mode::Upsert : PostgresSink::Mode::Append;
  if (auto k = r.strings("key")) p.key = *k;
  p.key_loc = r.loc("key");
  if (auto c = r.boolean("create")) p.create = *c;
  p.columns_loc = r.loc("columns");
  if (r.has("columns")) {
    YAML::Node cols = r.node("columns");
    if (!cols.IsMap()) {
      ctx.error(p.columns_loc,
                fmt::format("postgres.columns must be a map of table column: output column, got {}",
                            describe(cols)));
    } else {
      std::string text;
      for (const auto& kv : cols) {
        auto table_col = scalar_text(ctx, kv.first, "postgres.columns key");
        auto out_col = scalar_text(ctx, kv.second, "postgres.columns value");
        if (!table_col || !out_col) continue;
        p.columns.emplace_back(*table_col, *out_col);
        text += fmt::format("{}{} <- {}", text.empty() ? "" : ", ", *table_col, *out_col);
      }
      r.record("columns", text);
    }
  }
  if (p.mode == PostgresSink::Mode::Upsert && p.key.empty())
    ctx.error(r.loc("mode"), "postgres mode upsert needs `key:` (the columns that identify a row)");
  if (r.has("table")) {
    // The sink's own rule (it quotes the parts when used, never splices them), checked here so that
    // `weir validate` reports it at the key instead of the job failing when it starts.
    if (auto e = pg_table_name_problem(p.table))
      ctx.error(r.loc("table"), fmt::format("postgres.table '{}' is not valid: {}", p.table, *e));
  }
  return p;
}

KafkaSink kafka_sink(Ctx& ctx, const YAML::Node& n, Properties& settings) {
  KafkaSink k;
  MapReader r(ctx, n, section("to.kafka"), "kafka", &settings);
  if (auto b = r.strings("brokers")) k.brokers = *b;
  if (auto t = r.str("topic")) k.topic = *t;
  if (r.has("key") && !r.node("key").IsNull()) {
    Expr e = parse_expr(ctx, r.node("key"), "kafka.key");
    if (e) {
      r.record("key", e.text);
      k.key = std::move(e);
    }
  }
  r.choice("format");
  if (auto x = r.boolean("exactly_once")) k.exactly_once = *x;
  k.properties = parse_kafka_properties(ctx, r.node("properties"));
  if (!k.properties.empty()) {
    std::string s;
    for (const auto& [name, v] : k.properties)
      s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", name, redact_property(name, v));
    r.record("properties", "{" + s + "}");
  }
  return k;
}

}  // namespace

std::optional<Sink> parse_sink(Ctx& ctx, const YAML::Node& n, std::string_view where, bool dead_letter) {
  static const std::vector<std::string> all = section("to").names();
  const std::vector<std::string> kinds = dead_letter ? std::vector<std::string>{"file", "kafka"} : all;
  Sink s;
  s.loc = Ctx::loc(n);
  if (n.IsScalar()) {
    if (n.Scalar() == "console" && !dead_letter) {
      s.kind = ConsoleSink{};
      s.settings = {{"rows", "10 (default)"}, {"format", "table (default)"}};
      return s;
    }
    if (std::find(kinds.begin(), kinds.end(), n.Scalar()) != kinds.end()) {
      ctx.error(n,
                fmt::format("{0}: '{1}' needs its settings: write {{ {1}: {{ ... }} }}", where, n.Scalar()));
      return std::nullopt;
    }
    ctx.error(n, fmt::format("{}: '{}' is not a sink; write {}{}", where, n.Scalar(),
                             dead_letter ? "a map with file or kafka"
                                         : "console, or a map with one of console, "
                                           "file, postgres, kafka",
                             did_you_mean(n.Scalar(), kinds)));
    return std::nullopt;
  }
  if (!n.IsMap()) {
    ctx.error(n, fmt::format("{} must be a sink map (one of {}), got {}", where, fmt::join(kinds, ", "),
                             describe(n)));
    return std::nullopt;
  }
  std::vector<std::pair<std::string, YAML::Node>> given;
  for (const auto& kv : n) {
    std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) {
      ctx.error(kv.first, fmt::format("unknown sink '{}' in {} (one of {}){}", k, where,
                                      fmt::join(kinds, ", "), did_you_mean(k, kinds)));
      return std::nullopt;
    }
    given.emplace_back(k, kv.second);
  }
  if (given.size() != 1) {
    ctx.error(n, given.empty()
                     ? fmt::format("{} needs one of {}", where, fmt::join(kinds, ", "))
                     : fmt::format("{} has {} sinks in one map ({}); write a list, one sink per item", where,
                                   given.size(), given[0].first + " and " + given[1].first));
    return std::nullopt;
  }
  const auto& [kind, body] = given[0];
  s.loc = Ctx::loc(n);
  if (kind == "console")
    s.kind = console_sink(ctx, body, s.settings);
  else if (kind == "file")
    s.kind = file_sink(ctx, body, s.settings);
  else if (kind == "postgres")
    s.kind = postgres_sink(ctx, body, s.settings);
  else
    s.kind = kafka_sink(ctx, body, s.settings);
  return s;
}

std::vector<Sink> parse_sinks(Ctx& ctx, const YAML::Node& n) {
  std::vector<Sink> out;
  if (n.IsSequence()) {
    if (n.size() == 0) ctx.error(n, "to: needs at least one sink");
    for (const auto& item : n)
      if (auto s = parse_sink(ctx, item, "to", false)) out.push_back(std::move(*s));
    return out;
  }
  if (n.IsNull()) {
    ctx.error(n, "to: needs a sink (console, file, postgres or kafka)");
    return out;
  }
  if (auto s = parse_sink(ctx, n, "to", false)) out.push_back(std::move(*s));
  return out;
}

}  // namespace weir::config
