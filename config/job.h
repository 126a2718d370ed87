// The typed form of a job file (spec §2–§10). Produced by config::load_job(); read by the engine,
// connectors and `weir explain`. Plain data: no I/O, no behaviour.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/expr/ast.h"
#include "engine/value.h"

namespace weir::config {

// Position in the job file, 1-based (0 = unknown).
struct Loc {
  int line = 0;
  int col = 0;
};

using Properties = std::vector<std::pair<std::string, std::string>>;  // in file order

// ---- sources (§3) ----
struct KafkaSource {
  std::vector<std::string> brokers;  // "host:port" each
  std::vector<std::string> topics;
  std::string group;  // default weir-<job>
  enum class Start { Earliest, Latest } start = Start::Latest;
  Properties properties;
};
struct SocketSource {
  std::string host = "localhost";
  int port = 0;
};
struct FilesSource {
  std::string dir;
  std::string pattern = "*";
  bool once = false;
};
struct StdinSource {};

// A generator template node: an object of children, or one value generator.
struct GenChild;
struct GenNode {
  enum class Kind {
    Object,
    OneOf,
    IntRange,
    FloatRange,
    Words,
    NowMs,
    Sequence,
    Constant
  } kind = Kind::Object;
  std::vector<GenChild> children;     // Object
  std::vector<Value> choices;         // OneOf
  int64_t int_lo = 0, int_hi = 0;     // IntRange (inclusive)
  double float_lo = 0, float_hi = 0;  // FloatRange [lo, hi)
  std::vector<std::string> words;     // Words
  int min_words = 1, max_words = 1;   // Words
  Value constant;                     // Constant
};
// A named member of an Object node. (Not std::pair<std::string, GenNode>: a pair needs its types complete
// where it is named, which GenNode is not inside itself; GCC lets it pass, clang does not.)
struct GenChild {
  GenChild(std::string n, GenNode v) : name(std::move(n)), node(std::move(v)) {}
  std::string name;
  GenNode node;
};
struct GenerateSource {
  double rate_per_s = 1000;  // 0 = max (as fast as possible)
  std::optional<int64_t> limit;
  std::optional<uint64_t> seed;
  GenNode tmpl;
};

struct Source {
  std::variant<KafkaSource, SocketSource, FilesSource, StdinSource, GenerateSource> kind;
  Loc loc;
  Properties settings;   // effective `key: value` text per declared key, secrets redacted (for explain)
  bool bounded() const;  // stdin, files with once, generate with limit
};

// ---- fields (§4) ----
struct PathStep {
  enum class Kind { Key, Index, All } kind = Kind::Key;
  std::string key;
  int64_t index = 0;
};
enum class FieldType { Any, String, Int, Float, Bool, Time };
std::string_view field_type_name(FieldType t);
Type value_type_of(FieldType t);  // Any -> Type::Null ("unknown")

enum class TimeFormat { Rfc3339, EpochMs, EpochS, Strftime };

struct Field {
  std::string name;
  std::string path_text;
  std::vector<PathStep> path;  // empty for the text decoder's `line`
  FieldType type = FieldType::Any;
  std::optional<Value> default_value;
  bool required = false;
  TimeFormat time_format = TimeFormat::Rfc3339;
  std::string strftime;   // for TimeFormat::Strftime
  bool implicit = false;  // added for a path used directly in an expression
  Loc loc;
};

// Parses a field path (spec §4: dot-separated keys, [N], [*], "quoted.keys").
// Returns an error message (and the 1-based column) when it does not parse.
struct PathError {
  int col = 1;
  std::string message;
};
std::variant<std::vector<PathStep>, PathError> parse_path(std::string_view text);

// ---- time (§6) ----
struct Time {
  bool event = false;  // false: processing time
  std::string field;
  int64_t lateness_ms = 0;
  int64_t idle_ms = 60000;
  Loc loc;
};

// ---- outputs (§5) ----
struct Window {
  enum class Kind { Batch, Tumbling, Sliding, Total } kind = Kind::Batch;
  int64_t length_ms = 0;  // Tumbling, Sliding (Batch: set to the job's batch at load)
  int64_t every_ms = 0;   // Sliding (Tumbling/Batch: = length)
  Loc loc;
  Loc length_loc, every_loc;  // where the durations were written (= loc when not written)
};

enum class AggKind { Count, CountOf, Sum, Min, Max, Avg, CountDistinct, First, Last };
std::string_view agg_name(AggKind k);

struct Aggregate {
  std::string column;
  AggKind kind = AggKind::Count;
  expr::NodePtr arg;  // null for count()
  std::string text;   // as written
  Loc loc;
  int col_base = 0;  // as Expr::col_base, for `text`
};

struct Expr {
  expr::NodePtr node;
  std::string text;
  Loc loc;
  int col_base = 0;  // > 0: file column of text's first character (on loc.line), columns map 1:1
  explicit operator bool() const { return node != nullptr; }
};

struct GroupKey {
  std::string name;  // field name, the expression's text, or the `{ name: expr }` name
  Expr expr;
};

struct Explode {
  std::string field;
  std::optional<std::string> split;  // string split; absent: the field is a list
  std::string as;
  Loc loc;
};

struct SelectItem {
  std::string name;
  Expr expr;
};

struct OrderBy {
  std::string column;
  bool desc = false;
  Loc loc;
};

// ---- sinks (§7) ----
struct ConsoleSink {
  int rows = 10;
  enum class Format { Table, Json } format = Format::Table;
};
struct FileSink {
  std::string path;
  enum class Format { Jsonl, Csv } format = Format::Jsonl;
};
struct PostgresSink {
  std::string dsn;            // after ${ENV} substitution; may hold a secret: never log it
  std::string password_file;  // optional
  std::string table;          // possibly schema-qualified: schema.table
  enum class Mode { Append, Upsert } mode = Mode::Append;
  std::vector<std::string> key;
  bool create = false;
  std::vector<std::pair<std::string, std::string>> columns;  // table column <- output column
  Loc key_loc, columns_loc;
};
struct KafkaSink {
  std::vector<std::string> brokers;  // default: the Kafka source's brokers
  std::string topic;
  std::optional<Expr> key;
  enum class Format { Json } format = Format::Json;
  bool exactly_once = false;
  Properties properties;
};

struct Sink {
  std::variant<ConsoleSink, FileSink, PostgresSink, KafkaSink> kind;
  Loc loc;
  Properties settings;  // effective `key: value` text per declared key, secrets redacted (for explain)
};

struct Output {
  std::string name;
  Loc loc;
  Expr where;
  std::optional<Explode> explode;
  std::vector<SelectItem> select;
  bool select_raw = false;  // select: { "*": true }
  std::vector<GroupKey> group_by;
  std::vector<Aggregate> aggregate;  // empty: pass-through output
  bool aggregate_written = false;    // the file has `aggregate:` (even if an entry was invalid)
  Window window;
  Expr having;
  std::vector<OrderBy> order_by;
  std::optional<int64_t> limit;
  std::vector<Sink> sinks;
  bool aggregating() const { return !aggregate.empty(); }
};

// ---- errors (§8) ----
struct OnError {
  enum class Action { Skip, DeadLetter, Stop } action = Action::Skip;
  std::optional<Sink> dead_letter;  // FileSink or KafkaSink
  enum class Late { Drop, DeadLetter } late = Late::Drop;
  int64_t max_record_bytes = 1 << 20;
};

// ---- checkpoints (§9) ----
struct Checkpoint {
  std::string dir;  // empty: <state dir>/<job>
  int every = 1;
};

enum class Decode { Json, Text };

struct Job {
  std::string file;  // path it was loaded from
  std::string name;
  int64_t batch_ms = 1000;
  Time time;
  Source source;
  Decode decode = Decode::Json;
  std::vector<Field> fields;  // declared fields, then implicit ones (paths used in expressions)
  OnError on_error;
  std::vector<Output> outputs;
  Checkpoint checkpoint;
  int workers = 0;  // record-path threads (`workers`, an extension of the spec); 0 = auto
};

}  // namespace weir::config
