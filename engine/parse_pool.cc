#include "engine/parse_pool.h"

#include "engine/partial_agg.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

namespace weir::engine {

// ---- Chunk ----

Chunk::Chunk(size_t field_count) : field_count_(field_count) {}
Chunk::~Chunk() = default;

void Chunk::clear() {
  // A chunk that held a huge record (up to max_record_bytes) does not keep that much for good.
  if (arena_.capacity() > 2 * kMaxBytes) {
    std::string().swap(arena_);
  } else {
    arena_.clear();
  }
  failed_ = false;
  recs_.clear();
  used_errors_ = 0;
  state.store(Filling, std::memory_order_relaxed);
}

Chunk::Span Chunk::put(std::string_view s) {
  Span sp{arena_.size(), s.size()};
  arena_.append(s.data(), s.size());
  return sp;
}

Chunk::Span Chunk::put_repeated(std::string_view s, const Span& prev) {
  if (s.size() == prev.len && !recs_.empty() && view(prev) == s) return prev;
  return put(s);
}

void Chunk::add(const RawRecord& r, int64_t read_ms) {
  Rec rec;
  const Rec* prev = recs_.empty() ? nullptr : &recs_.back();
  rec.payload = put(r.payload);
  if (!r.topic.empty()) rec.topic = put_repeated(r.topic, prev ? prev->topic : Span{});
  if (!r.file.empty()) rec.file = put_repeated(r.file, prev ? prev->file : Span{});
  if (r.key) {
    rec.has_key = true;
    rec.key = put(*r.key);
  }
  rec.null_payload = r.null_payload;
  rec.partition = r.partition;
  rec.stream = r.stream;
  rec.offset = r.offset;
  rec.timestamp_ms = r.timestamp_ms;
  rec.line = r.line;
  rec.read_ms = read_ms;
  recs_.push_back(rec);
}

RawRecord Chunk::record(size_t i) const {
  const Rec& rec = recs_[i];
  RawRecord r;
  r.payload = view(rec.payload);
  r.null_payload = rec.null_payload;
  r.topic = view(rec.topic);
  r.partition = rec.partition;
  r.offset = rec.offset;
  if (rec.has_key) r.key = view(rec.key);
  r.timestamp_ms = rec.timestamp_ms;
  r.file = view(rec.file);
  r.line = rec.line;
  r.stream = rec.stream;
  return r;
}

void Chunk::extract(const fields::Extractor& ex) {
  if (values_.size() < recs_.size() * field_count_) values_.resize(recs_.size() * field_count_);
  std::string err;
  extract_records(
      ex, err, [this](size_t i) { return values_.data() + i * field_count_; }, [](size_t) {});
}

size_t Chunk::held_bytes() const {
  size_t b = arena_.capacity();
  for (const Value& v : values_) {
    if (v.type() == Type::String) b += v.as_string().capacity();
  }
  return b;
}

void Chunk::take_fields(size_t i, Value* slots) {
  Value* v = values_.data() + i * field_count_;
  for (size_t f = 0; f < field_count_; ++f) {
    std::swap(slots[f], v[f]);
    if (v[f].type() == Type::String && v[f].as_string().capacity() > kKeepStringBytes) v[f].set_null();
  }
}

// ---- ChunkRing ----

void ChunkRing::push_back(Chunk* c) {
  if (n_ == buf_.size()) {
    std::vector<Chunk*> grown(std::max<size_t>(8, 2 * buf_.size()));
    for (size_t i = 0; i < n_; ++i) grown[i] = (*this)[i];
    buf_.swap(grown);
    head_ = 0;
  }
  buf_[(head_ + n_) % buf_.size()] = c;
  ++n_;
}

void ChunkRing::pop_front() {
  head_ = (head_ + 1) % buf_.size();
  --n_;
}

// ---- ParsePool ----

ParsePool::ParsePool(const config::Job& job, size_t field_count, int threads, const PartialAggregator* agg)
    : field_count_(field_count),
      // Enough to keep every worker and the batch loop busy, few enough to bound memory (~1 MiB each).
      max_inflight_(2 * static_cast<size_t>(threads) + 2),
      agg_(agg) {
  for (int i = 0; i < threads; ++i)
    extractors_.push_back(std::make_unique<fields::Extractor>(job.fields, job.decode));
  if (agg_ != nullptr) {
    for (int i = 0; i <= threads; ++i) scratch_.push_back(agg_->scratch());
  }
  try {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { work(static_cast<size_t>(i)); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
    throw;
  }
}

ParsePool::~ParsePool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ParsePool::process(Chunk* c, const fields::Extractor& ex, size_t scratch) {
  if (agg_ != nullptr && agg_->fused()) return agg_->extract_and_run(*c, ex, *scratch_[scratch]);
  c->extract(ex);
  if (agg_ != nullptr) agg_->run(*c, *scratch_[scratch]);
}

void ParsePool::run_part(size_t i) {
  std::exception_ptr err;
  try {
    (*task_)(i);
  } catch (...) {
    err = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (err && !task_error_) task_error_ = err;
    ++task_done_;
  }
  done_cv_.notify_one();  // the batch loop is the only thread waiting on it
}

void ParsePool::parallel(size_t n, const std::function<void(size_t)>& part, const fields::Extractor* own) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    task_ = &part;
    task_n_ = n;
    task_next_ = 0;
    task_done_ = 0;
    task_error_ = nullptr;
  }
  work_cv_.notify_all();
  // The batch loop takes the first part; then, while a part waits for a parse thread busy with a chunk, it
  // extracts a chunk no thread has started (work it would otherwise wait for after this call) rather than
  // take that part too; with no such chunk it takes the part itself.
  bool first = true;
  while (true) {
    size_t i = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (task_next_ >= task_n_) break;
      if (first || own == nullptr) {
        i = task_next_++;
      } else {
        i = SIZE_MAX;
      }
    }
    if (i == SIZE_MAX && help(*own)) continue;
    if (i == SIZE_MAX) {
      std::lock_guard<std::mutex> lk(mu_);
      if (task_next_ >= task_n_) break;
      i = task_next_++;
    }
    first = false;
    run_part(i);
  }
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return task_done_ == task_n_; });
    task_ = nullptr;
    task_n_ = task_next_ = task_done_ = 0;
    err = task_error_;
    task_error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

