#include "connectors/postgres/pg_sink.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include "engine/log.h"

namespace weir {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("pg");  // weir.pg, with the process's --log-format/--log-level
}

// Server messages end with a newline and may span lines; keep log lines single.
std::string one_line(std::string_view s) {
  std::string out(s);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

bool retryable_sqlstate(const std::string& st) {
  if (st.size() < 2) return true;  // no SQLSTATE: a client-side failure (lost connection)
  std::string cls = st.substr(0, 2);
  return cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || st == "55P03" ||
         st == "55006";
}

std::string positions_json(const Positions& ps) {
  std::string out = "[";
  for (const Position& p : ps) {
    if (out.size() > 1) out += ',';
    out += "{\"stream\":";
    append_json_string(out, p.stream);
    out += fmt::format(",\"offset\":{},\"aux\":{}}}", p.offset, p.aux);
  }
  out += ']';
  return out;
}

// COPY data in chunks of whole lines (tablewriter appends the newline of the last line).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void copy_rows(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns,
               const std::string& data) {
  pqxx::tablewriter w(tx, table, columns.begin(), columns.end());
  constexpr size_t kChunk = 1 << 20;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = std::min(data.size(), start + kChunk);
    end = data.find('\n', end == data.size() ? end - 1 : end);
    if (end == std::string::npos) end = data.size() - 1;
    w.write_raw_line(data.substr(start, end - start));
    start = end + 1;
  }
  w.complete();
}
void no_reactivation(pqxx::connection& c) {
  c.inhibit_reactivation(true);
}
#pragma GCC diagnostic pop

}  // namespace

struct PostgresSink::Conn : pqxx::connection {
  using pqxx::connection::connection;
};

PostgresSink::PostgresSink(config::PostgresSink cfg) : PostgresSink(std::move(cfg), RetryPolicy{}) {}

PostgresSink::PostgresSink(config::PostgresSink cfg, RetryPolicy retry)
    : cfg_(std::move(cfg)), retry_(retry) {}

PostgresSink::~PostgresSink() {
  close();
}

std::string PostgresSink::where() const {
  return fmt::format("postgres sink of job {} output {} (table {})", ctx_.job, ctx_.output, cfg_.table);
}

int PostgresSink::backend_pid() const {
  return conn_ && conn_->is_open() ? conn_->backendpid() : 0;
}

void PostgresSink::close() {
  conn_.reset();
}

Status PostgresSink::connect() {
  conn_.reset();
  try {
    conn_ = std::make_unique<Conn>(conn_info_.conninfo);
    no_reactivation(*conn_);
  } catch (const std::exception& e) {
    conn_.reset();
    return Status::retryable(fmt::format("{}: cannot connect to PostgreSQL at {}: {}", where(),
                                         conn_info_.summary, one_line(e.what())));
  }
  if (table_sql_.empty()) build_sql();
  return Status::ok();
}

void PostgresSink::build_sql() {
  pqxx::connection& c = *conn_;
  table_sql_ = table_.schema.empty() ? c.quote_name(table_.table)
                                     : c.quote_name(table_.schema) + "." + c.quote_name(table_.table);
  progress_sql_ = c.quote_name(progress_schema_) + "." + c.quote_name("weir_progress");
  columns_sql_.clear();
  copy_columns_.clear();
  for (const pg::ColumnMap& col : cols_) {
    if (!columns_sql_.empty()) columns_sql_ += ", ";
    columns_sql_ += c.quote_name(col.table_column);
    copy_columns_.push_back(c.quote_name(col.table_column));
  }
  if (cfg_.mode != config::PostgresSink::Mode::Upsert) return;
  // Staging: a temp table dropped at commit, with a sequence column so the last row per key wins.
  std::string seq = "weir_seq";
  auto taken = [&](const std::string& n) {
    return std::any_of(cols_.begin(), cols_.end(), [&](const auto& col) { return col.table_column == n; });
  };
  while (taken(seq)) seq += '_';
  stage_columns_ = copy_columns_;
  stage_columns_.insert(stage_columns_.begin(), c.quote_name(seq));
  stage_create_sql_ = fmt::format(
      "CREATE TEMP TABLE weir_stage ON COMMIT DROP AS SELECT 0::bigint AS {}, {} FROM {} WITH NO DATA",
      c.quote_name(seq), columns_sql_, table_sql_);
  std::string keys, updates;
  std::set<size_t> key_set(key_.begin(), key_.end());
  for (size_t k : key_) keys += (keys.empty() ? "" : ", ") + c.quote_name(cols_[k].table_column);
  for (size_t i = 0; i < cols_.size(); ++i) {
    if (key_set.count(i)) continue;
    std::string q = c.quote_name(cols_[i].table_column);
    updates += (updates.empty() ? "" : ", ") + q + " = EXCLUDED." + q;
  }
  upsert_sql_ = fmt::format(
      "INSERT INTO {t} ({cols}) SELECT {cols} FROM (SELECT DISTINCT ON ({keys}) * FROM weir_stage "
      "ORDER BY {keys}, {seq} DESC) s ON CONFLICT ({keys}) DO {action}",
      fmt::arg("t", table_sql_), fmt::arg("cols", columns_sql_), fmt::arg("keys", keys),
      fmt::arg("seq", c.quote_name(seq)),
      fmt::arg("action", updates.empty() ? std::string("NOTHING") : "UPDATE SET " + updates));
}

