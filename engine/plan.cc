#include "engine/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace weir::engine {

const std::array<const char*, kMetaCount> kMetaNames = {"_topic",     "_partition", "_offset", "_key",
                                                        "_timestamp", "_file",      "_line",   "_raw"};

namespace {

constexpr std::array<Type, kMetaCount> kMetaTypes = {Type::String, Type::Int,    Type::Int, Type::String,
                                                     Type::Time,   Type::String, Type::Int, Type::String};

// Name -> slot for one scope; scopes chain (an output's own names shadow the job's).
struct Scope {
  std::unordered_map<std::string, int> names;
  const Scope* parent = nullptr;
  int find(const std::string& n) const {
    auto it = names.find(n);
    if (it != names.end()) return it->second;
    return parent ? parent->find(n) : -1;
  }
};

class Compiler {
 public:
  Compiler(const config::Job& job, JobPlan& plan, std::vector<std::string>& errors)
      : job_(job), plan_(plan), errors_(errors) {}

  void run() {
    for (const auto& f : job_.fields) {
      base_.names.emplace(f.name, add_slot(f.name, config::value_type_of(f.type)));
    }
    plan_.field_count = job_.fields.size();
    for (int m = 0; m < kMetaCount; ++m) {
      plan_.meta_slot[m] = add_slot(kMetaNames[m], kMetaTypes[m]);
      base_.names.emplace(kMetaNames[m], plan_.meta_slot[m]);
    }
    if (job_.time.event) plan_.event_slot = base_.find(job_.time.field);
    for (size_t i = 0; i < job_.outputs.size(); ++i) output(job_.outputs[i], i);
  }

 private:
  int add_slot(const std::string& name, Type t) {
    plan_.slots.push_back(Slot{name, t});
    return static_cast<int>(plan_.slots.size() - 1);
  }

  // Compiles an expression against a scope; marks metadata slots it reads as used.
  expr::Compiled compile_in(const config::Expr& e, const Scope& scope, const std::string& what,
                            const std::string& out) {
    return compile_node(e.node, scope, what, out);
  }
  expr::Compiled compile_node(const expr::NodePtr& n, const Scope& scope, const std::string& what,
                              const std::string& out) {
    if (!n) return {};
    auto r = expr::compile(n, [&](const std::string& name) {
      int s = scope.find(name);
      for (int m = 0; m < kMetaCount; ++m) {
        if (s >= 0 && s == plan_.meta_slot[m]) plan_.meta_used[m] = true;
      }
      return s;
    });
    if (auto* err = std::get_if<expr::ParseError>(&r)) {
      errors_.push_back(fmt::format("output '{}': {} at column {}: {}", out, what, err->col, err->message));
      return {};
    }
    return std::get<expr::Compiled>(r);
  }

  Type static_type(const expr::NodePtr& n, const Scope& scope) const {
    if (!n) return Type::Null;
    if (n->op == expr::Op::Field) {
      int s = scope.find(n->name);
      return s >= 0 ? plan_.slots[s].type : Type::Null;
    }
    if (n->op == expr::Op::Literal) return n->literal.type();
    return Type::Null;
  }