bool ParsePool::help(const fields::Extractor& own) {
  for (size_t i = 0; i < inflight_.size(); ++i) {
    Chunk* c = inflight_[i];
    int expected = Chunk::Queued;
    if (c->state.compare_exchange_strong(expected, Chunk::Claimed, std::memory_order_acquire)) {
      process(c, own, threads_.size());
      c->state.store(Chunk::Done, std::memory_order_release);
      return true;
    }
  }
  return false;
}

void ParsePool::work(size_t worker) {
  const fields::Extractor& ex = *extractors_[worker];
  while (true) {
    Chunk* c = nullptr;
    {
      std::unique_lock<std::mutex> lk(mu_);
      work_cv_.wait(lk, [&] { return stop_ || task_next_ < task_n_ || !queue_.empty(); });
      if (stop_) return;
      if (task_next_ < task_n_) {
        // A part of the batch loop's parallel task comes before any chunk: the batch loop waits for it.
        const size_t i = task_next_++;
        lk.unlock();
        run_part(i);
        continue;
      }
      c = queue_.front();
      queue_.pop_front();
    }
    int expected = Chunk::Queued;
    // The batch loop may have claimed it meanwhile (it extracts what no worker has started).
    if (!c->state.compare_exchange_strong(expected, Chunk::Claimed, std::memory_order_acquire)) continue;
    try {
      process(c, ex, worker);
    } catch (...) {
      c->set_failed();  // the batch loop extracts it again (next())
    }
    finish(c);
  }
}

void ParsePool::finish(Chunk* c) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    c->state.store(Chunk::Done, std::memory_order_release);
  }
  done_cv_.notify_one();
}

void ParsePool::submit(Chunk* c) {
  c->state.store(Chunk::Queued, std::memory_order_release);
  inflight_.push_back(c);
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(c);
  }
  work_cv_.notify_one();
}

bool ParsePool::add(const RawRecord& r, int64_t read_ms) {
  if (filling_ == nullptr) {
    if (free_.empty()) {
      chunks_.push_back(std::make_unique<Chunk>(field_count_));
      free_.push_back(chunks_.back().get());
    }
    filling_ = free_.back();
    free_.pop_back();
    filling_->clear();
  }
  filling_->add(r, read_ms);
  if (!filling_->full()) return false;
  submit(filling_);
  filling_ = nullptr;
  return true;
}

void ParsePool::flush() {
  if (filling_ == nullptr) return;
  if (filling_->size() == 0) {
    free_.push_back(filling_);
  } else {
    submit(filling_);
  }
  filling_ = nullptr;
}

Chunk* ParsePool::next(bool wait, const fields::Extractor& own) {
  if (inflight_.empty()) return nullptr;
  Chunk* front = inflight_.front();
  while (front->state.load(std::memory_order_acquire) != Chunk::Done) {
    if (!wait) return nullptr;
    // Rather than wait idle, extract the oldest chunk no worker has started (the front one first).
    if (help(own)) continue;
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return front->state.load(std::memory_order_acquire) == Chunk::Done; });
  }
  inflight_.pop_front();
  // On the batch loop a failure is what it is with `workers: 1` (the job fails, its state is kept).
  if (front->failed()) process(front, own, threads_.size());
  return front;
}

void ParsePool::recycle(Chunk* c) {
  free_.push_back(c);
}

bool parse_ahead_pays(int64_t extract_ns, int64_t handle_ns, bool partial) {
  return partial ? extract_ns >= 2 * handle_ns : 2 * extract_ns >= handle_ns;
}

int cpus_under_quota(const std::string& cpu_max, int cpus) {
  std::istringstream in(cpu_max);
  std::string quota;
  int64_t period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return cpus;
  int64_t q = 0;
  for (char c : quota) {
    if (c < '0' || c > '9' || q > INT64_MAX / 10 - 9) return cpus;
    q = q * 10 + (c - '0');
  }
  const int64_t cap = std::max<int64_t>(1, (q + period - 1) / period);
  return static_cast<int>(std::min<int64_t>(cpus, cap));
}

int usable_cpus() {
  int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string line;
  if (f && std::getline(f, line)) cpus = cpus_under_quota(line, cpus);
  return cpus;
}

int resolve_workers(int requested, int job_workers) {
  if (requested > 0) return requested;
  if (job_workers > 0) return job_workers;
  return usable_cpus() >= 2 ? 2 : 1;
}

}  // namespace weir::engine