Status PostgresSink::fail(const std::exception& e, const char* what) {
  bool open = conn_ && conn_->is_open();
  bool retry = !open;
  std::string msg = one_line(e.what());
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    retry = true;
  } else if (const auto* se = dynamic_cast<const pqxx::sql_error*>(&e)) {
    retry = retry || retryable_sqlstate(se->sqlstate());
    if (!se->sqlstate().empty()) msg += " (SQLSTATE " + se->sqlstate() + ")";
  } else if (dynamic_cast<const pqxx::usage_error*>(&e) == nullptr &&
             dynamic_cast<const pqxx::failure*>(&e) != nullptr) {
    retry = true;  // I/O trouble reported by libpqxx (e.g. writing COPY data to a dead socket)
  }
  std::string full = fmt::format("{}: {}: {}", where(), what, msg);
  if (retry) {
    conn_.reset();  // start over on a fresh connection
    return Status::retryable(std::move(full));
  }
  return Status::fatal(std::move(full));
}

Status PostgresSink::open(const SinkContext& ctx) {
  ctx_ = ctx;
  if (auto e = pg::parse_table_name(cfg_.table, &table_)) return Status::fatal(where() + ": " + *e);
  conn_info_ = pg::build_conninfo(cfg_.dsn, cfg_.password_file);
  if (!conn_info_.error.empty()) return Status::fatal(where() + ": " + conn_info_.error);
  if (auto e = pg::map_columns(ctx_.schema, cfg_.columns, &cols_)) return Status::fatal(where() + ": " + *e);
  key_.clear();
  if (cfg_.mode == config::PostgresSink::Mode::Upsert) {
    if (cfg_.key.empty())
      return Status::fatal(where() + ": mode upsert needs `key:` (the columns that identify a row)");
    if (auto e = pg::resolve_key(cols_, ctx_.schema, cfg_.key, &key_))
      return Status::fatal(where() + ": " + *e);
  }
  progress_schema_ = table_.schema.empty() ? "public" : table_.schema;
  types_.assign(cols_.size(), pg::PgType::Other);
  table_sql_.clear();
  table_ready_ = false;
  progress_ready_ = false;
  opened_ = true;

  Status s = connect();
  if (!s.is_ok()) return s;
  s = prepare_progress();
  if (!s.is_ok()) return s;
  s = prepare_table(nullptr);
  if (!s.is_ok()) return s;
  logger()->info("PostgreSQL sink of job {} output {} writes to table {} at {} ({}, committed batch {}).",
                 ctx_.job, ctx_.output, table_.display(), conn_info_.summary,
                 cfg_.mode == config::PostgresSink::Mode::Upsert ? "upsert" : "append", committed_);
  return Status::ok();
}

