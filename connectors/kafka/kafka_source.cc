#include "connectors/kafka/kafka_source.h"

#include <algorithm>
#include <cstring>
#include <thread>

namespace weir::kafka {
namespace {

void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  static_cast<KafkaSource*>(opaque)->on_rebalance(err, parts);
}
void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<KafkaSource*>(opaque)->on_error(err, reason);
}
void commit_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  static_cast<KafkaSource*>(opaque)->on_commit(err, offsets);
}

// Errors that all mean "cannot reach the cluster": logged as one state, not one line per attempt.
rd_kafka_resp_err_t error_class(int err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
      return RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
    default:
      return static_cast<rd_kafka_resp_err_t>(err);
  }
}

// "topic/partition" -> (topic, partition); false when it is not of that form.
bool split_stream(const std::string& s, std::string& topic, int32_t& partition) {
  auto slash = s.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return false;
  int64_t p = 0;
  for (size_t i = slash + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || p > 1'000'000) return false;
    p = p * 10 + (s[i] - '0');
  }
  topic = s.substr(0, slash);
  partition = static_cast<int32_t>(p);
  return true;
}

std::string describe(const rd_kafka_topic_partition_list_t* parts, bool with_offsets) {
  std::string out;
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& e = parts->elems[i];
    if (i > 0) out += ", ";
    if (i == 16) {
      out += fmt::format("... ({} more)", parts->cnt - 16);
      break;
    }
    out += fmt::format("{}/{}", e.topic, e.partition);
    if (with_offsets) {
      out += e.offset >= 0 ? fmt::format(" at {}", e.offset) : std::string(" at the group offset");
    }
  }
  return out;
}

}  // namespace

KafkaSource::KafkaSource(config::KafkaSource cfg, std::string job)
    : cfg_(std::move(cfg)),
      job_(std::move(job)),
      what_(fmt::format("job {}: Kafka source", job_)),
      errors_(what_),
      commit_errors_(what_ + " (committing group offsets)") {}

KafkaSource::~KafkaSource() {
  close();
}

Status KafkaSource::open(const Positions* resume) {
  if (rk_) return Status::fatal(what_ + " is already open");
  closing_ = false;
  if (cfg_.topics.empty()) return Status::fatal(what_ + " has no topics");
  std::string error;
  ConfPtr conf = make_conf(consumer_settings(cfg_, job_), error);
  if (!conf) return Status::fatal(what_ + ": " + error);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), rebalance_cb);
  rd_kafka_conf_set_error_cb(conf.get(), error_cb);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), commit_cb);

  resume_.clear();
  assigned_once_ = false;
  if (resume) {
    for (const auto& p : *resume) {
      std::string topic;
      int32_t partition = 0;
      if (!split_stream(p.stream, topic, partition) || p.offset < 0) {
        return Status::fatal(fmt::format("{}: checkpoint position '{}' at {} is not a Kafka partition offset",
                                         what_, p.stream, p.offset));
      }
      resume_[p.stream] = Resume{p.offset, p.aux == kNotAssigned};
    }
  }

  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (!rk_) return Status::fatal(fmt::format("{}: cannot create the consumer: {}", what_, err));
  conf.release();  // owned by rk_ now
  rd_kafka_poll_set_consumer(rk_);
  queue_ = rd_kafka_queue_get_consumer(rk_);

  ListPtr topics(rd_kafka_topic_partition_list_new(static_cast<int>(cfg_.topics.size())));
  for (const auto& t : cfg_.topics)
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(rk_, topics.get())) {
    rd_kafka_queue_destroy(queue_);
    queue_ = nullptr;
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    return Status::fatal(fmt::format("{}: cannot subscribe: {}", what_, rd_kafka_err2str(e)));
  }
  logger()->info("{}: subscribed to {} at {} as group {} ({} resume positions).", what_,
                 join_brokers(cfg_.topics), join_brokers(cfg_.brokers),
                 cfg_.group.empty() ? "weir-" + job_ : cfg_.group, resume_.size());
  return Status::ok();
}

