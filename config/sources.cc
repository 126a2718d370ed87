// source: (spec §3): kafka, socket, files, stdin, generate (with its template).
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>

#include "config/internal.h"
#include "config/redact.h"
#include "config/schema.h"

namespace weir::config {

Properties parse_kafka_properties(Ctx& ctx, const YAML::Node& n) {
  Properties out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsMap()) {
    ctx.error(n, fmt::format("kafka properties must be a map of librdkafka properties, got {}", describe(n)));
    return out;
  }
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> scratch(rd_kafka_conf_new(),
                                                                             &rd_kafka_conf_destroy);
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      ctx.error(kv.first, "kafka property names must be strings");
      continue;
    }
    std::string name = kv.first.Scalar();
    auto value = scalar_text(ctx, kv.second, fmt::format("kafka property '{}'", name));
    if (!value) continue;
    char err[512] = {0};
    if (rd_kafka_conf_set(scratch.get(), name.c_str(), value->c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      // librdkafka's message may echo the value; for secrets say less.
      std::string why = is_secret_property(name) ? "invalid value" : std::string(err);
      ctx.error(kv.first, fmt::format("kafka property '{}': {}", name, why));
      continue;
    }
    out.emplace_back(name, *value);
  }
  return out;
}

namespace {

std::string props_text(const Properties& p) {
  std::string s;
  for (const auto& [k, v] : p) s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", k, redact_property(k, v));
  return "{" + s + "}";
}

KafkaSource kafka_source(Ctx& ctx, const YAML::Node& n, Properties& settings) {
  KafkaSource k;
  MapReader r(ctx, n, section("source.kafka"), "source.kafka", &settings);
  if (auto b = r.strings("brokers")) k.brokers = *b;
  if (auto t = r.strings("topics")) k.topics = *t;
  if (auto g = r.str("group")) k.group = *g;
  if (auto s = r.choice("start"))
    k.start = *s == "earliest" ? KafkaSource::Start::Earliest : KafkaSource::Start::Latest;
  k.properties = parse_kafka_properties(ctx, r.node("properties"));
  if (!k.properties.empty()) r.record("properties", props_text(k.properties));
  return k;
}

// Reads [lo, hi] of a numeric generator.
bool pair_of(Ctx& ctx, const YAML::Node& n, std::string_view what, std::string& lo, std::string& hi) {
  if (!n.IsSequence() || n.size() != 2 || !n[0].IsScalar() || !n[1].IsScalar()) {
    ctx.error(n, fmt::format("generator {} needs [low, high], got {}", what, describe(n)));
    return false;
  }
  lo = n[0].Scalar(), hi = n[1].Scalar();
  return true;
}

bool has_only(const YAML::Node& n, std::initializer_list<std::string_view> keys) {
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) return false;
    bool ok = false;
    for (auto k : keys) ok = ok || kv.first.Scalar() == k;
    if (!ok) return false;
  }
  return true;
}

