// Schema checks: unknown keys, types, required keys, names, sources, sinks, generator templates.
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace weir::config;
using namespace weir::config::test;

static const std::string kOut = "outputs: [{ name: o, to: console }]\n";

TEST_CASE("fields: a time default is read in the field's own format") {
  // Spec §4: the default stands in for the missing value, so it is read as that value would be.
  Job j =
      ok("source: stdin\nfields:\n"
         "  s: { path: s, type: time, format: epoch_s, default: 1484148840 }\n"
         "  m: { path: m, type: time, format: epoch_ms, default: 1484148840000 }\n"
         "  r: { path: r, type: time, default: \"2017-01-11T15:34:00Z\" }\n"
         "  u: { path: u, type: time, format: rfc3339, default: 2017-01-11T16:34:00+01:00 }\n"
         "  f: { path: f, type: time, format: \"%d/%m/%Y %H:%M\", default: \"11/01/2017 15:34\" }\n"
         "  q: { path: q, type: time, default: \"2017-01-11T15:34:00Z\", format: rfc3339 }\n"
         "  e: { path: e, type: time, format: epoch_s, default: \"1484148840.5\" }\n" +
         kOut);
  REQUIRE(j.fields.size() == 7);
  for (size_t i = 0; i < 6; ++i) {
    INFO(j.fields[i].name);
    REQUIRE(j.fields[i].default_value);
    CHECK(j.fields[i].default_value->type() == weir::Type::Time);
    CHECK(j.fields[i].default_value->as_time() == 1484148840000);
  }
  CHECK(j.fields[6].default_value->as_time() == 1484148840500);
  // An int is epoch time only in an epoch format; the error says what the format expects, at the default.
  has_error("source: stdin\nfields:\n  n: { path: n, type: time, default: 1484148840000 }\n" + kOut, 3, 38,
            "field 'n': default '1484148840000' is not an RFC 3339 time (the field's format is rfc3339), "
            "e.g. 2017-01-11T15:34:00Z");
  has_error(
      "source: stdin\nfields:\n  n: { path: n, type: time, format: epoch_ms, default: \"2017-01-11\" }\n" +
          kOut,
      3, 56, "default '2017-01-11' is not a time in epoch milliseconds (format epoch_ms)");
  has_error("source: stdin\nfields:\n  n: { path: n, type: time, format: epoch_s, default: soon }\n" + kOut,
            3, 55, "default 'soon' is not a time in epoch seconds (format epoch_s)");
  has_error(
      "source: stdin\nfields:\n  n: { path: n, type: time, format: \"%Y-%m-%d\", default: 2017-13-01 }\n" +
          kOut,
      3, 58, "default '2017-13-01' is not a time in the field's format \"%Y-%m-%d\"");
  // RFC 3339 cannot write other years (spec §7).
  has_error(
      "source: stdin\nfields:\n  n: { path: n, type: time, format: epoch_ms, default: 253402300800000 }\n" +
          kOut,
      3, 56, "default '253402300800000' is not a time in years 0000 to 9999");
  Job edge = ok(
      "source: stdin\nfields:\n  n: { path: n, type: time, format: epoch_ms, default: 253402300799999 }\n" +
      kOut);
  CHECK(edge.fields[0].default_value->as_time() == 253402300799999);
  // A refused format is reported once; its default is not read in some other format.
  LoadResult r =
      load("source: stdin\nfields:\n  n: { path: n, type: time, format: epoc_s, default: 1 }\n" + kOut);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("format 'epoc_s'") != std::string::npos);
}

TEST_CASE("unknown key with did-you-mean, at the key") {
  has_error("sorce: stdin\n" + kOut, 1, 1, "unknown key 'sorce' in the job (did you mean 'source'?)");
  has_error("source: stdin\noutputs:\n  - name: o\n    group_bu: [a]\n    to: console\n", 4, 5,
            "unknown key 'group_bu' in output 'o' (did you mean 'group_by'?)");
  has_error("source: { kafka: { brokers: b, topics: [t], strat: earliest } }\n" + kOut, 1, 45,
            "unknown key 'strat' in source.kafka (did you mean 'start'?)");
  has_error("source: stdin\nxyzzy: 1\n" + kOut, 2, 1, "unknown key 'xyzzy' in the job");
}

TEST_CASE("duplicate key") {
  has_error("source: stdin\nbatch: 1s\nbatch: 2s\n" + kOut, 3, 1, "duplicate key 'batch'");
}

