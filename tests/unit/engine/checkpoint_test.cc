#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "config/load.h"
#include "engine/checkpoint.h"
#include "engine/codec.h"

using namespace weir;
using namespace weir::checkpoint;

namespace {

Checkpoint sample(uint64_t batch) {
  Checkpoint c;
  c.job = "j";
  c.job_fingerprint = "0123456789abcdef";
  c.batch = batch;
  c.batch_end_ms = 1000 * static_cast<int64_t>(batch);
  c.positions = {{"twitter/0", 42, 0}, {"twitter/1", 7, 0}};
  c.watermark_ms = -5;
  c.stream_max = {10, INT64_MIN};
  OutputState o;
  o.name = "out";
  o.fingerprint = "fp";
  o.state = std::string("\x00\x01\x02state", 8);
  BatchOutput b;
  b.batch_id = batch;
  b.positions = c.positions;
  Emission e;
  e.window_start_ms = 0;
  e.window_end_ms = 1000;
  e.rows.push_back({Value::time(0), Value::string("a\0b"), Value::integer(-3), Value::real(2.5), Value(),
                    Value::boolean(true), Value::list({Value::integer(1)})});
  b.emissions.push_back(e);
  o.pending.push_back(b);
  c.outputs.push_back(o);
  return c;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/weir-ckpt-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_file(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

}  // namespace

TEST_CASE("checkpoint: encode/decode round trip keeps every field", "[checkpoint]") {
  Checkpoint c = sample(7);
  std::string err;
  auto d = decode(encode(c), err);
  REQUIRE(d);
  REQUIRE(d->job == "j");
  REQUIRE(d->batch == 7);
  REQUIRE(d->positions == c.positions);
  REQUIRE(d->watermark_ms == -5);
  REQUIRE(d->stream_max == c.stream_max);
  REQUIRE(d->outputs.size() == 1);
  REQUIRE(d->outputs[0].state == c.outputs[0].state);
  const Row& row = d->outputs[0].pending[0].emissions[0].rows[0];
  REQUIRE(Value::list(row).to_json() == Value::list(c.outputs[0].pending[0].emissions[0].rows[0]).to_json());
}

TEST_CASE("checkpoint: the key columns of pending rows are kept, and a format 1 file is read without them",
          "[checkpoint]") {
  Checkpoint c = sample(4);
  c.outputs[0].key_columns = std::vector<std::string>{"a", "upper(b)"};
  std::string err;
  auto d = decode(encode(c), err);
  REQUIRE(d);
  REQUIRE(d->outputs[0].key_columns == c.outputs[0].key_columns);
  // Format 1 is format 2 without the key columns (one empty list, the body's last byte, for one output).
  c.outputs[0].key_columns = std::vector<std::string>{};
  const std::string v2 = encode(c);
  codec::Reader head(std::string_view(v2).substr(8));
  uint64_t version = 0, len = 0;
  REQUIRE(head.varint(version));
  REQUIRE(version == 2);
  REQUIRE(head.varint(len));
  std::string body = v2.substr(8 + head.pos(), len);
  REQUIRE(body.back() == 0);
  body.pop_back();
  std::string v1 = v2.substr(0, 8);
  codec::put_varint(v1, 1);
  codec::put_varint(v1, body.size());
  v1 += body;
  const uint32_t crc = codec::crc32c(v1);
  for (int i = 0; i < 4; ++i) v1.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  auto old = decode(v1, err);
  INFO(err);
  REQUIRE(old);
  CHECK_FALSE(old->outputs[0].key_columns);
  CHECK(old->outputs[0].pending.size() == 1);
}

TEST_CASE("checkpoint: a pending row holding a list nested as deep as JSON input allows round-trips",
          "[checkpoint]") {
  Checkpoint c = sample(3);
  Value deep = Value::integer(1);
  for (int i = 0; i < 512; ++i) deep = Value::list({deep});  // fields/extract.h: kMaxDepth
  c.outputs[0].pending[0].emissions[0].rows[0].back() = deep;
  std::string err;
  auto d = decode(encode(c), err);
  INFO(err);
  REQUIRE(d);
  CHECK(Value::compare(d->outputs[0].pending[0].emissions[0].rows[0].back(), deep) == 0);
}

TEST_CASE("checkpoint: corrupt, truncated, empty and future-version files are rejected with a reason",
          "[checkpoint]") {
  std::string good = encode(sample(3));
  std::string err;
  SECTION("zero length") {
    REQUIRE_FALSE(decode("", err));
    REQUIRE_THAT(err, Catch::Contains("empty"));
  }
  SECTION("every truncation") {
    for (size_t n = 1; n < good.size(); ++n) {
      REQUIRE_FALSE(decode(good.substr(0, n), err));
    }
  }
  SECTION("every single flipped byte") {
    for (size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x40);
      REQUIRE_FALSE(decode(bad, err));
    }
  }
  SECTION("future format version") {
    std::string future = good;
    future[8] = static_cast<char>(kFormatVersion + 1);
    REQUIRE_FALSE(decode(future, err));
    REQUIRE_THAT(err, Catch::Contains("format version 3"));
  }
}

TEST_CASE("checkpoint: the store writes atomically with mode 0600, lists newest first, prunes older ones",
          "[checkpoint]") {
  TempDir t;
  Store s(t.path + "/job");
  REQUIRE(s.write(sample(1)).is_ok());
  REQUIRE(s.write(sample(2)).is_ok());
  auto l = s.list();
  REQUIRE(l.size() == 2);
  REQUIRE(l[0].batch == 2);
  REQUIRE(l[0].checkpoint);
  struct stat st {};
  REQUIRE(stat(l[0].path.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE(stat((t.path + "/job").c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0700);
  // A torn temporary file from a crash mid-write is ignored, then cleaned up.
  write_file(t.path + "/job/ckpt-000000000003.bin.tmp", "partial");
  REQUIRE(s.list().size() == 2);
  s.remove_older_than(2);
  REQUIRE(s.files().size() == 1);
  REQUIRE_FALSE(std::filesystem::exists(t.path + "/job/ckpt-000000000003.bin.tmp"));
  // A corrupted newest file is reported as unusable, the older one still decodes.
  REQUIRE(s.write(sample(3)).is_ok());
  std::string p3 = s.files()[0].path;
  std::string bytes = read_file(p3);
  bytes[bytes.size() / 2] ^= 1;
  write_file(p3, bytes);
  l = s.list();
  REQUIRE_FALSE(l[0].checkpoint);
  REQUIRE_THAT(l[0].error, Catch::Contains("checksum"));
  REQUIRE(l[1].checkpoint);
  REQUIRE(s.reset().is_ok());
  REQUIRE(s.files().empty());
}

TEST_CASE("checkpoint: fingerprints change with state-shaping parts only", "[checkpoint]") {
  auto load = [](const std::string& extra_out) {
    std::string y = R"(
batch: 1s
source: stdin
fields: { a: a, n: { path: n, type: int } }
outputs:
  - name: o
    group_by: [a]
    aggregate: { s: sum(n) }
)" + extra_out + "    to: console\n";
    auto r = config::load_job_text(y, "fp.yaml");
    for (const auto& e : r.errors) FAIL(e.format());
    return *r.job;
  };
  config::Job base = load("");
  std::string fp = output_fingerprint(base, base.outputs[0]);
  // order_by, limit, having, sinks: same fingerprint.
  config::Job same = load("    order_by: [s desc]\n    limit: 3\n    having: \"s > 1\"\n");
  REQUIRE(output_fingerprint(same, same.outputs[0]) == fp);
  REQUIRE(job_fingerprint(same) == job_fingerprint(base));
  // where and window: different.
  config::Job w = load("    where: \"n > 0\"\n");
  REQUIRE(output_fingerprint(w, w.outputs[0]) != fp);
  config::Job win = load("    window: { tumbling: 2s }\n");
  REQUIRE(output_fingerprint(win, win.outputs[0]) != fp);
}

TEST_CASE(
    "checkpoint: paths used in expressions and the order of fields do not change the job fingerprint, an "
    "output reading a new path changes its own",
    "[checkpoint]") {
  auto load = [](const std::string& fields, const std::string& outputs) {
    std::string y = "batch: 1s\nsource: stdin\nfields: " + fields + R"(
outputs:
  - name: tot
)" + outputs;
    auto r = config::load_job_text(y, "fp.yaml");
    for (const auto& e : r.errors) FAIL(e.format());
    return *r.job;
  };
  const std::string tot =
      "    group_by: [k]\n    window: total\n    aggregate: { n: count() }\n    to: console\n";
  const std::string english =
      "  - name: english\n    where: \"user.lang = 'en'\"\n    aggregate: { n: count() }\n    to: console\n";
  config::Job base = load("{ k: k, v: v }", tot);
  // An added output whose `where` reads an undeclared path (an implicit field): the job is unchanged.
  config::Job added = load("{ k: k, v: v }", tot + english);
  REQUIRE(added.fields.back().implicit);
  REQUIRE(job_fingerprint(added) == job_fingerprint(base));
  REQUIRE(output_fingerprint(added, added.outputs[0]) == output_fingerprint(base, base.outputs[0]));
  // Its where reading another path: that output changed, the job did not.
  config::Job other =
      load("{ k: k, v: v }", tot + english.substr(0, english.find("user.lang")) + "user.country" +
                                 english.substr(english.find("user.lang") + 9));
  REQUIRE(job_fingerprint(other) == job_fingerprint(added));
  REQUIRE(output_fingerprint(other, other.outputs[1]) != output_fingerprint(added, added.outputs[1]));
  // group_by [k] -> [k, user.lang]: the keys of tot's state change; tot's fingerprint says so, not the job's.
  config::Job keyed =
      load("{ k: k, v: v }", "    group_by: [k, user.lang]\n" + tot.substr(tot.find("    window")));
  REQUIRE(job_fingerprint(keyed) == job_fingerprint(base));
  REQUIRE(output_fingerprint(keyed, keyed.outputs[0]) != output_fingerprint(base, base.outputs[0]));
  // The order of `fields:` shapes no aggregate state.
  config::Job reordered = load("{ v: v, k: k }", tot);
  REQUIRE(job_fingerprint(reordered) == job_fingerprint(base));
  REQUIRE(output_fingerprint(reordered, reordered.outputs[0]) == output_fingerprint(base, base.outputs[0]));
  // A changed declared field still changes the job fingerprint.
  REQUIRE(job_fingerprint(load("{ k: k, v: w }", tot)) != job_fingerprint(base));
  REQUIRE(job_fingerprint(load("{ k: k }", tot)) != job_fingerprint(base));
}

TEST_CASE("checkpoint: a pass-through output's rows have the declared fields as columns, in order",
          "[checkpoint]") {
  auto load = [](const std::string& fields) {
    auto r = config::load_job_text("source: stdin\nfields: " + fields +
                                       "\noutputs:\n  - name: rows\n    where: \"v > 1\"\n    to: console\n",
                                   "fp.yaml");
    for (const auto& e : r.errors) FAIL(e.format());
    return *r.job;
  };
  config::Job base = load("{ k: k, v: v }");
  config::Job reordered = load("{ v: v, k: k }");
  REQUIRE(job_fingerprint(reordered) == job_fingerprint(base));
  REQUIRE(output_fingerprint(reordered, reordered.outputs[0]) != output_fingerprint(base, base.outputs[0]));
}

TEST_CASE("checkpoint: fingerprints written by weir before v2 fit an unchanged job", "[checkpoint]") {
  // The fingerprints below were written by weir at 5b81a4b (before v2) for these job files
  // (`weir checkpoint show`).
  const std::string legacy = R"(source: stdin
fields: { k: k, v: { path: v, type: int } }
outputs:
  - name: tot
    group_by: [k]
    window: total
    aggregate: { n: count(), s: sum(v) }
    to: console
  - name: english
    where: "user.lang = 'en'"
    group_by: [user.name]
    window: total
    aggregate: { n: count() }
    to: console
  - name: rows
    where: "v > 1"
    to: console
)";
  auto load = [](const std::string& y) {
    auto r = config::load_job_text(y, "legacy2.yaml");
    for (const auto& e : r.errors) FAIL(e.format());
    return *r.job;
  };
  config::Job job = load(legacy);
  REQUIRE(job_fingerprint(job).starts_with("v2:"));
  REQUIRE(fit_job_fingerprint(job_fingerprint(job), job) == FingerprintFit::Current);
  REQUIRE(fit_job_fingerprint("ffa1464ddc4a4e7b", job) == FingerprintFit::V1);
  REQUIRE(output_fingerprint_as(FingerprintFit::V1, job, job.outputs[0]) == "e272fa0acda9845f");
  REQUIRE(output_fingerprint_as(FingerprintFit::V1, job, job.outputs[1]) == "3d84321a407ee00b");
  REQUIRE(output_fingerprint_as(FingerprintFit::V1, job, job.outputs[2]) == "62d7bab3bb5ecab5");
  // An output added at the end that reads another path: still fits.
  config::Job added = load(legacy + "  - name: added\n    where: \"user.country = 'fr'\"\n    to: console\n");
  REQUIRE(fit_job_fingerprint("ffa1464ddc4a4e7b", added) == FingerprintFit::V1);
  // Reordered or changed declared fields do not fit a v1 fingerprint (it hashed them in order).
  const std::string fields = "{ k: k, v: { path: v, type: int } }";
  config::Job reordered = load(
      std::string(legacy).replace(legacy.find(fields), fields.size(), "{ v: { path: v, type: int }, k: k }"));
  REQUIRE(fit_job_fingerprint("ffa1464ddc4a4e7b", reordered) == FingerprintFit::No);
  config::Job changed = load(std::string(legacy).replace(legacy.find("type: int"), 9, "type: float"));
  REQUIRE(fit_job_fingerprint("ffa1464ddc4a4e7b", changed) == FingerprintFit::No);
  // A v2 fingerprint of another job does not fit, nor does a v1 one of another job.
  REQUIRE(fit_job_fingerprint("v2:ffa1464ddc4a4e7b", job) == FingerprintFit::No);
  REQUIRE(fit_job_fingerprint("3ffa95dc1807a808", job) == FingerprintFit::No);
}

TEST_CASE("checkpoint: a float default's fingerprint did not change when JSON floats got their .0",
          "[checkpoint]") {
  // The fingerprint spells a float default 2 as "2", as before to_json() wrote "2.0": a checkpoint written by
  // an older weir must still match the same job file. The value is the (v1) one weir printed before that
  // change (`weir checkpoint show` of this job).
  auto r = config::load_job_text(R"(
batch: 1s
source: stdin
fields:
  x: { path: x, type: float, default: 2 }
  y: { path: y, type: float, default: 2.5 }
outputs:
  - name: o
    aggregate: { a: avg(x), s: sum(y) }
    to: console
)",
                                 "fp.yaml");
  for (const auto& e : r.errors) FAIL(e.format());
  REQUIRE(fit_job_fingerprint("12ce343c6ac7e09c", *r.job) == FingerprintFit::V1);
}

