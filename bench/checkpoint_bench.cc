// Checkpoint cost for a large state (issue 7 figure: 1,000,000 groups of count+sum written in <= 1 s, <= 64
// bytes per group on disk, and the pause it causes in the batch loop).
//
//   weir-checkpoint-bench DIR [GROUPS [REPEATS]]
//
// Builds the window state of one output `group_by: [key]`, `window: total`, `aggregate: { n: count(),
// total: sum(v) }` with GROUPS distinct string keys (like bench W3: "k0000042"), then times a checkpoint
// into DIR the way the executor takes it (Executor::checkpoint_and_commit):
//   loop pause   on the batch loop: State::save (serialise the state into the checkpoint), move the
//                pending rows in, hand it to the checkpoint::Writer thread;
//   background   on the writer thread: checkpoint::encode (frame + CRC-32C) and Store::write (write, fsync,
//                rename, fsync the directory), while the loop goes on;
//   synchronous  for comparison, what the loop paused for before the writer thread: save + encode + write.
// Two shapes:
//   state only         the checkpoint holds just the window state (no rows pending for a sink);
//   + pending rows     it also holds the batch's rows for the exactly-once sinks (a total window emits
//                      every group each batch, so one row per group).
// Also times the restore path (read + decode + State::load). Prints medians over REPEATS runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/checkpoint.h"
#include "engine/window/window_state.h"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [GROUPS [REPEATS]]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  size_t groups = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000000;
  int repeats = argc > 3 ? std::atoi(argv[3]) : 5;

  weir::window::Plan plan;
  plan.kind = weir::config::Window::Kind::Total;
  plan.length_ms = plan.every_ms = 1000;
  plan.aggs = {weir::config::AggKind::Count, weir::config::AggKind::Sum};
  plan.key_count = 1;
  weir::window::State state(plan);
  auto t_fill = Clock::now();
  std::vector<weir::Value> args(2);
  weir::Key key(1);
  for (size_t i = 0; i < groups; ++i) {
    key[0] = weir::Value::string(fmt::format("k{:07d}", i));
    args[1] = weir::Value::integer(int64_t(i % 1000));
    state.add(500, key, args.data());
    if (i % 3 == 0) state.add(600, key, args.data());  // some groups with more than one record
  }
  std::vector<weir::Emission> emitted;
  state.advance(1000, emitted);  // the total window emits every group once (the rows of this batch)
  std::printf("state: %zu groups, %zu panes, ~%.1f MB in memory (filled in %.0f ms)\n", state.groups(),
              state.panes(), double(state.bytes()) / 1e6, since(t_fill));

  weir::BatchOutput pending;
  pending.batch_id = 1;
  for (auto& e : emitted) {
    for (auto& r : e.rows) {
      r.insert(r.begin(), {weir::Value::time(e.window_start_ms), weir::Value::time(e.window_end_ms)});
    }
    pending.emissions.push_back(std::move(e));
  }

  weir::checkpoint::Store store(dir);
  weir::checkpoint::Writer writer([&store](const weir::checkpoint::Checkpoint& c, size_t* bytes,
                                           const std::atomic<bool>&) { return store.write(c, bytes); });
  // The checkpoint the executor builds: the state saved (into `reserve` bytes reserved ahead), the batch's
  // rows moved in when `rows` is given.
  auto checkpoint_of = [&state](uint64_t batch, size_t reserve, weir::BatchOutput* rows) {
    weir::checkpoint::Checkpoint cp;
    cp.job = "checkpoint-bench";
    cp.job_fingerprint = "bench";
    cp.batch = batch;
    cp.positions.push_back(weir::Position{"/bench/keys.jsonl", 123456789, 1000000});
    weir::checkpoint::OutputState os;
    os.name = "per-key";
    os.fingerprint = "bench";
    os.state.reserve(reserve);
    state.save(os.state);
    os.groups = state.groups();
    os.panes = state.panes();
    if (rows != nullptr) os.pending.push_back(std::move(*rows));
    cp.outputs.push_back(std::move(os));
    return cp;
  };
  uint64_t batch = 0;
  for (bool with_pending : {false, true}) {
    std::vector<double> save_ms, encode_ms, write_ms, sync_ms, pause_ms, background_ms, restore_ms;
    size_t bytes = 0;
    size_t reserve = 0;
    for (int rep = 0; rep < repeats; ++rep) {
      // Synchronous (before): the loop saves, encodes and writes.
      {
        auto t0 = Clock::now();
        weir::BatchOutput rows;
        if (with_pending) rows = pending;  // the old executor copied its pending rows in: inside the timing
        weir::checkpoint::Checkpoint cp = checkpoint_of(++batch, 0, with_pending ? &rows : nullptr);
        save_ms.push_back(since(t0));
        auto t1 = Clock::now();
        std::string encoded = weir::checkpoint::encode(cp);
        encode_ms.push_back(since(t1));
        auto t2 = Clock::now();
        // Store::write encodes again; subtract the encode time measured just above to get the I/O part.
        weir::Status s = store.write(cp, &bytes);
        if (!s.is_ok()) {
          std::fprintf(stderr, "checkpoint write failed: %s\n", s.message().c_str());
          return 1;
        }
        double w = since(t2);
        write_ms.push_back(std::max(0.0, w - encode_ms.back()));
        sync_ms.push_back(save_ms.back() + w);  // what the batch loop waited before: save + encode + write
        store.remove_older_than(cp.batch);
      }
      // Pipelined (now): the loop saves and hands over; the writer thread encodes and writes.
      {
        weir::BatchOutput rows;
        if (with_pending) rows = pending;  // the executor moves its pending rows in: copy outside the timing
        auto t0 = Clock::now();
        weir::checkpoint::Checkpoint cp =
            checkpoint_of(++batch, reserve + reserve / 8, with_pending ? &rows : nullptr);
        reserve = cp.outputs[0].state.size();
        writer.submit(std::move(cp));
        pause_ms.push_back(since(t0));
        std::optional<weir::checkpoint::Writer::Result> r;
        while (!r) r = writer.wait(std::chrono::milliseconds(1000));
        if (!r->status.is_ok()) {
          std::fprintf(stderr, "checkpoint write failed: %s\n", r->status.message().c_str());
          return 1;
        }
        background_ms.push_back(double(r->write_us) / 1000.0);
        bytes = r->bytes;
        store.remove_older_than(batch);
      }

      auto t3 = Clock::now();
      std::ifstream in(fmt::format("{}/ckpt-{:012d}.bin", dir, batch), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string err;
      auto back = weir::checkpoint::decode(ss.str(), err);
      weir::window::State loaded(plan);
      if (!back || !loaded.load(back->outputs[0].state) || loaded.groups() != state.groups()) {
        std::fprintf(stderr, "restore failed: %s\n", err.c_str());
        return 1;
      }
      restore_ms.push_back(since(t3));
    }
    std::printf(
        "%-16s %9zu bytes = %5.1f bytes/group | loop pause (encode) %5.0f ms | background write+fsync %5.0f "
        "ms | synchronous before: %5.0f ms (save %4.0f, encode %4.0f, write+fsync %4.0f) | restore %5.0f "
        "ms\n",
        with_pending ? "+ pending rows" : "state only", bytes, double(bytes) / double(groups),
        median(pause_ms), median(background_ms), median(sync_ms), median(save_ms), median(encode_ms),
        median(write_ms), median(restore_ms));
  }
  store.reset();
  return 0;
}