TEST_CASE("missing required keys") {
  has_error("batch: 1s\n" + kOut, 1, 1, "the job needs 'source'");
  has_error("source: stdin\n", 1, 1, "the job needs 'outputs'");
  has_error("source: stdin\noutputs:\n  - to: console\n", 3, 5, "outputs[0] needs 'name'");
  has_error("source: stdin\noutputs:\n  - name: o\n", 3, 5, "output 'o' needs 'to'");
  has_error("source: { socket: { host: h } }\n" + kOut, 1, 19, "source.socket needs 'port'");
  has_error("source: stdin\noutputs: []\n", 2, 10,
            "outputs must not be empty: a job needs at least one output");
  CHECK_THAT(all_errors(load("source: stdin\noutputs: []\n")), !Catch::Contains("got a list"));
  has_error("source: stdin\noutputs: { name: o }\n", 2, 10, "outputs must be a non-empty list, got a map");
  // A kind that needs settings, written as a bare word: name the map form, never "did you mean" the word.
  has_error("source: kafka\n" + kOut, 1, 9,
            "source 'kafka' needs its settings: write source: { kafka: { ... } }");
  has_error("source: stdin\noutputs: [{ name: o, to: postgres }]\n", 2, 26,
            "to: 'postgres' needs its settings: write { postgres: { ... } }");
  CHECK_THAT(all_errors(load("source: kafka\n" + kOut)), !Catch::Contains("did you mean"));
  CHECK_THAT(all_errors(load("source: stdin\noutputs: [{ name: o, to: postgres }]\n")),
             !Catch::Contains("did you mean"));
}

TEST_CASE("wrong types") {
  has_error("source: stdin\nbatch: [1s]\n" + kOut, 2, 8, "batch must be a string, got a list");
  has_error("source: { socket: { port: lots } }\n" + kOut, 1, 27,
            "source.socket.port must be an integer, got 'lots'");
  has_error("source: { socket: { port: 70000 } }\n" + kOut, 1, 27, "must be between 1 and 65535");
  has_error("source: { files: { dir: d, once: yes } }\n" + kOut, 1, 34, "must be true or false, got 'yes'");
  has_error("source: stdin\ndecode: jsn\n" + kOut, 2, 9,
            "must be one of json, text, got 'jsn' (did you mean 'json'?)");
  has_error("source: stdin\nfields: [a, b]\n" + kOut, 2, 9, "fields must be a map");
  has_error("source: stdin\noutputs:\n  - name: o\n    limit: -1\n    to: console\n", 4, 12,
            "must be at least 0");
}

TEST_CASE("bad durations and byte sizes") {
  has_error("source: stdin\nbatch: 5 seconds\n" + kOut, 2, 8, "'5 seconds' is not a duration");
  has_error("source: stdin\nbatch: 1.5s\n" + kOut, 2, 8, "'1.5s' is not a duration");
  has_error("source: stdin\nbatch: 0s\n" + kOut, 2, 8, "batch must be at least 1ms");
  has_error("source: stdin\non_error: { max_record_bytes: 1 meg }\n" + kOut, 2, 31,
            "'1 meg' is not a byte size");
  Job j = ok("source: stdin\nbatch: 250ms\non_error: { max_record_bytes: 512KiB }\n" + kOut);
  CHECK(j.batch_ms == 250);
  CHECK(j.on_error.max_record_bytes == 512 * 1024);
}

TEST_CASE("job and output names must be [a-z0-9_-]+, output names unique") {
  has_error("job: My Job\nsource: stdin\n" + kOut, 1, 6, "job name 'My Job' must match [a-z0-9_-]+");
  has_error("source: stdin\noutputs: [{ name: Top.Authors, to: console }]\n", 2, 19,
            "output name 'Top.Authors' must match [a-z0-9_-]+");
  has_error("source: stdin\noutputs:\n  - { name: a, to: console }\n  - { name: a, to: console }\n", 4, 5,
            "output name 'a' is used twice");
}

TEST_CASE("source forms: zero or two kinds, unknown kind, stdin scalar") {
  has_error("source: {}\n" + kOut, 1, 9, "source needs exactly one of kafka, socket, files, stdin, generate");
  has_error("source: { stdin: {}, socket: { port: 1 } }\n" + kOut, 1, 9,
            "source has 2 kinds (socket and stdin); a job has exactly one source");
  has_error("source: stdn\n" + kOut, 1, 9, "(did you mean 'stdin'?)");
  has_error("source: { kafak: {} }\n" + kOut, 1, 11, "unknown key 'kafak' in source (did you mean 'kafka'?)");
  CHECK(std::holds_alternative<StdinSource>(ok("source: stdin\n" + kOut).source.kind));
  CHECK(std::holds_alternative<StdinSource>(ok("source: { stdin: }\n" + kOut).source.kind));
}

