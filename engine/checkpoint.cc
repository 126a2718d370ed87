#include "engine/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "engine/codec.h"

namespace weir::checkpoint {

namespace {

constexpr char kMagic[8] = {'W', 'E', 'I', 'R', 'C', 'K', 'P', 'T'};

void put_positions(std::string& out, const Positions& ps) {
  codec::put_varint(out, ps.size());
  for (const auto& p : ps) {
    codec::put_bytes(out, p.stream);
    codec::put_i64(out, p.offset);
    codec::put_i64(out, p.aux);
  }
}
bool get_positions(codec::Reader& r, Positions& ps) {
  uint64_t n;
  if (!r.count(n, 3)) return false;
  ps.resize(n);
  for (auto& p : ps) {
    if (!r.str(p.stream) || !r.i64(p.offset) || !r.i64(p.aux)) return false;
  }
  return true;
}

void put_batch(std::string& out, const BatchOutput& b) {
  codec::put_varint(out, b.batch_id);
  put_positions(out, b.positions);
  codec::put_varint(out, b.emissions.size());
  for (const auto& e : b.emissions) {
    codec::put_i64(out, e.window_start_ms);
    codec::put_i64(out, e.window_end_ms);
    codec::put_varint(out, e.rows.size());
    for (const auto& row : e.rows) {
      codec::put_varint(out, row.size());
      for (const auto& v : row) codec::put_value(out, v);
    }
  }
}
bool get_batch(codec::Reader& r, BatchOutput& b) {
  uint64_t n;
  if (!r.varint(b.batch_id) || !get_positions(r, b.positions) || !r.count(n, 3)) return false;
  b.emissions.resize(n);
  for (auto& e : b.emissions) {
    uint64_t rows;
    if (!r.i64(e.window_start_ms) || !r.i64(e.window_end_ms) || !r.count(rows)) return false;
    e.rows.resize(rows);
    for (auto& row : e.rows) {
      uint64_t cols;
      if (!r.count(cols)) return false;
      row.resize(cols);
      for (auto& v : row) {
        if (!r.value(v)) return false;
      }
    }
  }
  return true;
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string expr_text(const config::Expr& e) {
  return e.node ? expr::to_string(*e.node) : "";
}

Status errno_status(const std::string& what, const std::string& path) {
  int e = errno;
  std::string msg = fmt::format("{} {}: {}", what, path, std::strerror(e));
  // A full disk or quota is worth waiting for; the rest is not.
  if (e == ENOSPC || e == EDQUOT || e == EINTR || e == EAGAIN || e == EFBIG) return Status::retryable(msg);
  return Status::fatal(msg);
}

struct CrashAt {
  CrashPoint point = CrashPoint::None;
  uint64_t batch = 0;
};

CrashAt parse_crash_at() {
  CrashAt c;
  const char* v = std::getenv("WEIR_TEST_CRASH_AT");
  if (v == nullptr || *v == 0) return c;
  std::string_view s(v);
  auto colon = s.find(':');
  std::string_view name = s.substr(0, colon);
  static constexpr std::pair<std::string_view, CrashPoint> kPoints[] = {
      {"before_checkpoint", CrashPoint::BeforeCheckpoint},
      {"mid_checkpoint", CrashPoint::MidCheckpoint},
      {"after_checkpoint", CrashPoint::AfterCheckpoint},
      {"after_commit", CrashPoint::AfterCommit},
      {"rebalance", CrashPoint::Rebalance},
      {"rebalance_committed", CrashPoint::RebalanceCommitted}};
  for (const auto& [n, p] : kPoints) {
    if (n == name) c.point = p;
  }
  unsigned long long batch = 0;
  if (c.point == CrashPoint::None || colon == std::string_view::npos ||
      std::sscanf(v + colon + 1, "%llu", &batch) != 1) {
    std::fprintf(stderr, "weir: ignoring WEIR_TEST_CRASH_AT=%s (expected <point>:<batch>)\n", v);
    return CrashAt{};
  }
  c.batch = batch;
  return c;
}

const CrashAt g_crash_at = parse_crash_at();

}  // namespace

bool crash_requested(CrashPoint point, uint64_t batch) {
  return g_crash_at.point == point && point != CrashPoint::None && g_crash_at.batch == batch;
}

void crash_point(CrashPoint point, uint64_t batch) {
  if (crash_requested(point, batch)) {
    std::fprintf(stderr, "weir: WEIR_TEST_CRASH_AT: exiting at batch %llu\n",
                 static_cast<unsigned long long>(batch));
    ::_exit(137);
  }
}

const OutputState* Checkpoint::find(const std::string& output) const {
  for (const auto& o : outputs) {
    if (o.name == output) return &o;
  }
  return nullptr;
}

std::string encode(const Checkpoint& c) {
  std::string body;
  codec::put_bytes(body, c.job);
  codec::put_bytes(body, c.job_fingerprint);
  codec::put_varint(body, c.batch);
  codec::put_i64(body, c.batch_end_ms);
  codec::put_i64(body, c.created_ms);
  put_positions(body, c.positions);
  codec::put_i64(body, c.watermark_ms);
  codec::put_varint(body, c.stream_max.size());
  for (int64_t m : c.stream_max) codec::put_i64(body, m);
  codec::put_varint(body, c.outputs.size());
  for (const auto& o : c.outputs) {
    codec::put_bytes(body, o.name);
    codec::put_bytes(body, o.fingerprint);
    codec::put_bytes(body, o.state);
    codec::put_varint(body, o.groups);
    codec::put_varint(body, o.panes);
    codec::put_varint(body, o.pending.size());
    for (const auto& b : o.pending) put_batch(body, b);
    const std::vector<std::string> none;
    const auto& keys = o.key_columns ? *o.key_columns : none;
    codec::put_varint(body, keys.size());
    for (const auto& k : keys) codec::put_bytes(body, k);
  }
  std::string out(kMagic, sizeof kMagic);
  codec::put_varint(out, kFormatVersion);
  codec::put_varint(out, body.size());
  out += body;
  uint32_t crc = codec::crc32c(out);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

std::optional<Checkpoint> decode(std::string_view bytes, std::string& error) {
  if (bytes.size() < sizeof kMagic + 6 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    error = bytes.empty() ? "the file is empty" : "not a weir checkpoint (bad magic or too short)";
    return std::nullopt;
  }
  std::string_view framed = bytes.substr(0, bytes.size() - 4);
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i)
    stored |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[bytes.size() - 4 + i])) << (8 * i);
  codec::Reader head(framed.substr(sizeof kMagic));
  uint64_t version = 0, len = 0;
  if (!head.varint(version)) {
    error = "truncated header";
    return std::nullopt;
  }
  if (version < 1 || version > kFormatVersion) {
    error = fmt::format("checkpoint format version {} is not supported by this weir (it reads version {})",
                        version, kFormatVersion);
    return std::nullopt;
  }
  if (codec::crc32c(framed) != stored) {
    error = "checksum mismatch (the file is corrupt or truncated)";
    return std::nullopt;
  }
  if (!head.varint(len) || len != framed.size() - sizeof kMagic - head.pos()) {
    error = "length field does not match the file size";
    return std::nullopt;
  }
  codec::Reader r(framed.substr(sizeof kMagic + head.pos()));
  Checkpoint c;
  uint64_t n;
  bool ok = r.str(c.job) && r.str(c.job_fingerprint) && r.varint(c.batch) && r.i64(c.batch_end_ms) &&
            r.i64(c.created_ms) && get_positions(r, c.positions) && r.i64(c.watermark_ms) && r.count(n);
  if (ok) {
    c.stream_max.resize(n);
    for (auto& m : c.stream_max) ok = ok && r.i64(m);
  }
  ok = ok && r.count(n, 4);
  if (ok) {
    c.outputs.resize(n);
    for (auto& o : c.outputs) {
      uint64_t pending;
      ok = ok && r.str(o.name) && r.str(o.fingerprint) && r.str(o.state) && r.varint(o.groups) &&
           r.varint(o.panes) && r.count(pending, 3);
      if (!ok) break;
      o.pending.resize(pending);
      for (auto& b : o.pending) ok = ok && get_batch(r, b);
      if (ok && version >= 2) {
        uint64_t keys;
        ok = r.count(keys);
        if (ok) o.key_columns.emplace(keys);
        for (size_t k = 0; ok && k < keys; ++k) ok = r.str((*o.key_columns)[k]);
      }
    }
  }
  if (!ok || !r.done()) {
    error = "malformed contents";
    return std::nullopt;
  }
  return c;
}