TEST_CASE("codec: reader rejects garbage without reading past the end", "[checkpoint]") {
  for (int seed = 0; seed < 2000; ++seed) {
    std::string junk;
    uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
    for (int i = 0; i < 1 + seed % 40; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      junk.push_back(static_cast<char>(x));
    }
    codec::Reader r(junk);
    Value v;
    while (r.value(v)) {
    }
  }
  REQUIRE(codec::crc32c("123456789") == 0xE3069283u);  // the CRC-32C check value
}

TEST_CASE("checkpoint writer: writes in the background, hands the checkpoint back, one at a time",
          "[checkpoint]") {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int calls = 0;
  Writer w([&](const Checkpoint& c, size_t* bytes, const std::atomic<bool>&) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    ++calls;
    *bytes = encode(c).size();
    if (calls == 1) return Status::retryable("No space left on device");
    return Status::ok();
  });
  REQUIRE_FALSE(w.in_flight());
  REQUIRE_FALSE(w.wait(std::chrono::milliseconds(0)));
  w.submit(sample(3));
  REQUIRE(w.in_flight());
  // Still being written: nothing to take, the caller goes on.
  REQUIRE_FALSE(w.wait(std::chrono::milliseconds(20)));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  auto r = w.wait(std::chrono::seconds(10));
  REQUIRE(r);
  REQUIRE_FALSE(w.in_flight());
  // A failed write hands the checkpoint back whole, to be submitted again.
  REQUIRE(r->status.is_retryable());
  REQUIRE(r->checkpoint.batch == 3);
  REQUIRE(r->checkpoint.outputs[0].state == sample(3).outputs[0].state);
  w.submit(std::move(r->checkpoint));
  r = w.wait(std::chrono::seconds(10));
  REQUIRE(r);
  REQUIRE(r->status.is_ok());
  REQUIRE(r->bytes == encode(sample(3)).size());
  REQUIRE(r->write_us >= 0);
  // Written: the state copy is freed, the rows for the sinks and the positions come back.
  REQUIRE(r->checkpoint.outputs[0].state.empty());
  REQUIRE(r->checkpoint.outputs[0].pending.size() == 1);
  REQUIRE(r->checkpoint.positions == sample(3).positions);
  REQUIRE(calls == 2);
}

