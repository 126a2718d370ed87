#include "connectors/sink.h"

#include <algorithm>

namespace weir {

int RowSchema::index_of(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void append_row_json(std::string& out, const RowSchema& schema, const Row& row) {
  out += '{';
  const size_t n = std::min(schema.columns.size(), row.size());
  for (size_t c = 0; c < n; ++c) {
    if (c > 0) out += ',';
    append_json_string(out, schema.columns[c].name);
    out += ':';
    row[c].append_json(out);
  }
  out += '}';
}

}  // namespace weir
