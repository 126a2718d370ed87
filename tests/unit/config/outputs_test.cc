// Output rules: windows, aggregates, expressions (located inside the text), having/order_by/keys,
// implicit fields, explode, event time, decode text.
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace weir::config;
using namespace weir::config::test;

// kHead declares fields author (any) and n (int); outputs go below it, starting on line 6.
static std::string job(const std::string& outputs) {
  return std::string(kHead) + outputs;
}

TEST_CASE("messages say what is wrong: window: tumbling/sliding as a word, an empty aggregate") {
  auto errors = [](const std::string& yaml) { return all_errors(load(yaml)); };
  const std::string w = "  - name: o\n    window: ";
  const std::string rest = "\n    aggregate: { c: count() }\n    to: console\n";
  has_error(job(w + "tumbling" + rest), 7, 13,
            "window 'tumbling' needs a duration: write window: { tumbling: 1m }");
  has_error(job(w + "sliding" + rest), 7, 13,
            "window 'sliding' needs a length and a slide: write window: { sliding: 1m, every: 10s }");
  CHECK_THAT(errors(job(w + "tumbling" + rest)), !Catch::Contains("did you mean"));
  // A typo of the word gets the map form as the suggestion, other typos the word.
  has_error(job(w + "tumblng" + rest), 7, 13, "got 'tumblng' (did you mean { tumbling: D }?)");
  has_error(job(w + "slidng" + rest), 7, 13, "got 'slidng' (did you mean { sliding: D, every: D }?)");
  has_error(job(w + "totl" + rest), 7, 13, "got 'totl' (did you mean 'total'?)");

  const std::string agg = "  - name: o\n    aggregate: {}\n    to: console\n";
  has_error(job(agg), 7, 16, "aggregate must not be empty: give at least one column, e.g. { n: count() }");
  CHECK_THAT(errors(job(agg)), !Catch::Contains("got a map"));
  has_error(job("  - name: o\n    aggregate: [count()]\n    to: console\n"), 7, 16,
            "aggregate must be a map of column: call, e.g. { n: count() }, got a list");
}

TEST_CASE("windows: defaults and parsed forms") {
  Job j =
      ok("batch: 5s\n" +
         job("  - { name: a, aggregate: { c: count() }, to: console }\n"
             "  - { name: b, window: { sliding: 60s, every: 5s }, aggregate: { c: count() }, to: console }\n"
             "  - { name: c, window: { tumbling: 10s }, aggregate: { c: count() }, to: console }\n"
             "  - { name: d, window: total, aggregate: { c: count() }, to: console }\n"));
  CHECK(j.outputs[0].window.kind == Window::Kind::Batch);
  CHECK(j.outputs[0].window.length_ms == 5000);
  CHECK(j.outputs[1].window.kind == Window::Kind::Sliding);
  CHECK(j.outputs[1].window.every_ms == 5000);
  CHECK(j.outputs[2].window.length_ms == 10000);
  CHECK(j.outputs[3].window.kind == Window::Kind::Total);
}

TEST_CASE("window durations must be multiples of batch in processing time") {
  std::string b = "batch: 5s\n";  // shifts lines by one: outputs start at line 7
  has_error(
      b + job("  - name: o\n    window: { tumbling: 7s }\n    aggregate: { c: count() }\n    to: console\n"),
      8, 25, "window tumbling 7s is not a multiple of batch 5s");
  has_error(b + job("  - name: o\n    window: { sliding: 60s, every: 3s }\n    aggregate: { c: count() }\n   "
                    " to: console\n"),
            8, 36, "window every 3s is not a multiple of batch 5s");
  // Event time has no such rule.
  ok("batch: 5s\ntime: { event: n }\n" +
     job("  - { name: o, window: { tumbling: 7s }, aggregate: { c: count() }, to: console }\n"));
}

