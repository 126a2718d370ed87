// The declarations of every job-file key. Edit here to add a key; docs/job-reference.md is generated
// from this table (tests/unit/config/reference_test.cc checks it is up to date).
#include "config/schema.h"

#include <fmt/format.h>

#include <cassert>

namespace weir::config {

namespace {
using K = KeyKind;
constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

std::vector<SectionDecl> build() {
  return {
      {"(top level)",
       "Top level (§2)",
       {
           {"job", K::String, "", "Job name, [a-z0-9_-]+; default: the file name without .yaml."},
           {"batch",
            K::Duration,
            "1s",
            "Micro-batch interval (processing time) or tumbling unit (event time).",
            false,
            {},
            1,
            kMaxInt},
           {"time",
            K::Other,
            "processing",
            "`processing`, or a map with `event`, `lateness`, `idle`.",
            false,
            {},
            0,
            0,
            "processing or map"},
           {"source",
            K::Other,
            "",
            "Exactly one source: kafka, socket, files, stdin or generate.",
            true,
            {},
            0,
            0,
            "map or `stdin`"},
           {"decode",
            K::Enum,
            "json",
            "json: each message is a JSON document; text: one field `line`.",
            false,
            {"json", "text"}},
           {"fields", K::Map, "", "Named fields pulled out of each document: name -> path or map."},
           {"on_error", K::Map, "", "What happens to bad records."},
           {"outputs", K::List, "", "Non-empty list of outputs.", true},
           {"checkpoint", K::Map, "", "Where and how often state is saved."},
           {"workers",
            K::Other,
            "auto",
            "Record-path threads: the batch loop and N-1 parse threads (1: the batch loop alone); auto: 2 "
            "on >= 2 cores, else 1.",
            false,
            {},
            1,
            64,
            "integer 1-64 or `auto`"},
       }},
      {"time",
       "time (§6)",
       {
           {"event", K::String, "", "Declared field of type time, int or float holding the event time.",
            true},
           {"lateness",
            K::Duration,
            "0s",
            "Watermark = largest event time seen minus this.",
            false,
            {},
            0,
            kMaxInt},
           {"idle",
            K::Duration,
            "1m",
            "A partition without records this long stops holding the watermark.",
            false,
            {},
            0,
            kMaxInt},
       }},
      {"source",
       "source (§3): exactly one of",
       {
           {"kafka", K::Map, "", "Consume Kafka topics."},
           {"socket", K::Map, "", "TCP client, one record per line."},
           {"files", K::Map, "", "Files in a directory, one record per line."},
           {"stdin",
            K::Other,
            "",
            "Standard input, one record per line (bounded).",
            false,
            {},
            0,
            0,
            "nothing"},
           {"generate", K::Map, "", "Synthetic JSON documents."},
       }},
      {"source.kafka",
       "source.kafka",
       {
           {"brokers", K::Strings, "", "\"h1:9092,h2:9092\" or a list.", true},
           {"topics", K::Strings, "", "One or more topics.", true},
           {"group", K::String, "weir-<job>", "Consumer group."},
           {"start",
            K::Enum,
            "latest",
            "Where to begin when the group has no committed offset.",
            false,
            {"earliest", "latest"}},
           {"properties", K::Map, "", "librdkafka properties, passed as-is (checked at load)."},
       }},
      {"source.socket",
       "source.socket",
       {
           {"host", K::String, "localhost", "Host to connect to."},
           {"port", K::Int, "", "TCP port.", true, {}, 1, 65535},
       }},
      {"source.files",
       "source.files",
       {
           {"dir", K::String, "", "Directory to read.", true},
           {"pattern", K::String, "*", "File name glob."},
           {"once", K::Bool, "false", "Read the files present at start, then end (bounded)."},
       }},
      {"source.generate",
       "source.generate",
       {
           {"rate",
            K::Other,
            "1000/s",
            "Documents per second (`N/s`), or `max`.",
            false,
            {},
            0,
            0,
            "N/s or max"},
           {"limit", K::Int, "", "Stop after this many documents (bounded when set).", false, {}, 0, kMaxInt},
           {"seed", K::Int, "", "Same seed -> same documents.", false, {}, 0, kMaxInt},
           {"template", K::Map, "", "The document: one_of, int, float, words, seq, now_ms, constants, maps.",
            true},
       }},
      {"fields.<name>",
       "fields.<name> (§4) — or just the path as a string",
       {
           {"path", K::String, "<name>", "Dot-separated keys, [N], [*], \"quoted.keys\"."},
           {"type",
            K::Enum,
            "any",
            "Declared type; a value that does not convert makes the record bad.",
            false,
            {"string", "int", "float", "bool", "time", "any"}},
           {"default",
            K::Other,
            "",
            "Used when the path is missing or null; of the field's type. A `time` default is read in the "
            "field's "
            "`format` (epoch_s: `1484148840`, rfc3339: `\"2017-01-11T15:34:00Z\"`) and lies in years "
            "0000-9999.",
            false,
            {},
            0,
            0,
            "scalar"},
           {"required", K::Bool, "false", "Missing/null makes the record bad."},
           {"format", K::String, "rfc3339", "Time format: epoch_ms, epoch_s, rfc3339 or a strftime pattern."},
       }},
      {"outputs[]",
       "outputs[] (§5)",
       {
           {"name", K::String, "", "Unique within the job, [a-z0-9_-]+.", true},
           {"where", K::Expr, "", "Keep records where this is true."},
           {"explode", K::Map, "", "One record per token / list element."},
           {"select", K::Map, "", "New field name -> expression; `*: true` keeps the document as `_raw`."},
           {"group_by", K::List, "", "Field names or expressions (`{ name: expr }` to name one)."},
           {"aggregate", K::Map, "", "Column -> count() count(x) sum min max avg count_distinct first last."},
           {"window",
            K::Other,
            "batch",
            "batch, total, { tumbling: D } or { sliding: D, every: D }.",
            false,
            {},
            0,
            0,
            "batch, total or map"},
           {"having", K::Expr, "", "Expression over group keys, aggregate columns, window_start/end."},
           {"order_by", K::List, "", "`column [asc|desc]` items."},
           {"limit", K::Int, "", "Keep the first N rows of each emission.", false, {}, 0, kMaxInt},
           {"to", K::Other, "", "`console`, a sink map, or a list of them.", true, {}, 0, 0, "sink or list"},
       }},
      {"explode",
       "outputs[].explode",
       {
           {"field", K::String, "", "Field name or path to explode.", true},
           {"split", K::String, "", "Split a string on this separator; absent: the field is a list."},
           {"as", K::String, "", "Name of the new field.", true},
       }},
      {"window",
       "outputs[].window (map form)",
       {
           {"tumbling", K::Duration, "", "Length of a tumbling window.", false, {}, 1, kMaxInt},
           {"sliding", K::Duration, "", "Length of a sliding window.", false, {}, 1, kMaxInt},
           {"every", K::Duration, "", "Slide of a sliding window.", false, {}, 1, kMaxInt},
       }},
      {"to",
       "sinks (§7): one of",
       {
           {"console", K::Map, "", "Print each emission (also written `to: console`)."},
           {"file", K::Map, "", "Append rows to a file."},
           {"postgres", K::Map, "", "Write rows to a PostgreSQL table."},
           {"kafka", K::Map, "", "Produce rows to a Kafka topic."},
       }},
      {"to.console",
       "console",
       {
           {"rows", K::Int, "10", "Rows shown per emission.", false, {}, 0, kMaxInt},
           {"format", K::Enum, "table", "Output format.", false, {"table", "json"}},
       }},
      {"to.file",
       "file",
       {
           {"path", K::String, "", "File to append to.", true},
           {"format", K::Enum, "jsonl", "Row format.", false, {"jsonl", "csv"}},
       }},
      {"to.postgres",
       "postgres",
       {
           {"dsn", K::String, "", "libpq keyword string or postgresql:// URL.", true, {}, 0, 0, {}, true},
           {"password_file", K::String, "", "File holding the password."},
           {"table", K::String, "", "Table, optionally schema-qualified.", true},
           {"mode", K::Enum, "append", "upsert needs `key`.", false, {"append", "upsert"}},
           {"key", K::Strings, "", "Key columns for upsert."},
           {"create", K::Bool, "false", "Create the table if missing."},
           {"columns", K::Map, "", "Renames: table column <- output column."},
       }},
      {"to.kafka",
       "kafka (sink)",
       {
           {"brokers", K::Strings, "<source brokers>", "Default: the Kafka source's brokers."},
           {"topic", K::String, "", "Topic to produce to.", true},
           {"key", K::Expr, "", "Field or expression for the message key."},
           {"format", K::Enum, "json", "The row as a JSON object.", false, {"json"}},
           {"exactly_once", K::Bool, "false", "Transactional producer, committed with the batch."},
           {"properties", K::Map, "", "librdkafka properties, passed as-is (checked at load)."},
       }},
      {"on_error",
       "on_error (§8)",
       {
           {"action",
            K::Enum,
            "skip",
            "What to do with a bad record.",
            false,
            {"skip", "dead_letter", "stop"}},
           {"dead_letter", K::Map, "", "A file or kafka sink; required when action or late is dead_letter."},
           {"late",
            K::Enum,
            "drop",
            "Event time: what to do with late records.",
            false,
            {"drop", "dead_letter"}},
           {"max_record_bytes", K::Bytes, "1MiB", "Larger records are bad records.", false, {}, 1, kMaxInt},
       }},
      {"checkpoint",
       "checkpoint (§9)",
       {
           {"dir", K::String, "<state dir>/<job>", "Checkpoint directory."},
           {"every", K::Int, "1", "Batches between checkpoints.", false, {}, 1, 1000000},
       }},
  };
}
}  // namespace

const KeyDecl* SectionDecl::find(std::string_view name) const {
  for (const auto& k : keys)
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string> SectionDecl::names() const {
  std::vector<std::string> out;
  for (const auto& k : keys) out.emplace_back(k.name);
  return out;
}

const std::vector<SectionDecl>& sections() {
  static const std::vector<SectionDecl> all = build();
  return all;
}

const SectionDecl& section(std::string_view path) {
  for (const auto& s : sections())
    if (s.path == path) return s;
  assert(false && "undeclared section");
  return sections().front();
}

std::string key_type_text(const KeyDecl& k) {
  switch (k.kind) {
    case K::String:
      return "string";
    case K::Int: {
      std::string t = "int";
      bool lo = k.min != std::numeric_limits<int64_t>::min(), hi = k.max != kMaxInt;
      if (lo && hi) return fmt::format("int {}..{}", k.min, k.max);
      if (lo) return fmt::format("int ≥ {}", k.min);
      return t;
    }
    case K::Bool:
      return "bool";
    case K::Duration:
      return "duration";
    case K::Bytes:
      return "bytes";
    case K::Enum: {
      std::string t;
      for (auto a : k.allowed) t += (t.empty() ? "" : " \\| ") + std::string(a);
      return t;
    }
    case K::Expr:
      return "expression";
    case K::Strings:
      return "string or list";
    case K::Map:
      return "map";
    case K::List:
      return "list";
    case K::Other:
      return std::string(k.type);
  }
  return "?";
}

std::string reference_markdown() {
  std::string out =
      "# Job file reference\n\n"
      "Generated from the key declarations in `config/schema.cc` (do not edit by hand; run the\n"
      "config unit tests with `WEIR_UPDATE_DOCS=1` to regenerate). The contract with examples is\n"
      "the job spec; this is the complete list of keys `weir validate` accepts.\n\n"
      "Durations: an integer followed by `ms`, `s`, `m` or `h`. Byte sizes: an integer, optionally\n"
      "followed by `B`, `KB`, `MB`, `GB` (powers of 1000) or `KiB`, `MiB`, `GiB` (powers of 1024).\n"
      "`${NAME}` in any string value is replaced by the environment variable NAME (unset: error),\n"
      "`${NAME:-default}` gives a default, `$${` is a literal `${`.\n";
  for (const auto& s : sections()) {
    out += fmt::format("\n## {}\n\n| key | type | default | required | meaning |\n|---|---|---|---|---|\n",
                       s.title);
    for (const auto& k : s.keys) {
      std::string def = k.def.empty() ? "" : fmt::format("`{}`", k.def);
      out += fmt::format("| `{}` | {} | {} | {} | {} |\n", k.name, key_type_text(k), def,
                         k.required ? "yes" : "", k.doc);
    }
  }
  return out;
}

}  // namespace weir::config
