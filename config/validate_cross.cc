// The second phase (STYLE.md: cross-field rules after the schema checks): defaults that depend on
// other sections, implicit fields, expression checks, and rules that relate keys to each other.
// Runs even after schema errors, on whatever was parsed, so one pass reports every problem.
#include <fmt/format.h>

#include <set>

#include "config/internal.h"
#include "config/schema.h"

namespace weir::config {

namespace {

struct Meta {
  std::string_view name;
  Type type;
};
constexpr Meta kMeta[] = {{"_topic", Type::String}, {"_partition", Type::Int},  {"_offset", Type::Int},
                          {"_key", Type::String},   {"_timestamp", Type::Time}, {"_file", Type::String},
                          {"_line", Type::Int},     {"_raw", Type::String}};

const Meta* find_meta(std::string_view n) {
  for (const auto& m : kMeta)
    if (m.name == n) return &m;
  return nullptr;
}

class Checker {
 public:
  Checker(Ctx& ctx, Job& job) : ctx_(ctx), job_(job) {}

  void run() {
    names_and_defaults();
    time_and_windows();
    if (job_.decode == Decode::Text) text_fields();
    for (auto& o : job_.outputs) output(o);
  }

 private:
  const Field* declared(std::string_view n) const {
    for (const auto& f : job_.fields)
      if (f.name == n) return &f;
    return nullptr;
  }

  void names_and_defaults() {
    std::set<std::string> seen;
    for (const auto& o : job_.outputs)
      if (!o.name.empty() && !seen.insert(o.name).second)
        ctx_.error(o.loc, fmt::format("output name '{}' is used twice; names must be unique within the job",
                                      o.name));
    auto* ks = std::get_if<KafkaSource>(&job_.source.kind);
    if (ks && ks->group.empty()) {
      ks->group = "weir-" + job_.name;
      set_setting(job_.source.settings, "group", ks->group + " (default)");
    }
    auto fill_brokers = [&](Sink& s) {
      auto* k = std::get_if<KafkaSink>(&s.kind);
      if (!k || !k->brokers.empty()) return;
      if (!ks) {
        ctx_.error(
            s.loc,
            "kafka sink needs brokers: (they default to the Kafka source's, but the source is not Kafka)");
        return;
      }
      k->brokers = ks->brokers;
      set_setting(s.settings, "brokers", fmt::format("{} (the source's)", fmt::join(k->brokers, ",")));
    };
    for (auto& o : job_.outputs)
      for (auto& s : o.sinks) fill_brokers(s);
    if (job_.on_error.dead_letter) fill_brokers(*job_.on_error.dead_letter);
  }

  void time_and_windows() {
    if (job_.time.event) {
      const Field* f = declared(job_.time.field);
      if (!job_.time.field.empty() && !f) {
        ctx_.error(job_.time.loc,
                   fmt::format("time.event: '{}' is not a declared field; declare it under fields: "
                               "with type: time (or int/float epoch milliseconds)",
                               job_.time.field));
      } else if (f && f->type != FieldType::Time && f->type != FieldType::Int &&
                 f->type != FieldType::Float) {
        ctx_.error(job_.time.loc,
                   fmt::format("time.event: field '{}' has type {}; event time needs type time, int "
                               "or float (epoch milliseconds)",
                               f->name, field_type_name(f->type)));
      }
    }
    const int64_t batch = job_.batch_ms;
    for (auto& o : job_.outputs) {
      Window& w = o.window;
      if (w.kind == Window::Kind::Batch) w.length_ms = w.every_ms = batch;
      if (w.kind != Window::Kind::Tumbling && w.kind != Window::Kind::Sliding) continue;
      if (w.length_ms <= 0 || w.every_ms <= 0 || batch <= 0) continue;
      std::string kind = w.kind == Window::Kind::Tumbling ? "tumbling" : "sliding";
      if (!job_.time.event) {
        if (w.length_ms % batch != 0)
          ctx_.error(w.length_loc,
                     fmt::format("output '{}': window {} {} is not a multiple of batch {} (in "
                                 "processing time windows are made of whole batches)",
                                 o.name, kind, format_duration(w.length_ms), format_duration(batch)));
        if (w.kind == Window::Kind::Sliding && w.every_ms % batch != 0)
          ctx_.error(w.every_loc,
                     fmt::format("output '{}': window every {} is not a multiple of batch {} (in "
                                 "processing time windows are made of whole batches)",
                                 o.name, format_duration(w.every_ms), format_duration(batch)));
      }
      // A sliding length need not be a multiple of every (spec §6): panes are gcd(length, every) long. A
      // length shorter than every would leave gaps that belong to no window.
      if (w.kind == Window::Kind::Sliding && w.length_ms < w.every_ms)
        ctx_.error(w.length_loc,
                   fmt::format("output '{}': window sliding {} is shorter than its every {}: records between "
                               "two windows would be in none (use a length of at least every, or tumbling)",
                               o.name, format_duration(w.length_ms), format_duration(w.every_ms)));
    }
  }

