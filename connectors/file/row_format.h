// How the file sink renders rows (no I/O): JSON lines or CSV (RFC 4180 quoting, LF line ends).
#pragma once

#include <string>

#include "connectors/sink.h"

namespace weir::filefmt {

// {"col":value,...}\n — keys are the column names in order; times as RFC 3339 UTC strings with ms.
void append_jsonl_row(std::string& out, const RowSchema& schema, const Row& row);
// The CSV header line (column names).
void append_csv_header(std::string& out, const RowSchema& schema);
// One CSV line. Null is an empty field; an empty string is "" (so the two stay distinct); a field
// holding a comma, quote, CR or LF is quoted with quotes doubled.
void append_csv_row(std::string& out, const Row& row);
void append_csv_field(std::string& out, std::string_view s);

}  // namespace weir::filefmt