KafkaSource::Part& KafkaSource::part(const std::string& topic, int32_t partition) {
  auto [it, inserted] = parts_.try_emplace({topic, partition});
  if (inserted) {
    it->second.topic = topic;
    it->second.partition = partition;
    it->second.stream_name = fmt::format("{}/{}", topic, partition);
    it->second.stream = next_stream_++;
  }
  return it->second;
}

KafkaSource::Part* KafkaSource::part_for(const rd_kafka_message_t* m) {
  if (m->rkt == cache_rkt_ && m->partition == cache_partition_) return cache_part_;
  auto it = parts_.find({rd_kafka_topic_name(m->rkt), m->partition});
  if (it == parts_.end()) return nullptr;
  cache_rkt_ = m->rkt;
  cache_partition_ = m->partition;
  cache_part_ = &it->second;
  return cache_part_;
}

bool KafkaSource::cooperative() {
  // rd_kafka_rebalance_protocol() returns NULL once the group handle no longer answers: inside
  // rd_kafka_consumer_close(), which serves the last revocation, when a stop came during a rebalance (a
  // SIGTERM there crashed weir in strcmp). Keep the protocol last reported.
  if (const char* p = rd_kafka_rebalance_protocol(rk_)) cooperative_ = std::strcmp(p, "COOPERATIVE") == 0;
  return cooperative_;
}

void KafkaSource::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  bool cooperative = this->cooperative();
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // A revocation still waiting for the engine (cannot happen: librdkafka waits for unassign first).
    apply_pending_revoke();
    assign(parts);
    rd_kafka_error_t* error = nullptr;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (cooperative) {
      error = rd_kafka_incremental_assign(rk_, parts);
    } else {
      e = rd_kafka_assign(rk_, parts);
    }
    if (paused_) rd_kafka_pause_partitions(rk_, parts);
    if (error) {
      logger()->error("{}: applying a rebalance failed: {}", what_, rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    } else if (e) {
      logger()->error("{}: applying a rebalance failed: {}", what_, rd_kafka_err2str(e));
    }
    return;
  }
  bool lost = rd_kafka_assignment_lost(rk_);
  if (lost || closing_ || parts->cnt == 0) {
    // Lost partitions already belong to someone else: committing for them would fail. On close the
    // engine has committed already.
    apply_pending_revoke();
    apply_revoke(parts, lost);
    return;
  }
  // Keep the partitions until the engine has committed the records delivered from them.
  if (pending_revoke_ == nullptr) {
    pending_revoke_ = rd_kafka_topic_partition_list_copy(parts);
  } else {
    for (int i = 0; i < parts->cnt; ++i)
      rd_kafka_topic_partition_list_add(pending_revoke_, parts->elems[i].topic, parts->elems[i].partition);
  }
  rebalanced_ = true;
  logger()->info("{}: {} partitions are being revoked ({}); committing the batch in flight first.", what_,
                 parts->cnt, describe(parts, false));
}

void KafkaSource::apply_pending_revoke() {
  if (pending_revoke_ == nullptr) return;
  ListPtr list(std::exchange(pending_revoke_, nullptr));
  apply_revoke(list.get(), false);
}

void KafkaSource::apply_revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
  revoke(parts, lost);
  rd_kafka_error_t* error = nullptr;
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cooperative()) {
    error = rd_kafka_incremental_unassign(rk_, parts);
  } else {
    e = rd_kafka_assign(rk_, nullptr);
  }
  if (error) {
    logger()->error("{}: applying a rebalance failed: {}", what_, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  } else if (e) {
    logger()->error("{}: applying a rebalance failed: {}", what_, rd_kafka_err2str(e));
  }
}