GenNode gen_node(Ctx& ctx, const YAML::Node& n, const std::string& path) {
  GenNode g;
  if (n.IsScalar() || n.IsNull()) {
    std::string text = n.IsNull() ? "" : n.Scalar();
    if (!is_quoted(n) && text == "now_ms") {
      g.kind = GenNode::Kind::NowMs;
      return g;
    }
    g.kind = GenNode::Kind::Constant;
    std::string err;
    auto s = n.IsNull() ? std::optional<std::string>("") : substitute_env(text, err);
    if (!s) ctx.error(n, fmt::format("template {}: {}", path, err));
    g.constant = n.IsNull() ? Value() : scalar_value(s.value_or(""), is_quoted(n));
    return g;
  }
  if (n.IsSequence()) {
    ctx.error(
        n,
        fmt::format("template {}: a list is not a generator (for a choice write {{ one_of: [...] }})", path));
    return g;
  }
  // A map: a value generator when its keys are exactly a generator's, else a nested object.
  if (n["one_of"] && has_only(n, {"one_of"})) {
    g.kind = GenNode::Kind::OneOf;
    const YAML::Node& l = n["one_of"];
    if (!l.IsSequence() || l.size() == 0) {
      ctx.error(l, l.IsSequence() ? fmt::format("template {}: one_of must not be empty", path)
                                  : fmt::format("template {}: one_of needs a non-empty list, got {}", path,
                                                describe(l)));
      return g;
    }
    for (const auto& c : l) {
      if (!c.IsScalar()) {
        ctx.error(c, fmt::format("template {}: one_of choices must be scalars, got {}", path, describe(c)));
        continue;
      }
      g.choices.push_back(scalar_value(c.Scalar(), is_quoted(c)));
    }
    return g;
  }
  if (n["int"] && has_only(n, {"int"})) {
    g.kind = GenNode::Kind::IntRange;
    std::string lo, hi;
    if (!pair_of(ctx, n["int"], "int", lo, hi)) return g;
    if (!parse_int(lo, g.int_lo) || !parse_int(hi, g.int_hi) || g.int_lo > g.int_hi)
      ctx.error(n["int"],
                fmt::format("template {}: int needs two integers low <= high, got [{}, {}]", path, lo, hi));
    return g;
  }
  if (n["float"] && has_only(n, {"float"})) {
    g.kind = GenNode::Kind::FloatRange;
    std::string lo, hi;
    if (!pair_of(ctx, n["float"], "float", lo, hi)) return g;
    if (!parse_float(lo, g.float_lo) || !parse_float(hi, g.float_hi) || g.float_lo > g.float_hi)
      ctx.error(n["float"],
                fmt::format("template {}: float needs two numbers low <= high, got [{}, {}]", path, lo, hi));
    return g;
  }
  if (n["words"] && has_only(n, {"words", "min", "max"})) {
    g.kind = GenNode::Kind::Words;
    const YAML::Node& l = n["words"];
    if (!l.IsSequence() || l.size() == 0) {
      ctx.error(l, l.IsSequence()
                       ? fmt::format("template {}: words must not be empty", path)
                       : fmt::format("template {}: words needs a non-empty list, got {}", path, describe(l)));
      return g;
    }
    for (const auto& w : l)
      if (auto s = scalar_text(ctx, w, fmt::format("template {} word", path))) g.words.push_back(*s);
    int64_t mn = 1, mx = 1;
    bool ok = true;
    if (n["min"]) ok = ok && n["min"].IsScalar() && parse_int(n["min"].Scalar(), mn);
    if (n["max"]) ok = ok && n["max"].IsScalar() && parse_int(n["max"].Scalar(), mx);
    if (!n["max"]) mx = std::max<int64_t>(mn, 1);
    if (!ok || mn < 0 || mx < mn || mx > 100000) {
      ctx.error(n, fmt::format("template {}: words needs integers 0 <= min <= max <= 100000", path));
      return g;
    }
    g.min_words = int(mn), g.max_words = int(mx);
    return g;
  }
  if (n["seq"] && has_only(n, {"seq"})) {
    g.kind = GenNode::Kind::Sequence;
    if (!n["seq"].IsScalar() || n["seq"].Scalar() != "true")
      ctx.error(n["seq"],
                fmt::format("template {}: write {{ seq: true }} for the record's sequence number", path));
    return g;
  }
  g.kind = GenNode::Kind::Object;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      ctx.error(kv.first, fmt::format("template {}: keys must be strings", path));
      continue;
    }
    std::string key = kv.first.Scalar();
    g.children.emplace_back(key, gen_node(ctx, kv.second, path.empty() ? key : path + "." + key));
  }
  return g;
}

