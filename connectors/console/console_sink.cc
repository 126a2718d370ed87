#include "connectors/console/console_sink.h"

#include <algorithm>
#include <iostream>

namespace weir {
namespace {

// Display width in code points (UTF-8 continuation bytes do not count).
size_t width(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// A cell as shown in the table: control characters escaped so that a row stays on one line.
std::string cell(const Value& v) {
  std::string s = v.to_display();
  if (std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) return s;
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

void pad(std::string& out, size_t n) {
  out.append(n, ' ');
}

void render_table(std::string& out, const RowSchema& schema, const std::vector<Row>& rows, size_t shown) {
  size_t ncol = schema.columns.size();
  std::vector<std::vector<std::string>> cells(shown);
  std::vector<size_t> w(ncol);
  std::vector<bool> numeric(ncol, true), any_value(ncol, false);
  for (size_t c = 0; c < ncol; ++c) w[c] = width(schema.columns[c].name);
  for (size_t r = 0; r < shown; ++r) {
    cells[r].resize(ncol);
    for (size_t c = 0; c < ncol && c < rows[r].size(); ++c) {
      const Value& v = rows[r][c];
      cells[r][c] = cell(v);
      w[c] = std::max(w[c], width(cells[r][c]));
      if (!v.is_null()) {
        any_value[c] = true;
        if (!v.is_number()) numeric[c] = false;
      }
    }
  }
  auto line = [&](auto text_of) {
    std::string l;
    for (size_t c = 0; c < ncol; ++c) {
      if (c > 0) l += " | ";
      const std::string& t = text_of(c);
      size_t gap = w[c] - width(t);
      bool right = numeric[c] && any_value[c];
      if (right) pad(l, gap);
      l += t;
      if (!right && c + 1 < ncol) pad(l, gap);
    }
    out += l;
    out += '\n';
  };
  line([&](size_t c) -> const std::string& { return schema.columns[c].name; });
  for (size_t c = 0; c < ncol; ++c) {
    if (c > 0) out += "-+-";
    out.append(w[c], '-');
  }
  out += '\n';
  for (size_t r = 0; r < shown; ++r) line([&](size_t c) -> const std::string& { return cells[r][c]; });
}

}  // namespace

ConsoleSink::ConsoleSink(config::ConsoleSink cfg, std::ostream* out)
    : cfg_(cfg), out_(out != nullptr ? out : &std::cout) {}

Status ConsoleSink::open(const SinkContext& ctx) {
  ctx_ = ctx;
  return Status::ok();
}

std::string ConsoleSink::render(const config::ConsoleSink& cfg, const RowSchema& schema, const Emission& e) {
  std::string out = "---- Time: ";
  append_rfc3339_ms(out, e.window_end_ms);
  out += " ----\n";
  size_t limit = static_cast<size_t>(std::max(0, cfg.rows));
  size_t shown = std::min(limit, e.rows.size());
  if (e.rows.empty()) {
    out += "(no rows)\n";
  } else if (cfg.format == config::ConsoleSink::Format::Json) {
    for (size_t r = 0; r < shown; ++r) {
      append_row_json(out, schema, e.rows[r]);
      out += '\n';
    }
  } else {
    render_table(out, schema, e.rows, shown);
  }
  if (e.rows.size() > shown) out += "... (" + std::to_string(e.rows.size() - shown) + " more rows)\n";
  out += '\n';
  return out;
}

Status ConsoleSink::write(const BatchOutput& batch) {
  if (batch.emissions.empty()) return Status::ok();
  std::string text;
  for (const Emission& e : batch.emissions) text += render(cfg_, ctx_.schema, e);
  out_->write(text.data(), static_cast<std::streamsize>(text.size()));
  out_->flush();
  out_->clear();  // best-effort: a closed stdout must not fail the job
  return Status::ok();
}

}  // namespace weir
