#include "cmd/daemon/prometheus.h"

#include <fmt/format.h>

namespace weir::daemon {

namespace {

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename T>
  void sample(std::string_view name, const std::string& labels, T value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string job_labels(const JobSample& j) {
  return fmt::format("job=\"{}\"", escape_label_value(j.job));
}
std::string output_labels(const JobSample& j, const OutputSample& o) {
  return fmt::format("job=\"{}\",output=\"{}\"", escape_label_value(j.job), escape_label_value(o.name));
}

double seconds_from_us(int64_t us) {
  return static_cast<double>(us) / 1e6;
}
double seconds_from_ms(int64_t ms) {
  return static_cast<double>(ms) / 1e3;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_prometheus(const std::vector<JobSample>& jobs, const std::vector<FileProblem>& problems) {
  Writer w;
  w.family("weir_build_info", "gauge", "weir's version; always 1.");
  w.sample("weir_build_info", fmt::format("version=\"{}\"", escape_label_value(WEIR_VERSION)), 1);

  w.family("weir_job_state", "gauge", "1 for the state each job is in, 0 for the others.");
  for (const auto& j : jobs) {
    for (JobState s : kAllJobStates) {
      w.sample("weir_job_state", fmt::format("{},state=\"{}\"", job_labels(j), to_string(s)),
               j.state == s ? 1 : 0);
    }
  }
  auto per_job = [&](const char* name, const char* type, const char* help, auto value) {
    w.family(name, type, help);
    for (const auto& j : jobs) w.sample(name, job_labels(j), value(j));
  };
  per_job("weir_job_reloads_total", "counter", "Times the job was restarted on an edited file (or SIGHUP).",
          [](const JobSample& j) { return j.reloads; });
  per_job("weir_records_in_total", "counter",
          "Records read from the job's source since the daemon started (reloads included).",
          [](const JobSample& j) { return j.records_in; });
  per_job("weir_bad_records_total", "counter", "Records that did not decode or failed in an output.",
          [](const JobSample& j) { return j.bad; });
  per_job("weir_late_records_total", "counter", "Event time: records whose windows were all closed.",
          [](const JobSample& j) { return j.late; });
  per_job("weir_batches_total", "counter", "Batches committed.",
          [](const JobSample& j) { return j.batches; });
  per_job("weir_last_batch_duration_seconds", "gauge", "Wall time of the last batch, reading included.",
          [](const JobSample& j) { return seconds_from_us(j.last_batch_duration_us); });
  per_job("weir_last_batch_close_seconds", "gauge",
          "Time the last batch took to close: emit windows, write the sinks, write the checkpoint.",
          [](const JobSample& j) { return seconds_from_us(j.last_close_duration_us); });
  per_job("weir_checkpoint_duration_seconds", "gauge",
          "Time to write the last checkpoint in the background: encode, write, fsync.",
          [](const JobSample& j) { return seconds_from_us(j.checkpoint_duration_us); });
  per_job("weir_checkpoint_pause_seconds", "gauge",
          "Time the batch loop paused for the last checkpoint: copying the state.",
          [](const JobSample& j) { return seconds_from_us(j.checkpoint_pause_us); });
  per_job("weir_checkpoint_bytes", "gauge", "Size of the last checkpoint written.",
          [](const JobSample& j) { return j.checkpoint_bytes; });

  w.family("weir_last_success_timestamp_seconds", "gauge",
           "Wall time of the last committed batch (Unix time).");
  for (const auto& j : jobs) {
    if (j.last_success_ms > 0)
      w.sample("weir_last_success_timestamp_seconds", job_labels(j), seconds_from_ms(j.last_success_ms));
  }
  w.family("weir_watermark_timestamp_seconds", "gauge", "Event time: the job's watermark (Unix time).");
  for (const auto& j : jobs) {
    if (j.watermark_ms != INT64_MIN)
      w.sample("weir_watermark_timestamp_seconds", job_labels(j), seconds_from_ms(j.watermark_ms));
  }

  w.family("weir_batch_duration_seconds", "histogram",
           "Time to close a batch: close windows, write the sinks, write the checkpoint.");
  for (const auto& j : jobs) {
    uint64_t cumulative = 0;
    const auto& bounds = engine::DurationHistogram::kBoundsUs;
    for (size_t i = 0; i < j.batch_buckets.size(); ++i) {
      cumulative += j.batch_buckets[i];
      std::string le = i < bounds.size() ? fmt::format("{}", seconds_from_us(bounds[i])) : "+Inf";
      w.sample("weir_batch_duration_seconds_bucket", fmt::format("{},le=\"{}\"", job_labels(j), le),
               cumulative);
    }
    w.sample("weir_batch_duration_seconds_sum", job_labels(j), seconds_from_us(j.batch_sum_us));
    w.sample("weir_batch_duration_seconds_count", job_labels(j), j.batch_count);
  }

  w.family("weir_kafka_lag", "gauge",
           "Kafka jobs: messages in the partition after the offset of the last committed batch.");
  for (const auto& j : jobs) {
    for (const auto& l : j.lag) {
      w.sample("weir_kafka_lag",
               fmt::format("{},topic=\"{}\",partition=\"{}\"", job_labels(j), escape_label_value(l.topic),
                           l.partition),
               l.lag);
    }
  }

  auto per_output = [&](const char* name, const char* type, const char* help, auto value) {
    w.family(name, type, help);
    for (const auto& j : jobs) {
      for (const auto& o : j.outputs) w.sample(name, output_labels(j, o), value(o));
    }
  };
  per_output("weir_output_records_total", "counter",
             "Records that passed the output's `where` (after explode).",
             [](const OutputSample& o) { return o.records; });
  per_output("weir_output_bad_records_total", "counter", "Records the output could not evaluate.",
             [](const OutputSample& o) { return o.bad; });
  per_output("weir_output_late_records_total", "counter", "Event time: records late for this output.",
             [](const OutputSample& o) { return o.late; });
  per_output("weir_rows_out_total", "counter", "Rows written to the output's sinks.",
             [](const OutputSample& o) { return o.rows; });
  per_output("weir_output_row_errors_total", "counter",
             "Result rows whose `having` (row dropped) or Kafka `key` (null key) expression failed.",
             [](const OutputSample& o) { return o.row_errors; });
  per_output("weir_sink_retries_total", "counter", "Sink writes retried after a transient error.",
             [](const OutputSample& o) { return o.sink_retries; });
  per_output("weir_state_groups", "gauge", "Groups held in the output's window state.",
             [](const OutputSample& o) { return o.state_groups; });
  per_output("weir_state_bytes", "gauge", "Approximate bytes of the output's window state.",
             [](const OutputSample& o) { return o.state_bytes; });

  w.family("weir_job_file_problem", "gauge",
           "1 for each job file whose newest version is not applied (invalid, duplicate job name, or an edit "
           "that does not fit the checkpointed state).");
  for (const auto& p : problems) {
    w.sample("weir_job_file_problem",
             fmt::format("file=\"{}\",job=\"{}\",previous_version_running=\"{}\"", escape_label_value(p.file),
                         escape_label_value(p.job), p.job_running ? "true" : "false"),
             1);
  }
  return w.take();
}

}  // namespace weir::daemon
