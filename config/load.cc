// load_job_file / load_job_text: read, parse YAML, parse each section, then the cross-field phase.
// Nothing escapes: every failure becomes a located diagnostic.
#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/internal.h"
#include "config/schema.h"

namespace weir::config {

namespace {

// The first NUL or invalid UTF-8 byte, if any.
std::optional<size_t> first_binary_byte(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || c == 0xC0 || c == 0xC1 || c > 0xF4) return i;
    for (int k = 1; k <= n; ++k)
      if (i + size_t(k) >= s.size() || (static_cast<unsigned char>(s[i + size_t(k)]) & 0xC0) != 0x80)
        return i;
    i += size_t(n) + 1;
  }
  return std::nullopt;
}

Loc loc_of_offset(std::string_view s, size_t off) {
  Loc l{1, 1};
  for (size_t i = 0; i < off && i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++l.line;
      l.col = 1;
    } else {
      ++l.col;
    }
  }
  return l;
}

// yaml-cpp 0.7's parser can loop on some malformed flow collections, emitting events without end (fuzzing
// found `    a: { b: 1 }\n , c: d }`); YAML::LoadAll then builds nodes until memory runs out. So the text is
// parsed once with this handler, which builds nothing and gives up after more events than such a text can
// hold (an event takes at least one byte, a collection two: 4 per byte is a generous bound), before LoadAll
// builds the nodes.
class EventBound : public YAML::EventHandler {
 public:
  explicit EventBound(size_t text_bytes) : limit_(4 * text_bytes + 64) {}
  void OnDocumentStart(const YAML::Mark& m) override { count(m); }
  void OnDocumentEnd() override { count(last_); }
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { count(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { count(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    count(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    count(m);
  }
  void OnSequenceEnd() override { count(last_); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    count(m);
  }
  void OnMapEnd() override { count(last_); }

 private:
  void count(const YAML::Mark& m) {
    last_ = m;
    if (++events_ > limit_) {
      throw YAML::ParserException(
          m, "the YAML parser does not get past this point (a malformed flow collection?)");
    }
  }
  size_t limit_;
  size_t events_ = 0;
  YAML::Mark last_ = YAML::Mark::null_mark();
};

std::vector<YAML::Node> load_all_bounded(const std::string& text) {
  {
    std::istringstream in(text);
    YAML::Parser parser(in);
    EventBound bound(text.size());
    while (parser.HandleNextDocument(bound)) {
    }
  }
  return YAML::LoadAll(text);
}

std::string stem_of(const std::string& file) {
  std::filesystem::path p(file);
  std::string name = p.filename().string();
  for (std::string_view ext : {".yaml", ".yml"})
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return name.substr(0, name.size() - ext.size());
  return name;
}

OnError parse_on_error(Ctx& ctx, const YAML::Node& n) {
  OnError oe;
  MapReader r(ctx, n, section("on_error"), "on_error");
  if (auto a = r.choice("action"))
    oe.action = *a == "stop"          ? OnError::Action::Stop
                : *a == "dead_letter" ? OnError::Action::DeadLetter
                                      : OnError::Action::Skip;
  if (r.has("dead_letter"))
    oe.dead_letter = parse_sink(ctx, r.node("dead_letter"), "on_error.dead_letter", true);
  if (auto l = r.choice("late"))
    oe.late = *l == "dead_letter" ? OnError::Late::DeadLetter : OnError::Late::Drop;
  if (auto b = r.bytes("max_record_bytes")) oe.max_record_bytes = *b;
  bool needs = oe.action == OnError::Action::DeadLetter || oe.late == OnError::Late::DeadLetter;
  if (needs && !r.has("dead_letter"))
    ctx.error(
        r.loc(oe.action == OnError::Action::DeadLetter ? "action" : "late"),
        "on_error: dead_letter is used but on_error.dead_letter is not set (e.g. dead_letter: { file: { "
        "path: dlq.jsonl } })");
  return oe;
}

void parse_job(Ctx& ctx, const YAML::Node& root, Job& job) {
  MapReader r(ctx, root, section("(top level)"), "the job");
  if (auto name = r.str("job")) {
    job.name = *name;
    if (!valid_name(job.name))
      ctx.error(r.loc("job"), fmt::format("job name '{}' must match [a-z0-9_-]+", job.name));
  } else if (!r.has("job")) {
    job.name = stem_of(job.file);
    if (!valid_name(job.name))
      ctx.error(Loc{}, fmt::format("the job name comes from the file name, '{}', which does not match "
                                   "[a-z0-9_-]+; set `job: NAME`",
                                   job.name));
  }
  if (auto b = r.duration("batch")) job.batch_ms = *b;
  if (r.has("time")) job.time = parse_time_section(ctx, r.node("time"));
  if (auto d = r.choice("decode")) job.decode = *d == "text" ? Decode::Text : Decode::Json;
  if (r.has("fields")) job.fields = parse_fields(ctx, r.node("fields"));
  if (r.has("source")) {
    if (r.node("source").IsNull())
      ctx.error(r.loc("source"), "source needs exactly one of kafka, socket, files, stdin, generate");
    else
      job.source = parse_source(ctx, r.node("source"));
  }
  if (r.has("on_error")) job.on_error = parse_on_error(ctx, r.node("on_error"));
  if (r.has("checkpoint")) {
    MapReader c(ctx, r.node("checkpoint"), section("checkpoint"), "checkpoint");
    if (c.has("dir")) job.checkpoint.dir = c.str("dir").value_or("");
    if (auto e = c.integer("every")) job.checkpoint.every = int(*e);
  }
  if (auto w = r.str("workers"); w && *w != "auto") {
    int64_t n = 0;
    if (parse_int(*w, n) && n >= 1 && n <= 64) {
      job.workers = static_cast<int>(n);
    } else {
      ctx.error(r.loc("workers"),
                fmt::format("workers (record-path threads: the batch loop and N-1 parse threads) must be an "
                            "integer from 1 to 64 or `auto`, got '{}'",
                            *w));
    }
  }
  if (r.has("outputs")) {
    YAML::Node outs = r.node("outputs");
    if (!outs.IsSequence()) {
      ctx.error(r.loc("outputs"), fmt::format("outputs must be a non-empty list, got {}", describe(outs)));
    } else if (outs.size() == 0) {
      ctx.error(r.loc("outputs"), "outputs must not be empty: a job needs at least one output");
    } else {
      int i = 0;
      for (const auto& o : outs) job.outputs.push_back(parse_output(ctx, o, i++));
    }
  }
}

}  // namespace

LoadResult load_job_text(const std::string& text, const std::string& file) {
  LoadResult res;
  Ctx ctx(file, text);
  try {
    if (auto bad = first_binary_byte(text)) {
      ctx.error(loc_of_offset(text, *bad),
                fmt::format("this is not a text file: byte 0x{:02x} at offset {} is {}",
                            static_cast<unsigned char>(text[*bad]), *bad,
                            text[*bad] == 0 ? "a NUL" : "not valid UTF-8"));
    } else {
      std::vector<YAML::Node> docs = load_all_bounded(text);
      if (docs.empty() || docs[0].IsNull()) {
        ctx.error(Loc{1, 1}, "the file is empty; a job needs at least `source:` and `outputs:`");
      } else if (docs.size() > 1) {
        ctx.error(Ctx::loc(docs[1]),
                  fmt::format("one job per file, but this file has {} YAML documents", docs.size()));
      } else if (!docs[0].IsMap()) {
        ctx.error(docs[0],
                  fmt::format("the top level must be a map of keys (job, batch, source, fields, outputs, "
                              "...), got {}",
                              docs[0].IsSequence() ? "a list" : describe(docs[0])));
      } else {
        Job job;
        job.file = file;
        parse_job(ctx, docs[0], job);
        validate_cross(ctx, job);  // also after schema errors: every problem in one pass
        if (ctx.error_count() == 0) res.job = std::move(job);
      }
    }
  } catch (const YAML::Exception& e) {
    Loc l = e.mark.is_null() ? Loc{} : Loc{e.mark.line + 1, e.mark.column + 1};
    ctx.error(l, fmt::format("YAML syntax error: {}", e.msg));
  } catch (const std::exception& e) {
    ctx.error(Loc{}, fmt::format("could not load the job: {}", e.what()));
  }
  res.errors = ctx.take_errors();
  if (!res.errors.empty()) res.job.reset();
  return res;
}

LoadResult load_job_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    LoadResult res;
    res.errors.push_back(Diagnostic{path, 0, 0, "is a directory, not a job file"});
    return res;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult res;
    res.errors.push_back(
        Diagnostic{path, 0, 0, fmt::format("cannot read the file: {}", std::strerror(errno))});
    return res;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_job_text(ss.str(), path);
}

}  // namespace weir::config