TEST_CASE("sliding: length need not be a multiple of every, every is required") {
  // Spec §6: windows [k*every, k*every + length); panes of gcd(length, every).
  Job j =
      ok(job("  - name: o\n    window: { sliding: 60s, every: 7s }\n    aggregate: { c: count() }\n    "
             "to: console\n"));
  CHECK(j.outputs[0].window.kind == Window::Kind::Sliding);
  CHECK(j.outputs[0].window.length_ms == 60000);
  CHECK(j.outputs[0].window.every_ms == 7000);
  // Processing time still needs both to be multiples of batch.
  has_error("batch: 2s\n" + job("  - name: o\n    window: { sliding: 10s, every: 3s }\n    aggregate: { c: "
                                "count() }\n    to: console\n"),
            8, 36, "window every 3s is not a multiple of batch 2s");
  ok("batch: 1s\n" +
     job("  - { name: o, window: { sliding: 10s, every: 3s }, aggregate: { c: count() }, to: console }\n"));
  has_error(
      job("  - name: o\n    window: { sliding: 60s }\n    aggregate: { c: count() }\n    to: console\n"), 7,
      13, "a sliding window needs every");
  // Shorter than every: gaps between windows, in either time mode; equal is a tumbling window.
  has_error(job("  - name: o\n    window: { sliding: 2s, every: 3s }\n    aggregate: { c: count() }\n    "
                "to: console\n"),
            7, 24, "window sliding 2s is shorter than its every 3s");
  has_error(
      "time: { event: n }\n" + job("  - name: o\n    window: { sliding: 2s, every: 3s }\n    aggregate: "
                                   "{ c: count() }\n    to: console\n"),
      8, 24, "window sliding 2s is shorter than its every 3s");
  ok(job("  - { name: o, window: { sliding: 3s, every: 3s }, aggregate: { c: count() }, to: console }\n"));
  has_error(job("  - name: o\n    window: weekly\n    aggregate: { c: count() }\n    to: console\n"), 7, 13,
            "window must be batch, total");
}

TEST_CASE("aggregates: unknown name with did-you-mean, wrong arity, not a call") {
  has_error(job("  - name: o\n    aggregate: { c: cnt() }\n    to: console\n"), 7, 21,
            "unknown aggregate 'cnt' (did you mean 'count'?)");
  has_error(job("  - name: o\n    aggregate: { c: \"count(n, author)\" }\n    to: console\n"), 7, 22,
            "count() takes 0 or 1 arguments, got 2");
  has_error(job("  - name: o\n    aggregate:\n      c: sum()\n    to: console\n"), 8, 10,
            "sum() takes exactly 1 argument, got 0");
  has_error(job("  - name: o\n    aggregate: { c: n + 1 }\n    to: console\n"), 7, 21,
            "is not an aggregate call");
  Job j =
      ok(job("  - name: o\n    aggregate: { a: count(), b: count(n), s: SUM(n), m: avg(n), d: "
             "count_distinct(author) }\n"
             "    to: console\n"));
  const auto& a = j.outputs[0].aggregate;
  REQUIRE(a.size() == 5);
  CHECK(a[0].kind == AggKind::Count);
  CHECK(a[1].kind == AggKind::CountOf);
  CHECK(a[2].kind == AggKind::Sum);
  CHECK(a[3].kind == AggKind::Avg);
  CHECK(a[4].kind == AggKind::CountDistinct);
  CHECK(a[1].arg != nullptr);
}

TEST_CASE("aggregates: sum/avg of an argument known not to be a number is an error") {
  const std::string head =
      "source: stdin\n"
      "fields:\n"
      "  s: { path: s, type: string }\n"
      "  b: { path: b, type: bool }\n"
      "  t: { path: t, type: time }\n"
      "  v: v\n"
      "outputs:\n";
  // The error points at the argument: `sum(s)` starts at column 21 of line 9, `s` is its column 5.
  has_error(head + "  - name: o\n    aggregate: { x: sum(s) }\n    to: console\n", 9, 25,
            "aggregate 'x': sum() expects a number, got string (column 5 of \"sum(s)\"); to_float()");
  has_error(head + "  - name: o\n    aggregate: { x: avg(b) }\n    to: console\n", 9, 25,
            "avg() expects a number, got bool");
  has_error(head + "  - name: o\n    aggregate: { x: sum(t) }\n    to: console\n", 9, 25,
            "sum() expects a number, got time");
  has_error(head + "  - name: o\n    aggregate: { x: \"sum(upper(v))\" }\n    to: console\n", 9, 26,
            "sum() expects a number, got string");
  has_error(head + "  - name: o\n    aggregate: { x: sum(_topic) }\n    to: console\n", 9, 25, "got string");
  has_error(head + "  - name: o\n    aggregate: { x: \"avg('1')\" }\n    to: console\n", 9, 26,
            "avg() expects a number, got string");
  // Numbers, conversions and arguments of unknown type (checked per record) are fine; so are the other
  // aggregates over any type.
  ok(head +
     "  - name: o\n    aggregate: { a: sum(v), b: avg(v), c: sum(to_float(s)), d: \"avg(length(s) + 1)\", "
     "e: sum(_offset), f: sum(path.to.x), g: min(s), h: max(t), i: first(b), j: count_distinct(s) }\n"
     "    to: console\n");
  // A select name's type is not known before running.
  ok(head + "  - name: o\n    select: { u: \"upper(s)\" }\n    aggregate: { x: sum(u) }\n    to: console\n");
}

