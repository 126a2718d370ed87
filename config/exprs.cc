// Expressions inside the job file: parsed once at load, errors located at the offending character.
#include <fmt/format.h>

#include "config/internal.h"

namespace weir::config {

Expr parse_expr_text(Ctx& ctx, const YAML::Node& n, const std::string& text, std::string_view what) {
  Expr e;
  e.loc = Ctx::loc(n);
  size_t b = text.find_first_not_of(" \t\r\n");
  size_t last = text.find_last_not_of(" \t\r\n");
  e.text = b == std::string::npos ? "" : text.substr(b, last - b + 1);
  if (e.text.empty()) {
    ctx.error(e.loc, fmt::format("{}: the expression is empty", what));
    return e;
  }
  // Columns map 1:1 to the file when the first and last characters land where they should.
  auto first = ctx.exact_loc_in_scalar(n, text, int(b) + 1);
  auto end = ctx.exact_loc_in_scalar(n, text, int(last) + 1);
  if (first && end && end->line == first->line && end->col == first->col + int(e.text.size()) - 1)
    e.col_base = first->col;
  expr::ParseResult r;
  try {
    r = expr::parse(e.text);
  } catch (const std::exception& ex) {  // the parser promises not to throw; be safe at this boundary
    r.error = expr::ParseError{1, ex.what()};
  }
  if (r.error) {
    ctx.error(ctx.loc_in_scalar(n, text, int(b) + r.error->col),
              fmt::format("{}: {} (column {} of \"{}\")", what, r.error->message, r.error->col, e.text));
    return e;
  }
  e.node = r.expr;
  return e;
}

Expr parse_expr(Ctx& ctx, const YAML::Node& n, std::string_view what) {
  auto text = scalar_text(ctx, n, what);
  if (!text) {
    Expr e;
    e.loc = Ctx::loc(n);
    return e;
  }
  return parse_expr_text(ctx, n, *text, what);
}

}  // namespace weir::config