TEST_CASE("kafka source: defaults, brokers string or list, unknown librdkafka property") {
  Job j = ok("job: tw\nsource:\n  kafka:\n    brokers: a:1, b:2\n    topics: t\n" + kOut);
  auto& k = std::get<KafkaSource>(j.source.kind);
  CHECK(k.brokers == std::vector<std::string>{"a:1", "b:2"});
  CHECK(k.topics == std::vector<std::string>{"t"});
  CHECK(k.group == "weir-tw");
  CHECK(k.start == KafkaSource::Start::Latest);
  has_error(
      "source:\n  kafka:\n    brokers: [b]\n    topics: [t]\n    properties:\n      fetch.wait.max.ms: 10\n"
      "      no.such.property: 1\n" +
          kOut,
      7, 7, "kafka property 'no.such.property'");
  has_error(
      "source:\n  kafka:\n    brokers: [b]\n    topics: [t]\n    properties: { fetch.wait.max.ms: lots }\n" +
          kOut,
      5, 19, "kafka property 'fetch.wait.max.ms'");
  Job p =
      ok("source: { kafka: { brokers: [b], topics: [t], properties: { queued.min.messages: 10000000 } } }\n" +
         kOut);
  CHECK(std::get<KafkaSource>(p.source.kind).properties.size() == 1);
}

TEST_CASE("generator template: every node kind") {
  Job j = ok(
      "source:\n  generate:\n    rate: 500/s\n    limit: 10\n    seed: 3\n    template:\n"
      "      b: { one_of: [x, 2, true] }\n      i: { int: [-5, 5] }\n      f: { float: [0.5, 1.5] }\n"
      "      w: { words: [a, b], min: 2, max: 4 }\n      t: now_ms\n      s: { seq: true }\n      c: hello\n"
      "      n: 42\n      o: { inner: { one_of: [a] } }\n" +
      kOut);
  auto& g = std::get<GenerateSource>(j.source.kind);
  CHECK(g.rate_per_s == 500);
  CHECK(g.limit == 10);
  CHECK(g.seed == 3u);
  CHECK(j.source.bounded());
  const auto& c = g.tmpl.children;
  REQUIRE(c.size() == 9);
  using K = GenNode::Kind;
  CHECK(c[0].node.kind == K::OneOf);
  CHECK(c[0].node.choices.size() == 3);
  CHECK(c[0].node.choices[1].as_int() == 2);
  CHECK(c[1].node.kind == K::IntRange);
  CHECK(c[1].node.int_lo == -5);
  CHECK(c[2].node.kind == K::FloatRange);
  CHECK(c[2].node.float_hi == 1.5);
  CHECK(c[3].node.kind == K::Words);
  CHECK(c[3].node.max_words == 4);
  CHECK(c[4].node.kind == K::NowMs);
  CHECK(c[5].node.kind == K::Sequence);
  CHECK(c[6].node.kind == K::Constant);
  CHECK(c[6].node.constant.as_string() == "hello");
  CHECK(c[7].node.constant.as_int() == 42);
  CHECK(c[8].node.kind == K::Object);
  CHECK(c[8].node.children[0].node.kind == K::OneOf);
  CHECK(std::get<GenerateSource>(
            ok("source: { generate: { rate: max, template: { a: 1 } } }\n" + kOut).source.kind)
            .rate_per_s == 0);
}

TEST_CASE("generator template errors") {
  std::string head = "source:\n  generate:\n    template:\n";
  has_error(head + "      a: { int: [5, 1] }\n" + kOut, 4, 17, "int needs two integers low <= high");
  has_error(head + "      a: { int: 5 }\n" + kOut, 4, 17, "int needs [low, high]");
  has_error(head + "      a: { one_of: [] }\n" + kOut, 4, 20, "template a: one_of must not be empty");
  has_error(head + "      a: { one_of: x }\n" + kOut, 4, 20, "one_of needs a non-empty list, got 'x'");
  has_error(head + "      a: { words: [] }\n" + kOut, 4, 19, "template a: words must not be empty");
  has_error("source: { generate: { template: {} } }\n" + kOut, 1, 33,
            "source.generate.template must not be empty: give at least one field");
  has_error(head + "      a: [1, 2]\n" + kOut, 4, 10, "a list is not a generator");
  has_error(head + "      a: { words: [x], min: 3, max: 2 }\n" + kOut, 4, 10, "0 <= min <= max");
  has_error("source: { generate: { rate: fast, template: { a: 1 } } }\n" + kOut, 1, 29,
            "'fast' is not a rate");
  has_error("source: { generate: { rate: 1/s } }\n" + kOut, 1, 21, "source.generate needs 'template'");
}

