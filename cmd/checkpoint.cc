#include "cmd/checkpoint.h"

#include <iostream>

#include <fmt/format.h>

#include "engine/checkpoint.h"

namespace weir::cmd {

namespace {

std::string time_or_none(int64_t ms) {
  if (ms == INT64_MIN) return "none";
  return format_rfc3339_ms(ms);
}

// "topic/partition": a Kafka position (topic names cannot hold '/'); else a file path or "generated".
bool kafka_stream(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == slash) continue;
    char c = s[i];
    bool ok = i > slash ? (c >= '0' && c <= '9')
                        : ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '.' || c == '_' || c == '-');
    if (!ok) return false;
  }
  return true;
}

std::string position_note(const Position& p) {
  if (p.aux == 0) return "";
  // Kafka (kafka::kNotAssigned, kNotAssignedYet): a partition the job did not own then.
  if (kafka_stream(p.stream)) {
    if (p.aux == 1) return " (not assigned: where the job stopped reading it)";
    if (p.aux == 2) return " (not assigned yet since the restart)";
    return fmt::format(" (aux {})", p.aux);
  }
  return fmt::format(" (line {})", p.aux);
}

int show(const std::string& dir) {
  checkpoint::Store store(dir);
  auto entries = store.list();
  if (entries.empty()) {
    std::cerr << "weir checkpoint show: no checkpoint files (ckpt-*.bin) in " << dir << "\n";
    return 1;
  }
  bool any_ok = false;
  for (const auto& e : entries) {
    if (!e.checkpoint) {
      fmt::print("{}: UNUSABLE: {}\n", e.path, e.error);
      continue;
    }
    any_ok = true;
    const auto& c = *e.checkpoint;
    fmt::print("{}:\n", e.path);
    fmt::print("  job:          {}\n", c.job);
    fmt::print("  fingerprint:  {}\n", c.job_fingerprint);
    fmt::print("  batch:        {} (ends {})\n", c.batch, time_or_none(c.batch_end_ms));
    fmt::print("  written:      {}\n", time_or_none(c.created_ms));
    fmt::print("  watermark:    {}\n", time_or_none(c.watermark_ms));
    fmt::print("  positions:\n");
    for (const auto& p : c.positions) {
      fmt::print("    {} offset {}{}\n", p.stream, p.offset, position_note(p));
    }
    fmt::print("  outputs:\n");
    for (const auto& o : c.outputs) {
      size_t rows = 0;
      for (const auto& b : o.pending) {
        for (const auto& em : b.emissions) rows += em.rows.size();
      }
      fmt::print(
          "    {} (fingerprint {}): {} groups, {} panes, {} bytes of state, {} pending batch(es) with {} "
          "row(s)\n",
          o.name, o.fingerprint, o.groups, o.panes, o.state.size(), o.pending.size(), rows);
      for (const auto& b : o.pending) fmt::print("      pending batch {}\n", b.batch_id);
      if (o.key_columns && !o.key_columns->empty()) {
        fmt::print("      pending rows end with the Kafka key(s): {}\n", fmt::join(*o.key_columns, ", "));
      }
    }
  }
  return any_ok ? 0 : 1;
}

}  // namespace

void register_checkpoint(CLI::App& app, int& exit_code) {
  auto* cp = app.add_subcommand("checkpoint", "Inspect checkpoints");
  cp->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto* sh = cp->add_subcommand("show", "Print what the checkpoints in DIR hold (newest first)");
  sh->add_option("dir", *dir, "Checkpoint directory (<state dir>/<job> or the job's checkpoint.dir)")
      ->required();
  sh->callback([dir, &exit_code] { exit_code = show(*dir); });
}

}  // namespace weir::cmd