Status PostgresSink::prepare_progress() {
  try {
    pqxx::work w(*conn_);
    auto exists = w.exec_params("SELECT to_regclass($1) IS NOT NULL", progress_sql_);
    if (!exists[0][0].as<bool>()) {
      w.exec("CREATE TABLE IF NOT EXISTS " + progress_sql_ +
             " (job text NOT NULL, output text NOT NULL, batch bigint NOT NULL, positions jsonb NOT NULL "
             "DEFAULT '[]', updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, output))");
    }
    // The row exists from now on, so each batch's SELECT … FOR UPDATE always takes a lock.
    w.exec_params("INSERT INTO " + progress_sql_ +
                      " (job, output, batch) VALUES ($1, $2, 0) ON CONFLICT (job, output) DO NOTHING",
                  ctx_.job, ctx_.output);
    auto r = w.exec_params("SELECT batch FROM " + progress_sql_ + " WHERE job = $1 AND output = $2", ctx_.job,
                           ctx_.output);
    committed_ = r.empty() ? 0 : uint64_t(r[0][0].as<int64_t>());
    w.commit();
  } catch (const std::exception& e) {
    return fail(e, "preparing the progress table");
  }
  progress_ready_ = true;
  return Status::ok();
}

Status PostgresSink::prepare_table(const BatchOutput* first_batch) {
  try {
    std::string schema_name;
    {
      pqxx::work w(*conn_);
      auto r = w.exec_params(
          "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE c.oid = to_regclass($1)",
          table_sql_);
      if (!r.empty()) schema_name = r[0][0].as<std::string>();
      w.commit();
    }
    if (schema_name.empty()) {
      if (!cfg_.create) {
        return Status::fatal(
            fmt::format("{}: table {} does not exist in {} (create it, or set `create: true`)", where(),
                        table_.display(), conn_info_.summary));
      }
      std::vector<pg::PgType> types(cols_.size());
      for (size_t i = 0; i < cols_.size(); ++i) {
        Type t = cols_[i].type;
        if (t == Type::Null) {
          if (first_batch == nullptr) return Status::ok();  // wait for data to infer the type
          // The first non-null value decides; a float anywhere among numbers makes it double precision.
          bool saw_float = false;
          for (const Emission& e : first_batch->emissions) {
            for (const Row& row : e.rows) {
              auto idx = size_t(cols_[i].output_index);
              Type vt = idx < row.size() ? row[idx].type() : Type::Null;
              if (t == Type::Null) t = vt;
              saw_float |= vt == Type::Float;
            }
          }
          if (t == Type::Int && saw_float) t = Type::Float;
        }
        types[i] = pg::pg_type_for(t);
      }
      std::string defs;
      for (size_t i = 0; i < cols_.size(); ++i) {
        defs += fmt::format("{}{} {}", defs.empty() ? "" : ", ", conn_->quote_name(cols_[i].table_column),
                            pg::pg_type_sql(types[i]));
      }
      if (!key_.empty()) {
        std::string keys;
        for (size_t k : key_) keys += (keys.empty() ? "" : ", ") + conn_->quote_name(cols_[k].table_column);
        defs += ", PRIMARY KEY (" + keys + ")";
      }
      pqxx::work w(*conn_);
      w.exec("CREATE TABLE IF NOT EXISTS " + table_sql_ + " (" + defs + ")");
      auto r = w.exec_params(
          "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE c.oid = to_regclass($1)",
          table_sql_);
      schema_name = r[0][0].as<std::string>();
      w.commit();
      logger()->info("Created table {} for job {} output {}.", table_.display(), ctx_.job, ctx_.output);
    }
    pqxx::work w(*conn_);
    auto r = w.exec_params(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND "
        "table_name = $2",
        schema_name, table_.table);
    std::map<std::string, std::string> found;
    for (const auto& row : r) found[row[0].as<std::string>()] = row[1].as<std::string>();
    for (size_t i = 0; i < cols_.size(); ++i) {
      const pg::ColumnMap& c = cols_[i];
      auto it = found.find(c.table_column);
      std::string expected = c.type == Type::Null ? std::string("any supported type")
                                                  : std::string(pg::pg_type_sql(pg::pg_type_for(c.type)));
      if (it == found.end()) {
        return Status::fatal(fmt::format("{}: table \"{}\" has no column \"{}\" (expected {})", where(),
                                         table_.display(), c.table_column, expected));
      }
      pg::PgType t = pg::pg_type_from_catalog(it->second);
      if (!pg::accepts(t, c.type)) {
        return Status::fatal(fmt::format("{}: column \"{}\" of table \"{}\" is {}, expected {}", where(),
                                         c.table_column, table_.display(), it->second, expected));
      }
      types_[i] = t;
    }
    if (!key_.empty()) {
      // ON CONFLICT needs a unique index on exactly the key columns.
      auto ix = w.exec_params(
          "SELECT i.indexrelid::bigint, a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
          "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisunique AND "
          "i.indpred IS NULL AND i.indexprs IS NULL",
          table_sql_);
      std::map<int64_t, std::set<std::string>> indexes;
      for (const auto& row : ix) indexes[row[0].as<int64_t>()].insert(row[1].as<std::string>());
      std::set<std::string> want;
      std::string keys;
      for (size_t k : key_) {
        want.insert(cols_[k].table_column);
        keys += (keys.empty() ? "" : ", ") + cols_[k].table_column;
      }
      bool ok =
          std::any_of(indexes.begin(), indexes.end(), [&](const auto& kv) { return kv.second == want; });
      if (!ok) {
        return Status::fatal(fmt::format(
            "{}: table \"{}\" has no primary key or unique constraint on ({}), which upsert needs", where(),
            table_.display(), keys));
      }
    }
    w.commit();
    table_ready_ = true;
    return Status::ok();
  } catch (const std::exception& e) {
    return fail(e, "checking the table");
  }
}