namespace {

// A field default as the fingerprint has always spelled it. A float is written as fmt's "{}" gives it
// (2.0 as "2"), not as to_json() (which now writes "2.0"), so that checkpoints made before JSON floats
// kept their ".0" still match the same job file.
std::string default_text(const std::optional<Value>& v) {
  if (!v) return "";
  if (v->type() == Type::Float && std::isfinite(v->as_float())) return fmt::format("{}", v->as_float());
  return v->to_json();
}

// What every fingerprint version hashes first: batch, decode and the source.
std::string job_head(const config::Job& job) {
  std::string s = fmt::format("batch={};decode={};", job.batch_ms, static_cast<int>(job.decode));
  std::visit(
      [&](const auto& src) {
        using T = std::decay_t<decltype(src)>;
        if constexpr (std::is_same_v<T, config::KafkaSource>) {
          s += "kafka:" + fmt::format("{}", fmt::join(src.topics, ",")) + ";";
        } else if constexpr (std::is_same_v<T, config::FilesSource>) {
          s += "files:" + src.dir + "/" + src.pattern + ";";
        } else if constexpr (std::is_same_v<T, config::SocketSource>) {
          s += "socket:" + src.host + ":" + std::to_string(src.port) + ";";
        } else if constexpr (std::is_same_v<T, config::StdinSource>) {
          s += "stdin;";
        } else {
          s += fmt::format("generate:seed={};", src.seed ? std::to_string(*src.seed) : "none");
        }
      },
      job.source.kind);
  return s;
}

std::string field_text(const config::Field& f) {
  return fmt::format("field:{}={}:{}:{}:{}:{}:{};", f.name, f.path_text, static_cast<int>(f.type),
                     default_text(f.default_value), f.required, static_cast<int>(f.time_format), f.strftime);
}

std::string time_text(const config::Job& job) {
  if (!job.time.event) return "";
  return fmt::format("event:{}:{}:{};", job.time.field, job.time.lateness_ms, job.time.idle_ms);
}

std::string hex(uint64_t h) {
  return fmt::format("{:016x}", h);
}

constexpr std::string_view kJobFingerprintV2 = "v2:";

// The job fingerprint of weir before v2, over the declared fields in order and then the first
// `implicit_count` implicit fields (paths used in expressions, in the order the outputs use them).
std::string job_fingerprint_v1(const config::Job& job, size_t implicit_count) {
  std::string s = job_head(job);
  for (const auto& f : job.fields) {
    if (f.implicit) {
      if (implicit_count == 0) continue;
      --implicit_count;
    }
    s += field_text(f);
  }
  s += time_text(job);
  return hex(fnv1a(s));
}

std::string output_fingerprint_impl(const config::Job& job, const config::Output& o, bool v1) {
  std::string s = "where:" + expr_text(o.where) + ";";
  if (o.explode)
    s += fmt::format("explode:{}:{}:{};", o.explode->field, o.explode->split.value_or("<list>"),
                     o.explode->as);
  for (const auto& sel : o.select) s += "select:" + sel.name + "=" + expr_text(sel.expr) + ";";
  if (o.select_raw) s += "select:*;";
  for (const auto& k : o.group_by) s += "key:" + k.name + "=" + expr_text(k.expr) + ";";
  s +=
      fmt::format("window:{}:{}:{};", static_cast<int>(o.window.kind), o.window.length_ms, o.window.every_ms);
  for (const auto& a : o.aggregate) {
    s += fmt::format("agg:{}={}({});", a.column, static_cast<int>(a.kind),
                     a.arg ? expr::to_string(*a.arg) : "");
  }
  if (!v1 && !o.aggregating()) {
    // A pass-through output's rows (kept in the checkpoint until every sink has them) have the declared
    // fields as their first columns, in the order of `fields:` (engine/plan.cc): that order is part of its
    // state. The fields' definitions are in the job fingerprint.
    std::set<std::string> redefined;
    if (o.explode) redefined.insert(o.explode->as);
    for (const auto& sel : o.select) redefined.insert(sel.name);
    for (const auto& f : job.fields) {
      if (!f.implicit && redefined.count(f.name) == 0) s += "column:" + f.name + ";";
    }
  }
  // What an expression reads is named in its text: a declared field (whose definition is in the job
  // fingerprint) or else a path of the document (an implicit field: its name is its path).
  return hex(fnv1a(s));
}

}  // namespace