  void output(const config::Output& o, size_t index) {
    OutputPlan op;
    op.name = o.name;
    op.index = index;
    Scope own;
    own.parent = &base_;
    op.where = compile_in(o.where, base_, "where", o.name);
    if (o.explode) {
      op.explode_src = base_.find(o.explode->field);
      op.explode_field = o.explode->field;
      if (op.explode_src < 0)
        errors_.push_back(
            fmt::format("output '{}': explode field '{}' is not a field", o.name, o.explode->field));
      op.explode_split = o.explode->split;
      op.explode_dst = add_slot(o.explode->as, o.explode->split ? Type::String : Type::Null);
      own.names[o.explode->as] = op.explode_dst;
    }
    if (o.select_raw) {
      op.raw_slot = plan_.meta_slot[kRaw];
      plan_.meta_used[kRaw] = true;
    }
    for (const auto& s : o.select) {
      expr::Compiled c = compile_in(s.expr, own, "select '" + s.name + "'", o.name);
      int slot = add_slot(s.name, static_type(s.expr.node, own));
      own.names[s.name] = slot;
      op.select.emplace_back(slot, std::move(c));
    }
    op.aggregating = o.aggregating();
    auto& cols = op.schema.columns;
    Scope row;  // row columns for having/order_by and row-level sink keys
    if (op.aggregating) {
      op.schema.aggregating = true;
      cols.push_back({"window_start", Type::Time});
      cols.push_back({"window_end", Type::Time});
      for (const auto& k : o.group_by) {
        op.keys.push_back(compile_in(k.expr, own, "group_by '" + k.name + "'", o.name));
        cols.push_back({k.name, static_type(k.expr.node, own)});
      }
      for (const auto& a : o.aggregate) {
        op.agg_args.push_back(compile_node(a.arg, own, "aggregate '" + a.column + "'", o.name));
        if ((a.kind == config::AggKind::Sum || a.kind == config::AggKind::Avg) && a.arg) {
          Type t = expr::static_type(*a.arg, [&](const std::string& n) {
            int s = own.find(n);
            return s >= 0 ? plan_.slots[s].type : Type::Null;
          });
          if (t != Type::Int && t != Type::Float) op.numeric_args.push_back({op.agg_args.size() - 1, a.text});
        }
        op.window.aggs.push_back(a.kind);
        cols.push_back({a.column, agg_type(a, own)});
      }
      op.window.kind = o.window.kind;
      op.window.length_ms = o.window.length_ms;
      op.window.every_ms = o.window.every_ms;
      using K = config::Window::Kind;
      if (o.window.kind == K::Batch || o.window.kind == K::Total) {
        op.window.length_ms = op.window.every_ms = job_.batch_ms;
      } else if (o.window.kind == K::Tumbling) {
        op.window.every_ms = o.window.length_ms;
      }
      op.window.key_count = o.group_by.size();
      if (op.select.empty() && op.keys.size() == 1 &&
          std::all_of(o.aggregate.begin(), o.aggregate.end(), [](const config::Aggregate& a) {
            return a.kind == config::AggKind::Count && !a.arg;
          })) {
        std::optional<expr::StringKey> k = expr::string_key(op.keys[0]);
        // Exploding: only a key over the element (the same key for every element is a rare shape).
        if (k && (op.explode_dst < 0 || (k->slot == op.explode_dst && op.explode_split))) op.count_key = k;
      }
      op.window.emit_empty = o.group_by.empty();
      op.window.align_end = !job_.time.event;  // processing time: windows end on multiples of every
    } else {
      // Pass-through rows: the declared fields, the exploded value, the select fields (and _raw). A
      // select or explode name equal to a declared field's replaces that field (one column per name).
      std::set<std::string> redefined;
      if (o.explode) redefined.insert(o.explode->as);
      for (const auto& s : o.select) redefined.insert(s.name);
      for (size_t i = 0; i < job_.fields.size(); ++i) {
        if (job_.fields[i].implicit || redefined.count(job_.fields[i].name) != 0) continue;
        op.row_slots.push_back(static_cast<int>(i));
      }
      if (op.explode_dst >= 0) op.row_slots.push_back(op.explode_dst);
      for (const auto& [slot, c] : op.select) op.row_slots.push_back(slot);
      if (op.raw_slot >= 0) op.row_slots.push_back(op.raw_slot);
      for (int s : op.row_slots) cols.push_back({plan_.slots[s].name, plan_.slots[s].type});
    }
    for (size_t i = 0; i < cols.size(); ++i) row.names[cols[i].name] = static_cast<int>(i);
    if (op.aggregating) {
      op.having = compile_in(o.having, row, "having", o.name);
      op.having_text = o.having.text;
    }
    for (const auto& ob : o.order_by) {
      int c = row.find(ob.column);
      if (c < 0) {
        errors_.push_back(
            fmt::format("output '{}': order_by column '{}' is not a column", o.name, ob.column));
        continue;
      }
      op.order_by.emplace_back(c, ob.desc);
    }
    op.limit = o.limit;
    for (const auto& sink : o.sinks) {
      const auto* k = std::get_if<config::KafkaSink>(&sink.kind);
      if (k == nullptr || !k->key) {
        op.hidden_of_sink.push_back(-1);
        continue;
      }
      op.hidden_of_sink.push_back(static_cast<int>(op.hidden.size()));
      op.hidden.push_back({compile_in(*k->key, op.aggregating ? row : own, "kafka key", o.name), k->key->text,
                           expr::to_string(*k->key->node)});
    }
    plan_.outputs.push_back(std::move(op));
  }

  Type agg_type(const config::Aggregate& a, const Scope& scope) const {
    using config::AggKind;
    switch (a.kind) {
      case AggKind::Count:
      case AggKind::CountOf:
      case AggKind::CountDistinct:
        return Type::Int;
      case AggKind::Avg:
        return Type::Float;
      case AggKind::Sum: {
        Type t = static_type(a.arg, scope);
        return (t == Type::Int || t == Type::Float) ? t : Type::Null;
      }
      default:
        return static_type(a.arg, scope);
    }
  }

  const config::Job& job_;
  JobPlan& plan_;
  std::vector<std::string>& errors_;
  Scope base_;
};

}  // namespace

CompileResult compile(const config::Job& job) {
  CompileResult r;
  JobPlan plan;
  plan.meta_slot.fill(-1);
  plan.meta_used.fill(false);
  Compiler(job, plan, r.errors).run();
  if (r.errors.empty()) r.plan = std::move(plan);
  return r;
}

}  // namespace weir::engine
