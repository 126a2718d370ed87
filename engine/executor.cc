#include "engine/executor.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "engine/log.h"

namespace weir::engine {

namespace {
int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
int64_t floor_to(int64_t t, int64_t unit) {
  int64_t q = t / unit;
  if (t % unit != 0 && t < 0) --q;
  return q * unit;
}
}  // namespace

Executor::Executor(const config::Job& job, const JobPlan& plan, Connectors connectors, Clock& clock,
                   ExecutorOptions options)
    : job_(job),
      plan_(plan),
      conn_(std::move(connectors)),
      clock_(clock),
      opts_(std::move(options)),
      extractor_(job.fields, job.decode),
      workers_(resolve_workers(opts_.workers, job.workers)),
      bad_(job.name, job.on_error, std::move(conn_.dead_letter)),
      slots_(plan.slots.size()) {
  runners_.reserve(plan.outputs.size());
  pending_.resize(plan.outputs.size());
  state_bytes_.resize(plan.outputs.size());
  if (!opts_.checkpoint_dir.empty()) {
    store_.emplace(opts_.checkpoint_dir);
    // The writer thread has its own copy of the store: after a hard stop it may outlive this executor.
    checkpoint::Writer::WriteFn write = [store = *store_](const checkpoint::Checkpoint& c, size_t* bytes,
                                                          const std::atomic<bool>& abandoned) {
      checkpoint::Store s = store;
      s.set_abandoned_flag(&abandoned);
      return s.write(c, bytes);
    };
    if (opts_.checkpoint_write) {
      write = [store = *store_, hook = opts_.checkpoint_write](const checkpoint::Checkpoint& c, size_t* bytes,
                                                               const std::atomic<bool>& abandoned) {
        checkpoint::Store s = store;
        s.set_abandoned_flag(&abandoned);
        return hook(s, c, bytes);
      };
    }
    writer_ = std::make_unique<checkpoint::Writer>(std::move(write));
  }
  for (const auto& op : plan.outputs) {
    runners_.emplace_back(op);
    auto m = std::make_unique<OutputMetrics>();
    m->name = op.name;
    metrics_.outputs.push_back(std::move(m));
  }
}

Executor::~Executor() {
  // The parse threads first: they use agg_ (declared after pool_, so destroyed before it) and must not
  // outlive it when run() ended without joining them (an exception, an early return).
  pool_.reset();
}

void Executor::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

Status Executor::open() {
  if (Status s = bad_.open(); !s.is_ok()) return Status::fatal("dead-letter sink: " + s.message());
  uint64_t committed = 0;
  for (size_t o = 0; o < conn_.sinks.size(); ++o) {
    for (auto& sink : conn_.sinks[o]) {
      SinkContext ctx{job_.name, plan_.outputs[o].name, plan_.outputs[o].schema};
      // A sink that cannot be reached yet (database restarting) is waited for; a misconfigured one is fatal.
      int64_t backoff_ms = 100;
      bool warned = false;
      while (true) {
        Status s = sink->open(ctx);
        if (s.is_ok()) break;
        if (s.is_fatal() || stop_->load() != 0) {
          return Status::fatal(fmt::format("output '{}': {}", plan_.outputs[o].name, s.message()));
        }
        if (!warned) {
          log::get("engine")->warn("Job '{}', output '{}': sink not reachable at start ({}); retrying.",
                                   job_.name, plan_.outputs[o].name, s.message());
          warned = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
      }
      committed = std::max(committed, sink->committed_batch());
    }
  }
  // Batch ids keep increasing across runs, so that exactly-once sinks never mistake a new batch for one they
  // already hold.
  batch_id_ = committed + 1;
  const Positions* resume = nullptr;
  if (store_) {
    if (Status s = restore(committed, resume); !s.is_ok()) return s;
  }
  if (Status s = conn_.source->open(resume); !s.is_ok()) return Status::fatal("source: " + s.message());
  return Status::ok();
}

Status Executor::restore(uint64_t committed, const Positions*& resume) {
  auto log = log::get("engine");
  if (opts_.reset_state) {
    if (Status s = store_->reset(); !s.is_ok()) return s;
    log->warn(
        "Job '{}': --reset-state: the checkpoint in {} was discarded; starting with empty state at batch {}.",
        job_.name, store_->dir(), batch_id_);
    return Status::ok();
  }
  auto entries = store_->list();
  const checkpoint::Checkpoint* use = nullptr;
  std::string use_path;
  std::vector<std::string> unusable;
  for (auto& e : entries) {
    if (!e.checkpoint) {
      log->error("Job '{}': checkpoint {} is unusable: {}.", job_.name, e.path, e.error);
      unusable.push_back(e.path + ": " + e.error);
      continue;
    }
    const auto& cp = *e.checkpoint;
    if (cp.job != job_.name) {
      // Two jobs sharing a checkpoint.dir, or a copied directory: the state is not this job's, even when the
      // definitions (and so the fingerprints) are equal, and this job's sinks have their own progress.
      return Status::fatal(fmt::format(
          "checkpoint {} was written by job '{}', not by '{}'; refusing to start from another job's state. "
          "Give each job its own checkpoint.dir, or start over with `weir run --reset-state`",
          e.path, cp.job, job_.name));
    }
    const auto fit = checkpoint::fit_job_fingerprint(cp.job_fingerprint, job_);
    if (fit == checkpoint::FingerprintFit::No) {
      const bool v1 = !cp.job_fingerprint.starts_with("v2:");
      return Status::fatal(fmt::format(
          "the job's source, declared fields, time or batch changed since checkpoint {} was written, so its "
          "state no longer fits.{} Start over with `weir run --reset-state` (discards the state) or use a "
          "new checkpoint.dir",
          e.path,
          v1 ? " (It was written by a weir before v2 fingerprints: if you also added outputs that read new "
               "paths, run the job once unchanged, then add them.)"
             : ""));
    }
    std::vector<std::string> changed;
    bool pass_through = false;
    for (const auto& o : job_.outputs) {
      const auto* st = cp.find(o.name);
      if (st != nullptr && st->fingerprint != checkpoint::output_fingerprint_as(fit, job_, o)) {
        changed.push_back(o.name);
        pass_through = pass_through || !o.aggregating();
      }
    }
    if (!changed.empty()) {
      return Status::fatal(fmt::format(
          "output(s) {} changed where/explode/select/group_by/window/aggregate{} since checkpoint {}, so "
          "their state no longer fits. Rename the changed output(s) to start them empty, start over with "
          "`weir run "
          "--reset-state`, or use a new checkpoint.dir",
          fmt::join(changed, ", "),
          pass_through ? " (or, for an output without aggregate, the declared fields or their order: its "
                         "rows kept in the checkpoint have them as columns)"
                       : "",
          e.path));
    }
    if (fit == checkpoint::FingerprintFit::V1) {
      log->info(
          "Job '{}': checkpoint {} has fingerprints of a weir before v2; they fit this job, and the next "
          "checkpoint is written with v2 fingerprints.",
          job_.name, e.path);
    }
    if (cp.batch < committed) {
      return Status::fatal(
          fmt::format("a sink has committed batch {} but the newest usable checkpoint ({}) holds batch {}; "
                      "refusing to start "
                      "from older state (that would count records twice). Restore the checkpoint directory, "
                      "or start over "
                      "with `weir run --reset-state`",
                      committed, e.path, cp.batch));
    }
    use = &cp;
    use_path = e.path;
    break;
  }
  if (use == nullptr) {
    if (!unusable.empty()) {
      return Status::fatal(fmt::format(
          "no usable checkpoint in {} ({}); refusing to start from empty state. Restore the directory from a "
          "backup, or start over with `weir run --reset-state`",
          store_->dir(), fmt::join(unusable, "; ")));
    }
    if (committed > 0) {
      return Status::fatal(
          fmt::format("a sink has committed batch {} for this job but there is no checkpoint in {}; refusing "
                      "to start from "
                      "empty state (records would be counted twice or lost). Restore the checkpoint "
                      "directory, or start over "
                      "with `weir run --reset-state`",
                      committed, store_->dir()));
    }
    log->info("Job '{}': no checkpoint in {}; starting fresh.", job_.name, store_->dir());
    return Status::ok();
  }
  restored_ = *use;
  for (const auto& st : restored_.outputs) {
    bool found = false;
    for (size_t i = 0; i < runners_.size(); ++i) {
      if (plan_.outputs[i].name != st.name) continue;
      found = true;
      if (!runners_[i].state().load(st.state)) {
        return Status::fatal(fmt::format("checkpoint batch {}: the state of output '{}' does not load",
                                         restored_.batch, st.name));
      }
      if (Status s = restore_pending(i, st, use_path); !s.is_ok()) return s;
    }
    if (!found) {
      log->info("Job '{}': output '{}' is no longer in the job file; its checkpointed state is dropped.",
                job_.name, st.name);
    }
  }
  watermark_ms_ = restored_.watermark_ms;
  metrics_.watermark_ms = watermark_ms_;
  streams_.clear();
  for (int64_t m : restored_.stream_max) streams_.push_back(StreamTime{m, idle_clock_ms()});
  batch_id_ = restored_.batch + 1;
  resume = &restored_.positions;
  log->info("Job '{}': resuming from checkpoint batch {} ({} source position(s)).", job_.name,
            restored_.batch, restored_.positions.size());
  return Status::ok();
}

Status Executor::restore_pending(size_t o, const checkpoint::OutputState& st, const std::string& path) {
  const OutputPlan& op = plan_.outputs[o];
  const size_t visible = op.schema.columns.size();
  pending_[o] = st.pending;
  for (const BatchOutput& b : pending_[o]) {
    for (const Emission& e : b.emissions) {
      for (const Row& r : e.rows) {
        if (r.size() < visible) {
          return Status::fatal(
              fmt::format("checkpoint {}: a row of output '{}' (batch {}) has {} columns, "
                          "not at least {}",
                          path, op.name, b.batch_id, r.size(), visible));
        }
      }
    }
  }
  // Where each of this job's hidden columns is in the checkpoint's rows (-1: not there).
  std::vector<int> from(op.hidden.size(), -1);
  if (op.aggregating) {
    // Computed over the row, as finish_rows() does: the same value whatever the checkpoint's layout.
  } else if (st.key_columns) {
    for (size_t k = 0; k < op.hidden.size(); ++k) {
      const auto& keys = *st.key_columns;
      auto it = std::find(keys.begin(), keys.end(), op.hidden[k].canonical);
      if (it != keys.end()) from[k] = static_cast<int>(it - keys.begin());
    }
  } else {
    // Format version 1 did not record the layout: rows as wide as this job's are taken as its own (the job
    // unchanged); otherwise no hidden column is known.
    bool same_width = true;
    for (const BatchOutput& b : pending_[o]) {
      for (const Emission& e : b.emissions) {
        for (const Row& r : e.rows) same_width = same_width && r.size() == visible + op.hidden.size();
      }
    }
    for (size_t k = 0; same_width && k < op.hidden.size(); ++k) from[k] = static_cast<int>(k);
  }
  if (!op.aggregating) {
    // A key the rows lack matters to the exactly-once sinks that will be given these batches (run()).
    for (size_t s = 0; s < op.hidden_of_sink.size() && s < conn_.sinks[o].size(); ++s) {
      const int k = op.hidden_of_sink[s];
      if (k < 0 || from[k] >= 0 || !conn_.sinks[o][s]->exactly_once()) continue;
      const uint64_t done = conn_.sinks[o][s]->committed_batch();
      std::vector<uint64_t> lacking;
      for (const BatchOutput& b : pending_[o]) {
        if (b.batch_id > done) lacking.push_back(b.batch_id);
      }
      if (lacking.empty()) continue;
      const auto* kafka = std::get_if<config::KafkaSink>(&job_.outputs[o].sinks[s].kind);
      return Status::fatal(fmt::format(
          "output '{}': checkpoint {} holds the rows of batch(es) {} for its exactly-once Kafka sink to "
          "topic {}, which has not committed them, but they were computed without that sink's message "
          "key \"{}\" (the key was added or changed since); weir cannot compute it now (the records are "
          "gone). Start the job once with the sink's previous key (or without a key if it had none) and "
          "stop it gracefully, so that the sink commits these rows as they were computed, then apply "
          "the edit; or start over with `weir run --reset-state`",
          op.name, path, fmt::join(lacking, ", "), kafka != nullptr ? kafka->topic : "?", op.hidden[k].text));
    }
  }
  std::string err;
  for (BatchOutput& b : pending_[o]) {
    for (Emission& e : b.emissions) {
      for (Row& r : e.rows) {
        Row row(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(visible));
        for (size_t k = 0; k < op.hidden.size(); ++k) {
          Value v;
          if (op.aggregating) {
            // A failure gave a null key when the row was made (and was logged then).
            if (!expr::eval(op.hidden[k].expr, row.data(), v, err)) v = Value();
          } else if (from[k] >= 0 && visible + from[k] < r.size()) {
            v = r[visible + from[k]];
          }
          row.push_back(std::move(v));
        }
        r = std::move(row);
      }
    }
  }
  return Status::ok();
}

int Executor::run(const StopFlag& stop) {
  auto log = log::get("engine");
  stop_ = &stop;
  if (Status s = open(); !s.is_ok()) {
    fail(s.message());
    log->error("Job '{}' cannot start: {}", job_.name, error_);
    return 1;
  }
  started_steady_ms_ = idle_clock_ms();
  if (workers_ > 1) {
    // Partial aggregation on the parse threads: in processing time every record of a poll is added at the
    // batch start (a chunk never spans a poll, so never a batch); with on_error stop, records after a bad
    // one must not count, so that job keeps aggregating on the batch loop.
    std::vector<size_t> aggregating;
    for (size_t o = 0; o < plan_.outputs.size(); ++o) {
      if (plan_.outputs[o].aggregating) aggregating.push_back(o);
    }
    if (!job_.time.event && job_.on_error.action != config::OnError::Action::Stop && !aggregating.empty()) {
      agg_of_.assign(plan_.outputs.size(), -1);
      for (size_t k = 0; k < aggregating.size(); ++k) agg_of_[aggregating[k]] = static_cast<int>(k);
      merged_.assign(aggregating.size(), 0);
      kept_.assign(plan_.outputs.size(), 0);
      pass_through_ = aggregating.size() < plan_.outputs.size();
      // Key-partitioned state: one shard per record-path thread, so that merging a chunk of many groups runs
      // on all of them (a restored state is split here; checkpoints are written as one state either way).
      std::vector<size_t> shards;
      for (size_t o : aggregating) {
        window::State& st = runners_[o].state();
        // Per-batch outputs (no window) keep one shard: W1's (a few groups per batch) ran ~10% slower with 2
        // workers when split, for nothing to gain.
        if (plan_.outputs[o].window.kind != config::Window::Kind::Batch)
          st.set_shards(static_cast<size_t>(workers_));
        // Its shards' emissions and checkpoint encoding on the pool's threads too (while there is a pool).
        st.set_parallel([this](size_t n, const std::function<void(size_t)>& part) {
          if (pool_ && pool_->threads() > 0) return pool_->parallel(n, part);
          for (size_t i = 0; i < n; ++i) part(i);
        });
        shards.push_back(st.shards());
        shards_ = std::max(shards_, st.shards());
      }
      shard_merged_.assign(aggregating.size() * shards_, 0);
      agg_ = std::make_unique<PartialAggregator>(plan_, std::move(aggregating), std::move(shards));
      merge_part_ = [this](size_t s) {
        // Shard s of every output, chunk by chunk in read order (the results are alike for every chunk of
        // ready_: one batch start, and no window closes in between).
        const auto& outs = agg_->outputs();
        for (Chunk* c : ready_) {
          for (size_t k = 0; k < outs.size(); ++k) {
            window::State& st = runners_[outs[k]].state();
            bool ok = true;
            if (st.shards() > 1) {
              ok = st.merge_shard(s, batch_start_ms_, c->agg->parts[k]);
            } else if (s == 0) {
              ok = st.merge(batch_start_ms_, c->agg->parts[k]);
            }
            shard_merged_[k * shards_ + s] = ok ? 1 : 0;
          }
        }
      };
    }
    try {
      pool_ = std::make_unique<ParsePool>(job_, plan_.field_count, workers_ - 1, agg_.get());
      parse_ahead_ = true;
      partial_ = agg_ != nullptr;
      // `auto` measures whether parsing ahead pays for this job (not under a test clock: the suites run the
      // pool on every job, and a timing-based choice would not be reproducible there).
      probe_.active =
          (opts_.workers <= 0 && job_.workers <= 0 && !clock_.manual()) || opts_.parse_ahead_decision;
      log->info("Job '{}': {} record-path threads: the batch loop and {} parsing{} ahead{}.", job_.name,
                workers_, workers_ - 1, partial_ ? " and aggregating" : "",
                probe_.active ? " (workers: auto, checked over the first chunks)" : "");
    } catch (const std::exception& e) {
      log->warn("Job '{}': cannot start {} parse threads ({}); parsing on the batch loop alone.", job_.name,
                workers_ - 1, e.what());
      workers_ = 1;
    }
  }
  const int64_t batch = job_.batch_ms;
  int64_t now = clock_.now_ms();
  batch_start_ms_ = floor_to(now, batch);
  if (!job_.time.event) {
    // Processing time: windows are emitted from this run's first batch on. For restored state this skips the
    // quiet windows of the time the job was not running (windows holding records are still emitted).
    for (auto& r : runners_) r.start_at(batch_start_ms_);
  }
  // Batches the checkpoint holds that an exactly-once sink may not have committed: write them again (they
  // skip what they already have). Other sinks got those rows before the checkpoint was written.
  if (!deliver_pending(true, stop)) {
    log->error("Job '{}' failed: {}", job_.name, error_);
    return 1;
  }
  if (!restored_.positions.empty()) conn_.source->committed(restored_.positions);
  log->info("Job '{}' started: batch {} ms, {} output(s), {} time.", job_.name, batch, runners_.size(),
            job_.time.event ? "event" : "processing");
  const bool manual = clock_.manual();
  bool ended = false;
  while (true) {
    int64_t batch_end = batch_start_ms_ + batch;
    auto t0 = std::chrono::steady_clock::now();
    bool rebalance = false;
    // Partitions are moving to another group member: commit what was read from them before they go, so
    // that their new owner starts right after it (docs/delivery.md, rebalances). The revocation arrives
    // in a poll, or in a keepalive while a sink or the checkpoint disk is retried; the next poll applies
    // it, so it is checked before every poll too.
    auto revoked = [&] {
      if (!conn_.source->take_rebalanced()) return false;
      rebalance = true;
      checkpoint::crash_point(checkpoint::CrashPoint::Rebalance, ++rebalances_);  // test only
      log->info("Job '{}': consumer group rebalance; ending batch {} early to commit it.", job_.name,
                batch_id_);
      return true;
    };
    while (error_.empty() && stop.load() == 0) {
      // The checkpoint of an earlier batch may have become durable meanwhile: commit its batches now.
      if (writer_ && writer_->in_flight() && !finish_checkpoint(stop, false)) break;
      if (revoked()) break;
      now = clock_.now_ms();
      if (now >= batch_end) break;
      // While a checkpoint is being written, come back soon to commit it (a poll may otherwise run to the
      // batch's end and delay the exactly-once sinks by a batch).
      int64_t wait_ms = manual ? 50 : batch_end - now;
      if (writer_ && writer_->in_flight()) wait_ms = std::min<int64_t>(wait_ms, 20);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
      PollResult pr = conn_.source->poll(*this, deadline, manual ? 1 : 65536);
      // Parse-ahead: what this poll read is consumed before anything else happens (positions, batch end).
      if (parse_ahead_) drain(true);
      if (pr == PollResult::End) {
        ended = true;
        break;
      }
      if (pr == PollResult::Error) {
        fail("source: " + conn_.source->last_error().message());
        break;
      }
      if (revoked()) break;
    }
    if (!error_.empty() || stop_on_bad_) break;
    auto t_close = std::chrono::steady_clock::now();
    // Read once: a stop arriving during close_batch must not leave this batch without its checkpoint (it
    // is then seen at the next round, which closes an empty batch with a checkpoint).
    const bool stopping = stop.load() != 0;
    if (!close_batch(batch_start_ms_, batch_end, ended, stop, rebalance || stopping)) break;
    if (rebalance)
      checkpoint::crash_point(checkpoint::CrashPoint::RebalanceCommitted, rebalances_);  // test only
    metrics_.last_close_duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t_close)
            .count();
    metrics_.batch_duration.observe_us(metrics_.last_close_duration_us);
    if (!manual && log->should_log(spdlog::level::debug)) {
      // How long after its end boundary the batch's rows were out (bench/latency.py reads this line).
      int64_t after_end_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() -
                             batch_end * 1000;
      log->debug("Job '{}': batch {} closed in {} us, {} us after its end.", job_.name, batch_id_ - 1,
                 metrics_.last_close_duration_us.load(), after_end_us);
    }
    metrics_.last_batch_duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (ended || stopping) break;
    batch_start_ms_ = batch_end;
    now = clock_.now_ms();
    if (now >= batch_start_ms_ + batch) {
      // Fell behind by more than a batch (slow sink, suspended process): the missed intervals had no input.
      batch_start_ms_ = floor_to(now, batch);
    }
  }
  // Left the loop without closing a batch (on_error: stop, a source error): a checkpoint already handed to
  // the writer is still committed if it gets written; after a failure the next start replays it. A hard stop
  // waits for it for kHardStopCheckpointMs at most (abandon_checkpoint).
  if (error_.empty() && writer_ && writer_->in_flight()) (void)finish_checkpoint(stop, true);
  while (writer_ && writer_->in_flight() && !writer_->wait(std::chrono::milliseconds(50))) {
    if (hard_stop_waited(stop)) abandon_checkpoint();
  }
  writer_.reset();  // joins the writer thread (idle by now, or detached when abandoned)
  pool_.reset();    // joins the parse threads (every chunk was consumed at the end of its poll)
  conn_.source->close();
  for (auto& sinks : conn_.sinks) {
    for (auto& s : sinks) s->close();
  }
  bad_.close();
  if (stop_on_bad_) fail(bad_.stop_reason());
  if (!error_.empty()) {
    log->error("Job '{}' failed: {}", job_.name, error_);
    return 1;
  }
  log->info("Job '{}' {}: {} records read, {} bad, {} late, {} batches.", job_.name,
            ended ? "finished (end of input)" : "stopped", metrics_.records_in.load(), metrics_.bad.load(),
            metrics_.late.load(), metrics_.batches.load());
  return 0;
}

// Idleness (spec §6 `idle`) is measured in processing time: the steady clock, or the test clock when one
// is injected (so tests can pin it).
int64_t Executor::idle_clock_ms() {
  return clock_.manual() ? clock_.now_ms() : steady_ms();
}

void Executor::update_watermark(uint32_t stream, int64_t t_ms, int64_t now) {
  // Only partitioned sources (Kafka) keep a watermark per stream; files are read one after another, so a
  // finished file must not hold the watermark back.
  if (conn_.source->streams() == 0) stream = 0;
  size_t known = std::max(conn_.source->streams(), static_cast<size_t>(stream) + 1);
  if (streams_.size() < known) streams_.resize(known, StreamTime{INT64_MIN, started_steady_ms_});
  StreamTime& st = streams_[stream];
  st.max_ms = std::max(st.max_ms, t_ms);
  st.last_seen_ms = now;
  int64_t low = INT64_MAX;
  for (const StreamTime& s : streams_) {
    if (now - s.last_seen_ms > job_.time.idle_ms && &s != &st) continue;  // idle: does not hold back
    low = std::min(low, s.max_ms);
  }
  if (low == INT64_MAX || low == INT64_MIN) return;
  int64_t wm = low - job_.time.lateness_ms;
  if (wm <= watermark_ms_) return;
  if (watermark_ms_ != INT64_MIN && wm - watermark_ms_ > 24LL * 3600 * 1000) {
    log::get("engine")->warn(
        "Job '{}': the event-time watermark jumped {} hours ahead to {} (a record far in the future?); "
        "records "
        "older than that are now late.",
        job_.name, (wm - watermark_ms_) / 3600000, format_rfc3339_ms(wm));
  }
  watermark_ms_ = wm;
  metrics_.watermark_ms = wm;
  // Every runner learns each new watermark, also when no window holding records closes: a window closes
  // when the watermark reaches its end whether or not it holds records, so a later out-of-order record must
  // not go into it (spec §6; State::add judges lateness against the last advance()).
  for (auto& r : runners_) r.advance(wm);
}

void Executor::on_record(const RawRecord& r) {
  clock_.on_record();
  metrics_.records_in.fetch_add(1, std::memory_order_relaxed);
  if (stop_on_bad_) return;
  if (!parse_ahead_) return handle(r, nullptr, 0);
  if (r.full_size >= 0 || static_cast<int64_t>(r.payload.size()) > job_.on_error.max_record_bytes) {
    // Rejected without being copied (the cap holds before any allocation): after the records before it.
    drain(true);
    if (!stop_on_bad_) handle(r, nullptr, 0);
    return;
  }
  // Parse-ahead: copy the record into a chunk; a full chunk goes to the parse threads, and what they have
  // finished is consumed now (in order), waiting when too much is in flight.
  // Event time: each record keeps the time it was read at, for the `idle` check (as on the inline path).
  if (pool_->add(r, job_.time.event ? idle_clock_ms() : 0)) drain(false);
}

void Executor::drain(bool all) {
  if (all) pool_->flush();
  while (Chunk* c = pool_->next(all || pool_->backlogged(), extractor_)) {
    const auto t0 =
        probe_.active ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    ready_.assign(1, c);
    if (partial_) {
      // When its tables are worth merging on all threads, the chunks already extracted after it too: merged
      // together, the threads meet once for all of them.
      if (parallel_merge(*c)) {
        while (ready_.size() < kMergeChunks) {
          Chunk* d = pool_->next(false, extractor_);
          if (d == nullptr) break;
          ready_.push_back(d);
        }
      }
      merge_ready();
      for (Chunk* r : ready_) {
        // Every record in read order as handle() would (merged_: whether each output took the chunks).
        std::fill(kept_.begin(), kept_.end(), 0);
        for (size_t i = 0; i < r->size(); ++i) {
          if (stop_on_bad_) break;
          handle_aggregated(*r, i);
        }
        for (size_t o = 0; o < runners_.size(); ++o)
          metrics_.outputs[o]->records.fetch_add(kept_[o], std::memory_order_relaxed);
      }
    } else {
      for (size_t i = 0; i < c->size(); ++i) {
        if (stop_on_bad_) break;
        handle(c->record(i), c, i);
      }
    }
    for (Chunk* r : ready_) {
      if (probe_.active) {
        probe_.extract_ns += r->extract_ns();
        ++probe_.chunks;
      }
      pool_->recycle(r);
    }
    if (probe_.active) {
      probe_.handle_ns +=
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  // Decided when no chunk is in flight (the end of a poll, or before a record above max_record_bytes): from
  // then on records take one path only.
  if (!all || !probe_.active) return;
  std::optional<bool> pays;
  if (opts_.parse_ahead_decision) {
    pays = opts_.parse_ahead_decision(probe_.chunks);  // tests only
  } else if (probe_.chunks >= kParseAheadProbeChunks) {
    pays = parse_ahead_pays(probe_.extract_ns, probe_.handle_ns, partial_);
  }
  if (pays) {
    probe_.active = false;
    const double share = 100.0 * static_cast<double>(probe_.extract_ns) /
                         static_cast<double>(std::max<int64_t>(1, probe_.extract_ns + probe_.handle_ns));
    const char* what = partial_ ? "parsing and partial aggregation" : "parsing";
    if (*pays) {
      log::get("engine")->debug(
          "Job '{}': the parse threads' part ({}) is {:.0f}% of the record path; parsing ahead "
          "on {} thread(s).",
          job_.name, what, share, workers_ - 1);
    } else {
      parse_ahead_ = false;
      partial_ = false;
      pool_.reset();  // nothing is in flight: the threads and the chunks' buffers go
      agg_.reset();
      log::get("engine")->info(
          "Job '{}': the parse threads' part ({}) is only {:.0f}% of the record path (the rest is the batch "
          "loop's: filters, expressions or merges, and window state), so parsing ahead does not pay: the "
          "batch loop parses alone from now on (workers: auto; set `workers: 2` to keep the parse thread).",
          job_.name, what, share);
    }
  }
}

bool Executor::parallel_merge(const Chunk& c) const {
  if (shards_ < 2 || pool_->threads() == 0) return false;
  size_t groups = 0;
  for (const auto& p : c.agg->parts) groups += p.groups();
  return groups >= kParallelMergeGroups && groups * kParallelMergeBytes >= c.bytes();
}

void Executor::merge_ready() {
  // The chunks' partial aggregates into each output's state at the batch start (a refused merge: the
  // chunks' records are late for that output).
  const auto& outs = agg_->outputs();
  if (parallel_merge(*ready_.front())) {
    // Each shard's merges on its own thread (the batch loop takes what no parse thread is free for).
    pool_->parallel(shards_, merge_part_, &extractor_);
    ++parallel_merges_;
    for (size_t k = 0; k < outs.size(); ++k) merged_[k] = static_cast<char>(shard_merged_[k * shards_]);
    return;
  }
  for (const Chunk* c : ready_) {
    for (size_t k = 0; k < outs.size(); ++k)
      merged_[k] = runners_[outs[k]].state().merge(batch_start_ms_, c->agg->parts[k]) ? 1 : 0;
  }
}

void Executor::handle(const RawRecord& r, Chunk* chunk, size_t i) {
  if (r.null_payload) return reject(r, "null payload (tombstone)");
  if (r.full_size >= 0 || static_cast<int64_t>(r.payload.size()) > job_.on_error.max_record_bytes) {
    // A line source cut the record (full_size: its real size); the dead letter says its payload is a prefix.
    const int64_t size = r.full_size >= 0 ? r.full_size : static_cast<int64_t>(r.payload.size());
    return reject(r, fmt::format("record of {} bytes exceeds max_record_bytes ({})", size,
                                 job_.on_error.max_record_bytes));
  }
  if (chunk == nullptr) {
    if (!extractor_.extract(r.payload, slots_.data(), err_)) return reject(r, err_);
  } else {
    if (!chunk->ok(i)) return reject(r, chunk->error(i));
    chunk->take_fields(i, slots_.data());
  }
  fill_meta(plan_, r, slots_.data());

  int64_t t = batch_start_ms_;
  if (job_.time.event) {
    const Value& ev = slots_[plan_.event_slot];
    // A numeric event time becomes window bounds, which are written as RFC 3339 times (spec §7).
    auto event_out_of_range = [&] {
      return fmt::format("event time field '{}' ({}) is a time out of range (years 0000 to 9999)",
                         job_.time.field, ev.to_display());
    };
    switch (ev.type()) {
      case Type::Time:
        t = ev.as_time();
        break;
      case Type::Int:
        t = ev.as_int();
        if (!time_in_rfc3339_range(t)) return reject(r, event_out_of_range());
        break;
      case Type::Float: {
        // Checked before the cast (a double beyond int64 would not convert).
        const double d = ev.as_float();
        if (!(d >= double(kMinRfc3339Ms) && d <= double(kMaxRfc3339Ms)))
          return reject(r, event_out_of_range());
        t = static_cast<int64_t>(d);
        break;
      }
      case Type::Null:
        return reject(r, fmt::format("event time field '{}' is missing", job_.time.field));
      default:
        return reject(r, fmt::format("event time field '{}' is a {}, not a time", job_.time.field,
                                     type_name(ev.type())));
    }
    update_watermark(r.stream, t, chunk != nullptr ? chunk->read_ms(i) : idle_clock_ms());
  }
  bool counted_bad = false;
  for (size_t i = 0; i < runners_.size(); ++i) {
    const OutputRunner::Outcome out = runners_[i].process(slots_.data(), t, err_);
    if (out == OutputRunner::Outcome::Kept) {
      metrics_.outputs[i]->records.fetch_add(1, std::memory_order_relaxed);
    } else if (out != OutputRunner::Outcome::Filtered) {
      not_kept(i, out, r, err_, t, counted_bad);
    }
  }
}

void Executor::reject(const RawRecord& r, const std::string& why) {
  metrics_.bad.fetch_add(1, std::memory_order_relaxed);
  if (!bad_.bad(r, "", why)) stop_on_bad_ = true;
}

void Executor::not_kept(size_t o, OutputRunner::Outcome out, const RawRecord& r, const std::string& why,
                        int64_t t, bool& counted_bad) {
  OutputMetrics& om = *metrics_.outputs[o];
  if (out == OutputRunner::Outcome::Bad) {
    om.bad.fetch_add(1, std::memory_order_relaxed);
    if (!counted_bad) metrics_.bad.fetch_add(1, std::memory_order_relaxed);
    counted_bad = true;
    if (!bad_.bad(r, runners_[o].plan().name, why)) stop_on_bad_ = true;
  } else {
    om.late.fetch_add(1, std::memory_order_relaxed);
    metrics_.late.fetch_add(1, std::memory_order_relaxed);
    bad_.late(r, runners_[o].plan().name, t, watermark_ms_);
  }
}

void Executor::handle_aggregated(Chunk& chunk, size_t i) {
  // As handle() (processing time: t is the batch start; no record above max_record_bytes is in a chunk). The
  // record is built only for what needs it (dead letters, pass-through outputs); kept records are counted in
  // kept_ and added to the metrics per chunk.
  if (chunk.null_payload(i)) return reject(chunk.record(i), "null payload (tombstone)");
  if (!chunk.ok(i)) return reject(chunk.record(i), chunk.error(i));
  std::optional<RawRecord> r;
  auto record = [&]() -> const RawRecord& {
    if (!r) r = chunk.record(i);
    return *r;
  };
  if (pass_through_) {
    chunk.take_fields(i, slots_.data());
    fill_meta(plan_, record(), slots_.data());
  }
  const int64_t t = batch_start_ms_;
  bool counted_bad = false;
  for (size_t o = 0; o < runners_.size(); ++o) {
    const int k = agg_of_[o];
    OutputRunner::Outcome out;
    const std::string* why = &err_;
    if (k < 0) {
      out = runners_[o].process(slots_.data(), t, err_);
    } else {
      out = PartialAggregator::outcome(chunk, i, static_cast<size_t>(k));
      if (out == OutputRunner::Outcome::Kept && !merged_[static_cast<size_t>(k)])
        out = OutputRunner::Outcome::Late;
      if (out == OutputRunner::Outcome::Bad)
        why = &PartialAggregator::error(chunk, i, static_cast<size_t>(k));
    }
    if (out == OutputRunner::Outcome::Kept) {
      ++kept_[o];
    } else if (out != OutputRunner::Outcome::Filtered) {
      not_kept(o, out, record(), *why, t, counted_bad);
    }
  }
}

bool Executor::close_batch(int64_t start_ms, int64_t end_ms, bool end_of_input, const StopFlag& stop,
                           bool force_checkpoint) {
  for (auto& r : runners_) {
    if (job_.time.event) {
      if (end_of_input) r.advance(INT64_MAX);
    } else {
      int64_t wm = end_ms;
      if (end_of_input) {
        // Emit up to the first emission boundary at or after the last batch's end, so every output has
        // emitted a window that holds the last records.
        int64_t every = std::max<int64_t>(1, r.plan().window.every_ms);
        wm = floor_to(end_ms + every - 1, every);
      }
      r.advance(wm);
    }
  }
  if (Status s = bad_.flush(); !s.is_ok()) {
    fail("dead-letter sink: " + s.message());
    return false;
  }
  // Every output's rows first: an expression that failed over a row (having, a Kafka key) with on_error stop
  // stops the job before any sink gets this batch (as a bad record does: the batch is not committed).
  std::vector<BatchOutput> outs(runners_.size());
  for (size_t o = 0; o < runners_.size(); ++o) {
    outs[o].batch_id = batch_id_;
    runners_[o].take(start_ms, end_ms, outs[o].emissions);
    OutputRunner::RowErrors errs = runners_[o].take_row_errors();
    if (errs.count == 0) continue;
    metrics_.outputs[o]->row_errors.fetch_add(errs.count, std::memory_order_relaxed);
    for (size_t i = 0; i < errs.messages.size() && !stop_on_bad_; ++i) {
      const uint64_t unlisted = i + 1 == errs.messages.size() ? errs.count - errs.messages.size() : 0;
      if (!bad_.row_error(runners_[o].plan().name, errs.messages[i], unlisted)) stop_on_bad_ = true;
    }
  }
  if (stop_on_bad_) return false;
  for (size_t o = 0; o < runners_.size(); ++o) {
    BatchOutput& out = outs[o];
    size_t rows = 0;
    for (const auto& e : out.emissions) rows += e.rows.size();
    // Best-effort and at-least-once sinks get the rows now; exactly-once sinks after the checkpoint.
    for (auto& sink : conn_.sinks[o]) {
      if (!sink->exactly_once() && !write_with_retry(*sink, runners_[o].plan().name, out, stop)) return false;
    }
    metrics_.outputs[o]->rows.fetch_add(rows, std::memory_order_relaxed);
    metrics_.outputs[o]->state_groups = runners_[o].state().groups();
    metrics_.outputs[o]->state_bytes = runners_[o].state().bytes();
    pending_[o].push_back(std::move(out));
  }
  ++batches_since_checkpoint_;
  int every = std::max(1, job_.checkpoint.every);
  if (batches_since_checkpoint_ >= every || end_of_input || stop.load() != 0 || force_checkpoint) {
    // A rebalance, the end of input and a stop wait for the checkpoint and the commit of this batch.
    bool wait = end_of_input || stop.load() != 0 || force_checkpoint;
    if (!checkpoint_and_commit(end_ms, stop, wait)) return false;
  }
  metrics_.batches.fetch_add(1, std::memory_order_relaxed);
  metrics_.last_batch_end_ms = end_ms;
  metrics_.last_success_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  ++batch_id_;
  return true;
}

bool Executor::checkpoint_and_commit(int64_t batch_end_ms, const StopFlag& stop, bool wait) {
  // At most one checkpoint in flight: the previous one is written and committed first (bounded memory).
  if (writer_ && writer_->in_flight()) {
    auto t_wait = std::chrono::steady_clock::now();
    if (!finish_checkpoint(stop, true)) return false;
    metrics_.checkpoint_wait_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t_wait)
            .count();
  } else {
    metrics_.checkpoint_wait_us = 0;
  }
  checkpoint::crash_point(checkpoint::CrashPoint::BeforeCheckpoint, batch_id_);  // test only
  Positions positions = conn_.source->positions();
  for (auto& outs : pending_) {
    for (auto& b : outs) b.positions = positions;
  }
  if (!store_) {
    // No checkpoints (tests of the batch loop): commit at once.
    checkpoint::crash_point(checkpoint::CrashPoint::AfterCheckpoint, batch_id_);  // test only
    if (!deliver_pending(true, stop)) return false;
    checkpoint::crash_point(checkpoint::CrashPoint::AfterCommit, batch_id_);  // test only
    conn_.source->committed(positions);
    metrics_.committed.set(positions);
    batches_since_checkpoint_ = 0;
    return true;
  }
  // The pause of the batch loop: the state is copied (serialised) into the checkpoint; the pending rows
  // move into it. Framing, checksum, write and fsync happen on the writer thread.
  auto t0 = std::chrono::steady_clock::now();
  checkpoint::Checkpoint cp;
  cp.job = job_.name;
  cp.job_fingerprint = checkpoint::job_fingerprint(job_);
  cp.batch = batch_id_;
  cp.batch_end_ms = batch_end_ms;
  cp.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  cp.positions = std::move(positions);
  cp.watermark_ms = watermark_ms_;
  for (const auto& st : streams_) cp.stream_max.push_back(st.max_ms);
  for (size_t o = 0; o < runners_.size(); ++o) {
    checkpoint::OutputState os;
    os.name = plan_.outputs[o].name;
    os.fingerprint = checkpoint::output_fingerprint(job_, job_.outputs[o]);
    os.state.reserve(state_bytes_[o] + state_bytes_[o] / 8);
    runners_[o].state().save(os.state);
    state_bytes_[o] = os.state.size();
    os.groups = runners_[o].state().groups();
    os.panes = runners_[o].state().panes();
    os.pending = std::move(pending_[o]);
    os.key_columns.emplace();
    for (const auto& h : plan_.outputs[o].hidden) os.key_columns->push_back(h.canonical);
    pending_[o].clear();
    cp.outputs.push_back(std::move(os));
  }
  writing_batch_ = batch_id_;
  writer_->submit(std::move(cp));
  int64_t pause_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  metrics_.checkpoint_pause_us = pause_us;
  metrics_.checkpoint_pause.observe_us(pause_us);
  batches_since_checkpoint_ = 0;
  if (wait) return finish_checkpoint(stop, true);
  return true;
}

bool Executor::finish_checkpoint(const StopFlag& stop, bool block) {
  if (!writer_ || !writer_->in_flight()) return true;
  auto log = log::get("engine");
  std::optional<checkpoint::Writer::Result> r = writer_->wait(std::chrono::milliseconds(0));
  while (!r && block) {
    if (hard_stop_waited(stop)) return abandon_checkpoint();
    r = writer_->wait(std::chrono::milliseconds(50));
    if (!r) conn_.source->keepalive();  // a slow disk: stay in the consumer group meanwhile
  }
  if (!r) return true;  // still being written
  // A failed write (disk full): as long as it fails, nothing is committed and no record is read (the
  // source is paused but kept alive); the same checkpoint is written again with backoff.
  int64_t backoff_ms = 100;
  bool warned = false;
  while (!r->status.is_ok()) {
    if (r->status.is_fatal() || stop.load() >= 2) {
      fail("checkpoint: " + r->status.message());
      if (warned) conn_.source->resume();
      return false;
    }
    if (!warned) {
      log->error(
          "Job '{}': cannot write checkpoint for batch {} ({}); no sink commits until it is written; "
          "retrying.",
          job_.name, writing_batch_, r->status.message());
      warned = true;
      conn_.source->pause();
    }
    for (int64_t slept = 0; slept < backoff_ms && stop.load() < 2; slept += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      conn_.source->keepalive();
    }
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
    writer_->submit(std::move(r->checkpoint));
    while (!(r = writer_->wait(std::chrono::milliseconds(50)))) {
      if (hard_stop_waited(stop)) {
        if (warned) conn_.source->resume();
        return abandon_checkpoint();
      }
      conn_.source->keepalive();
    }
  }
  if (warned) {
    log->info("Job '{}': checkpoint for batch {} written.", job_.name, writing_batch_);
    conn_.source->resume();
  }
  metrics_.checkpoint_bytes = r->bytes;
  metrics_.checkpoint_duration_us = r->write_us;
  log->debug(
      "Job '{}': checkpoint for batch {} written: {} bytes; the batch loop paused {:.1f} ms to copy the "
      "state, the writer thread took {:.1f} ms (encode, write, fsync).",
      job_.name, writing_batch_, r->bytes, metrics_.checkpoint_pause_us.load() / 1000.0,
      r->write_us / 1000.0);
  return commit_checkpoint(r->checkpoint, stop);
}

bool Executor::hard_stop_waited(const StopFlag& stop) {
  if (stop.load() < 2) return false;
  const int64_t now = steady_ms();
  if (hard_stop_ms_ < 0) hard_stop_ms_ = now;
  return now - hard_stop_ms_ >= kHardStopCheckpointMs;
}

bool Executor::abandon_checkpoint() {
  writer_->abandon();
  log::get("engine")->error(
      "Job '{}': stopping at once: the checkpoint write for batch {} is abandoned (the disk has not "
      "completed it); it will not be installed, so the previous checkpoint (if any) stays the newest and "
      "the next start resumes from it.",
      job_.name, writing_batch_);
  fail(
      fmt::format("stopped at once while the checkpoint for batch {} was being written (abandoned); "
                  "its batches are read again on the next start",
                  writing_batch_));
  return false;
}

bool Executor::commit_checkpoint(checkpoint::Checkpoint& cp, const StopFlag& stop) {
  checkpoint::crash_point(checkpoint::CrashPoint::AfterCheckpoint, cp.batch);  // test only
  // The batches this checkpoint holds (<= cp.batch); later ones stay pending for the next checkpoint.
  for (size_t o = 0; o < cp.outputs.size() && o < conn_.sinks.size(); ++o) {
    for (const BatchOutput& b : cp.outputs[o].pending) {
      for (auto& sink : conn_.sinks[o]) {
        if (!sink->exactly_once() || sink->committed_batch() >= b.batch_id) continue;
        if (!write_with_retry(*sink, plan_.outputs[o].name, b, stop)) return false;
      }
    }
  }
  checkpoint::crash_point(checkpoint::CrashPoint::AfterCommit, cp.batch);  // test only
  conn_.source->committed(cp.positions);
  metrics_.committed.set(cp.positions);
  store_->remove_older_than(cp.batch);
  return true;
}

// Hands every pending batch to the sinks that have not committed it (exactly-once sinks only, or all).
bool Executor::deliver_pending(bool exactly_once_only, const StopFlag& stop) {
  for (size_t o = 0; o < pending_.size(); ++o) {
    for (const BatchOutput& b : pending_[o]) {
      for (auto& sink : conn_.sinks[o]) {
        if (exactly_once_only && !sink->exactly_once()) continue;
        if (sink->exactly_once() && sink->committed_batch() >= b.batch_id) continue;
        if (!write_with_retry(*sink, plan_.outputs[o].name, b, stop)) return false;
      }
    }
    pending_[o].clear();
  }
  return true;
}

bool Executor::write_with_retry(Sink& sink, const std::string& output, const BatchOutput& batch,
                                const StopFlag& stop) {
  auto log = log::get("engine");
  int64_t backoff_ms = 100;
  int attempts = 0;
  std::mt19937 rng(static_cast<uint32_t>(batch.batch_id));
  while (true) {
    Status s = sink.write(batch);
    if (s.is_ok()) {
      for (auto& rej : sink.take_rejected()) {
        // The row never reached the destination: dead-letter it like a bad record of this output.
        RawRecord r;
        std::string payload = Value::list(rej.row).to_json();
        r.payload = payload;
        metrics_.bad.fetch_add(1, std::memory_order_relaxed);
        if (!bad_.bad(r, output, "the sink refused the row: " + rej.reason)) stop_on_bad_ = true;
      }
      if (attempts > 0) {
        log->info("Job '{}', output '{}': sink recovered; batch {} written after {} retries.", job_.name,
                  output, batch.batch_id, attempts);
        conn_.source->resume();
      }
      return true;
    }
    if (s.is_fatal()) {
      fail(fmt::format("output '{}': sink failed: {}", output, s.message()));
      return false;
    }
    if (attempts == 0) {
      log->warn("Job '{}', output '{}': sink unavailable ({}); holding batch {} and retrying with backoff.",
                job_.name, output, s.message(), batch.batch_id);
      conn_.source->pause();
    }
    ++attempts;
    for (auto& m : metrics_.outputs) {
      if (m->name == output) m->sink_retries.fetch_add(1, std::memory_order_relaxed);
    }
    int64_t sleep_ms =
        backoff_ms / 2 + static_cast<int64_t>(rng() % static_cast<uint32_t>(backoff_ms / 2 + 1));
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (stop.load() >= 2) {
        fail(fmt::format("output '{}': stopped while the sink was unavailable; batch {} was not written",
                         output, batch.batch_id));
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(sleep_ms, 50)));
      conn_.source->keepalive();  // paused: stay in the consumer group without taking records
    }
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 10000);
  }
}

}  // namespace weir::engine