std::string job_fingerprint(const config::Job& job) {
  // Implicit fields are left out: an implicit field is a path named by the expressions that use it, and those
  // are in the fingerprints of the outputs that hold them. The declared fields are sorted: their order shapes
  // no state except the columns of pass-through outputs, which their fingerprints cover.
  std::vector<std::string> fields;
  for (const auto& f : job.fields) {
    if (!f.implicit) fields.push_back(field_text(f));
  }
  std::sort(fields.begin(), fields.end());
  std::string s = job_head(job);
  for (const auto& f : fields) s += f;
  s += time_text(job);
  return std::string(kJobFingerprintV2) + hex(fnv1a(s));
}

std::string output_fingerprint(const config::Job& job, const config::Output& o) {
  return output_fingerprint_impl(job, o, false);
}

FingerprintFit fit_job_fingerprint(std::string_view stored, const config::Job& job) {
  if (stored.starts_with(kJobFingerprintV2)) {
    return stored == job_fingerprint(job) ? FingerprintFit::Current : FingerprintFit::No;
  }
  // A checkpoint of weir before v2 hashed every field, the implicit ones included, in order. Its implicit
  // fields are not known; trying every prefix of today's accepts an unchanged job and one with outputs added
  // at the end. Implicit fields shape no state beyond their outputs' expressions, so whichever prefix
  // matches, the job's source, declared fields, time and batch are the checkpoint's.
  size_t implicit = 0;
  for (const auto& f : job.fields) implicit += f.implicit ? 1 : 0;
  for (size_t n = implicit + 1; n-- > 0;) {
    if (stored == job_fingerprint_v1(job, n)) return FingerprintFit::V1;
  }
  return FingerprintFit::No;
}