TEST_CASE("expression syntax errors point at the character inside the expression") {
  // plain scalar: `where: n > > 1` — the second '>' is column 5 of the expression, file column 16.
  LoadResult r = load(job("  - name: o\n    where: n > > 1\n    to: console\n"));
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 7);
  CHECK(r.errors[0].col == 16);
  CHECK(r.errors[0].message.find("column 5") != std::string::npos);
  CHECK(r.errors[0].message.rfind("where: ", 0) == 0);
  // double-quoted: the quote shifts by one.
  has_error(job("  - name: o\n    where: \"n > > 1\"\n    to: console\n"), 7, 17, "column 5");
  // single-quoted with an escaped quote before the error: 'a' is written ''a''.
  has_error(job("  - name: o\n    where: 'author == ''a'' and and'\n    to: console\n"), 7, 33, "column 19");
  // block scalar: the start of the scalar.
  has_error(job("  - name: o\n    where: |\n      n > > 1\n    to: console\n"), 7, 12, "column 5");
}

TEST_CASE("expression check errors (unknown function) are located too") {
  has_error(job("  - name: o\n    where: lowr(author) == 'x'\n    to: console\n"), 7, 12, "lowr");
  has_error(job("  - name: o\n    select: { x: \"upper(1, 2)\" }\n    to: console\n"), 7, 19, "upper");
}

TEST_CASE("having may use only group keys, aggregate columns and window bounds") {
  has_error(
      job("  - name: o\n    group_by: [author]\n    aggregate: { c: count() }\n    having: c > 1 and n > 2\n"
          "    to: console\n"),
      9, 23, "having: 'n' is not a column of output 'o'");
  ok(
      job("  - name: o\n    group_by: [author]\n    aggregate: { c: count() }\n"
          "    having: c > 1 and author != 'x' and window_end is not null\n    to: console\n"));
  has_error(job("  - name: o\n    having: n > 1\n    to: console\n"), 7, 13, "having needs aggregate");
}

TEST_CASE("order_by must name output columns") {
  has_error(job("  - name: o\n    group_by: [author]\n    aggregate: { tweets: count() }\n    order_by: "
                "[tweet desc]\n"
                "    to: console\n"),
            9, 16,
            "order_by: 'tweet' is not a column of output 'o' (columns: window_start, window_end, author, "
            "tweets) (did you mean 'tweets'?)");
  has_error(job("  - name: o\n    aggregate: { c: count() }\n    order_by: [c downwards]\n    to: console\n"),
            8, 16, "must be `column`, `column asc` or `column desc`");
  Job j = ok(job(
      "  - name: o\n    group_by: [author]\n    aggregate: { c: count() }\n    order_by: [c DESC, author]\n"
      "    to: console\n"));
  CHECK(j.outputs[0].order_by[0].desc);
  CHECK_FALSE(j.outputs[0].order_by[1].desc);
}

TEST_CASE("postgres: the table name is checked by validate, at the value, with the sink's rule") {
  auto with_table = [](const std::string& table) {
    return job(
        "  - name: o\n    aggregate: { c: count() }\n    to:\n      postgres:\n        dsn: host=x\n"
        "        table: " +
        table + "\n");
  };
  for (const char* bad :
       {"'Weird Table'", "author-counts", "a.b.c", "1abc", "'x\"; drop table t; --'", "s.", ".t", "''"}) {
    INFO(bad);
    has_error(with_table(bad), 11, 16, "is not valid: use `table` or `schema.table`, each part letters");
  }
  has_error(with_table(std::string(64, 'a')), 11, 16, "at most 63 characters");
  for (const char* good : {"author_counts", "analytics.Flow_2", "_t9"}) {
    INFO(good);
    ok(with_table(good));
  }
}

TEST_CASE("postgres: upsert needs key, key and columns must be output columns") {
  std::string pg = "    to:\n      postgres:\n        dsn: host=x\n        table: t\n";
  has_error(job("  - name: o\n    aggregate: { c: count() }\n" + pg + "        mode: upsert\n"), 12, 15,
            "postgres mode upsert needs `key:`");
  has_error(job("  - name: o\n    group_by: [author]\n    aggregate: { c: count() }\n" + pg +
                "        mode: upsert\n        key: [window_end, autor]\n"),
            14, 14, "postgres.key: 'autor' is not a column of output 'o'");
  has_error(job("  - name: o\n    aggregate: { c: count() }\n" + pg + "        columns: { cnt: count }\n"),
            12, 18, "postgres.columns: 'count' is not a column");
  Job j = ok(job("  - name: o\n    group_by: [author]\n    aggregate: { c: count() }\n" + pg +
                 "        mode: upsert\n        key: [window_end, who]\n        columns: { who: author }\n"));
  const auto& s = std::get<PostgresSink>(j.outputs[0].sinks[0].kind);
  CHECK(s.mode == PostgresSink::Mode::Upsert);
  CHECK(s.columns[0] == std::pair<std::string, std::string>{"who", "author"});
}

