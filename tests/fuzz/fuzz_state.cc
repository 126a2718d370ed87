// Fuzz target: window state (spec §5, §6, §9) and its checkpoint encoding. The input drives two States of the
// same plan with the same operations (add a record, advance the watermark, and for the second one a
// checkpoint round trip: save, load into a fresh State, go on with that one), then both are run to the end.
// Invariants besides "never crashes": load() accepts what save() wrote, save(load(x)) == x, and a restored
// state emits exactly what the state that was never restored emits (rows, order, windows) — a checkpoint
// changes nothing. The input's bytes are also given to load() as they are: malformed state must be refused
// (false) or loaded, never crash.
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
  a.start_at(0);
  b.start_at(0);
  std::vector<weir::Emission> out_a, out_b;
  std::vector<Value> args(plan.aggs.size());
  weir::Key key(plan.key_count);
  int64_t t = 0;
  int ops = 0;
  while (in.more() && ++ops < 400) {
    const uint8_t op = in.next();
    switch (op % 4) {
      case 0:
      case 1: {  // a record, at most ~25 s after the last one and up to ~6 s before it
        t += static_cast<int64_t>(in.next()) * 100 - 6000;
        for (auto& k : key) k = Value::string(std::string(1, static_cast<char>('k' + in.next() % 6)));
        if (!key.empty() && (op & 0x40)) key[0] = Value::integer(in.next() % 3);
        for (auto& v : args) v = arg_value(in);
        const bool took_a = a.add(t, key, args.data());
        const bool took_b = b.add(t, key, args.data());
        if (took_a != took_b) weir::fuzz::fail("a restored state takes a record the other refuses", input);
        break;
      }
      case 2: {  // the watermark moves to a little behind the last record
        const int64_t wm = t - static_cast<int64_t>(in.next()) * 50;
        a.advance(wm, out_a);
        b.advance(wm, out_b);
        break;
      }
      default: {  // a checkpoint of b, restored
        std::string saved;
        b.save(saved);
        State restored(plan);
        if (!restored.load(saved)) weir::fuzz::fail("load() refuses what save() wrote", input);
        std::string again;
        restored.save(again);
        if (again != saved)
          weir::fuzz::fail("save(load(x)) differs from x:\n" + hex(saved) + "\n" + hex(again), input);
        b = std::move(restored);
        break;
      }
    }
  }
  a.advance(INT64_MAX, out_a);
  b.advance(INT64_MAX, out_b);
  const std::string ta = emissions_text(out_a);
  const std::string tb = emissions_text(out_b);
  if (ta != tb) weir::fuzz::fail("a restored state emits differently:\n" + ta + "---\n" + tb, input);
  return 0;
}