std::string output_fingerprint_as(FingerprintFit fit, const config::Job& job, const config::Output& o) {
  return output_fingerprint_impl(job, o, fit == FingerprintFit::V1);
}

Status Store::write(const Checkpoint& c, size_t* bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::fatal(fmt::format("cannot create checkpoint directory {}: {}", dir_, ec.message()));
  ::chmod(dir_.c_str(), 0700);
  std::string data = encode(c);
  if (bytes != nullptr) *bytes = data.size();
  std::string final_path = fmt::format("{}/ckpt-{:012d}.bin", dir_, c.batch);
  auto abandoned = [this] { return abandoned_ != nullptr && abandoned_->load(); };
  if (abandoned()) return Status::fatal("the checkpoint write was abandoned");
  // The temporary file is this write's own: a write abandoned by a hard stop may still hold its file open (a
  // hung disk) while the job, started again in this process (the daemon), writes the same batch's checkpoint.
  // The usual name when it is free; a stale one (a crash) goes with the older checkpoints.
  static std::atomic<uint64_t> seq{0};
  std::string tmp = final_path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    tmp = fmt::format("{}.tmp.{}.{}", final_path, ::getpid(), seq.fetch_add(1));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  if (fd < 0) return errno_status("cannot create", tmp);
  size_t done = 0;
  if (crash_requested(CrashPoint::MidCheckpoint, c.batch)) {
    // TEST ONLY: a torn write, as if the process died halfway through.
    [[maybe_unused]] ssize_t n = ::write(fd, data.data(), data.size() / 2);
    ::fsync(fd);
    crash_point(CrashPoint::MidCheckpoint, c.batch);
  }
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = errno_status("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = errno_status("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (abandoned()) {
    // Given up on while the disk hung (a hard stop): the job may have started again from the previous
    // checkpoint, so this one must not appear now.
    ::unlink(tmp.c_str());
    return Status::fatal("the checkpoint write was abandoned");
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    Status s = errno_status("cannot rename", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

std::vector<Store::Entry> Store::files() const {
  std::vector<Entry> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    unsigned long long batch = 0;
    int used = 0;
    if (std::sscanf(name.c_str(), "ckpt-%llu.bin%n", &batch, &used) != 1 ||
        used != static_cast<int>(name.size())) {
      continue;
    }
    Entry en;
    en.path = dir_ + "/" + name;
    en.batch = batch;
    out.push_back(std::move(en));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.batch > b.batch; });
  return out;
}

std::vector<Store::Entry> Store::list() const {
  std::vector<Entry> out = files();
  for (auto& en : out) {
    std::string bytes;
    FILE* f = std::fopen(en.path.c_str(), "rb");
    if (f == nullptr) {
      en.error = std::strerror(errno);
      continue;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
    std::fclose(f);
    en.checkpoint = decode(bytes, en.error);
    if (en.checkpoint && en.checkpoint->batch != en.batch) {
      en.error = fmt::format("holds batch {} but is named for batch {}", en.checkpoint->batch, en.batch);
      en.checkpoint.reset();
    }
  }
  return out;
}

void Store::remove_older_than(uint64_t batch) {
  for (const auto& e : files()) {
    if (e.batch < batch) ::unlink(e.path.c_str());
  }
  // Temporary files left by a crash during a write.
  std::error_code ec;
  for (const auto& de : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = de.path().filename().string();
    if (name.starts_with("ckpt-") && name.find(".bin.tmp") != std::string::npos) {
      std::filesystem::remove(de.path(), ec);
    }
  }
}

Status Store::reset() {
  std::error_code ec;
  for (const auto& e : files()) std::filesystem::remove(e.path, ec);
  if (ec) return Status::fatal(fmt::format("cannot remove checkpoints in {}: {}", dir_, ec.message()));
  return Status::ok();
}

Writer::Writer(WriteFn write)
    : s_(std::make_shared<Shared>(std::move(write))), thread_([s = s_] { run(s); }) {}

Writer::~Writer() {
  if (!thread_.joinable()) return;  // abandoned: detached
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->quit = true;
  }
  s_->work_cv.notify_one();
  thread_.join();
}

void Writer::submit(Checkpoint c) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->todo = std::move(c);
    s_->done.reset();
  }
  in_flight_ = true;
  s_->work_cv.notify_one();
}