TEST_CASE("implicit fields: undeclared names are JSON paths, added once") {
  Job j = ok(job(
      "  - name: o\n    where: user.lang == 'en' and _topic != 'x'\n    select: { l: \"lower(user.lang)\" }\n"
      "    group_by: [l, retweeted_status.user.id]\n    aggregate: { c: count(), s: sum(n) }\n"
      "    to: console\n"));
  std::vector<std::string> implicit;
  for (const auto& f : j.fields)
    if (f.implicit) implicit.push_back(f.name);
  CHECK(implicit == std::vector<std::string>{"user.lang", "retweeted_status.user.id"});
  CHECK(j.fields.back().path.size() == 3);
  CHECK(j.outputs[0].group_by[1].name == "retweeted_status.user.id");
}

TEST_CASE("group keys: a field, an expression named by its text, or { name: expr }") {
  Job j =
      ok(job("  - name: o\n    group_by: [author, \"lower( author )\", { len: length(author) }]\n"
             "    aggregate: { c: count() }\n    to: console\n"));
  const auto& g = j.outputs[0].group_by;
  CHECK(g[0].name == "author");
  CHECK(g[1].name == "lower( author )");
  CHECK(g[2].name == "len");
  has_error(
      job("  - name: o\n    group_by: [author, author]\n    aggregate: { c: count() }\n    to: console\n"), 7,
      24, "column 'author' appears twice");
}

TEST_CASE("where sees the document: a name made later by explode or select is a path there") {
  auto implicit_names = [](const Job& j) {
    std::vector<std::string> names;
    for (const auto& f : j.fields)
      if (f.implicit) names.push_back(f.name);
    return names;
  };
  Job j =
      ok(job("  - name: o\n    where: w == 'x'\n    explode: { field: author, split: ' ', as: w }\n    "
             "to: console\n"));
  CHECK(implicit_names(j) == std::vector<std::string>{"w"});
  // A select expression naming its own output name reads the document's field of that name; a
  // later select sees the earlier one.
  Job s = ok(job("  - name: o\n    select: { c: upper(c), d: lower(c) }\n    to: console\n"));
  CHECK(implicit_names(s) == std::vector<std::string>{"c"});
}

TEST_CASE("explode: declared field types, paths, unknown fields") {
  Job j = ok(
      job("  - name: o\n    explode: { field: \"entities.hashtags[*].text\", as: tag }\n    group_by: [tag]\n"
          "    aggregate: { c: count() }\n    to: console\n"));
  CHECK(j.fields.back().name == "entities.hashtags[*].text");
  CHECK(j.fields.back().implicit);
  has_error(job("  - name: o\n    explode: { field: n, as: x }\n    to: console\n"), 7, 14,
            "explode: field 'n' has type int; without split: it must be a list");
  has_error(job("  - name: o\n    explode: { field: \"a[\", as: x }\n    to: console\n"), 7, 14,
            "explode: unknown field 'a['");
  has_error(job("  - name: o\n    explode: { field: a }\n    to: console\n"), 7, 14, "explode needs 'as'");
}

TEST_CASE("event time: the field must be declared and of type time, int or float") {
  std::string outs = "outputs: [{ name: o, to: console }]\n";
  has_error("source: stdin\ntime: { event: ts }\n" + outs, 2, 16, "time.event: 'ts' is not a declared field");
  has_error("source: stdin\nfields: { ts: created_at }\ntime:\n  event: ts\n" + outs, 4, 10,
            "field 'ts' has type any; event time needs type time, int or float");
  Job j = ok("source: stdin\nfields: { ts: { path: t, type: time } }\ntime: { event: ts, lateness: 5s }\n" +
             outs);
  CHECK(j.time.event);
  CHECK(j.time.lateness_ms == 5000);
  CHECK(j.time.idle_ms == 60000);
  has_error("source: stdin\ntime: eventually\n" + outs, 2, 7, "time must be `processing`");
}

TEST_CASE("decode text: only the field `line`") {
  Job j = ok(
      "source: stdin\ndecode: text\noutputs:\n  - name: o\n    explode: { field: line, split: ' ', as: w }\n"
      "    group_by: [w]\n    aggregate: { c: count() }\n    to: console\n");
  REQUIRE(j.fields.size() == 1);
  CHECK(j.fields[0].name == "line");
  CHECK(j.fields[0].type == FieldType::String);
  has_error(
      "source: stdin\ndecode: text\nfields: { author: user.name }\noutputs: [{ name: o, to: console }]\n", 3,
      11, "field 'author': with decode: text");
  has_error("source: stdin\ndecode: text\noutputs: [{ name: o, where: \"user.x = 1\", to: console }]\n", 3,
            30, "'user.x' is not a field; with decode: text the only field is `line`");
}
