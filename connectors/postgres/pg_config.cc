#include "connectors/postgres/pg_config.h"

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "config/pg_names.h"
#include "config/redact.h"

namespace weir::pg {
namespace {

// Keyword → value for every option libpq parsed out of `dsn` (either form). False when it does not parse.
bool parse_dsn(std::string_view dsn, std::vector<std::pair<std::string, std::string>>* out,
               std::string* err) {
  char* errmsg = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(dsn).c_str(), &errmsg);
  if (opts == nullptr) {
    if (err != nullptr) {
      // libpq quotes pieces of the input in its messages; drop anything quoted (it may be a secret).
      std::string m = errmsg != nullptr ? errmsg : "out of memory";
      std::string clean;
      bool quoted = false;
      for (char c : m) {
        if (c == '"') {
          if (!quoted) clean += "\"…\"";
          quoted = !quoted;
        } else if (!quoted && c != '\n') {
          clean += c;
        }
      }
      *err = clean;
    }
    if (errmsg != nullptr) PQfreemem(errmsg);
    return false;
  }
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out->emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(opts);
  return true;
}

void append_conninfo_value(std::string& out, std::string_view v) {
  out += '\'';
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}

bool is_secret_key(std::string_view k) {
  return config::is_secret_dsn_keyword(k);
}

void append_copy_text(std::string& out, std::string_view s) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    const char* esc = nullptr;
    switch (c) {
      case '\\':
        esc = "\\\\";
        break;
      case '\t':
        esc = "\\t";
        break;
      case '\n':
        esc = "\\n";
        break;
      case '\r':
        esc = "\\r";
        break;
      default:
        continue;
    }
    out.append(s.data() + start, i - start);
    out += esc;
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

// Reason a string cannot be stored as PostgreSQL text, if any.
std::optional<std::string> text_problem(std::string_view s) {
  if (s.find('\0') != std::string_view::npos)
    return "text contains a NUL byte, which PostgreSQL text cannot hold";
  if (!valid_utf8(s)) return "text is not valid UTF-8";
  return std::nullopt;
}

bool list_has_nul(const List& l) {
  for (const Value& v : l) {
    if (v.type() == Type::String && v.as_string().find('\0') != std::string::npos) return true;
    if (v.type() == Type::List && list_has_nul(v.as_list())) return true;
  }
  return false;
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
  } else if (std::isinf(d)) {
    out += d > 0 ? "Infinity" : "-Infinity";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", d);
  }
}

constexpr int64_t kMinTimeMs = -62135596800000LL;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimeMs = 253402300799999LL;  // 9999-12-31T23:59:59.999Z

std::string wrong_type(const Value& v, PgType t) {
  return fmt::format("a {} value cannot go in a {} column", type_name(v.type()), pg_type_sql(t));
}

}  // namespace