void KafkaSource::assign(rd_kafka_topic_partition_list_t* parts) {
  // Where each partition starts: where this member stopped (held before in this run, or retained in the
  // checkpoint while not assigned), raised to the group offset (another member may have read on); else
  // the checkpoint position (recovery: never the group offset); else the group offset / `start`.
  std::vector<std::pair<int64_t, bool>> from(parts->cnt);  // (offset, raise to the group offset)
  ListPtr held(rd_kafka_topic_partition_list_new(parts->cnt));
  for (int i = 0; i < parts->cnt; ++i) {
    auto& el = parts->elems[i];
    Part& p = part(el.topic, el.partition);
    if (p.held) {
      from[i] = {p.next, true};
    } else if (auto r = resume_.find(p.stream_name); r != resume_.end()) {
      from[i] = {r->second.offset, r->second.not_assigned};
    } else {
      from[i] = {-1, false};
    }
    if (from[i].first >= 0 && from[i].second)
      rd_kafka_topic_partition_list_add(held.get(), el.topic, el.partition);
  }
  bool group_known = true;
  if (held->cnt > 0) {
    if (auto e = rd_kafka_committed(rk_, held.get(), 10000)) {
      group_known = false;
      logger()->warn(
          "{}: cannot read the group offsets of {} partitions assigned again ({}); continuing where "
          "this member stopped.",
          what_, held->cnt, rd_kafka_err2str(e));
    }
  }
  for (int i = 0; i < parts->cnt; ++i) {
    auto& el = parts->elems[i];
    Part& p = part(el.topic, el.partition);
    p.next = from[i].first;
    if (p.next >= 0 && from[i].second && group_known) {
      auto* g = rd_kafka_topic_partition_list_find(held.get(), el.topic, el.partition);
      if (g && g->err == RD_KAFKA_RESP_ERR_NO_ERROR) p.next = std::max(p.next, g->offset);
    }
    p.assigned = true;
    p.held = true;
    el.offset = p.next >= 0 ? p.next : RD_KAFKA_OFFSET_INVALID;
  }
  // The first assignment of a run: checkpoint positions it leaves out belong to another member now.
  if (!assigned_once_) {
    assigned_once_ = true;
    for (auto& [stream, r] : resume_) r.not_assigned = true;
  }
  logger()->info("{}: assigned {} partitions: {}.", what_, parts->cnt, describe(parts, true));
}

void KafkaSource::revoke(rd_kafka_topic_partition_list_t* parts, bool lost) {
  for (int i = 0; i < parts->cnt; ++i) {
    auto it = parts_.find({parts->elems[i].topic, parts->elems[i].partition});
    if (it == parts_.end()) continue;
    it->second.assigned = false;  // `next` is kept: where this member stopped
  }
  cache_rkt_ = nullptr;
  cache_part_ = nullptr;
  logger()->info("{}: {} {} partitions: {}.", what_, lost ? "lost" : "revoked", parts->cnt,
                 describe(parts, false));
}

bool KafkaSource::take_rebalanced() {
  return std::exchange(rebalanced_, false);
}

std::vector<std::string> KafkaSource::assignment() const {
  std::vector<std::string> out;
  for (const auto& [k, p] : parts_) {
    if (p.assigned) out.push_back(p.stream_name);
  }
  return out;
}

void KafkaSource::on_error(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    auto orig = rd_kafka_fatal_error(rk_, buf, sizeof(buf));
    fatal_ = true;
    last_error_ = Status::fatal(fmt::format("{}: fatal error {}: {}", what_, rd_kafka_err2name(orig), buf));
    logger()->error("{}", last_error_.message());
    return;
  }
  errors_.error(error_class(err), fmt::format("{} ({}); retrying", reason,
                                              rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))));
}

void KafkaSource::on_commit(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets) {
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing to commit
  if (err) {
    commit_errors_.error(err,
                         fmt::format("{}; the group offsets lag until the next commit (recovery uses the "
                                     "checkpoint, not these offsets)",
                                     rd_kafka_err2str(err)));
  } else {
    commit_errors_.ok();
  }
}

