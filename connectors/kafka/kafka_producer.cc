#include "connectors/kafka/kafka_producer.h"

#include <algorithm>
#include <cstdlib>

namespace weir::kafka {
namespace {

void dr_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  static_cast<Producer*>(opaque)->on_delivery(m);
}
void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<Producer*>(opaque)->on_error(err, reason);
}

}  // namespace

Status Producer::open(const config::Properties& settings) {
  if (rk_) return Status::fatal(what_ + " is already open");
  std::string error;
  ConfPtr conf = make_conf(settings, error);
  if (!conf) return Status::fatal(what_ + ": " + error);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), dr_cb);
  rd_kafka_conf_set_error_cb(conf.get(), error_cb);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (!rk_) return Status::fatal(fmt::format("{}: cannot create the producer: {}", what_, err));
  conf.release();
  return Status::ok();
}

bool Producer::fatal_code(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
      return true;
    default:
      return false;
  }
}

bool Producer::refused_code(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
      return true;
    default:
      return false;
  }
}

size_t Producer::max_message_bytes() const {
  if (!rk_) return SIZE_MAX;
  char buf[64];
  size_t n = sizeof(buf);
  if (rd_kafka_conf_get(rd_kafka_conf(rk_), "message.max.bytes", buf, &n) != RD_KAFKA_CONF_OK)
    return SIZE_MAX;
  return static_cast<size_t>(std::strtoull(buf, nullptr, 10));
}

void Producer::log_refused(rd_kafka_resp_err_t e, std::string_view message) {
  // A dead-letter entry (one JSON object): name it by everything but its payload (the job, the error, where
  // the record is). Inside a JSON string a quote is always escaped, so `,"` starts a member.
  std::string shown;
  const size_t payload = message.find(",\"payload");
  if (payload == std::string_view::npos) {
    shown = std::string(message.substr(0, 200));
  } else {
    shown = std::string(message.substr(0, payload)) + ", ...";
    size_t rest = std::string_view::npos;
    for (std::string_view key : {",\"topic\":", ",\"file\":", ",\"line\":", ",\"time\":"}) {
      rest = std::min(rest, message.find(key, payload + 1));
    }
    if (rest != std::string_view::npos) shown += message.substr(rest);
  }
  logger()->error("{}: an entry of {} bytes was refused ({}: {}) and is lost: {}", what_, message.size(),
                  rd_kafka_err2name(e), rd_kafka_err2str(e), shown);
}

std::optional<Status> Producer::fatal_error() const {
  if (!rk_) return std::nullopt;
  char buf[512];
  auto e = rd_kafka_fatal_error(rk_, buf, sizeof(buf));
  if (!e) return std::nullopt;
  return Status::fatal(fmt::format("{}: fatal producer error {}: {}", what_, rd_kafka_err2name(e), buf));
}

rd_kafka_topic_t* Producer::topic(const std::string& name) {
  if (rkt_ && name == topic_name_) return rkt_;
  if (rkt_) rd_kafka_topic_destroy(rkt_);
  rkt_ = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  topic_name_ = name;
  return rkt_;
}

Status Producer::produce(const std::string& topic_name, std::optional<std::string_view> key,
                         std::string_view value, const Header* header) {
  if (!rk_) return Status::fatal(what_ + " is not open");
  rd_kafka_topic_t* t = topic(topic_name);
  if (!t) return Status::fatal(fmt::format("{}: cannot use topic {}", what_, topic_name));
  for (;;) {
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (header) {
      e = rd_kafka_producev(
          rk_, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE((const_cast<char*>(value.data())), (value.size())),
          RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)),
          RD_KAFKA_V_HEADER(header->name, header->value.data(), static_cast<ssize_t>(header->value.size())),
          RD_KAFKA_V_END);
    } else if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                const_cast<char*>(value.data()), value.size(), key ? key->data() : nullptr,
                                key ? key->size() : 0, nullptr) != 0) {
      e = rd_kafka_last_error();
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++produced_;
      return Status::ok();
    }
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 10);  // serve delivery reports to make room
      continue;
    }
    if (auto f = fatal_error()) return *f;
    if (drop_refused_ && refused_code(e)) {
      log_refused(e, value);
      return Status::ok();
    }
    std::string msg = fmt::format("{}: producing to {} failed: {}", what_, topic_name, rd_kafka_err2str(e));
    return fatal_code(e) ? Status::fatal(msg) : Status::retryable(msg);
  }
}

Status Producer::wait() {
  if (!rk_) return Status::fatal(what_ + " is not open");
  while (acked_ + failed_ + refused_ < produced_) {
    rd_kafka_flush(rk_, 100);
    if (fatal_error()) break;
  }
  Status st = Status::ok();
  if (auto f = fatal_error()) {
    st = *f;
  } else if (failed_ > 0) {
    std::string msg = fmt::format("{}: {} of {} messages were not delivered; first error: {} ({})", what_,
                                  failed_, produced_, first_error_text_, rd_kafka_err2name(first_error_));
    st = fatal_code(first_error_) ? Status::fatal(msg) : Status::retryable(msg);
  }
  if (st.is_ok() && produced_ > 0) errors_.ok();
  produced_ = acked_ = failed_ = refused_ = 0;
  first_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  first_error_text_.clear();
  return st;
}

void Producer::on_delivery(const rd_kafka_message_t* m) {
  if (m->err && drop_refused_ && refused_code(m->err)) {
    ++refused_;
    log_refused(m->err, std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0));
  } else if (m->err) {
    if (failed_++ == 0) {
      first_error_ = m->err;
      first_error_text_ = rd_kafka_err2str(m->err);
    }
  } else {
    ++acked_;
  }
}

void Producer::on_error(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    if (auto f = fatal_error()) logger()->error("{}", f->message());
    return;
  }
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__RESOLVE) {
    code = RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;  // one state for "cannot reach the cluster"
  }
  errors_.error(code, fmt::format("{} ({}); retrying", reason,
                                  rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))));
}

void Producer::close() {
  if (!rk_) return;
  if (produced_ > acked_ + failed_ + refused_) rd_kafka_flush(rk_, 5000);
  if (rkt_) rd_kafka_topic_destroy(rkt_);
  rkt_ = nullptr;
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

}  // namespace weir::kafka
