// Checkpoints (spec §9, DELIVERY.md): the source positions, watermarks, every output's window state and the
// rows of the batch(es) not yet known to be committed by every sink. Binary, versioned, CRC-32C checked,
// written atomically (temp file, fsync, rename, fsync of the directory), mode 0600.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/job.h"
#include "connectors/sink.h"
#include "connectors/source.h"
#include "connectors/status.h"

namespace weir::checkpoint {

// 2: each output also holds the key expressions of the hidden columns of its pending rows (key_columns).
// Version 1 is still read.
constexpr uint32_t kFormatVersion = 2;

struct OutputState {
  std::string name;
  std::string fingerprint;
  std::string state;    // window::State::save()
  uint64_t groups = 0;  // state size, for `weir checkpoint show`
  uint64_t panes = 0;
  std::vector<BatchOutput> pending;  // rows of the batches this checkpoint covers that sinks may still lack
  // The columns `pending` rows have after the visible ones (one per keyed Kafka sink, engine/plan.h
  // HiddenColumn): each one's key expression, as expr::to_string() writes it. Absent in a checkpoint of
  // format version 1 (which did not record it).
  std::optional<std::vector<std::string>> key_columns;
};

struct Checkpoint {
  std::string job;
  std::string job_fingerprint;
  uint64_t batch = 0;  // the last batch folded into this state
  int64_t batch_end_ms = 0;
  int64_t created_ms = 0;
  Positions positions;
  int64_t watermark_ms = INT64_MIN;
  std::vector<int64_t> stream_max;
  std::vector<OutputState> outputs;
  const OutputState* find(const std::string& output) const;
};

std::string encode(const Checkpoint& c);
// Checks magic, format version and checksum; `error` says what is wrong.
std::optional<Checkpoint> decode(std::string_view bytes, std::string& error);

// Fingerprints of what shapes state (spec §9): source, decode, the declared fields (in any order), time,
// batch; and per output where/explode/select/group_by/window/aggregate (the expressions' text, so the paths
// they read) and, for a pass-through output, the order of the declared fields (its rows' columns). Sinks,
// limit, order_by, having, added outputs and implicit fields (paths used in expressions) do not count.
// Job fingerprints start with "v2:"; weir before v2 wrote 16 hex digits over every field in order.
std::string job_fingerprint(const config::Job& job);
std::string output_fingerprint(const config::Job& job, const config::Output& o);

// How a checkpoint's job fingerprint fits `job`: not at all, as this weir writes it, or as weir before v2
// wrote it (whose output fingerprints are then compared with output_fingerprint_as(V1, ...)).
enum class FingerprintFit { No, Current, V1 };
FingerprintFit fit_job_fingerprint(std::string_view stored, const config::Job& job);
// The fingerprint of output `o` as a checkpoint whose job fingerprint fits as `fit` holds it.
std::string output_fingerprint_as(FingerprintFit fit, const config::Job& job, const config::Output& o);

// TEST ONLY (docs/semantics.md, "Crash points"): WEIR_TEST_CRASH_AT=<point>:<batch> makes the process
// _exit(137) at that point while handling that batch id. The variable is read once at program start;
// when it is unset, crash_requested() is a comparison against None. The two rebalance points count
// consumer-group rebalances (revocations) instead of batches: `rebalance:N` exits when the N-th revocation
// reaches the engine, before the batch in flight is committed; `rebalance_committed:N` after that batch is
// committed, before the partitions are handed over.
enum class CrashPoint {
  None,
  BeforeCheckpoint,
  MidCheckpoint,
  AfterCheckpoint,
  AfterCommit,
  Rebalance,
  RebalanceCommitted
};
bool crash_requested(CrashPoint point, uint64_t batch);
// _exit(137) when crash_requested(point, batch).
void crash_point(CrashPoint point, uint64_t batch);

class Store {
 public:
  explicit Store(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  // Writes ckpt-<batch>.bin atomically (creating the directory, mode 0700): a temporary file of a name of its
  // own, fsync, rename, fsync of the directory. Returns the file size in `bytes`. Retryable: the disk is full
  // (try again later); fatal: anything else.
  Status write(const Checkpoint& c, size_t* bytes = nullptr);
  // Makes write() give up once `*flag` is true: when it finds it so (before it starts, and after the fsync of
  // the temporary file, before the rename) it removes its temporary file and returns fatal, so that a write
  // abandoned by a hard stop (Writer::abandon) never installs a checkpoint later. Null: never.
  void set_abandoned_flag(const std::atomic<bool>* flag) { abandoned_ = flag; }
  // Removes checkpoints older than `batch` and stale temporary files (call once `batch` is committed
  // everywhere).
  void remove_older_than(uint64_t batch);

  struct Entry {
    std::string path;
    uint64_t batch = 0;
    std::optional<Checkpoint> checkpoint;  // absent when unreadable/corrupt
    std::string error;
  };
  // Every checkpoint file, newest first, not decoded (cheap).
  std::vector<Entry> files() const;
  // Every checkpoint file, newest first, each decoded.
  std::vector<Entry> list() const;
  // Deletes every checkpoint (--reset-state).
  Status reset();

 private:
  std::string dir_;
  const std::atomic<bool>* abandoned_ = nullptr;
};

// Writes checkpoints on a thread of its own, so that the batch loop goes on reading and aggregating while a
// checkpoint is encoded, written and fsynced (issue 7). One checkpoint at a time: the owner (one thread)
// submits a checkpoint, then takes its result with wait(); it submits the next one only after that. The
// checkpoint travels by value: the owner gives it up in submit() and gets it back in the result (state
// bytes freed on success, everything else kept: the caller delivers its pending rows and stores its
// positions; after a failure it can submit it again unchanged). No other state is shared.
class Writer {
 public:
  // Writes one checkpoint durably (Store::write, or a test's slow/failing disk); runs on the writer thread.
  // `abandoned` turns true when the owner gives up on this write (abandon()): the write must then not install
  // the checkpoint (Store::set_abandoned_flag).
  using WriteFn = std::function<Status(const Checkpoint&, size_t* bytes, const std::atomic<bool>& abandoned)>;
  explicit Writer(WriteFn write);
  // Waits for a write in progress (a checkpoint is never left half-written by us), then ends the thread;
  // after abandon(), returns at once.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  struct Result {
    Status status = Status::ok();
    size_t bytes = 0;       // file size
    int64_t write_us = 0;   // on the writer thread: encode (frame + CRC) + write + fsync + rename
    Checkpoint checkpoint;  // handed back; `state` emptied when written
  };
  // Starts writing `c` in the background. Requires !in_flight() and no abandon().
  void submit(Checkpoint c);
  // A checkpoint was submitted and its result not yet taken.
  bool in_flight() const { return in_flight_; }
  // The result of the checkpoint in flight, taken, once written or failed, waiting up to `timeout`
  // (zero: just look). nullopt while it is still being written, or when nothing is in flight.
  std::optional<Result> wait(std::chrono::milliseconds timeout);
  // A hard stop: gives up on the write in flight without waiting for it (a hung disk can block write() or
  // fsync() for minutes). The thread is detached and ends on its own once the system call returns; the
  // write sees `abandoned` and does not install the checkpoint, so the previous one stays the newest.
  // Nothing of the owner's is touched by the thread after this (the write function and the checkpoint are
  // the thread's own).
  void abandon();

 private:
  struct Shared {
    explicit Shared(WriteFn w) : write(std::move(w)) {}
    WriteFn write;
    std::mutex mu;
    std::condition_variable work_cv;  // the writer thread waits for `todo` or `quit`
    std::condition_variable done_cv;  // the owner waits for `done`
    std::optional<Checkpoint> todo;
    std::optional<Result> done;
    bool quit = false;
    std::atomic<bool> abandoned{false};
  };
  static void run(const std::shared_ptr<Shared>& s);

  std::shared_ptr<Shared> s_;  // shared with the thread, which may outlive this object after abandon()
  bool in_flight_ = false;     // the owner's view; only the owner thread touches it
  std::thread thread_;         // last: starts after the members above exist
};

}  // namespace weir::checkpoint