ConnInfo build_conninfo(const std::string& dsn, const std::string& password_file) {
  ConnInfo ci;
  std::vector<std::pair<std::string, std::string>> opts;
  std::string err;
  if (!parse_dsn(dsn, &opts, &err)) {
    ci.error = "dsn is not a libpq connection string or postgresql:// URL (" + err + ")";
    return ci;
  }
  if (!password_file.empty()) {
    std::ifstream in(password_file, std::ios::binary);
    if (!in) {
      ci.error = "cannot read password_file " + password_file;
      return ci;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string pw = ss.str();
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    std::erase_if(opts, [](const auto& kv) { return kv.first == "password"; });
    opts.emplace_back("password", pw);
  }
  bool has_enc = false, has_app = false;
  for (const auto& [k, v] : opts) {
    has_enc |= k == "client_encoding";
    has_app |= k == "application_name" || k == "fallback_application_name";
  }
  if (!has_enc) opts.emplace_back("client_encoding", "UTF8");
  if (!has_app) opts.emplace_back("fallback_application_name", "weir");
  for (const auto& [k, v] : opts) {
    if (!ci.conninfo.empty()) ci.conninfo += ' ';
    ci.conninfo += k;
    ci.conninfo += '=';
    append_conninfo_value(ci.conninfo, v);
  }
  ci.summary = dsn_summary(dsn);
  return ci;
}

std::string redact_dsn(std::string_view dsn) {
  std::vector<std::pair<std::string, std::string>> opts;
  if (!parse_dsn(dsn, &opts, nullptr)) return "<unparseable dsn>";
  std::string out;
  for (const auto& [k, v] : opts) {
    if (!out.empty()) out += ' ';
    out += k;
    out += '=';
    if (is_secret_key(k)) {
      out += "***";
    } else {
      append_conninfo_value(out, v);
    }
  }
  return out;
}

std::string dsn_summary(std::string_view dsn) {
  std::vector<std::pair<std::string, std::string>> opts;
  if (!parse_dsn(dsn, &opts, nullptr)) return "<unparseable dsn>";
  std::map<std::string, std::string> m(opts.begin(), opts.end());
  auto get = [&](const char* k, const char* dflt) { return m.count(k) ? m[k] : std::string(dflt); };
  std::string host = m.count("host") ? m["host"] : get("hostaddr", "localhost");
  return fmt::format("host={} port={} dbname={}", host, get("port", "5432"),
                     m.count("dbname") ? m["dbname"] : get("user", "(default)"));
}

std::optional<std::string> parse_table_name(std::string_view text, TableName* out) {
  // The same rule as `weir validate` (config/pg_names.h); checked again here for configs built in code.
  if (auto e = config::pg_table_name_problem(text)) {
    std::string shown;
    append_json_string(shown, text);
    return fmt::format("table name {} is not valid: {}", shown, *e);
  }
  size_t dot = text.find('.');
  std::string_view schema, table = text;
  if (dot != std::string_view::npos) {
    schema = text.substr(0, dot);
    table = text.substr(dot + 1);
  }
  out->schema = std::string(schema);
  out->table = std::string(table);
  return std::nullopt;
}

std::optional<std::string> check_column_name(std::string_view name) {
  std::string shown;
  append_json_string(shown, name);
  if (name.empty()) return std::string("a column name is empty");
  if (name.size() > 63) return "column name " + shown + " is longer than 63 bytes (PostgreSQL's limit)";
  if (auto p = text_problem(name)) return "column name " + shown + ": " + *p;
  return std::nullopt;
}

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

PgType pg_type_from_catalog(std::string_view t) {
  if (t == "timestamp with time zone") return PgType::Timestamptz;
  if (t == "timestamp without time zone") return PgType::Timestamp;
  if (t == "bigint") return PgType::Bigint;
  if (t == "numeric") return PgType::Numeric;
  if (t == "double precision") return PgType::Double;
  if (t == "text") return PgType::Text;
  if (t == "character varying") return PgType::Varchar;
  if (t == "boolean") return PgType::Boolean;
  if (t == "jsonb") return PgType::Jsonb;
  if (t == "json") return PgType::Json;
  return PgType::Other;
}

std::string_view pg_type_sql(PgType t) {
  switch (t) {
    case PgType::Timestamptz:
      return "timestamptz";
    case PgType::Timestamp:
      return "timestamp";
    case PgType::Bigint:
      return "bigint";
    case PgType::Numeric:
      return "numeric";
    case PgType::Double:
      return "double precision";
    case PgType::Text:
      return "text";
    case PgType::Varchar:
      return "varchar";
    case PgType::Boolean:
      return "boolean";
    case PgType::Jsonb:
      return "jsonb";
    case PgType::Json:
      return "json";
    case PgType::Other:
      break;
  }
  return "unsupported";
}

PgType pg_type_for(Type t) {
  switch (t) {
    case Type::Time:
      return PgType::Timestamptz;
    case Type::Int:
      return PgType::Bigint;
    case Type::Float:
      return PgType::Double;
    case Type::Bool:
      return PgType::Boolean;
    case Type::List:
      return PgType::Jsonb;
    case Type::String:
    case Type::Null:
      break;
  }
  return PgType::Text;
}

bool accepts(PgType found, Type t) {
  switch (t) {
    case Type::Time:
      return found == PgType::Timestamptz || found == PgType::Timestamp;
    case Type::Int:
      return found == PgType::Bigint || found == PgType::Numeric;
    case Type::Float:
      return found == PgType::Double || found == PgType::Numeric;
    case Type::String:
      return found == PgType::Text || found == PgType::Varchar;
    case Type::Bool:
      return found == PgType::Boolean;
    case Type::List:
      return found == PgType::Jsonb || found == PgType::Json;
    case Type::Null:
      return found != PgType::Other;
  }
  return false;
}

std::optional<std::string> map_columns(const RowSchema& schema,
                                       const std::vector<std::pair<std::string, std::string>>& renames,
                                       std::vector<ColumnMap>* out) {
  std::vector<std::string> names;
  for (const Column& c : schema.columns) names.push_back(c.name);
  std::set<std::string> renamed_outputs;
  for (const auto& [table_col, output_col] : renames) {
    int idx = schema.index_of(output_col);
    if (idx < 0) {
      std::string known;
      for (const Column& c : schema.columns) known += (known.empty() ? "" : ", ") + c.name;
      return fmt::format("columns: \"{}\" renames output column \"{}\", which the output does not have ({})",
                         table_col, output_col, known);
    }
    if (!renamed_outputs.insert(output_col).second) {
      return fmt::format("columns: output column \"{}\" is renamed twice", output_col);
    }
    names[idx] = table_col;
  }
  std::set<std::string> seen;
  out->clear();
  for (size_t i = 0; i < names.size(); ++i) {
    if (auto e = check_column_name(names[i])) return e;
    if (!seen.insert(names[i]).second) {
      return fmt::format("table column \"{}\" would be written twice (check `columns:` renames)", names[i]);
    }
    out->push_back(ColumnMap{names[i], int(i), schema.columns[i].type});
  }
  return std::nullopt;
}

std::optional<std::string> resolve_key(const std::vector<ColumnMap>& cols, const RowSchema& schema,
                                       const std::vector<std::string>& key, std::vector<size_t>* out) {
  out->clear();
  for (const std::string& k : key) {
    std::optional<size_t> found;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].table_column == k) found = i;
    }
    if (!found) {
      int idx = schema.index_of(k);
      for (size_t i = 0; idx >= 0 && i < cols.size(); ++i) {
        if (cols[i].output_index == idx) found = i;
      }
    }
    if (!found) return fmt::format("key column \"{}\" is not a column of the output", k);
    for (size_t j : *out) {
      if (j == *found) return fmt::format("key column \"{}\" is listed twice", k);
    }
    out->push_back(*found);
  }
  return std::nullopt;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::optional<std::string> append_copy_value(std::string& out, const Value& v, PgType t) {
  if (v.is_null()) {
    out += "\\N";
    return std::nullopt;
  }
  switch (t) {
    case PgType::Text:
    case PgType::Varchar:
      if (v.type() == Type::String) {
        if (auto p = text_problem(v.as_string())) return p;
        append_copy_text(out, v.as_string());
      } else if (v.type() == Type::Float) {
        append_double(out, v.as_float());
      } else {
        append_copy_text(out, v.type() == Type::List ? v.to_json() : v.to_display());
      }
      return std::nullopt;
    case PgType::Bigint:
      if (v.type() == Type::Int) {
        fmt::format_to(std::back_inserter(out), "{}", v.as_int());
        return std::nullopt;
      }
      if (v.type() == Type::Float) {
        double d = v.as_float();
        if (std::isfinite(d) && d == std::trunc(d) && d >= -9.2233720368547758e18 &&
            d < 9.2233720368547758e18) {
          fmt::format_to(std::back_inserter(out), "{}", int64_t(d));
          return std::nullopt;
        }
        return "the float value " + v.to_display() + " does not fit a bigint column";
      }
      return wrong_type(v, t);
    case PgType::Numeric:
    case PgType::Double:
      if (v.type() == Type::Int) {
        fmt::format_to(std::back_inserter(out), "{}", v.as_int());
        return std::nullopt;
      }
      if (v.type() == Type::Float) {
        append_double(out, v.as_float());
        return std::nullopt;
      }
      return wrong_type(v, t);
    case PgType::Timestamptz:
    case PgType::Timestamp:
      if (v.type() != Type::Time) return wrong_type(v, t);
      if (v.as_time() < kMinTimeMs || v.as_time() > kMaxTimeMs) return "time is outside years 1 to 9999";
      append_rfc3339_ms(out, v.as_time());
      return std::nullopt;
    case PgType::Boolean:
      if (v.type() != Type::Bool) return wrong_type(v, t);
      out += v.as_bool() ? 't' : 'f';
      return std::nullopt;
    case PgType::Jsonb:
    case PgType::Json:
      if (t == PgType::Jsonb &&
          ((v.type() == Type::String && v.as_string().find('\0') != std::string::npos) ||
           (v.type() == Type::List && list_has_nul(v.as_list())))) {
        return "text contains a NUL byte, which PostgreSQL jsonb cannot hold";
      }
      append_copy_text(out, v.to_json());
      return std::nullopt;
    case PgType::Other:
      break;
  }
  return wrong_type(v, t);
}

}  // namespace weir::pg