void PostgresSink::encode(const BatchOutput& batch, std::string* data, size_t* rows) {
  data->clear();
  *rows = 0;
  bool upsert = cfg_.mode == config::PostgresSink::Mode::Upsert;
  std::vector<bool> is_key(cols_.size(), false);
  for (size_t k : key_) is_key[k] = true;
  static const Value kNull;
  for (size_t ei = 0; ei < batch.emissions.size(); ++ei) {
    const Emission& em = batch.emissions[ei];
    for (size_t ri = 0; ri < em.rows.size(); ++ri) {
      const Row& row = em.rows[ri];
      size_t mark = data->size();
      if (upsert) fmt::format_to(std::back_inserter(*data), "{}\t", *rows);
      std::optional<std::string> problem;
      size_t bad_col = 0;
      for (size_t c = 0; c < cols_.size() && !problem; ++c) {
        size_t idx = size_t(cols_[c].output_index);
        const Value& v = idx < row.size() ? row[idx] : kNull;
        if (c > 0) *data += '\t';
        if (upsert && is_key[c] && v.is_null()) {
          problem = "a key column is null";
        } else {
          problem = pg::append_copy_value(*data, v, types_[c]);
        }
        bad_col = c;
      }
      if (problem) {
        data->resize(mark);
        rejected_.push_back(RejectedRow{ei, ri, row, cols_[bad_col].table_column, std::move(*problem)});
        continue;
      }
      *data += '\n';
      ++*rows;
    }
  }
}

