// Shared by the job-file loader's translation units; not part of the public API.
// Ctx collects diagnostics and maps YAML nodes (and columns inside scalars) to file positions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/job.h"
#include "config/load.h"

namespace weir::config {

class Ctx {
 public:
  Ctx(std::string file, std::string_view text);

  const std::string& file() const { return file_; }
  void error(Loc loc, std::string message);
  void error(const YAML::Node& n, std::string message) { error(loc(n), std::move(message)); }
  std::vector<Diagnostic> take_errors();
  size_t error_count() const { return errors_.size(); }

  // 1-based position of a node (its first character, quotes included).
  static Loc loc(const YAML::Node& n);
  // Position of the character at 1-based column `col` of the node's scalar value: exact for plain and
  // single-line quoted scalars whose text matches the file; the scalar's start otherwise.
  Loc loc_in_scalar(const YAML::Node& n, const std::string& value, int col) const;
  // The same, but only when exact.
  std::optional<Loc> exact_loc_in_scalar(const YAML::Node& n, const std::string& value, int col) const;

 private:
  std::string file_;
  std::vector<std::string> lines_;
  std::vector<Diagnostic> errors_;
};

// A node's kind in words, for messages: "a map", "a list", "a string", "nothing".
std::string describe(const YAML::Node& n);

// The closest candidate by edit distance, if close enough to be a likely typo.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// `${NAME}`, `${NAME:-default}`, `$${` -> literal `${`. On failure returns nullopt and sets `error`.
std::optional<std::string> substitute_env(std::string_view text, std::string& error);

// A scalar's string value after ${ENV} substitution; reports (as `what`) and returns nullopt when the
// node is not a scalar or substitution fails.
std::optional<std::string> scalar_text(Ctx& ctx, const YAML::Node& n, std::string_view what);

// A YAML scalar as a typed Value: quoted -> string; plain true/false, integers, floats, null/~ typed.
Value scalar_value(const std::string& text, bool quoted);
inline bool is_quoted(const YAML::Node& n) {
  return n.Tag() == "!";
}

bool parse_int(std::string_view s, int64_t& out);
bool parse_float(std::string_view s, double& out);
bool valid_name(std::string_view s);  // [a-z0-9_-]+
std::string format_duration(int64_t ms);

// Parses an expression from a scalar node, reporting syntax errors at the offending character.
// `what` names the setting in messages (e.g. "where").
Expr parse_expr(Ctx& ctx, const YAML::Node& n, std::string_view what);
// Same, for text already taken from the node (e.g. after env substitution).
Expr parse_expr_text(Ctx& ctx, const YAML::Node& n, const std::string& text, std::string_view what);

// ---- section parsers (one file each) ----
struct SectionDecl;
Source parse_source(Ctx& ctx, const YAML::Node& n);
std::optional<Sink> parse_sink(Ctx& ctx, const YAML::Node& n, std::string_view where, bool dead_letter);
std::vector<Sink> parse_sinks(Ctx& ctx, const YAML::Node& n);
Output parse_output(Ctx& ctx, const YAML::Node& n, int index);
std::vector<Field> parse_fields(Ctx& ctx, const YAML::Node& n);
Time parse_time_section(Ctx& ctx, const YAML::Node& n);
// Kafka `properties`: each checked with librdkafka; unknown property -> error naming it.
Properties parse_kafka_properties(Ctx& ctx, const YAML::Node& n);

// Second phase: defaults that depend on other sections, implicit fields, cross-field rules.
void validate_cross(Ctx& ctx, Job& job);

// Position of column `col` (1-based) of an expression's text: exact when known, else the scalar start.
inline Loc expr_loc(const Expr& e, int col) {
  return e.col_base > 0 ? Loc{e.loc.line, e.col_base + col - 1} : e.loc;
}

// Walks an expression tree, pre-order.
template <class F>
void visit_expr(const expr::Node& n, F&& f) {
  f(n);
  for (const auto& a : n.args)
    if (a) visit_expr(*a, f);
}

}  // namespace weir::config