TEST_CASE("to: forms: console scalar, one-kind map, list, errors for others") {
  Job j =
      ok("source: stdin\noutputs:\n  - name: o\n    to:\n      - console\n"
         "      - { console: { rows: 3, format: json } }\n      - file: { path: out.csv, format: csv }\n");
  REQUIRE(j.outputs[0].sinks.size() == 3);
  CHECK(std::get<ConsoleSink>(j.outputs[0].sinks[1].kind).rows == 3);
  CHECK(std::get<FileSink>(j.outputs[0].sinks[2].kind).format == FileSink::Format::Csv);
  has_error("source: stdin\noutputs: [{ name: o, to: consol }]\n", 2, 26, "'consol' is not a sink");
  has_error("source: stdin\noutputs: [{ name: o, to: { file: { path: a }, console: {} } }]\n", 2, 26,
            "has 2 sinks in one map (file and console); write a list");
  has_error("source: stdin\noutputs: [{ name: o, to: { s3: {} } }]\n", 2, 28, "unknown sink 's3'");
  has_error("source: stdin\noutputs: [{ name: o, to: { file: {} } }]\n", 2, 34, "file needs 'path'");
}

TEST_CASE("kafka sink brokers default to the kafka source's") {
  Job j =
      ok("source: { kafka: { brokers: [k:1], topics: [t] } }\noutputs: [{ name: o, to: { kafka: { topic: x } "
         "} }]\n");
  CHECK(std::get<KafkaSink>(j.outputs[0].sinks[0].kind).brokers == std::vector<std::string>{"k:1"});
  has_error("source: stdin\noutputs: [{ name: o, to: { kafka: { topic: x } } }]\n", 2, 26,
            "kafka sink needs brokers");
}

TEST_CASE("on_error: dead_letter required when action or late is dead_letter") {
  has_error("source: stdin\non_error: { action: dead_letter }\n" + kOut, 2, 21,
            "on_error.dead_letter is not set");
  has_error("source: stdin\non_error:\n  late: dead_letter\n" + kOut, 3, 9,
            "on_error.dead_letter is not set");
  has_error("source: stdin\non_error: { action: dead_letter, dead_letter: console }\n" + kOut, 2, 47,
            "'console' is not a sink");
  Job j = ok("source: stdin\non_error: { action: dead_letter, dead_letter: { file: { path: d.jsonl } } }\n" +
             kOut);
  CHECK(j.on_error.action == OnError::Action::DeadLetter);
  CHECK(std::holds_alternative<FileSink>(j.on_error.dead_letter->kind));
}

TEST_CASE("fields: forms, types, defaults, formats, bad paths") {
  Job j = ok(
      "source: stdin\nfields:\n  a: user.name\n  b: { path: n, type: int, default: 7 }\n"
      "  c: { path: t, type: time, format: epoch_ms }\n  d: { path: t2, type: time, format: \"%Y-%m-%d\" }\n"
      "  e: { type: bool, required: true }\n" +
      kOut);
  REQUIRE(j.fields.size() == 5);
  CHECK(j.fields[0].path.size() == 2);
  CHECK(j.fields[1].default_value->as_int() == 7);
  CHECK(j.fields[2].time_format == TimeFormat::EpochMs);
  CHECK(j.fields[3].strftime == "%Y-%m-%d");
  CHECK(j.fields[4].path_text == "e");
  CHECK(j.fields[4].required);
  has_error("source: stdin\nfields:\n  b: { path: n, type: int, default: seven }\n" + kOut, 3, 37,
            "default 'seven' is not an int");
  has_error("source: stdin\nfields:\n  b: { path: n, type: integer }\n" + kOut, 3, 23,
            "(did you mean 'int'?)");
  has_error("source: stdin\nfields:\n  b: { path: n, format: epoch_ms }\n" + kOut, 3, 25,
            "format applies to type time only");
  has_error("source: stdin\nfields:\n  a: user..name\n" + kOut, 3, 11, "field 'a': path \"user..name\"");
  has_error("source: stdin\nfields:\n  _topic: t\n" + kOut, 3, 3, "reserved for metadata");
}
