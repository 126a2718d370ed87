// The daemon's pure pieces: listen addresses, job file names, which edits keep state, counters across
// reloads, and the Prometheus text.
#include <catch2/catch.hpp>

#include "cmd/daemon/http_server.h"
#include "cmd/daemon/prometheus.h"
#include "cmd/daemon/supervisor.h"
#include "config/load.h"

using namespace weir;
using namespace weir::daemon;

namespace {

config::Job job_from(const std::string& text) {
  config::LoadResult r = config::load_job_text(text, "t.yaml");
  for (const auto& e : r.errors) INFO(e.format());
  REQUIRE(r.ok());
  return *r.job;
}

std::string job_text(const std::string& group_by, int limit, const std::string& batch = "1s") {
  return "batch: " + batch +
         "\nsource: { generate: { rate: 10/s, template: { k: { one_of: [a, b] }, v: { int: [1, 5] } } } }\n"
         "fields: { k: { path: k, type: string }, v: { path: v, type: int } }\n"
         "outputs:\n  - name: totals\n    group_by: [" +
         group_by + "]\n    window: total\n    aggregate: { n: count(), s: sum(v) }\n    limit: " +
         std::to_string(limit) + "\n    to: console\n";
}

}  // namespace

TEST_CASE("listen addresses") {
  std::string host, err;
  int port = -1;
  CHECK(parse_listen_address("127.0.0.1:9464", host, port, err));
  CHECK((host == "127.0.0.1" && port == 9464));
  CHECK(parse_listen_address(":9090", host, port, err));
  CHECK((host == "127.0.0.1" && port == 9090));
  CHECK(parse_listen_address("9091", host, port, err));
  CHECK((host == "127.0.0.1" && port == 9091));
  CHECK(parse_listen_address("[::1]:0", host, port, err));
  CHECK((host == "::1" && port == 0));
  CHECK(parse_listen_address("0.0.0.0:80", host, port, err));
  CHECK(host == "0.0.0.0");
  for (const char* bad : {"", "host:", "host:port", "1.2.3.4:65536", "1.2.3.4:123456", "[::1]9090", "[::1"}) {
    INFO(bad);
    err.clear();
    CHECK_FALSE(parse_listen_address(bad, host, port, err));
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("job file names") {
  CHECK(is_job_file_name("a.yaml"));
  CHECK(is_job_file_name("b.yml"));
  CHECK_FALSE(is_job_file_name(".a.yaml"));   // hidden, editor swap files
  CHECK_FALSE(is_job_file_name("#a.yaml#"));  // emacs lock
  CHECK_FALSE(is_job_file_name("a.yaml.swp"));
  CHECK_FALSE(is_job_file_name("a.yaml~"));
  CHECK_FALSE(is_job_file_name("README.md"));
  CHECK_FALSE(is_job_file_name(""));
}

TEST_CASE("edits that keep the state and edits that do not") {
  config::Job base = job_from(job_text("k", 10));
  CHECK(state_changes(base, job_from(job_text("k", 2))).empty());  // limit: keeps state
  CHECK(state_changes(base, job_from(job_text("v", 10))) == std::vector<std::string>{"totals"});
  CHECK(state_changes(base, job_from(job_text("k", 10, "2s"))) == std::vector<std::string>{"*"});
  // An added output reading an undeclared path, and reordered fields: the state is kept.
  std::string added = job_text("k", 10) +
                      "  - name: english\n    where: \"user.lang = 'en'\"\n    aggregate: { n: count() }\n"
                      "    to: console\n";
  CHECK(state_changes(base, job_from(added)).empty());
  std::string reordered = job_text("k", 10);
  const std::string fields = "{ k: { path: k, type: string }, v: { path: v, type: int } }";
  reordered.replace(reordered.find(fields), fields.size(),
                    "{ v: { path: v, type: int }, k: { path: k, type: string } }");
  CHECK(state_changes(base, job_from(reordered)).empty());
  // group_by reading a new path: that output changed (named), not the whole job.
  CHECK(state_changes(base, job_from(job_text("k, user.lang", 10))) == std::vector<std::string>{"totals"});
}

TEST_CASE("counters of earlier runs add up, gauges do not") {
  JobSample a, b;
  a.job = b.job = "j";
  a.records_in = 100;
  a.bad = 2;
  a.batches = 5;
  a.batch_buckets[0] = 5;
  a.batch_count = 5;
  a.outputs.push_back(OutputSample{"o", 100, 1, 0, 40, 3, 7, 700});
  a.outputs.push_back(OutputSample{"gone", 9, 0, 0, 9, 0, 1, 10});
  b.records_in = 60;
  b.batches = 3;
  b.batch_buckets[0] = 3;
  b.batch_count = 3;
  b.outputs.push_back(OutputSample{"o", 60, 0, 1, 20, 0, 8, 800});
  a.outputs[0].row_errors = 4;
  b.outputs[0].row_errors = 1;
  add_counters(b, a);
  CHECK(b.outputs[0].row_errors == 5);
  CHECK(b.records_in == 160);
  CHECK(b.bad == 2);
  CHECK(b.batches == 8);
  CHECK(b.batch_buckets[0] == 8);
  CHECK(b.batch_count == 8);
  REQUIRE(b.outputs.size() == 2);
  CHECK(b.outputs[0].records == 160);
  CHECK(b.outputs[0].rows == 60);
  CHECK(b.outputs[0].late == 1);
  CHECK(b.outputs[0].sink_retries == 3);
  CHECK(b.outputs[0].state_groups == 8);  // a gauge: the newest run's
  CHECK(b.outputs[0].state_bytes == 800);
  CHECK(b.outputs[1].name == "gone");
}

TEST_CASE("Prometheus text") {
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  JobSample j;
  j.job = "we\"ird";
  j.state = JobState::Running;
  j.records_in = 42;
  j.batch_buckets[0] = 2;
  j.batch_buckets[3] = 1;
  j.batch_buckets.back() = 1;
  j.batch_count = 4;
  j.batch_sum_us = 70'000'000;
  j.outputs.push_back(OutputSample{"o", 40, 2, 0, 7, 0, 3, 300});
  FileProblem p{"/etc/weir/jobs.d/x.yaml", "x", "1 problem", true};
  std::string text = render_prometheus({j}, {p});
  CHECK(text.find("weir_records_in_total{job=\"we\\\"ird\"} 42\n") != std::string::npos);
  CHECK(text.find("weir_job_state{job=\"we\\\"ird\",state=\"running\"} 1\n") != std::string::npos);
  CHECK(text.find("weir_job_state{job=\"we\\\"ird\",state=\"failed\"} 0\n") != std::string::npos);
  // cumulative buckets, +Inf equal to the count
  CHECK(text.find("weir_batch_duration_seconds_bucket{job=\"we\\\"ird\",le=\"0.001\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("weir_batch_duration_seconds_bucket{job=\"we\\\"ird\",le=\"0.025\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("weir_batch_duration_seconds_bucket{job=\"we\\\"ird\",le=\"+Inf\"} 4\n") !=
        std::string::npos);
  CHECK(text.find("weir_batch_duration_seconds_count{job=\"we\\\"ird\"} 4\n") != std::string::npos);
  CHECK(text.find("weir_batch_duration_seconds_sum{job=\"we\\\"ird\"} 70\n") != std::string::npos);
  CHECK(text.find("weir_rows_out_total{job=\"we\\\"ird\",output=\"o\"} 7\n") != std::string::npos);
  CHECK(text.find("weir_job_file_problem{file=\"/etc/weir/jobs.d/"
                  "x.yaml\",job=\"x\",previous_version_running=\"true\"} 1\n") != std::string::npos);
  // a job that never committed has no last-success sample (rather than 1970)
  CHECK(text.find("weir_last_success_timestamp_seconds{") == std::string::npos);
  // every family: HELP and TYPE once
  size_t types = 0;
  for (size_t at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1)) ++types;
  size_t helps = 0;
  for (size_t at = text.find("# HELP "); at != std::string::npos; at = text.find("# HELP ", at + 1)) ++helps;
  CHECK(types == helps);
  CHECK(types >= 20);
}
