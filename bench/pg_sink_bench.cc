// PostgreSQL sink throughput (issue 6 figure: >= 200,000 rows/s per connection for append, >= 100,000 for
// upsert). Drives weir's real PostgresSink (one connection, one transaction per batch: COPY, or COPY into a
// staging table + one INSERT ... ON CONFLICT, plus the weir_progress update) with batches of aggregate rows
// shaped like a windowed count/sum output: window_start, window_end (timestamptz), author (text), tweets
// (bigint), total (double precision).
//
//   weir-pg-sink-bench DSN [ROWS_PER_BATCH [BATCHES]]
//
// Prints, per mode, the rows/s of write() (encode + transaction + COMMIT, the whole cost a batch pays), the
// median batch time, and for upsert both a batch of new keys (insert path) and a batch rewriting existing
// keys (update path). bench/pg_sink_bench.sh starts a throwaway server and runs it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "connectors/postgres/pg_sink.h"

namespace {

using weir::BatchOutput;
using weir::Emission;
using weir::Row;
using weir::Value;

weir::RowSchema schema() {
  weir::RowSchema s;
  s.aggregating = true;
  s.columns = {{"window_start", weir::Type::Time},
               {"window_end", weir::Type::Time},
               {"author", weir::Type::String},
               {"tweets", weir::Type::Int},
               {"total", weir::Type::Float}};
  return s;
}

// One emission of `rows` rows for window `w` (distinct authors), values varied by `salt`.
BatchOutput make_batch(uint64_t batch_id, int64_t w, size_t rows, int salt) {
  BatchOutput b;
  b.batch_id = batch_id;
  Emission e;
  e.window_end_ms = 1409443200000 + w * 5000;
  e.window_start_ms = e.window_end_ms - 60000;
  e.rows.reserve(rows);
  for (size_t i = 0; i < rows; ++i) {
    e.rows.push_back(Row{Value::time(e.window_start_ms), Value::time(e.window_end_ms),
                         Value::string(fmt::format("author_{:07d}", i)),
                         Value::integer(int64_t(i % 977) + salt), Value::real(double(i) * 0.25 + salt)});
  }
  b.emissions.push_back(std::move(e));
  b.positions.push_back(weir::Position{"/bench/input.jsonl", int64_t(batch_id) * 1000, batch_id});
  return b;
}

struct Result {
  std::vector<double> seconds;  // per batch
  size_t rows = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int run(const std::string& dsn, const std::string& mode, size_t rows, int batches) {
  weir::config::PostgresSink cfg;
  cfg.dsn = dsn;
  cfg.table = "bench_" + mode;
  cfg.create = true;
  if (mode == "upsert") {
    cfg.mode = weir::config::PostgresSink::Mode::Upsert;
    cfg.key = {"window_end", "author"};
  }
  weir::PostgresSink sink(cfg);
  weir::SinkContext ctx{"pg-sink-bench", mode, schema()};
  if (auto s = sink.open(ctx); !s.is_ok()) {
    std::fprintf(stderr, "open failed: %s\n", s.message().c_str());
    return 1;
  }
  uint64_t id = sink.committed_batch();
  auto timed = [&](const BatchOutput& b, Result& r) {
    auto t0 = std::chrono::steady_clock::now();
    weir::Status s = sink.write(b);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s.is_ok()) {
      std::fprintf(stderr, "write failed: %s\n", s.message().c_str());
      std::exit(1);
    }
    r.seconds.push_back(dt);
    r.rows += b.emissions[0].rows.size();
  };
  // Warm-up batch: creates the table (not measured).
  {
    Result warm;
    timed(make_batch(++id, 0, rows, 0), warm);
  }
  Result fresh;
  for (int i = 1; i <= batches; ++i) {
    BatchOutput b = make_batch(++id, i, rows, 0);  // every row a new key
    timed(b, fresh);
  }
  auto report = [&](const char* what, const Result& r) {
    double total = 0;
    for (double s : r.seconds) total += s;
    std::printf("%-7s %-22s %8zu rows in %2zu batches: %9.0f rows/s (median batch %.3f s)\n", mode.c_str(),
                what, r.rows, r.seconds.size(), double(r.rows) / total, median(r.seconds));
  };
  report(mode == "upsert" ? "new keys (insert)" : "", fresh);
  if (mode == "upsert") {
    Result update;
    for (int i = 1; i <= batches; ++i) {
      BatchOutput b = make_batch(++id, i, rows, 1);  // the keys of batch i again: every row conflicts
      timed(b, update);
    }
    report("existing keys (update)", update);
  }
  sink.close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DSN [ROWS_PER_BATCH [BATCHES]]\n", argv[0]);
    return 2;
  }
  std::string dsn = argv[1];
  size_t rows = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
  int batches = argc > 3 ? std::atoi(argv[3]) : 5;
  for (const char* mode : {"append", "upsert"}) {
    if (int rc = run(dsn, mode, rows, batches); rc != 0) return rc;
  }
  return 0;
}