Status PostgresSink::write(const BatchOutput& batch) {
  rejected_.clear();
  if (!opened_) return Status::fatal("postgres sink: write() before open()");
  if (!conn_ || !conn_->is_open()) {
    Status s = connect();
    if (!s.is_ok()) return s;
  }
  if (!progress_ready_) {
    Status s = prepare_progress();
    if (!s.is_ok()) return s;
  }
  bool has_rows = std::any_of(batch.emissions.begin(), batch.emissions.end(),
                              [](const Emission& e) { return !e.rows.empty(); });
  if (!table_ready_ && has_rows) {
    Status s = prepare_table(&batch);
    if (!s.is_ok()) return s;
  }
  std::string data;
  size_t rows = 0;
  if (table_ready_) encode(batch, &data, &rows);
  if (!rejected_.empty()) {
    logger()->warn(
        "Job {} output {}: {} rows of batch {} cannot go in table {} and are left out (first: column "
        "\"{}\": {}).",
        ctx_.job, ctx_.output, rejected_.size(), batch.batch_id, table_.display(), rejected_[0].column,
        rejected_[0].reason);
  }
  auto batch_id = int64_t(batch.batch_id);
  // A lost COMMIT is resolved after the transaction object is gone: resolve_in_doubt() and fail() replace
  // the connection, which a live pqxx::work still refers to.
  bool committing = false;
  bool in_doubt = false;
  std::string lost;
  try {
    pqxx::work w(*conn_);
    auto r =
        w.exec_params("SELECT batch FROM " + progress_sql_ + " WHERE job = $1 AND output = $2 FOR UPDATE",
                      ctx_.job, ctx_.output);
    int64_t stored = r.empty() ? 0 : r[0][0].as<int64_t>();
    if (stored >= batch_id) {
      w.commit();
      committed_ = std::max(committed_, uint64_t(stored));
      logger()->debug("Job {} output {}: batch {} is already committed (stored batch {}); not written again.",
                      ctx_.job, ctx_.output, batch_id, stored);
      return Status::ok();
    }
    if (rows > 0) {
      if (cfg_.mode == config::PostgresSink::Mode::Upsert) {
        w.exec(stage_create_sql_);
        copy_rows(w, "weir_stage", stage_columns_, data);
        w.exec(upsert_sql_);
      } else {
        copy_rows(w, table_sql_, copy_columns_, data);
      }
    }
    w.exec_params("INSERT INTO " + progress_sql_ +
                      " (job, output, batch, positions, updated_at) VALUES ($1, $2, $3, $4::jsonb, now()) "
                      "ON CONFLICT (job, output) DO UPDATE SET batch = EXCLUDED.batch, "
                      "positions = EXCLUDED.positions, updated_at = EXCLUDED.updated_at",
                  ctx_.job, ctx_.output, batch_id, positions_json(batch.positions));
    committing = true;
    try {
      w.commit();
    } catch (const std::exception& e) {
      // A definite refusal (e.g. a deferred constraint) on a live connection: not committed.
      const auto* se = dynamic_cast<const pqxx::sql_error*>(&e);
      if (se != nullptr && conn_->is_open() && !retryable_sqlstate(se->sqlstate())) throw;
      // The COMMIT may or may not have reached the server: the progress row tells.
      in_doubt = true;
      lost = one_line(e.what());
    }
    if (!in_doubt) {
      committed_ = batch.batch_id;
      logger()->debug("Job {} output {}: batch {} committed to table {} ({} rows, {} rejected).", ctx_.job,
                      ctx_.output, batch_id, table_.display(), rows, rejected_.size());
      return Status::ok();
    }
  } catch (const std::exception& e) {
    return fail(e, fmt::format("{} batch {}", committing ? "committing" : "writing", batch_id).c_str());
  }
  logger()->warn(
      "Job {} output {}: connection lost while committing batch {} ({}); checking whether it committed.",
      ctx_.job, ctx_.output, batch_id, lost);
  return resolve_in_doubt(batch.batch_id);
}

Status PostgresSink::resolve_in_doubt(uint64_t batch_id) {
  Status s = connect();
  if (!s.is_ok()) {
    return Status::retryable(
        fmt::format("{}: outcome of batch {} unknown (connection lost during COMMIT); "
                    "a retry finds out from the progress table",
                    where(), batch_id));
  }
  try {
    pqxx::work w(*conn_);
    auto r = w.exec_params("SELECT batch FROM " + progress_sql_ + " WHERE job = $1 AND output = $2", ctx_.job,
                           ctx_.output);
    int64_t stored = r.empty() ? 0 : r[0][0].as<int64_t>();
    w.commit();
    if (stored >= int64_t(batch_id)) {
      committed_ = uint64_t(stored);
      logger()->info("Job {} output {}: batch {} did commit before the connection was lost.", ctx_.job,
                     ctx_.output, batch_id);
      return Status::ok();
    }
    return Status::retryable(
        fmt::format("{}: batch {} was not committed (connection lost during COMMIT)", where(), batch_id));
  } catch (const std::exception& e) {
    return fail(e, "reading the progress table after a lost COMMIT");
  }
}

Status PostgresSink::write_with_retry(const BatchOutput& batch, const std::atomic<bool>& stop) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto delay = retry_.initial;
  int failures = 0;
  for (;;) {
    Status s = write(batch);
    if (s.is_ok()) {
      if (failures > 0) {
        logger()->info(
            "PostgreSQL reachable again after {} failed attempts; job {} output {} committed batch {}.",
            failures, ctx_.job, ctx_.output, batch.batch_id);
      }
      return s;
    }
    if (s.is_fatal()) return s;
    if (++failures == 1) {
      logger()->warn("PostgreSQL unreachable for job {} output {}, retrying: {}", ctx_.job, ctx_.output,
                     s.message());
    }
    if (stop.load()) return s;
    std::uniform_int_distribution<int64_t> jitter(delay.count() / 2, delay.count());
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(jitter(rng));
    while (std::chrono::steady_clock::now() < until) {
      if (stop.load()) return s;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
    delay = std::min(delay * 2, retry_.max);
  }
}

}  // namespace weir
