#include "config/explain.h"

#include <numeric>

#include <fmt/format.h>

#include "config/internal.h"
#include "config/redact.h"

namespace weir::config {

namespace {

std::string source_kind(const Source& s) {
  static const char* names[] = {"kafka", "socket", "files", "stdin", "generate"};
  return names[s.kind.index()];
}

std::string sink_kind(const Sink& s) {
  static const char* names[] = {"console", "file", "postgres", "kafka"};
  return names[s.kind.index()];
}

std::string settings_text(const Properties& p) {
  std::string out;
  for (const auto& [k, v] : p) out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", k, v);
  return out;
}

std::string window_text(const Window& w, bool event) {
  switch (w.kind) {
    case Window::Kind::Batch:
      return fmt::format("batch ({}, emits after every batch)", format_duration(w.length_ms));
    case Window::Kind::Tumbling:
      return fmt::format("tumbling {} (emits every {})", format_duration(w.length_ms),
                         format_duration(w.length_ms));
    case Window::Kind::Sliding:
      return fmt::format("sliding {} every {}{}", format_duration(w.length_ms), format_duration(w.every_ms),
                         event ? " (aligned to the epoch)" : "");
    case Window::Kind::Total:
      return "total (running totals since the first batch, emits after every batch)";
  }
  return "?";
}

std::string state_text(const Output& o) {
  if (!o.aggregating()) return "none (records pass through)";
  std::string per = o.group_by.empty() ? "one group" : "per group";
  switch (o.window.kind) {
    case Window::Kind::Batch:
      return fmt::format("{}: aggregates of the current batch", per);
    case Window::Kind::Tumbling:
      return fmt::format("{}: aggregates of the open window", per);
    case Window::Kind::Sliding: {
      // Panes are gcd(length, every) long (the slide itself when length is a multiple of it).
      int64_t pane = std::gcd(o.window.length_ms, o.window.every_ms);
      int64_t panes = pane > 0 ? o.window.length_ms / pane : 0;
      return fmt::format("{}: {} panes of {} (shared between overlapping windows)", per, panes,
                         format_duration(pane));
    }
    case Window::Kind::Total:
      return fmt::format("{}: running aggregates, kept for the life of the checkpoint", per);
  }
  return "?";
}

}  // namespace

std::string aggregate_type(const Job& job, const Aggregate& a) {
  switch (a.kind) {
    case AggKind::Count:
    case AggKind::CountOf:
    case AggKind::CountDistinct:
      return "int";
    case AggKind::Avg:
      return "float";
    default:
      break;
  }
  std::string arg = "any";
  if (a.arg && a.arg->op == expr::Op::Field) {
    for (const auto& f : job.fields)
      if (f.name == a.arg->name) arg = std::string(field_type_name(f.type));
  } else if (a.arg && a.arg->op == expr::Op::Literal) {
    arg = std::string(type_name(a.arg->literal.type()));
  }
  if (a.kind == AggKind::Sum) return arg == "int" ? "int" : arg == "float" ? "float" : "int or float";
  return arg;
}

std::string explain_job(const Job& job) {
  std::string s;
  auto line = [&](std::string_view indent, std::string_view label, const std::string& text) {
    s += fmt::format("{}{:<10} {}\n", indent, label, text);
  };
  s += fmt::format("job {} ({})\n", job.name, job.file);
  line("", "batch", format_duration(job.batch_ms));
  line("", "time",
       job.time.event ? fmt::format("event time from field '{}', lateness {}, idle {}", job.time.field,
                                    format_duration(job.time.lateness_ms), format_duration(job.time.idle_ms))
                      : "processing");
  std::string src = source_kind(job.source);
  if (!job.source.settings.empty()) src += " (" + settings_text(job.source.settings) + ")";
  line("", "source", src + (job.source.bounded() ? ", bounded" : ", unbounded"));
  line("", "decode", job.decode == Decode::Text ? "text (one field `line`)" : "json");
  s += "fields\n";
  for (const auto& f : job.fields) {
    std::string t =
        fmt::format("  {} <- {} : {}", f.name, f.path_text.empty() ? "(the whole line)" : f.path_text,
                    field_type_name(f.type));
    if (f.default_value) t += fmt::format(", default {}", f.default_value->to_json());
    if (f.required) t += ", required";
    if (f.type == FieldType::Time)
      t += fmt::format(", format {}", f.time_format == TimeFormat::Rfc3339   ? "rfc3339"
                                      : f.time_format == TimeFormat::EpochMs ? "epoch_ms"
                                      : f.time_format == TimeFormat::EpochS  ? "epoch_s"
                                                                             : f.strftime);
    if (f.implicit) t += " (implicit: a path used in an expression)";
    s += t + "\n";
  }
  const OnError& oe = job.on_error;
  std::string err = oe.action == OnError::Action::Skip         ? "skip"
                    : oe.action == OnError::Action::DeadLetter ? "dead_letter"
                                                               : "stop";
  err += fmt::format(", late {}, max_record_bytes {}",
                     oe.late == OnError::Late::Drop ? "drop" : "dead_letter", oe.max_record_bytes);
  if (oe.dead_letter)
    err += fmt::format(", dead letters to {} ({})", sink_kind(*oe.dead_letter),
                       settings_text(oe.dead_letter->settings));
  line("", "on_error", err);
  line("", "checkpoint",
       fmt::format("{}, every {} batch(es)",
                   job.checkpoint.dir.empty() ? "<state dir>/" + job.name : job.checkpoint.dir,
                   job.checkpoint.every));
  if (job.workers > 0)
    line("", "workers",
         fmt::format("{} record-path thread(s): the batch loop and {} parse thread(s)", job.workers,
                     job.workers - 1));
  for (const auto& o : job.outputs) {
    s += fmt::format("output {}\n", o.name);
    const char* in = "  ";
    if (o.where) line(in, "where", o.where.text);
    if (o.explode)
      line(in, "explode",
           fmt::format("{} {} as {}", o.explode->field,
                       o.explode->split ? fmt::format("split on \"{}\"", *o.explode->split) : "(a list)",
                       o.explode->as));
    if (o.select_raw) line(in, "select", "* (the whole document as _raw)");
    for (const auto& sel : o.select) line(in, "select", fmt::format("{} = {}", sel.name, sel.expr.text));
    if (o.aggregating()) {
      std::string keys;
      for (const auto& g : o.group_by) {
        std::string k = g.name;
        if (g.expr && g.expr.text != g.name) k += " = " + g.expr.text;
        keys += (keys.empty() ? "" : ", ") + k;
      }
      line(in, "group_by", keys.empty() ? "(one group)" : keys);
      line(in, "window", window_text(o.window, job.time.event));
      for (const auto& a : o.aggregate)
        line(in, "aggregate", fmt::format("{} = {} : {}", a.column, a.text, aggregate_type(job, a)));
      if (o.having) line(in, "having", o.having.text);
    }
    if (!o.order_by.empty()) {
      std::string t;
      for (const auto& ob : o.order_by)
        t += fmt::format("{}{} {}", t.empty() ? "" : ", ", ob.column, ob.desc ? "desc" : "asc");
      line(in, "order_by", t);
    }
    if (o.limit) line(in, "limit", std::to_string(*o.limit));
    line(in, "state", state_text(o));
    for (const auto& sink : o.sinks) {
      std::string t = sink_kind(sink);
      if (!sink.settings.empty()) t += " (" + settings_text(sink.settings) + ")";
      line(in, "to", t);
    }
  }
  return s;
}

}  // namespace weir::config