  void text_fields() {
    bool has_line = false;
    for (auto& f : job_.fields) {
      if (f.name == "line") {
        has_line = true;
        f.path.clear();
        f.path_text.clear();
        if (f.type == FieldType::Any) f.type = FieldType::String;
        continue;
      }
      ctx_.error(f.loc,
                 fmt::format("field '{}': with decode: text each record is one string field named `line`; "
                             "other fields cannot be extracted",
                             f.name));
    }
    if (!has_line) {
      Field line;
      line.name = "line";
      line.type = FieldType::String;
      job_.fields.insert(job_.fields.begin(), std::move(line));
    }
  }

  // A name used by an expression: a declared or metadata field, else a JSON path (an implicit field).
  void resolve(const std::string& name, Loc at, std::string_view what) {
    if (declared(name) || find_meta(name)) return;
    if (job_.decode == Decode::Text) {
      ctx_.error(
          at, fmt::format("{}: '{}' is not a field; with decode: text the only field is `line`", what, name));
      return;
    }
    auto r = parse_path(name);
    if (auto* err = std::get_if<PathError>(&r)) {
      ctx_.error(at, fmt::format("{}: '{}' is neither a declared field nor a valid path: {}", what, name,
                                 err->message));
      return;
    }
    Field f;
    f.name = f.path_text = name;
    f.path = std::get<std::vector<PathStep>>(std::move(r));
    f.implicit = true;
    f.loc = at;
    job_.fields.push_back(std::move(f));
  }

  // Resolves an expression's references and runs expr::check on it.
  void expression(const Expr& e, std::string_view what, const std::set<std::string>& local,
                  const std::map<std::string, Type>& local_types, const Output& o, bool where = false) {
    if (!e) return;
    visit_expr(*e.node, [&](const expr::Node& n) {
      if (n.op != expr::Op::Field) return;
      // `where` runs before explode/select, so a name they make is, in `where`, a path of the
      // document (like any undeclared name).
      if (!where && local.count(n.name) && !declared(n.name) && !find_meta(n.name)) return;
      resolve(n.name, expr_loc(e, n.col), what);
    });
    check(e, what, local_types);
  }

  // The declared type of a name in an expression: Type::Null when unknown (type any, implicit fields).
  Type type_of(const std::string& n, const std::map<std::string, Type>& local_types) const {
    if (auto it = local_types.find(n); it != local_types.end()) return it->second;
    if (const Field* f = declared(n)) return f->implicit ? Type::Null : value_type_of(f->type);
    if (const Meta* m = find_meta(n)) return m->type;
    return Type::Null;
  }

  void check(const Expr& e, std::string_view what, const std::map<std::string, Type>& local_types) {
    auto type_of = [&](const std::string& n) { return this->type_of(n, local_types); };
    std::optional<expr::ParseError> err;
    try {
      err = expr::check(*e.node, type_of);
    } catch (const std::exception& ex) {
      err = expr::ParseError{1, ex.what()};
    }
    if (err)
      ctx_.error(expr_loc(e, err->col),
                 fmt::format("{}: {} (column {} of \"{}\")", what, err->message, err->col, e.text));
  }