PollResult KafkaSource::poll(RecordHandler& h, std::chrono::steady_clock::time_point deadline,
                             size_t max_records) {
  if (fatal_) return PollResult::Error;
  if (!rk_) {
    last_error_ = Status::fatal(what_ + " is not open");
    return PollResult::Error;
  }
  // The engine has committed the batch in flight since poll() last returned: hand the partitions back.
  apply_pending_revoke();
  size_t n = 0;
  // Draining: take what the queue holds without waiting. When it runs dry while records are flowing, sleep
  // ~1 ms and let the fetcher fill it: waiting inside librdkafka for a full array wakes this thread (and
  // costs the fetcher a futex wake-up) for nearly every message once the engine keeps up with the fetcher,
  // which held the loopback rate at ~1M/s with both threads partly idle. When nothing flows, wait inside
  // librdkafka for a single message, so an idle job sleeps until one arrives or the deadline.
  bool flowing = false;
  while (n < max_records && pending_revoke_ == nullptr && !fatal_) {
    auto now = std::chrono::steady_clock::now();
    int timeout_ms = 0;
    size_t want = std::min(kConsumeBatch, max_records - n);
    if (!flowing && now < deadline) {
      // Short, so that a rebalance (served inside the call) and the batch deadline are noticed soon.
      timeout_ms = static_cast<int>(
          std::min<int64_t>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count(), 100));
      want = 1;
    }
    ssize_t got = rd_kafka_consume_batch_queue(queue_, timeout_ms, msgs_.data(), want);
    if (got < 0) {
      errors_.error(RD_KAFKA_RESP_ERR__FAIL,
                    fmt::format("consuming failed ({}); retrying", rd_kafka_err2str(rd_kafka_last_error())));
      if (std::chrono::steady_clock::now() >= deadline) break;
      flowing = false;
      continue;
    }
    for (ssize_t i = 0; i < got; ++i) {
      rd_kafka_message_t* m = msgs_[i];
      if (deliver(h, m)) ++n;
      rd_kafka_message_destroy(m);
    }
    if (fatal_) return PollResult::Error;
    // The batch deadline is never overrun by draining (the engine closes the batch on time).
    now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (static_cast<size_t>(got) == want && want > 1) continue;  // more may be waiting
    if (got > 0 && timeout_ms == 0) {
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(1), deadline - now));
      flowing = true;
    } else {
      flowing = got > 0;
    }
  }
  if (fatal_) return PollResult::Error;
  if (n > 0) errors_.ok();
  return PollResult::Ok;
}

bool KafkaSource::deliver(RecordHandler& h, rd_kafka_message_t* m) {
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return false;
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
      on_error(m->err, "fatal consumer error");
      return false;
    }
    std::string where = m->rkt ? fmt::format(" (topic {})", rd_kafka_topic_name(m->rkt)) : std::string();
    errors_.error(error_class(m->err), fmt::format("{}{} ({}); waiting", rd_kafka_message_errstr(m), where,
                                                   rd_kafka_err2name(m->err)));
    return false;
  }
  if (fatal_) return false;  // nothing after a fatal error is delivered
  Part* p = part_for(m);
  if (!p || !p->assigned) return false;  // from a partition revoked meanwhile
  RawRecord r;
  if (m->payload) {
    r.payload = std::string_view(static_cast<const char*>(m->payload), m->len);
  } else {
    r.null_payload = true;
  }
  r.topic = p->topic;
  r.partition = p->partition;
  r.offset = m->offset;
  if (m->key) r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  r.timestamp_ms = tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
  r.stream = p->stream;
  p->next = m->offset + 1;
  h.on_record(r);
  return true;
}

Positions KafkaSource::positions() const {
  // Every partition this member has a position for, assigned or not (see "Retained positions").
  std::map<std::pair<std::string, int32_t>, Position> all;
  for (const auto& [stream, r] : resume_) {
    std::string topic;
    int32_t partition = 0;
    if (!split_stream(stream, topic, partition)) continue;
    all[{topic, partition}] = Position{stream, r.offset, r.not_assigned ? kNotAssigned : kNotAssignedYet};
  }
  for (const auto& [k, p] : parts_) {
    if (p.held) all.erase(k);  // its Part holds the position now (none: nothing read, nothing to keep)
    if (p.next >= 0) all[k] = Position{p.stream_name, p.next, p.assigned ? 0 : kNotAssigned};
  }
  Positions out;
  out.reserve(all.size());
  for (auto& [k, p] : all) out.push_back(std::move(p));
  return out;
}

