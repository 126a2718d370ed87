#include "cmd/daemon/sample.h"

namespace weir::daemon {

const char* to_string(JobState s) {
  switch (s) {
    case JobState::Starting:
      return "starting";
    case JobState::Running:
      return "running";
    case JobState::Stopping:
      return "stopping";
    case JobState::Stopped:
      return "stopped";
    case JobState::Finished:
      return "finished";
    case JobState::Failed:
      return "failed";
  }
  return "unknown";
}

void fill_sample(const engine::JobMetrics& m, JobSample& out) {
  constexpr auto r = std::memory_order_relaxed;
  out.records_in = m.records_in.load(r);
  out.bad = m.bad.load(r);
  out.late = m.late.load(r);
  out.batches = m.batches.load(r);
  out.last_batch_duration_us = m.last_batch_duration_us.load(r);
  out.last_close_duration_us = m.last_close_duration_us.load(r);
  out.last_success_ms = m.last_success_ms.load(r);
  out.watermark_ms = m.watermark_ms.load(r);
  out.checkpoint_bytes = m.checkpoint_bytes.load(r);
  out.checkpoint_duration_us = m.checkpoint_duration_us.load(r);
  out.checkpoint_pause_us = m.checkpoint_pause_us.load(r);
  for (size_t i = 0; i < out.batch_buckets.size(); ++i)
    out.batch_buckets[i] = m.batch_duration.buckets[i].load(r);
  out.batch_count = m.batch_duration.count.load(r);
  out.batch_sum_us = m.batch_duration.sum_us.load(r);
  out.outputs.clear();
  for (const auto& o : m.outputs) {
    OutputSample s;
    s.name = o->name;
    s.records = o->records.load(r);
    s.bad = o->bad.load(r);
    s.late = o->late.load(r);
    s.rows = o->rows.load(r);
    s.row_errors = o->row_errors.load(r);
    s.sink_retries = o->sink_retries.load(r);
    s.state_groups = o->state_groups.load(r);
    s.state_bytes = o->state_bytes.load(r);
    out.outputs.push_back(std::move(s));
  }
}

void add_counters(JobSample& into, const JobSample& from) {
  into.records_in += from.records_in;
  into.bad += from.bad;
  into.late += from.late;
  into.batches += from.batches;
  for (size_t i = 0; i < into.batch_buckets.size(); ++i) into.batch_buckets[i] += from.batch_buckets[i];
  into.batch_count += from.batch_count;
  into.batch_sum_us += from.batch_sum_us;
  for (const auto& f : from.outputs) {
    bool found = false;
    for (auto& o : into.outputs) {
      if (o.name != f.name) continue;
      o.records += f.records;
      o.bad += f.bad;
      o.late += f.late;
      o.rows += f.rows;
      o.row_errors += f.row_errors;
      o.sink_retries += f.sink_retries;
      found = true;
    }
    if (!found) {
      OutputSample o;
      o.name = f.name;
      o.records = f.records;
      o.bad = f.bad;
      o.late = f.late;
      o.rows = f.rows;
      o.row_errors = f.row_errors;
      o.sink_retries = f.sink_retries;
      into.outputs.push_back(std::move(o));
    }
  }
}

}  // namespace weir::daemon
