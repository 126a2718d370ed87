#include "connectors/file/row_format.h"

#include <cmath>

namespace weir::filefmt {

void append_jsonl_row(std::string& out, const RowSchema& schema, const Row& row) {
  append_row_json(out, schema, row);
  out += '\n';
}

void append_csv_field(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "\"\"";
    return;
  }
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_csv_header(std::string& out, const RowSchema& schema) {
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    if (c > 0) out += ',';
    append_csv_field(out, schema.columns[c].name);
  }
  out += '\n';
}

void append_csv_row(std::string& out, const Row& row) {
  std::string tmp;
  for (size_t c = 0; c < row.size(); ++c) {
    if (c > 0) out += ',';
    const Value& v = row[c];
    switch (v.type()) {
      case Type::Null:
        break;
      case Type::String:
        append_csv_field(out, v.as_string());
        break;
      case Type::Time:
        append_rfc3339_ms(out, v.as_time());
        break;
      case Type::Float:
        if (std::isfinite(v.as_float())) v.append_json(out);
        break;
      case Type::List:
        tmp.clear();
        v.append_json(tmp);
        append_csv_field(out, tmp);
        break;
      default:
        v.append_json(out);
    }
  }
  out += '\n';
}

}  // namespace weir::filefmt
