// The PostgreSQL sink's checks and translations that need no server: DSN handling (password file,
// redaction), table/column identifiers, the output→table column mapping and the type mapping.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/sink.h"
#include "engine/value.h"

namespace weir::pg {

// ---- connection string ----

// The libpq connection string weir connects with: `dsn` (keyword string or postgresql:// URL) parsed by
// libpq, with `password=` taken from `password_file` (trailing newline trimmed) when one is given, and
// client_encoding=UTF8 / fallback_application_name=weir added. On error, `error` says what is wrong
// without quoting any part of the DSN (it may hold a secret).
struct ConnInfo {
  std::string conninfo;  // keyword=value form; holds the password: never log it
  std::string summary;   // "host=... port=... dbname=..." for log lines
  std::string error;     // non-empty: not usable
};
ConnInfo build_conninfo(const std::string& dsn, const std::string& password_file);

// The DSN with every secret replaced by "***" (keyword form), or "<unparseable dsn>".
std::string redact_dsn(std::string_view dsn);
// Only where it points: "host=H port=P dbname=D" (keys libpq would default are left out).
std::string dsn_summary(std::string_view dsn);

// ---- identifiers ----

// A table name from the job file: `table` or `schema.table`, each part [A-Za-z_][A-Za-z0-9_]* and at
// most 63 bytes. `schema` is empty when unqualified.
struct TableName {
  std::string schema;
  std::string table;
  std::string display() const { return schema.empty() ? table : schema + "." + table; }
};
// Returns an error message, or nullopt with *out filled.
std::optional<std::string> parse_table_name(std::string_view text, TableName* out);

// A column name: non-empty, at most 63 bytes, valid UTF-8, no NUL (always quoted in SQL).
std::optional<std::string> check_column_name(std::string_view name);

// Double-quoted SQL identifier ("a""b"), for names already checked above.
std::string quote_ident(std::string_view name);

// ---- types ----

// The PostgreSQL column types the sink writes or accepts in an existing table.
enum class PgType {
  Timestamptz,
  Timestamp,
  Bigint,
  Numeric,
  Double,
  Text,
  Varchar,
  Boolean,
  Jsonb,
  Json,
  Other
};

// From information_schema.columns.data_type ("bigint", "timestamp with time zone", ...).
PgType pg_type_from_catalog(std::string_view data_type);
// The SQL name used in CREATE TABLE.
std::string_view pg_type_sql(PgType t);
// The column type `create` uses for a row type (Null, i.e. unknown, maps to text).
PgType pg_type_for(Type t);
// Whether an existing column of type `found` can take values of row type `t` (t != Null).
bool accepts(PgType found, Type t);

// ---- columns ----

struct ColumnMap {
  std::string table_column;  // name in the table
  int output_index = 0;      // index into the output's rows
  Type type = Type::Null;    // row type (Null: unknown until data arrives)
};

// The table columns for an output: every output column, named as in the schema unless renamed by
// `renames` (table column <- output column). Returns an error message, or nullopt with *out filled.
std::optional<std::string> map_columns(const RowSchema& schema,
                                       const std::vector<std::pair<std::string, std::string>>& renames,
                                       std::vector<ColumnMap>* out);

// Indexes into `cols` of the upsert key. Each key name is a table column, or an output column (then its
// possibly renamed table column). Returns an error message, or nullopt with *out filled.
std::optional<std::string> resolve_key(const std::vector<ColumnMap>& cols, const RowSchema& schema,
                                       const std::vector<std::string>& key, std::vector<size_t>* out);

// ---- values ----

// Whether `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s);

// Appends `v` in COPY text format for a column of type `t` (NULL as \N). Returns a reason (and appends
// nothing useful) when PostgreSQL would reject the value: text with a NUL byte or invalid UTF-8, a value
// of a type the column cannot take.
std::optional<std::string> append_copy_value(std::string& out, const Value& v, PgType t);

}  // namespace weir::pg