TEST_CASE("checkpoint writer: destroying it finishes the write in progress", "[checkpoint]") {
  TempDir dir;
  Store store(dir.path);
  {
    Writer w([&](const Checkpoint& c, size_t* bytes, const std::atomic<bool>&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return store.write(c, bytes);
    });
    w.submit(sample(9));
  }
  auto files = store.list();
  REQUIRE(files.size() == 1);
  REQUIRE(files[0].checkpoint);
  REQUIRE(files[0].checkpoint->batch == 9);
}

TEST_CASE("checkpoint writer: abandon() returns at once from a hung write, which then installs nothing",
          "[checkpoint]") {
  TempDir dir;
  Store store(dir.path);
  REQUIRE(store.write(sample(1)).is_ok());
  std::atomic<bool> entered{false}, release{false}, returned{false};
  Status status = Status::ok();
  auto w =
      std::make_unique<Writer>([&](const Checkpoint& c, size_t* bytes, const std::atomic<bool>& abandoned) {
        entered = true;
        // A hung disk: the write's fsync does not return until released (at most 10 s).
        for (int i = 0; i < 1000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        Store s = store;
        s.set_abandoned_flag(&abandoned);
        Status st = s.write(c, bytes);
        status = st;
        returned = true;
        return st;
      });
  w->submit(sample(2));
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto t0 = std::chrono::steady_clock::now();
  w->abandon();
  REQUIRE_FALSE(w->in_flight());
  w.reset();  // does not wait for the write either
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  release = true;
  for (int i = 0; i < 1000 && !returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(returned);
  CHECK_THAT(status.message(), Catch::Contains("abandoned"));
  // The previous checkpoint is still the newest, and no temporary file is left behind.
  auto l = store.list();
  REQUIRE(l.size() == 1);
  CHECK(l[0].batch == 1);
  CHECK(l[0].checkpoint);
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
    CHECK(e.path().filename().string() == "ckpt-000000000001.bin");
  }
}

TEST_CASE("checkpoint: a write finds its temporary file's usual name taken and uses another",
          "[checkpoint]") {
  TempDir t;
  Store s(t.path);
  REQUIRE(s.write(sample(1)).is_ok());
  // An abandoned write of batch 2 still holds ckpt-2.bin.tmp (or a crash left it).
  write_file(t.path + "/ckpt-000000000002.bin.tmp", "held by another write");
  REQUIRE(s.write(sample(2)).is_ok());
  CHECK(read_file(t.path + "/ckpt-000000000002.bin.tmp") == "held by another write");
  auto l = s.list();
  REQUIRE(l.size() == 2);
  REQUIRE(l[0].checkpoint);
  s.remove_older_than(2);
  CHECK_FALSE(std::filesystem::exists(t.path + "/ckpt-000000000002.bin.tmp"));
}