GenerateSource generate_source(Ctx& ctx, const YAML::Node& n, Properties& settings) {
  GenerateSource gs;
  MapReader r(ctx, n, section("source.generate"), "source.generate", &settings);
  if (auto rate = r.str("rate")) {
    double v = 0;
    std::string_view t = *rate;
    if (t.size() > 2 && t.substr(t.size() - 2) == "/s") t.remove_suffix(2);
    if (*rate == "max") {
      gs.rate_per_s = 0;
    } else if (parse_float(t, v) && v > 0) {
      gs.rate_per_s = v;
    } else {
      ctx.error(r.loc("rate"),
                fmt::format("source.generate.rate: '{}' is not a rate (write e.g. 1000/s, or max)", *rate));
    }
  }
  gs.limit = r.integer("limit");
  if (auto s = r.integer("seed")) gs.seed = uint64_t(*s);
  if (r.has("template")) {
    YAML::Node t = r.node("template");
    if (!t.IsMap() || t.size() == 0) {
      ctx.error(r.loc("template"),
                t.IsMap()
                    ? std::string("source.generate.template must not be empty: give at least one field")
                    : fmt::format("source.generate.template must be a non-empty map, got {}", describe(t)));
    } else {
      gs.tmpl = gen_node(ctx, t, "");
      if (gs.tmpl.kind != GenNode::Kind::Object)
        ctx.error(r.loc("template"), "source.generate.template must describe an object (a map of fields)");
      r.record("template", fmt::format("{} fields", gs.tmpl.children.size()));
    }
  }
  return gs;
}

}  // namespace

Source parse_source(Ctx& ctx, const YAML::Node& n) {
  Source src;
  src.loc = Ctx::loc(n);
  static const std::vector<std::string> kinds = section("source").names();
  if (n.IsScalar()) {
    if (n.Scalar() == "stdin") {
      src.kind = StdinSource{};
      return src;
    }
    if (std::find(kinds.begin(), kinds.end(), n.Scalar()) != kinds.end()) {
      ctx.error(
          n, fmt::format("source '{0}' needs its settings: write source: {{ {0}: {{ ... }} }}", n.Scalar()));
      return src;
    }
    ctx.error(
        n, fmt::format("source '{}' is not a source kind without settings; write stdin, or a map with one of "
                       "{}{}",
                       n.Scalar(), fmt::join(kinds, ", "), did_you_mean(n.Scalar(), kinds)));
    return src;
  }
  MapReader r(ctx, n, section("source"), "source");
  if (!r.is_map()) return src;
  std::vector<std::string> given;
  for (const auto& k : kinds)
    if (r.has(k)) given.push_back(k);
  if (given.size() != 1) {
    if (given.empty())
      ctx.error(src.loc, fmt::format("source needs exactly one of {}", fmt::join(kinds, ", ")));
    else
      ctx.error(src.loc, fmt::format("source has {} kinds ({}); a job has exactly one source", given.size(),
                                     fmt::join(given, " and ")));
    return src;
  }
  const std::string& kind = given[0];
  YAML::Node body = r.node(kind);
  src.loc = r.loc(kind);
  if (kind == "kafka") {
    src.kind = kafka_source(ctx, body, src.settings);
  } else if (kind == "socket") {
    SocketSource s;
    MapReader m(ctx, body, section("source.socket"), "source.socket", &src.settings);
    if (auto h = m.str("host")) s.host = *h;
    if (auto p = m.integer("port")) s.port = int(*p);
    src.kind = s;
  } else if (kind == "files") {
    FilesSource f;
    MapReader m(ctx, body, section("source.files"), "source.files", &src.settings);
    if (auto d = m.str("dir")) f.dir = *d;
    if (auto p = m.str("pattern")) f.pattern = *p;
    if (auto o = m.boolean("once")) f.once = *o;
    src.kind = f;
  } else if (kind == "stdin") {
    if (!body.IsNull() && !(body.IsMap() && body.size() == 0))
      ctx.error(body, "source.stdin takes no settings (write `source: stdin`)");
    src.kind = StdinSource{};
  } else {
    src.kind = generate_source(ctx, body, src.settings);
  }
  return src;
}

}  // namespace weir::config