std::optional<Writer::Result> Writer::wait(std::chrono::milliseconds timeout) {
  if (!in_flight_) return std::nullopt;
  std::unique_lock<std::mutex> lock(s_->mu);
  if (!s_->done_cv.wait_for(lock, timeout, [this] { return s_->done.has_value(); })) return std::nullopt;
  std::optional<Result> r = std::move(s_->done);
  s_->done.reset();
  in_flight_ = false;
  return r;
}

void Writer::abandon() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->abandoned = true;
    s_->quit = true;
  }
  s_->work_cv.notify_one();
  thread_.detach();
  in_flight_ = false;
}

void Writer::run(const std::shared_ptr<Shared>& s) {
  std::unique_lock<std::mutex> lock(s->mu);
  while (true) {
    s->work_cv.wait(lock, [&] { return s->quit || s->todo.has_value(); });
    if (!s->todo || s->abandoned) return;  // quit, nothing left to write (or given up on)
    Checkpoint c = std::move(*s->todo);
    s->todo.reset();
    lock.unlock();
    Result r;
    auto t0 = std::chrono::steady_clock::now();
    try {
      r.status = s->write(c, &r.bytes, s->abandoned);
    } catch (
        const std::exception& e) {  // e.g. bad_alloc encoding a large state: this job fails, not the process
      r.status = Status::fatal(std::string("writing the checkpoint: ") + e.what());
    }
    r.write_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (r.status.is_ok()) {
      for (auto& o : c.outputs) std::string().swap(o.state);  // free the state copy here, not in the loop
    }
    r.checkpoint = std::move(c);
    lock.lock();
    s->done = std::move(r);
    s->done_cv.notify_one();
  }
}

}  // namespace weir::checkpoint
