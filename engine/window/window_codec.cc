// Checkpoint form of the window state: compact binary, varints (zigzag for signed), no JSON.
//
//   "WWS" version (2; 1 is still read)
//   plan: kind, length, every, key_count, emit_empty, aggregate count, kinds   (must match on load)
//   lo hi closed last_wm flags anchor quiet_from start_ms first_pane seq skipped
//   group count, then per group: key values, running partial, pane partial count,
//                                 per partial: words, [values, sets]
//   running partial: total (and version 1): words, [values, sets]. Sliding/tumbling, version 2:
//                    only each sum/avg's float sum and error bound words; the rest is the sum of the
//                    panes [lo, hi] and is recomputed on load (the values and sets are unused).
//   value: tag (0 null, 1 false, 2 true, 3 int, 4 float (8 bytes LE), 5 string, 6 time, 7 list)
//   set: element count, values (in Value::compare order)
//
// The pane index and the member list are rebuilt on load. load() checks every length against the
// bytes left, every count and index against the rest of the state, and leaves the state untouched
// when anything is off.
#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "engine/window/state_impl.h"

namespace weir::window {

using namespace detail;  // NOLINT: internal types of this module

namespace {

constexpr char kMagic[] = {'W', 'W', 'S', 2};  // version 1 differs only in the running partial
constexpr uint64_t kHasAnchor = 1, kProcessing = 2, kHasStart = 4, kHasFirst = 8, kDirty = 16, kFinished = 32;

// Writes into `out` through a raw cursor (a byte at a time through std::string costs several times
// more); finish() trims `out` to what was written.
struct Writer {
  std::string& out;
  size_t n = out.size();  // bytes written
  void ensure(size_t k) {
    if (out.size() - n < k) out.resize(std::max(out.size() * 2, n + k + 4096));
  }
  void finish() { out.resize(n); }
  void raw(const char* p, size_t k) {
    ensure(k);
    std::memcpy(out.data() + n, p, k);
    n += k;
  }
  void u(uint64_t v) {
    ensure(10);
    char* p = out.data() + n;
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    n = static_cast<size_t>(p - out.data());
  }
  void s(int64_t v) { u((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void value(const Value& v) {
    switch (v.type()) {
      case Type::Null:
        u(0);
        break;
      case Type::Bool:
        u(v.as_bool() ? 2 : 1);
        break;
      case Type::Int:
        u(3);
        s(v.as_int());
        break;
      case Type::Float: {
        u(4);
        auto bits = std::bit_cast<uint64_t>(v.as_float());
        char b[8];
        for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
        raw(b, 8);
        break;
      }
      case Type::String:
        u(5);
        u(v.as_string().size());
        raw(v.as_string().data(), v.as_string().size());
        break;
      case Type::Time:
        u(6);
        s(v.as_time());
        break;
      case Type::List:
        u(7);
        u(v.as_list().size());
        for (const Value& x : v.as_list()) value(x);
        break;
    }
  }
  // A set's values in Value::compare order, not the hash set's: the same state then always saves to the same
  // bytes, whatever order its values arrived in and whether it was restored from a checkpoint (a restored set
  // iterates in another order; tests/fuzz, weir-fuzz-state, found it).
  void set(const SetPtr& p) {
    u(p ? p->size() : 0);
    if (!p) return;
    order.clear();
    for (const Value& v : *p) order.push_back(&v);
    std::sort(order.begin(), order.end(),
              [](const Value* a, const Value* b) { return Value::compare(*a, *b) < 0; });
    for (const Value* v : order) value(*v);
  }
  std::vector<const Value*> order{};  // scratch for set()
};

struct Reader {
  std::string_view in;
  size_t pos = 0;
  size_t left() const { return in.size() - pos; }
  bool u(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) return false;
      auto b = static_cast<uint8_t>(in[pos++]);
      if (shift == 63 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool s(int64_t& v) {
    uint64_t x;
    if (!u(x)) return false;
    v = static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
    return true;
  }
  bool count(uint64_t& c) { return u(c) && c <= left(); }  // every element takes at least a byte
  bool value(Value& v, int depth = 0) {
    uint64_t tag;
    if (!u(tag)) return false;
    switch (tag) {
      case 0:
        v = Value();
        return true;
      case 1:
      case 2:
        v = Value::boolean(tag == 2);
        return true;
      case 3: {
        int64_t i;
        if (!s(i)) return false;
        v = Value::integer(i);
        return true;
      }
      case 4: {
        if (left() < 8) return false;
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i)
          bits |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
        pos += 8;
        v = Value::real(std::bit_cast<double>(bits));
        return true;
      }
      case 5: {
        uint64_t n;
        if (!u(n) || n > left()) return false;
        v.set_string(in.substr(pos, n));  // reuses v's buffer
        pos += n;
        return true;
      }
      case 6: {
        int64_t t;
        if (!s(t)) return false;
        v = Value::time(t);
        return true;
      }
      case 7: {
        uint64_t n;
        if (depth >= kMaxStoredListDepth || !count(n)) return false;  // keys are stored encoded
        List items(n);
        for (Value& x : items) {
          if (!value(x, depth + 1)) return false;
        }
        v = Value::list(std::move(items));
        return true;
      }
      default:
        return false;
    }
  }
  bool set(SetPtr& p) {
    uint64_t n;
    if (!count(n)) return false;
    p.reset();
    if (n == 0) return true;
    p = std::make_unique<ValueSet>();
    for (uint64_t i = 0; i < n; ++i) {
      Value v;
      if (!value(v) || v.is_null()) return false;
      p->insert(std::move(v));
    }
    return true;
  }
};

// Checks a partial's numbers: counts within [0, rows], first/last sequences within [0, seq].
bool numbers_ok(const Layout& l, const int64_t* w, uint64_t seq) {
  int64_t rows = w[kRowsWord];
  if (rows < 0) return false;
  for (const Slot& s : l.slots) {
    switch (s.kind) {
      case config::AggKind::CountOf:
        if (w[s.word] < 0 || w[s.word] > rows) return false;
        break;
      case config::AggKind::Sum:
      case config::AggKind::Avg:
        if (w[s.word] < 0 || w[s.word] > rows || w[s.word + 1] < 0 || w[s.word + 1] > w[s.word]) return false;
        break;
      case config::AggKind::First:
      case config::AggKind::Last:
        if (w[s.word] < 0 || static_cast<uint64_t>(w[s.word]) > seq) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace

namespace detail {
size_t encode_values(const Value* v, size_t n, std::string& out) {
  Writer w{out, 0};
  for (size_t i = 0; i < n; ++i) w.value(v[i]);
  return w.n;
}

bool decode_value(std::string_view in, size_t& pos, Value& v) {
  Reader r{in, pos};
  bool ok = r.value(v);
  pos = r.pos;
  return ok;
}
}  // namespace detail

namespace {
void write_groups(const State::Impl& m, Writer& w);  // the groups of one state (or shard)
}  // namespace

void State::save(std::string& out) const {
  const Impl& m = *impl_;
  // A sharded state is written as one state: the shards share the window geometry, closed windows,
  // watermark and arrival counter; lo is equal (every advance() ends retiring the same panes), and so is hi
  // (State::advance brings every shard's running window to the same end); anchor/quiet_from as one state
  // would have them.
  int64_t anchor = m.anchor, quiet_from = m.quiet_from;
  bool has_anchor = m.has_anchor;
  uint64_t skipped = m.skipped;
  size_t groups = m.groups.size(), partials = m.partials;
  for (const auto& x : more_) {
    if (x->has_anchor) {
      anchor = has_anchor ? std::max(anchor, x->anchor) : x->anchor;
      quiet_from = has_anchor ? std::min(quiet_from, x->quiet_from) : x->quiet_from;
      has_anchor = true;
    }
    skipped += x->skipped;
    groups += x->groups.size();
    partials += x->partials;
    assert(x->lo == m.lo && x->hi == m.hi && x->closed == m.closed && x->seq == m.seq);
  }
  Writer w{out};
  w.raw(kMagic, sizeof kMagic);
  w.u(static_cast<uint64_t>(m.plan.kind));
  w.s(m.plan.length_ms);
  w.s(m.plan.every_ms);
  w.u(m.plan.key_count);
  w.u(m.plan.emit_empty ? 1 : 0);
  w.u(m.plan.aggs.size());
  for (auto k : m.plan.aggs) w.u(static_cast<uint64_t>(k));
  w.s(m.lo);
  w.s(m.hi);
  w.s(m.closed);
  w.s(m.last_wm);
  uint64_t none = 0;
  w.u((has_anchor ? kHasAnchor : none) | (m.processing ? kProcessing : none) |
      (m.has_start ? kHasStart : none) | (m.has_first ? kHasFirst : none) | (m.dirty ? kDirty : none) |
      (m.finished ? kFinished : none));
  w.s(anchor);
  w.s(quiet_from);
  w.s(m.start_ms);
  w.s(m.first_pane);
  w.u(m.seq);
  w.u(skipped);
  w.u(groups);
  if (more_.empty() || !parallel_) {
    w.ensure(groups * (8 + 12 * m.plan.key_count) + partials * (m.wide.words + 2));
    for (size_t s = 0; s < shards(); ++s) write_groups(shard(s), w);
  } else {
    // Each shard's groups on its own thread: shard 0 right into `out`, the others into buffers appended
    // after.
    w.finish();
    std::vector<std::string> tail(shards());
    each_shard([&](size_t s) {
      Writer t{s == 0 ? out : tail[s]};
      const Impl& x = shard(s);
      t.ensure(x.groups.size() * (8 + 12 * x.plan.key_count) + x.partials * (x.wide.words + 2));
      write_groups(x, t);
      t.finish();
    });
    for (size_t s = 1; s < shards(); ++s) out.append(tail[s]);
    return;
  }
  w.finish();
}

namespace {
void write_groups(const State::Impl& m, Writer& w) {
  const Layout& l = m.lay;
  const Layout& wl = m.wide;  // the checkpoint holds the wide words
  std::vector<int64_t> wide_buf(wl.r_words);
  auto as_wide = [&](const int64_t* p, bool running) {
    if (!l.narrow) return p;
    convert(l, wl, p, wide_buf.data(), running);
    return static_cast<const int64_t*>(wide_buf.data());
  };
  for (Gid id = 0; id < m.groups.end_id(); ++id) {
    if (!m.groups.live(id)) continue;
    const Group& g = m.groups.at(id);
    std::string_view key = m.groups.key_bytes(id);  // already in this encoding
    w.raw(key.data(), key.size());
    auto values = [&](size_t k) {  // k: 0 the running partial, i + 1 pane partial i
      const GroupValues* x = m.groups.extra(id);
      if (!x) return;
      for (uint32_t i = 0; i < l.vals; ++i) w.value(x->vals[l.vals * k + i]);
      for (uint32_t i = 0; i < l.sets; ++i) w.set(x->sets[l.sets * k + i]);
    };
    if (m.total) {
      const int64_t* run = as_wide(g.nums.data(), true);
      for (uint32_t i = 0; i < wl.r_words; ++i) w.s(run[i]);
      values(0);
    } else {
      const int64_t* run = as_wide(m.run(id).w, true);  // run() only writes runbuf
      for (const Slot& s : wl.slots) {
        if (s.kind != config::AggKind::Sum && s.kind != config::AggKind::Avg) continue;
        w.s(run[s.word + 4]);
        w.s(run[s.err]);
      }
    }
    const size_t base = m.base(g);
    size_t stored = (g.nums.size() - base) / l.words;
    w.u(stored - g.head);
    for (size_t k = g.head; k < stored; ++k) {
      const int64_t* part = as_wide(g.nums.data() + base + k * l.words, false);
      for (uint32_t i = 0; i < wl.words; ++i) w.s(part[i]);
      values(k + 1);
    }
  }
}
}  // namespace

bool State::load(std::string_view in) {
  // Loaded in the wide layout (the checkpoint's), narrowed at the end when every partial allows it.
  auto fresh = std::make_unique<Impl>(impl_->plan, false);
  Impl& m = *fresh;
  const Layout& l = m.lay;
  Reader r{in};
  if (in.size() < sizeof kMagic || std::memcmp(in.data(), kMagic, sizeof kMagic - 1) != 0) return false;
  const int version = in[sizeof kMagic - 1];
  if (version != 1 && version != 2) return false;
  const bool derived = version >= 2 && !m.total;  // running numbers recomputed from the panes
  r.pos = sizeof kMagic;

  uint64_t kind, key_count, emit_empty, naggs;
  int64_t length, every;
  if (!r.u(kind) || !r.s(length) || !r.s(every) || !r.u(key_count) || !r.u(emit_empty) || !r.u(naggs)) {
    return false;
  }
  if (kind != static_cast<uint64_t>(m.plan.kind) || length != m.plan.length_ms || every != m.plan.every_ms ||
      key_count != m.plan.key_count || emit_empty != (m.plan.emit_empty ? 1u : 0u) ||
      naggs != m.plan.aggs.size()) {
    return false;  // saved by a different output definition
  }
  for (auto k : m.plan.aggs) {
    uint64_t a;
    if (!r.u(a) || a != static_cast<uint64_t>(k)) return false;
  }

  uint64_t flags;
  if (!r.s(m.lo) || !r.s(m.hi) || !r.s(m.closed) || !r.s(m.last_wm) || !r.u(flags) || !r.s(m.anchor) ||
      !r.s(m.quiet_from) || !r.s(m.start_ms) || !r.s(m.first_pane) || !r.u(m.seq) || !r.u(m.skipped)) {
    return false;
  }
  if (flags >= 64) return false;
  m.has_anchor = flags & kHasAnchor;
  m.processing = flags & kProcessing;
  m.has_start = flags & kHasStart;
  m.has_first = flags & kHasFirst;
  m.dirty = flags & kDirty;
  m.finished = flags & kFinished;
  // Window indices stay where (j + 1) * S and j +- n cannot overflow; panes where records can land.
  const int64_t max_j = INT64_MAX / m.S - 1;
  const int64_t max_pane = kMaxAbsTime / m.S + 1;
  auto index_ok = [&](int64_t j) { return j >= kNone && j <= max_j; };
  auto pane_ok = [&](int64_t p) { return p >= -max_pane && p <= max_pane; };
  if (m.lo < kNone + 1 || m.lo > max_j + 1 || !index_ok(m.hi) || !index_ok(m.closed) || m.lo > m.hi + 1) {
    return false;
  }
  if (m.has_anchor &&
      (m.anchor < -max_pane - 1 || m.anchor > max_j || m.quiet_from < -max_pane || m.quiet_from > max_j)) {
    return false;
  }
  if (m.has_first && !pane_ok(m.first_pane)) return false;
  if (!m.total && m.hi - m.n + 1 > m.lo) return false;  // the running partials span at most a window

  // A sharded state: the groups go to their shards, each a state with this header.
  std::vector<std::unique_ptr<Impl>> more;
  for (size_t s = 1; s < shards(); ++s) {
    more.push_back(std::make_unique<Impl>(m.plan, false));
    Impl& d = *more.back();
    d.lo = m.lo;
    d.hi = m.hi;
    d.closed = m.closed;
    d.last_wm = m.last_wm;
    d.has_anchor = m.has_anchor;
    d.processing = m.processing;
    d.has_start = m.has_start;
    d.has_first = m.has_first;
    d.dirty = m.dirty;
    d.finished = m.finished;
    d.anchor = m.anchor;
    d.quiet_from = m.quiet_from;
    d.start_ms = m.start_ms;
    d.first_pane = m.first_pane;
    d.seq = m.seq;  // skipped: counted once, in shard 0
  }
  auto dest = [&](uint32_t h) -> Impl& {
    const size_t s = more.empty() ? 0 : shard_of(h, more.size() + 1);
    return s == 0 ? m : *more[s - 1];
  };
  uint64_t ngroups;
  if (!r.count(ngroups)) return false;
  Key key(m.plan.key_count);
  for (uint64_t gi = 0; gi < ngroups; ++gi) {
    for (Value& v : key) {
      if (!r.value(v)) return false;
    }
    uint32_t h = GroupTable::hash(key.data(), key.size());
    Impl& d = dest(h);
    if (d.groups.find(key.data(), h) != GroupTable::kNoGroup) return false;  // duplicate group
    const Gid id = d.groups.insert(key.data(), h);
    Group& g = d.groups.at(id);
    if (l.vals + l.sets > 0) d.groups.set_extra(id, std::make_unique<GroupValues>());
    GroupValues* x = d.groups.extra(id);
    auto values = [&]() {
      if (!x) return true;
      for (uint32_t i = 0; i < l.vals; ++i) {
        x->vals.emplace_back();
        if (!r.value(x->vals.back())) return false;
      }
      for (uint32_t i = 0; i < l.sets; ++i) {
        x->sets.emplace_back();
        if (!r.set(x->sets.back())) return false;
      }
      return true;
    };
    g.nums.resize(l.r_words);
    if (derived) {
      for (const Slot& s : l.slots) {
        if (s.kind != config::AggKind::Sum && s.kind != config::AggKind::Avg) continue;
        if (!r.s(g.nums[s.word + 4]) || !r.s(g.nums[s.err])) return false;
      }
      if (x) {
        x->vals.resize(l.vals);
        x->sets.resize(l.sets);
      }
    } else {
      for (int64_t& x : g.nums) {
        if (!r.s(x)) return false;
      }
      if (!numbers_ok(l, g.nums.data(), m.seq) || !values()) return false;
    }
    uint64_t nparts;
    if (!r.count(nparts)) return false;
    if (nparts > r.left() / l.words) return false;
    g.nums.reserve(l.r_words + nparts * l.words);
    std::vector<int64_t> sums(l.r_words, 0);  // sliding: the partials inside [lo, hi]
    int64_t prev = 0;
    for (uint64_t k = 0; k < nparts; ++k) {
      size_t at = g.nums.size();
      g.nums.resize(at + l.words);
      for (uint32_t i = 0; i < l.words; ++i) {
        if (!r.s(g.nums[at + i])) return false;
      }
      const int64_t* w = g.nums.data() + at;
      int64_t pane = w[kPaneWord];
      if (!pane_ok(pane) || (k > 0 && pane <= prev) || w[kRowsWord] < 1 || !numbers_ok(l, w, m.seq)) {
        return false;
      }
      if (m.total ? pane <= m.hi : pane < m.lo) return false;
      if (!m.total && pane <= m.hi) add_numbers(l, sums.data(), w);
      prev = pane;
      if (!values()) return false;
    }
    if (m.total ? (nparts == 0 && g.nums[kRowsWord] == 0) : nparts == 0) return false;
    if (derived) {
      // The running numbers are the sum of the panes they cover; the float sums (which may carry
      // rounding from added and subtracted panes) and their error bounds are as saved.
      for (uint32_t i = 0; i < l.r_words; ++i) {
        bool saved = false;
        for (const Slot& s : l.slots) {
          if ((s.kind == config::AggKind::Sum || s.kind == config::AggKind::Avg) &&
              (i == s.word + 4 || i == s.err)) {
            saved = true;
          }
        }
        if (!saved) g.nums[i] = sums[i];
      }
      for (const Slot& s : l.slots) {
        // No float inputs in the window: the float sum is exactly zero.
        if ((s.kind == config::AggKind::Sum || s.kind == config::AggKind::Avg) && g.nums[s.word + 1] == 0 &&
            (g.nums[s.word + 4] != 0 || g.nums[s.err] != 0)) {
          return false;
        }
      }
    } else if (!m.total) {
      // The running numbers must be the sum of the panes they cover.
      if (sums[kRowsWord] != g.nums[kRowsWord]) return false;
      for (const Slot& s : l.slots) {
        if (s.kind == config::AggKind::CountOf && sums[s.word] != g.nums[s.word]) return false;
        if ((s.kind == config::AggKind::Sum || s.kind == config::AggKind::Avg) &&
            (sums[s.word] != g.nums[s.word] || sums[s.word + 1] != g.nums[s.word + 1] ||
             get_i128(sums.data() + s.word + 2) != get_i128(g.nums.data() + s.word + 2))) {
          return false;
        }
      }
    }
    if (m.lean_ok && nparts == 1) {
      // Stored lean (as add() makes it) when the running numbers are exactly what a lean group derives.
      const int64_t* w = g.nums.data() + l.r_words;
      bool in_run = w[kPaneWord] >= m.lo && w[kPaneWord] <= m.hi;
      bool same = true;
      for (uint32_t i = kRowsWord; i < l.r_words && same; ++i) {
        int64_t derived_word = in_run && i < l.words ? w[i] : 0;
        same = g.nums[i] == derived_word;
      }
      if (same) {
        g.nums.erase(0, l.r_words);
        g.lean = 1;
      }
    }
  }
  if (r.left() != 0) return false;
  more.insert(more.begin(), std::move(fresh));
  for (auto& d : more) {
    if (d->all_narrowable()) d->relayout(true);
    d->reindex();
    d->sel = impl_->sel;  // the row selection is configuration, not state
    d->selecting = impl_->selecting;
  }
  impl_ = std::move(more.front());
  more_.assign(std::make_move_iterator(more.begin() + 1), std::make_move_iterator(more.end()));
  return true;
}

}  // namespace weir::window