void KafkaSource::committed(const Positions& positions) {
  if (!rk_) return;
  ListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& pos : positions) {
    std::string topic;
    int32_t partition = 0;
    if (!split_stream(pos.stream, topic, partition) || pos.offset < 0) continue;
    auto it = parts_.find({topic, partition});
    if (it == parts_.end() || !it->second.assigned) continue;  // revoked: its new owner commits
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = pos.offset;
  }
  if (list->cnt == 0) return;
  // Partitions being revoked: their next owner reads the group offsets, so they must be stored first.
  bool sync = pending_revoke_ != nullptr;
  if (auto e = rd_kafka_commit(rk_, list.get(), sync ? 0 : 1)) {
    if (sync) {
      // Real brokers accept the commit while the group prepares the rebalance; librdkafka's mock cluster
      // (and a member whose generation has already ended) does not.
      logger()->warn(
          "{}: committing the group offsets before handing over partitions failed ({}); their "
          "new owner starts at the previous commit and reads the records since then again.",
          what_, rd_kafka_err2str(e));
    } else {
      commit_errors_.error(e, fmt::format("{}; will retry with the next batch", rd_kafka_err2str(e)));
    }
  }
}

void KafkaSource::pause() {
  if (!rk_ || paused_) return;
  paused_ = true;
  rd_kafka_topic_partition_list_t* a = nullptr;
  if (rd_kafka_assignment(rk_, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    rd_kafka_pause_partitions(rk_, a);
    rd_kafka_topic_partition_list_destroy(a);
  }
}

void KafkaSource::resume() {
  if (!rk_ || !paused_) return;
  paused_ = false;
  rd_kafka_topic_partition_list_t* a = nullptr;
  if (rd_kafka_assignment(rk_, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a) {
    rd_kafka_resume_partitions(rk_, a);
    rd_kafka_topic_partition_list_destroy(a);
  }
  // Messages keepalive() had to take from the queue were never delivered: read them again.
  ListPtr back(rd_kafka_topic_partition_list_new(0));
  for (auto& [k, p] : parts_) {
    if (!p.reseek) continue;
    p.reseek = false;
    if (p.assigned && p.next >= 0)
      rd_kafka_topic_partition_list_add(back.get(), p.topic.c_str(), p.partition)->offset = p.next;
  }
  if (back->cnt > 0) {
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, back.get(), 10000)) {
      // Reading on would skip the undelivered messages: stop; a restart resumes from the checkpoint.
      fatal_ = true;
      last_error_ =
          Status::fatal(fmt::format("{}: seeking back to undelivered messages after a pause failed: {}",
                                    what_, rd_kafka_error_string(e)));
      logger()->error("{}", last_error_.message());
      rd_kafka_error_destroy(e);
      return;
    }
    for (int i = 0; i < back->cnt; ++i) {
      if (back->elems[i].err) {
        fatal_ = true;
        last_error_ = Status::fatal(fmt::format(
            "{}: seeking {} [{}] back to offset {} after a pause failed: {}", what_, back->elems[i].topic,
            back->elems[i].partition, back->elems[i].offset, rd_kafka_err2str(back->elems[i].err)));
        logger()->error("{}", last_error_.message());
        return;
      }
    }
    logger()->debug("{}: re-reading {} partition(s) from where the engine stopped after a pause.", what_,
                    back->cnt);
  }
}

void KafkaSource::keepalive() {
  if (!rk_ || !paused_ || fatal_) return;
  // Consuming from the consumer queue is what librdkafka counts as a poll (max.poll.interval.ms); it also
  // serves rebalance and error events. Paused partitions fetch nothing, but messages fetched before the
  // pause (or for a partition assigned meanwhile) may still come out: they are not delivered; the
  // partition seeks back to the first undelivered offset on resume().
  ssize_t got = rd_kafka_consume_batch_queue(queue_, 0, msgs_.data(), msgs_.size());
  for (ssize_t i = 0; i < got; ++i) {
    rd_kafka_message_t* m = msgs_[i];
    if (!m->err) {
      if (Part* p = part_for(m); p && p->assigned) {
        if (p->next < 0) p->next = m->offset;  // nothing delivered yet: the first undelivered offset
        p->reseek = true;
      }
    }
    rd_kafka_message_destroy(m);
  }
}

void KafkaSource::close() {
  if (!rk_) return;
  closing_ = true;
  apply_pending_revoke();
  if (auto e = rd_kafka_consumer_close(rk_)) {
    logger()->warn("{}: leaving the group failed: {}", what_, rd_kafka_err2str(e));
  }
  if (queue_) rd_kafka_queue_destroy(queue_);
  queue_ = nullptr;
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  logger()->info("{}: closed.", what_);
}

}  // namespace weir::kafka