  void output(Output& o) {
    std::string on = fmt::format("output '{}'", o.name);
    std::set<std::string> local;  // names this output makes: explode `as`, select names
    std::map<std::string, Type> local_types;
    if (o.explode && !o.explode->as.empty()) {
      local.insert(o.explode->as);
      local_types[o.explode->as] = o.explode->split ? Type::String : Type::Null;
    }

    expression(o.where, "where", local, local_types, o, true);
    if (o.explode && !o.explode->field.empty()) explode(o);
    // A select expression sees explode's `as` and the select names before it; any other name
    // (its own included) is a field or a path of the document.
    for (const auto& s : o.select) {
      expression(s.expr, fmt::format("select '{}'", s.name), local, local_types, o);
      local.insert(s.name);
    }
    for (const auto& g : o.group_by) expression(g.expr, "group_by", local, local_types, o);
    for (const auto& a : o.aggregate)
      if (a.arg) {
        Expr e{a.arg, a.text, a.loc, a.col_base};
        expression(e, fmt::format("aggregate '{}'", a.column), local, local_types, o);
        numeric_argument(a, e, local_types);
      }
    if (!o.aggregating() && !o.aggregate_written) {  // a bad aggregate entry is reported by itself
      if (!o.group_by.empty()) ctx_.error(o.loc, fmt::format("{}: group_by needs aggregate:", on));
      if (o.having) ctx_.error(o.having.loc, fmt::format("{}: having needs aggregate:", on));
      if (o.window.kind != Window::Kind::Batch)
        ctx_.error(o.window.loc,
                   fmt::format("{}: window needs aggregate: (an output without aggregate passes "
                               "records through)",
                               on));
    }
    columns(o, on, local);
  }

  // sum() and avg() add numbers (spec §5): an argument whose type is known before running and is not a
  // number (string, bool, time, list) is an error. An argument of unknown type (type any, a path, a select
  // name) is checked per record instead: a non-numeric value makes the record bad (docs/semantics.md).
  void numeric_argument(const Aggregate& a, const Expr& e, const std::map<std::string, Type>& local_types) {
    if (a.kind != AggKind::Sum && a.kind != AggKind::Avg) return;
    Type t = expr::static_type(*a.arg, [&](const std::string& n) { return type_of(n, local_types); });
    if (t == Type::Null || t == Type::Int || t == Type::Float) return;
    std::string_view fn = a.kind == AggKind::Sum ? "sum" : "avg";
    ctx_.error(expr_loc(e, a.arg->col),
               fmt::format("aggregate '{}': {}() expects a number, got {} (column {} of \"{}\"){}", a.column,
                           fn, type_name(t), a.arg->col, e.text,
                           t == Type::String ? "; to_float() converts a numeric string" : ""));
  }

  void explode(Output& o) {
    Explode& x = *o.explode;
    if (const Field* f = declared(x.field)) {
      if (x.split && f->type != FieldType::String && f->type != FieldType::Any)
        ctx_.error(x.loc, fmt::format("explode: field '{}' has type {}; split needs a string", x.field,
                                      field_type_name(f->type)));
      if (!x.split && f->type != FieldType::Any)
        ctx_.error(x.loc,
                   fmt::format("explode: field '{}' has type {}; without split: it must be a list (add "
                               "split: \" \" to split a string)",
                               x.field, field_type_name(f->type)));
      return;
    }
    if (find_meta(x.field)) return;
    if (job_.decode == Decode::Text) {
      ctx_.error(x.loc, fmt::format("explode: unknown field '{}'; with decode: text the only field is `line`",
                                    x.field));
      return;
    }
    auto parsed = parse_path(x.field);
    if (auto* err = std::get_if<PathError>(&parsed)) {
      ctx_.error(x.loc, fmt::format("explode: unknown field '{}': not a declared field, and not a path ({})",
                                    x.field, err->message));
      return;
    }
    resolve(x.field, x.loc, "explode");
  }

