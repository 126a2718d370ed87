// Fuzz target: window state (spec §5, §6, §9), its checkpoint encoding and its key-partitioned form
// (workers). The input drives three States of the same plan with the same operations (add a record, add a
// chunk's table of records with merge(), advance the watermark; for the second and third a checkpoint round
// trip: save, load into a fresh State, go on with that one); the third is split into 2 or 3 shards
// (State::set_shards, as with `workers: 2`/`3`), and restored with another shard count. Then all are run to
// the end. Invariants besides "never crashes": load() accepts what save() wrote, save(load(x)) == x for the
// unsharded state, and the restored and the sharded states emit exactly what the state that was never
// restored emits (rows, order, windows). The input's bytes are also given to load() as they are: malformed
// state must be refused (false) or loaded.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/window/window_state.h"
#include "fuzz_check.h"

namespace {

using weir::Value;
using weir::config::AggKind;
using weir::config::Window;
using weir::window::Plan;
using weir::window::State;

std::vector<Plan> plans() {
  const std::vector<AggKind> all = {AggKind::Count,         AggKind::CountOf, AggKind::Sum,
                                    AggKind::Min,           AggKind::Max,     AggKind::Avg,
                                    AggKind::CountDistinct, AggKind::First,   AggKind::Last};
  std::vector<Plan> ps(5);
  ps[0].kind = Window::Kind::Sliding;  // 60 s every 5 s, one key, every aggregate
  ps[0].length_ms = 60000;
  ps[0].every_ms = 5000;
  ps[0].aggs = all;
  ps[0].key_count = 1;
  ps[1].kind = Window::Kind::Tumbling;  // no key: one row per window, empty windows too
  ps[1].length_ms = 1000;
  ps[1].every_ms = 1000;
  ps[1].aggs = {AggKind::Count, AggKind::Sum};
  ps[1].emit_empty = true;
  ps[1].bounds = true;
  ps[2].kind = Window::Kind::Total;  // running totals, two keys
  ps[2].length_ms = 2000;
  ps[2].every_ms = 2000;
  ps[2].aggs = all;
  ps[2].key_count = 2;
  ps[3].kind = Window::Kind::Sliding;  // length not a multiple of every, windows ending on multiples of every
  ps[3].length_ms = 7000;
  ps[3].every_ms = 3000;
  ps[3].aggs = {AggKind::Count, AggKind::Avg, AggKind::Last};
  ps[3].key_count = 1;
  ps[3].align_end = true;
  ps[3].bounds = true;
  ps[4].kind = Window::Kind::Batch;
  ps[4].length_ms = 500;
  ps[4].every_ms = 500;
  ps[4].aggs = {AggKind::Count, AggKind::CountDistinct, AggKind::Min};
  ps[4].key_count = 1;
  return ps;
}

class Bytes {
 public:
  Bytes(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool more() const { return i_ < n_; }
  uint8_t next() { return i_ < n_ ? d_[i_++] : 0; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t i_ = 0;
};

Value arg_value(Bytes& in) {
  const uint8_t b = in.next();
  switch (b % 7) {
    case 0:
      return Value();
    case 1:
      return Value::integer(static_cast<int64_t>(in.next()) - 128);
    case 2:
      return Value::integer(b & 0x80 ? INT64_MAX : INT64_MIN);
    case 3:
      return Value::real(static_cast<double>(in.next()) / 7.0 - 10.0);
    case 4:
      return Value::string(std::string(in.next() % 5, static_cast<char>('a' + b % 3)));
    case 5:
      return Value::time(static_cast<int64_t>(in.next()) * 1000);
    default:
      return Value::boolean(b & 1);
  }
}

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h += digits[c >> 4];
    h += digits[c & 15];
  }
  return h;
}

std::string emissions_text(const std::vector<weir::Emission>& es) {
  std::string s;
  for (const auto& e : es) {
    s += std::to_string(e.window_start_ms) + ".." + std::to_string(e.window_end_ms) + ":";
    for (const auto& row : e.rows) {
      for (const auto& v : row) s += v.to_json() + ",";
      s += ";";
    }
    s += "\n";
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Plan> table = plans();
  const std::string input(reinterpret_cast<const char*>(data), size);
  Bytes in(data, size);
  const Plan& plan = table[in.next() % table.size()];

  {  // the raw bytes as a saved state
    State raw(plan);
    if (raw.load(std::string_view(input).substr(size > 0 ? 1 : 0))) {
      std::vector<weir::Emission> out;
      raw.advance(INT64_MAX, out);
    }
  }

  State a(plan);
  State b(plan);
  State c(plan);
  // order_by the first aggregate (a count) descending with a limit, as an output with order_by and limit
  const uint8_t head = size > 0 ? data[0] : 0;
  const bool selecting = (head & 0x80) != 0;
  // Records never behind the watermark, as in processing time (each batch's records at its start, the
  // watermark at the end of the batch before), or anywhere within the windows still open, as in event time.
  const bool processing = (head & 0x40) != 0;
  weir::window::Select sel;
  sel.order = {{(plan.bounds ? 2 : 0) + plan.key_count, true}};
  sel.limit = 1 + head % 4;
  if (selecting) {
    a.select(sel);
    b.select(sel);
    c.select(sel);
  }
  c.set_shards(2 + in.next() % 2);
  a.start_at(0);
  b.start_at(0);
  c.start_at(0);
  std::vector<weir::Emission> out_a, out_b, out_c;
  std::vector<Value> args(plan.aggs.size());
  weir::Key key(plan.key_count);
  weir::window::Partials whole(plan);
  weir::window::Partials split(plan, c.shards());
  int64_t t = 0;
  int64_t wm_last = INT64_MIN;
  int ops = 0;
  auto next_record = [&](uint8_t op) {
    for (auto& k : key) k = Value::string(std::string(1, static_cast<char>('k' + in.next() % 6)));
    if (!key.empty() && (op & 0x40)) key[0] = Value::integer(in.next() % 3);
    for (auto& v : args) v = arg_value(in);
  };
  auto restore = [&](State& st, size_t shard_count, bool check_bytes) {
    std::string saved;
    st.save(saved);
    State restored(plan);
    if (!restored.load(saved)) weir::fuzz::fail("load() refuses what save() wrote", input);
    if (check_bytes) {
      std::string again;
      restored.save(again);
      if (again != saved)
        weir::fuzz::fail("save(load(x)) differs from x:\n" + hex(saved) + "\n" + hex(again), input);
    }
    if (selecting) restored.select(sel);  // not part of a checkpoint: the executor sets it again
    restored.set_shards(shard_count);
    st = std::move(restored);
  };
  while (in.more() && ++ops < 400) {
    const uint8_t op = in.next();
    switch (op % 5) {
      case 0:
      case 1: {  // a record, at most ~25 s after the last one and up to ~6 s before it
        t += static_cast<int64_t>(in.next()) * 100 - 6000;
        if (processing) t = std::max(t, wm_last);
        next_record(op);
        const bool took_a = a.add(t, key, args.data());
        const bool took_b = b.add(t, key, args.data());
        const bool took_c = c.add(t, key, args.data());
        if (took_a != took_b || took_a != took_c)
          weir::fuzz::fail("a restored or sharded state takes a record the other refuses", input);
        break;
      }
      case 2: {  // a chunk's records at one time, as partial aggregation on the parse threads hands them over
        t += static_cast<int64_t>(in.next()) * 100 - 6000;
        if (processing) t = std::max(t, wm_last);
        whole.clear();
        split.clear();
        for (int n = in.next() % 8 + 1; n > 0; --n) {
          next_record(in.next());
          whole.add(key, args.data());
          split.add(key, args.data());
        }
        const bool took_a = a.merge(t, whole);
        const bool took_b = b.merge(t, whole);
        const bool took_c = c.merge(t, split);
        if (took_a != took_b || took_a != took_c)
          weir::fuzz::fail("a restored or sharded state takes a chunk the other refuses", input);
        break;
      }
      case 3: {  // the watermark moves to a little behind the last record
        const int64_t wm = t - static_cast<int64_t>(in.next()) * 50;
        wm_last = std::max(wm_last, wm);
        a.advance(wm, out_a);
        b.advance(wm, out_b);
        c.advance(wm, out_c);
        break;
      }
      default: {  // checkpoints of b and c, restored; c with the other shard count (`workers` changed)
        restore(b, 1, true);
        restore(c, c.shards() == 2 ? 3 : 2, false);
        split = weir::window::Partials(plan, c.shards());
        break;
      }
    }
  }
  a.advance(INT64_MAX, out_a);
  b.advance(INT64_MAX, out_b);
  c.advance(INT64_MAX, out_c);
  const std::string ta = emissions_text(out_a);
  const std::string tb = emissions_text(out_b);
  const std::string tc = emissions_text(out_c);
  if (ta != tb) weir::fuzz::fail("a restored state emits differently:\n" + ta + "---\n" + tb, input);
  if (ta != tc) weir::fuzz::fail("a sharded state emits differently:\n" + ta + "---\n" + tc, input);
  return 0;
}
