// outputs[] (spec §5): where, explode, select, group_by, aggregate, window, having, order_by, limit, to.
#include <fmt/format.h>

#include "config/internal.h"
#include "config/schema.h"

namespace weir::config {

namespace {

struct AggDecl {
  std::string_view name;
  int min_args, max_args;
};
constexpr AggDecl kAggs[] = {{"count", 0, 1}, {"sum", 1, 1}, {"min", 1, 1},
                             {"max", 1, 1},   {"avg", 1, 1}, {"count_distinct", 1, 1},
                             {"first", 1, 1}, {"last", 1, 1}};

AggKind agg_kind(std::string_view name, size_t args) {
  if (name == "count") return args == 0 ? AggKind::Count : AggKind::CountOf;
  if (name == "sum") return AggKind::Sum;
  if (name == "min") return AggKind::Min;
  if (name == "max") return AggKind::Max;
  if (name == "avg") return AggKind::Avg;
  if (name == "count_distinct") return AggKind::CountDistinct;
  if (name == "first") return AggKind::First;
  return AggKind::Last;
}

std::optional<Aggregate> parse_aggregate(Ctx& ctx, const std::string& column, const YAML::Node& n) {
  std::string what = fmt::format("aggregate '{}'", column);
  Expr e = parse_expr(ctx, n, what);
  if (!e) return std::nullopt;
  const expr::Node& call = *e.node;
  std::vector<std::string> names;
  for (const auto& a : kAggs) names.emplace_back(a.name);
  if (call.op != expr::Op::Call) {
    ctx.error(e.loc, fmt::format("{}: \"{}\" is not an aggregate call; write one of {}(...)", what, e.text,
                                 fmt::join(names, "(), ")));
    return std::nullopt;
  }
  const AggDecl* decl = nullptr;
  for (const auto& a : kAggs)
    if (a.name == call.name) decl = &a;
  if (!decl) {
    ctx.error(expr_loc(e, call.col),
              fmt::format("{}: unknown aggregate '{}'{}; aggregates are {}", what, call.name,
                          did_you_mean(call.name, names), fmt::join(names, ", ")));
    return std::nullopt;
  }
  int n_args = int(call.args.size());
  if (n_args < decl->min_args || n_args > decl->max_args) {
    std::string want = decl->min_args == decl->max_args
                           ? fmt::format("exactly {} argument", decl->min_args)
                           : fmt::format("{} or {} arguments", decl->min_args, decl->max_args);
    ctx.error(expr_loc(e, call.col), fmt::format("{}: {}() takes {}, got {}", what, call.name, want, n_args));
    return std::nullopt;
  }
  Aggregate a;
  a.column = column;
  a.kind = agg_kind(call.name, call.args.size());
  a.arg = call.args.empty() ? nullptr : call.args[0];
  a.text = e.text;
  a.loc = e.loc;
  a.col_base = e.col_base;
  return a;
}

GroupKey parse_group_key(Ctx& ctx, const YAML::Node& item) {
  GroupKey k;
  if (item.IsMap() && item.size() == 1) {
    const auto kv = *item.begin();
    auto name = scalar_text(ctx, kv.first, "group_by name");
    k.name = name.value_or("");
    k.expr = parse_expr(ctx, kv.second, fmt::format("group_by '{}'", k.name));
    if (name && k.name.empty()) ctx.error(kv.first, "group_by: a key name must not be empty");
    return k;
  }
  if (!item.IsScalar()) {
    ctx.error(item, fmt::format("group_by items are field names, expressions or {{ name: expr }}, got {}",
                                describe(item)));
    return k;
  }
  k.expr = parse_expr(ctx, item, "group_by");
  k.name = k.expr.text;
  return k;
}

Window parse_window(Ctx& ctx, MapReader& out) {
  Window w;
  w.loc = w.length_loc = w.every_loc = out.loc("window");
  if (!out.has("window")) return w;
  YAML::Node n = out.node("window");
  if (n.IsScalar()) {
    if (n.Scalar() == "batch") return w;
    if (n.Scalar() == "total") {
      w.kind = Window::Kind::Total;
      return w;
    }
    // tumbling and sliding need durations, so they are maps: name the map form rather than suggest the
    // word itself (`window: tumbling` must not get "did you mean 'tumbling'?").
    const std::string& word = n.Scalar();
    if (word == "tumbling") {
      ctx.error(n, "window 'tumbling' needs a duration: write window: { tumbling: 1m }");
      return w;
    }
    if (word == "sliding") {
      ctx.error(n, "window 'sliding' needs a length and a slide: write window: { sliding: 1m, every: 10s }");
      return w;
    }
    std::string hint;
    if (auto c = closest(word, {"batch", "total", "tumbling", "sliding"})) {
      hint = *c == "tumbling"  ? " (did you mean { tumbling: D }?)"
             : *c == "sliding" ? " (did you mean { sliding: D, every: D }?)"
                               : fmt::format(" (did you mean '{}'?)", *c);
    }
    ctx.error(n,
              fmt::format("window must be batch, total, {{ tumbling: D }} or {{ sliding: D, every: D }}, got "
                          "'{}'{}",
                          word, hint));
    return w;
  }
  MapReader r(ctx, n, section("window"), "window");
  if (!r.is_map()) return w;
  bool tumbling = r.has("tumbling"), sliding = r.has("sliding");
  if (tumbling == sliding) {
    ctx.error(w.loc, tumbling ? "window has both tumbling and sliding; choose one"
                              : "window needs tumbling: D or sliding: D with every: D");
    return w;
  }
  if (tumbling) {
    w.kind = Window::Kind::Tumbling;
    w.length_loc = w.every_loc = r.loc("tumbling");
    w.length_ms = w.every_ms = r.duration("tumbling").value_or(0);
    if (r.has("every")) ctx.error(r.loc("every"), "window: every applies to sliding windows only");
    return w;
  }
  w.kind = Window::Kind::Sliding;
  w.length_loc = r.loc("sliding");
  w.every_loc = r.loc("every");
  w.length_ms = r.duration("sliding").value_or(0);
  if (!r.has("every"))
    ctx.error(w.loc,
              "a sliding window needs every: D (how often it emits), e.g. { sliding: 60s, every: 5s }");
  else
    w.every_ms = r.duration("every").value_or(0);
  return w;
}

std::optional<OrderBy> parse_order(Ctx& ctx, const YAML::Node& item) {
  auto text = scalar_text(ctx, item, "order_by item");
  if (!text) return std::nullopt;
  OrderBy o;
  o.loc = Ctx::loc(item);
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text->size()) {
    size_t b = text->find_first_not_of(' ', i);
    if (b == std::string::npos) break;
    size_t e = text->find(' ', b);
    if (e == std::string::npos) e = text->size();
    words.push_back(text->substr(b, e - b));
    i = e;
  }
  auto lower = [](std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  if (words.empty() || words.size() > 2 ||
      (words.size() == 2 && lower(words[1]) != "asc" && lower(words[1]) != "desc")) {
    ctx.error(item, fmt::format("order_by: '{}' must be `column`, `column asc` or `column desc`", *text));
    return std::nullopt;
  }
  o.column = words[0];
  o.desc = words.size() == 2 && lower(words[1]) == "desc";
  return o;
}

}  // namespace

Output parse_output(Ctx& ctx, const YAML::Node& n, int index) {
  Output o;
  o.loc = Ctx::loc(n);
  std::string what = fmt::format("outputs[{}]", index);
  if (n.IsMap() && n["name"] && n["name"].IsScalar()) what = fmt::format("output '{}'", n["name"].Scalar());
  MapReader r(ctx, n, section("outputs[]"), what);
  if (!r.is_map()) return o;
  if (auto name = r.str("name")) {
    o.name = *name;
    if (!valid_name(o.name))
      ctx.error(r.loc("name"), fmt::format("output name '{}' must match [a-z0-9_-]+", o.name));
  }
  if (r.has("where")) o.where = parse_expr(ctx, r.node("where"), "where");
  if (r.has("explode")) {
    MapReader x(ctx, r.node("explode"), section("explode"), "explode");
    Explode ex;
    ex.loc = r.loc("explode");
    ex.field = x.str("field").value_or("");
    ex.split = x.str("split");
    if (ex.split && ex.split->empty()) ctx.error(x.loc("split"), "explode.split must not be empty");
    ex.as = x.str("as").value_or("");
    if (x.is_map()) o.explode = std::move(ex);
  }
  if (r.has("select")) {
    YAML::Node sel = r.node("select");
    if (!sel.IsMap()) {
      ctx.error(r.loc("select"),
                fmt::format("select must be a map of name: expression, got {}", describe(sel)));
    } else {
      for (const auto& kv : sel) {
        auto name = scalar_text(ctx, kv.first, "select name");
        if (!name) continue;
        if (*name == "*") {
          if (!kv.second.IsScalar() || kv.second.Scalar() != "true")
            ctx.error(kv.second, "select: write `\"*\": true` to keep the whole document as _raw");
          o.select_raw = true;
          continue;
        }
        o.select.push_back(SelectItem{*name, parse_expr(ctx, kv.second, fmt::format("select '{}'", *name))});
      }
    }
  }
  if (r.has("group_by")) {
    YAML::Node g = r.node("group_by");
    if (g.IsSequence()) {
      for (const auto& item : g) o.group_by.push_back(parse_group_key(ctx, item));
    } else if (g.IsScalar()) {
      o.group_by.push_back(parse_group_key(ctx, g));
    } else {
      ctx.error(r.loc("group_by"), fmt::format("group_by must be a list, got {}", describe(g)));
    }
  }
  if (r.has("aggregate")) {
    o.aggregate_written = true;
    YAML::Node a = r.node("aggregate");
    if (!a.IsMap()) {
      ctx.error(
          r.loc("aggregate"),
          fmt::format("aggregate must be a map of column: call, e.g. {{ n: count() }}, got {}", describe(a)));
    } else if (a.size() == 0) {
      ctx.error(r.loc("aggregate"),
                "aggregate must not be empty: give at least one column, e.g. { n: count() } (or leave "
                "aggregate out to pass records through)");
    } else {
      for (const auto& kv : a) {
        auto col = scalar_text(ctx, kv.first, "aggregate column");
        if (!col) continue;
        if (auto agg = parse_aggregate(ctx, *col, kv.second)) o.aggregate.push_back(std::move(*agg));
      }
    }
  }
  o.window = parse_window(ctx, r);
  if (r.has("having")) o.having = parse_expr(ctx, r.node("having"), "having");
  if (r.has("order_by")) {
    YAML::Node ob = r.node("order_by");
    if (ob.IsSequence()) {
      for (const auto& item : ob)
        if (auto x = parse_order(ctx, item)) o.order_by.push_back(*x);
    } else if (ob.IsScalar()) {
      if (auto x = parse_order(ctx, ob)) o.order_by.push_back(*x);
    } else {
      ctx.error(r.loc("order_by"), fmt::format("order_by must be a list, got {}", describe(ob)));
    }
  }
  o.limit = r.integer("limit");
  if (r.has("to")) {
    if (r.node("to").IsNull())
      ctx.error(r.loc("to"), "to: needs a sink (console, file, postgres or kafka)");
    else
      o.sinks = parse_sinks(ctx, r.node("to"));
  }
  return o;
}

}  // namespace weir::config
