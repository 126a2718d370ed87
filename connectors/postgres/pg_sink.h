// The PostgreSQL sink (spec §7): writes an output's rows to a table, exactly once per batch.
//
// Each batch is one transaction: lock the (job, output) row of `weir_progress`; when it already holds
// this batch id or a later one, commit without writing (a replay); otherwise COPY the rows (append), or
// COPY them into a session temp table and INSERT … ON CONFLICT (key) DO UPDATE (upsert, last row per key
// wins), then upsert the progress row with the batch id and source positions, then COMMIT. A lost
// connection during COMMIT is resolved by reading the progress row after reconnecting.
//
// Rows PostgreSQL would reject (text with NUL bytes or invalid UTF-8, a value the column's type cannot
// take, a time outside years 1–9999) are left out of the COPY and reported by rejected_rows(), so the
// batch still commits; the caller dead-letters them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/job.h"
#include "connectors/postgres/pg_config.h"
#include "connectors/sink.h"

namespace weir {

class PostgresSink : public Sink {
 public:
  struct RejectedRow {
    size_t emission = 0;  // index into BatchOutput::emissions
    size_t row = 0;       // index into that emission's rows
    Row values;           // the row as the output produced it
    std::string column;   // the table column whose value was refused
    std::string reason;   // e.g. "text contains a NUL byte, which PostgreSQL text cannot hold"
  };
  struct RetryPolicy {
    std::chrono::milliseconds initial{100};
    std::chrono::milliseconds max{10000};
  };

  explicit PostgresSink(config::PostgresSink cfg);
  PostgresSink(config::PostgresSink cfg, RetryPolicy retry);
  ~PostgresSink() override;

  // Checks the configuration, connects, checks (or creates) the table and the progress table, and reads
  // the committed batch. Fatal: bad configuration, missing table without `create`, incompatible columns.
  // Retryable: the server cannot be reached (call open again later).
  Status open(const SinkContext& ctx) override;
  // The batch id stored in weir_progress for (job, output) when open() succeeded, advanced by each
  // commit (0 before a successful open: only trust it after open() returned ok).
  uint64_t committed_batch() override { return committed_; }
  // One transaction for the batch (see above). Retryable: not committed (connection trouble); the same
  // batch may be written again. Fatal: the table no longer fits, or PostgreSQL refused the data.
  Status write(const BatchOutput& batch) override;
  bool exactly_once() const override { return true; }
  void close() override;

  // write() until it is ok or fatal, or `stop` becomes true (then the last retryable status), with
  // capped exponential backoff and jitter between attempts. Logs once when PostgreSQL becomes
  // unreachable and once when it is reachable again.
  Status write_with_retry(const BatchOutput& batch, const std::atomic<bool>& stop);

  // The rows of the last write() that were not written and never will be (same for a replay).
  const std::vector<RejectedRow>& rejected_rows() const { return rejected_; }
  std::vector<Rejected> take_rejected() override {
    std::vector<Rejected> out;
    for (auto& r : rejected_) out.push_back({r.values, "column \"" + r.column + "\": " + r.reason});
    return out;
  }

  // The server process id of the current connection (0: not connected). For tests and diagnostics.
  int backend_pid() const;

 private:
  Status connect();
  Status prepare_progress();
  Status prepare_table(const BatchOutput* first_batch);
  Status check_existing_columns();
  Status check_unique_key();
  void build_sql();
  void encode(const BatchOutput& batch, std::string* data, size_t* rows);
  Status fail(const std::exception& e, const char* what);
  Status resolve_in_doubt(uint64_t batch_id);
  std::string where() const;

  config::PostgresSink cfg_;
  RetryPolicy retry_;
  SinkContext ctx_;
  pg::ConnInfo conn_info_;
  pg::TableName table_;
  std::string progress_schema_;
  std::vector<pg::ColumnMap> cols_;
  std::vector<pg::PgType> types_;  // effective column types (after the table is known)
  std::vector<size_t> key_;        // indexes into cols_
  struct Conn;                     // the libpqxx connection
  std::unique_ptr<Conn> conn_;
  bool opened_ = false;
  bool progress_ready_ = false;
  bool table_ready_ = false;
  uint64_t committed_ = 0;
  std::vector<RejectedRow> rejected_;

  // SQL built once the table is known.
  std::string table_sql_;                   // "schema"."table"
  std::string progress_sql_;                // "schema"."weir_progress"
  std::string columns_sql_;                 // "a","b"
  std::vector<std::string> copy_columns_;   // quoted table columns, in COPY order
  std::vector<std::string> stage_columns_;  // the same, after the staging sequence column
  std::string stage_create_sql_;
  std::string upsert_sql_;
};

}  // namespace weir