  void columns(Output& o, const std::string& on, const std::set<std::string>& local) {
    std::vector<std::string> cols;
    std::map<std::string, Type> types;
    auto add = [&](const std::string& c, Loc at) {
      if (std::find(cols.begin(), cols.end(), c) != cols.end())
        ctx_.error(at, fmt::format("{}: column '{}' appears twice in the output's rows", on, c));
      cols.push_back(c);
    };
    if (o.aggregating()) {
      cols = {"window_start", "window_end"};
      types = {{"window_start", Type::Time}, {"window_end", Type::Time}};
      for (const auto& g : o.group_by) add(g.name, g.expr.loc);
      for (const auto& a : o.aggregate) add(a.column, a.loc);
    } else {
      for (const auto& f : job_.fields)
        if (!f.implicit) cols.push_back(f.name);
      for (const auto& n : local) cols.push_back(n);
      if (o.select_raw) cols.push_back("_raw");
    }
    if (o.having) {
      visit_expr(*o.having.node, [&](const expr::Node& n) {
        if (n.op != expr::Op::Field || std::find(cols.begin(), cols.end(), n.name) != cols.end()) return;
        ctx_.error(expr_loc(o.having, n.col),
                   fmt::format("having: '{}' is not a column of {} (having can use {}){}", n.name, on,
                               fmt::join(cols, ", "), did_you_mean(n.name, cols)));
      });
      check(o.having, "having", types);
    }
    for (const auto& ob : o.order_by)
      if (std::find(cols.begin(), cols.end(), ob.column) == cols.end())
        ctx_.error(ob.loc, fmt::format("order_by: '{}' is not a column of {} (columns: {}){}", ob.column, on,
                                       fmt::join(cols, ", "), did_you_mean(ob.column, cols)));
    for (auto& s : o.sinks) {
      if (auto* pg = std::get_if<PostgresSink>(&s.kind)) postgres_columns(*pg, cols, on);
      if (auto* k = std::get_if<KafkaSink>(&s.kind); k && k->key && *k->key) {
        if (o.aggregating()) {
          visit_expr(*k->key->node, [&](const expr::Node& n) {
            if (n.op == expr::Op::Field && std::find(cols.begin(), cols.end(), n.name) == cols.end())
              ctx_.error(expr_loc(*k->key, n.col),
                         fmt::format("kafka.key: '{}' is not a column of {} (columns: {}){}", n.name, on,
                                     fmt::join(cols, ", "), did_you_mean(n.name, cols)));
          });
          check(*k->key, "kafka.key", types);
        } else {
          expression(*k->key, "kafka.key", local, {}, o);
        }
      }
    }
  }

  void postgres_columns(const PostgresSink& pg, const std::vector<std::string>& cols, const std::string& on) {
    std::vector<std::string> table_cols = cols;
    for (const auto& [table_col, out_col] : pg.columns) {
      if (std::find(cols.begin(), cols.end(), out_col) == cols.end())
        ctx_.error(pg.columns_loc,
                   fmt::format("postgres.columns: '{}' is not a column of {} (columns: {}){}", out_col, on,
                               fmt::join(cols, ", "), did_you_mean(out_col, cols)));
      std::replace(table_cols.begin(), table_cols.end(), out_col, table_col);
    }
    for (const auto& k : pg.key)
      if (std::find(table_cols.begin(), table_cols.end(), k) == table_cols.end() &&
          std::find(cols.begin(), cols.end(), k) == cols.end())
        ctx_.error(pg.key_loc, fmt::format("postgres.key: '{}' is not a column of {} (columns: {}){}", k, on,
                                           fmt::join(table_cols, ", "), did_you_mean(k, table_cols)));
  }

  Ctx& ctx_;
  Job& job_;
};

}  // namespace

void validate_cross(Ctx& ctx, Job& job) {
  Checker(ctx, job).run();
}

}  // namespace weir::config
