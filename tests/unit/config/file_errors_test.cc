// Files that are not job files at all: one clear located error each, never a crash.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "helpers.h"

using namespace weir::config;
using namespace weir::config::test;

namespace {
LoadResult one_error(const std::string& text) {
  LoadResult r = load(text);
  INFO(all_errors(r));
  REQUIRE(r.errors.size() == 1);
  REQUIRE_FALSE(r.job);
  return r;
}
}  // namespace

TEST_CASE("YAML syntax error is located") {
  LoadResult r = one_error("source: stdin\noutputs: [ { name: o,\n  to: console\n");
  CHECK(r.errors[0].message.find("YAML syntax error") != std::string::npos);
  CHECK(r.errors[0].line >= 2);
  CHECK(r.errors[0].format().rfind("job.yaml:", 0) == 0);
}

TEST_CASE("bad indentation is a YAML syntax error, not a crash") {
  LoadResult r = one_error("source:\n  stdin: {}\n    oops: 1\noutputs: []\n");
  CHECK(r.errors[0].message.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("a malformed flow map on which the YAML parser loops is a located error, not unbounded memory") {
  // Found by tests/fuzz (weir-fuzz-job): yaml-cpp 0.7 emits events for this without end, and loading it used
  // to allocate until the process was killed. Both forms, the minimal one and the job file the fuzzer
  // mangled.
  for (const char* t :
       {"    a: { b: 1 }\n , c: d }\n",
        "# x\n    aggregate: { amount: sum(amount) }\n , default: und }\noutputs:\n  - name: o\n"}) {
    LoadResult r = one_error(t);
    CHECK(r.errors[0].message.find("YAML syntax error: the YAML parser does not get past this point") !=
          std::string::npos);
    CHECK(r.errors[0].line >= 1);
  }
}

TEST_CASE("empty file and comment-only file") {
  for (const char* t : {"", "\n\n", "# nothing here\n"}) {
    LoadResult r = one_error(t);
    CHECK(r.errors[0].line == 1);
    CHECK(r.errors[0].col == 1);
    CHECK(r.errors[0].message.find("empty") != std::string::npos);
  }
}

TEST_CASE("top level that is a list or a scalar") {
  LoadResult r = one_error("- source: stdin\n- outputs: []\n");
  CHECK(r.errors[0].message.find("top level must be a map") != std::string::npos);
  CHECK(r.errors[0].message.find("a list") != std::string::npos);
  CHECK(r.errors[0].line == 1);
  r = one_error("just a string\n");
  CHECK(r.errors[0].message.find("top level must be a map") != std::string::npos);
}

TEST_CASE("two YAML documents in one file") {
  LoadResult r = one_error("source: stdin\noutputs: [{ name: o, to: console }]\n---\nsource: stdin\n");
  CHECK(r.errors[0].message.find("one job per file") != std::string::npos);
}

TEST_CASE("binary content: NUL byte and invalid UTF-8 are located") {
  std::string nul = std::string("source: stdin\nou") + '\0' + "tputs: []\n";
  LoadResult r = one_error(nul);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].col == 3);
  CHECK(r.errors[0].message.find("not a text file") != std::string::npos);
  r = one_error("job: x\xff\xfe\n");
  CHECK(r.errors[0].line == 1);
  CHECK(r.errors[0].col == 7);
  CHECK(r.errors[0].message.find("UTF-8") != std::string::npos);
}

TEST_CASE("valid UTF-8 text is not mistaken for binary") {
  ok("# Ünïcödé комментарий 🚀\nsource: stdin\noutputs: [{ name: o, to: console }]\n");
}

TEST_CASE("missing file and directory: an error without a position") {
  LoadResult r = load_job_file("/nonexistent/dir/job.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 0);
  CHECK(r.errors[0].format() == "/nonexistent/dir/job.yaml: cannot read the file: No such file or directory");
  r = load_job_file(std::filesystem::temp_directory_path().string());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("directory") != std::string::npos);
}

TEST_CASE("load_job_file reads a file and takes the job name from its stem") {
  auto path = std::filesystem::temp_directory_path() / "weir-config-test-my_job.yaml";
  {
    std::ofstream f(path);
    f << "source: stdin\noutputs: [{ name: o, to: console }]\n";
  }
  LoadResult r = load_job_file(path.string());
  std::filesystem::remove(path);
  INFO(all_errors(r));
  REQUIRE(r.ok());
  CHECK(r.job->name == "weir-config-test-my_job");
  CHECK(r.job->file == path.string());
}

TEST_CASE("a file name that is not a valid job name needs job:") {
  LoadResult r = load_job_text("source: stdin\noutputs: [{ name: o, to: console }]\n", "dir/My Job.yml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].format().find("dir/My Job.yml: the job name comes from the file name, 'My Job'") == 0);
  r = load_job_text("job: fine\nsource: stdin\noutputs: [{ name: o, to: console }]\n", "dir/My Job.yml");
  CHECK(r.ok());
}
