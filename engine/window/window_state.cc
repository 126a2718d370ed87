#include "engine/window/window_state.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/window/state_impl.h"

namespace weir::window {

using namespace detail;  // NOLINT: internal types of this module

namespace {
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

size_t set_sizes(const Layout& l, ConstPart p) {
  size_t c = 0;
  for (uint32_t i = 0; i < l.sets; ++i) c += p.s[i] ? p.s[i]->size() : 0;
  return c;
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Geometry

State::Impl::Impl(Plan p, bool narrow)
    : plan(std::move(p)), lay(plan.aggs, narrow), wide(plan.aggs), groups(plan.key_count) {
  using K = config::Window::Kind;
  int64_t len = std::clamp<int64_t>(plan.length_ms, 0, kMaxLength);
  int64_t every = std::clamp<int64_t>(plan.every_ms, 0, kMaxLength);
  total = plan.kind == K::Total;
  if (plan.kind == K::Sliding) {
    if (every <= 0) every = std::max<int64_t>(len, 1);
    if (len <= 0) len = every;
    S = std::gcd(len, every);
    n = len / S;
    step = every / S;
    // align_end: window ends (start + n) on multiples of step.
    off = plan.align_end ? ((-n) % step + step) % step : 0;
  } else if (total) {
    S = every > 0 ? every : std::max<int64_t>(len, 1);
    n = 1;
  } else {  // batch, tumbling: panes are the windows
    S = len > 0 ? len : std::max<int64_t>(every, 1);
    n = 1;
  }
  lean_ok = !total && !lay.noninvertible;
  runbuf.assign(lay.r_words, 0);
}

int64_t State::Impl::valid_at_or_after(int64_t j) const {
  if (step == 1) return j;
  int64_t r = (j - (n - 1) - off) % step;
  if (r < 0) r += step;
  if (r == 0) return j;
  return j > INT64_MAX - step ? INT64_MAX : j + (step - r);
}

// ---------------------------------------------------------------------------------------------
// Group table

namespace detail {

uint32_t GroupTable::hash(const Value* key, size_t kc) {
  uint64_t h = kc;
  for (size_t i = 0; i < kc; ++i) h = mix64(h ^ key[i].hash()) + i;
  return static_cast<uint32_t>(mix64(h) >> 32);
}

uint32_t GroupTable::hash_string(std::string_view s) {
  // hash() of the one-value key [s]: Value::hash() of a string is hash_bytes().
  return static_cast<uint32_t>(mix64(mix64(1 ^ hash_bytes(s))) >> 32);
}

uint64_t BlobArena::add(std::string_view b) {
  char len[10];
  size_t ln = 0;
  for (uint64_t v = b.size(); ln == 0 || v != 0; v >>= 7) {
    len[ln++] = static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
  }
  const size_t need = ln + b.size();
  if (chunks_.empty() || chunks_.back().capacity() - chunks_.back().size() < need) {
    chunks_.emplace_back();
    chunks_.back().reserve(std::max(kChunk, need));  // a long blob gets a chunk of its own
  }
  std::string& c = chunks_.back();
  uint64_t ref = (static_cast<uint64_t>(chunks_.size() - 1) << 32) | c.size();
  c.append(len, ln);
  c.append(b);
  used_ += need;
  return ref;
}

std::string_view BlobArena::get(uint64_t ref) const {
  const std::string& c = chunks_[ref >> 32];
  size_t pos = ref & 0xffffffffu;
  uint64_t n = 0;
  for (int shift = 0;; shift += 7) {
    auto b = static_cast<uint8_t>(c[pos++]);
    n |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  return std::string_view(c).substr(pos, n);
}

size_t BlobArena::bytes() const {
  size_t b = chunks_.capacity() * sizeof(std::string);
  for (const std::string& c : chunks_) b += c.capacity();
  return b;
}

namespace {
constexpr char kStringTag = 5;  // the checkpoint's tag of a string (window_codec.cc)

// The bytes of the encoded string at `pos` of b (b[pos] is kStringTag); advances pos past it.
std::string_view string_at(std::string_view b, size_t& pos) {
  ++pos;
  uint64_t n = 0;
  for (int shift = 0;; shift += 7) {
    auto c = static_cast<uint8_t>(b[pos++]);
    n |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
  }
  std::string_view s = b.substr(pos, n);
  pos += n;
  return s;
}

// Value::compare(the encoded value at `pos` of b, v); advances pos past it. Strings by their bytes.
int compare_at(std::string_view b, size_t& pos, const Value& v, Value& scratch) {
  if (b[pos] == kStringTag && v.type() == Type::String) {
    int c = string_at(b, pos).compare(v.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  decode_value(b, pos, scratch);
  return Value::compare(scratch, v);
}
}  // namespace

void GroupTable::key(Gid id, Value* out) const {
  std::string_view b = key_bytes(id);
  size_t pos = 0;
  for (size_t i = 0; i < kc_; ++i) decode_value(b, pos, out[i]);
}

uint32_t GroupTable::stored_hash(Gid id) const {
  // As hash(): strings hashed from their bytes, other values decoded.
  std::string_view b = key_bytes(id);
  size_t pos = 0;
  uint64_t h = kc_;
  for (size_t i = 0; i < kc_; ++i) {
    size_t vh;
    if (b[pos] == kStringTag) {
      std::string_view s = string_at(b, pos);
      vh = hash_bytes(s);
    } else {
      decode_value(b, pos, dec_[0]);
      vh = dec_[0].hash();
    }
    h = mix64(h ^ vh) + i;
  }
  return static_cast<uint32_t>(mix64(h) >> 32);
}

int GroupTable::compare_key(Gid id, size_t k, const Value& v) const {
  std::string_view b = key_bytes(id);
  size_t pos = 0;
  for (size_t i = 0; i < k; ++i) decode_value(b, pos, dec_[0]);
  return compare_at(b, pos, v, dec_[0]);
}

int GroupTable::compare_keys(Gid a, Gid b) const {
  key(a, dec_.data());
  std::string_view kb = key_bytes(b);
  size_t pos = 0;
  for (size_t i = 0; i < kc_; ++i) {
    // compare_at gives compare(b's value, a's value).
    int c = compare_at(kb, pos, dec_[i], dec_[kc_]);
    if (c != 0) return -c;
  }
  return 0;
}

bool GroupTable::same(Gid id, const Value* key) const {
  std::string_view b = key_bytes(id);
  size_t pos = 0;
  for (size_t i = 0; i < kc_; ++i) {
    if (b[pos] == kStringTag) {
      // Equal only to a string with the same bytes (a string never equals another type).
      if (key[i].type() != Type::String) return false;
      const std::string& v = key[i].as_string();
      std::string_view s = string_at(b, pos);
      if (s.size() != v.size() || std::memcmp(s.data(), v.data(), s.size()) != 0) return false;
    } else if (compare_at(b, pos, key[i], dec_[0]) != 0) {
      return false;
    }
  }
  return true;
}

void GroupTable::compact_keys() {
  BlobArena fresh;
  for (Gid id = 0; id < top_; ++id) {
    if (koff_[id] != kNoKey) koff_[id] = fresh.add(arena_.get(koff_[id]));
  }
  arena_ = std::move(fresh);
}

template <class Same>
Gid GroupTable::probe(uint32_t h, const Same& same) const {
  if (slots_.empty()) return kNoGroup;
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint64_t e = slots_[i];
    if (e == 0) return kNoGroup;
    if (static_cast<uint32_t>(e >> 32) == h) {
      auto id = static_cast<Gid>((e & 0xffffffffu) - 1);
      if (same(id)) return id;
    }
  }
}

Gid GroupTable::find(const Value* key, uint32_t h) const {
  return probe(h, [&](Gid id) { return same(id, key); });
}

Gid GroupTable::find_string(std::string_view s, uint32_t h) const {
  assert(kc_ == 1);
  return probe(h, [&](Gid id) {
    std::string_view b = key_bytes(id);
    size_t pos = 0;
    return b[0] == kStringTag && string_at(b, pos) == s;
  });
}

void GroupTable::grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
  const size_t mask = slots_.size() - 1;
  for (uint64_t e : old) {
    if (e == 0) continue;
    size_t i = (e >> 32) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = e;
  }
}

Gid GroupTable::insert(const Value* key, uint32_t h) {
  if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // load <= 3/4
  Gid id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = top_++;
    recs_.ensure(top_);
    koff_.ensure(top_);
  }
  size_t len = encode_values(key, kc_, enc_);
  size_t before = arena_.used();
  koff_[id] = arena_.add(std::string_view(enc_.data(), len));
  key_live_ += arena_.used() - before;
  recs_[id] = Group{};
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = (static_cast<uint64_t>(h) << 32) | (static_cast<uint64_t>(id) + 1);
  ++size_;
  return id;
}

void GroupTable::erase(Gid id) {
  const size_t mask = slots_.size() - 1;
  uint32_t h = stored_hash(id);
  size_t i = h & mask;
  while ((slots_[i] & 0xffffffffu) != static_cast<uint64_t>(id) + 1) i = (i + 1) & mask;
  // Backward-shift deletion: move later entries of the probe run into the hole.
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    uint64_t e = slots_[j];
    if (e == 0) break;
    size_t home = (e >> 32) & mask;
    // e may move to i when its home is not in the cyclic range (i, j].
    bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (in_range) continue;
    slots_[i] = e;
    i = j;
  }
  slots_[i] = 0;
  --size_;
  Group& g = recs_[id];
  g = Group{};  // frees the partials; empty nums marks the slot free
  std::string_view kb = key_bytes(id);
  size_t len_bytes = 1;
  for (uint64_t v = kb.size(); v >= 0x80; v >>= 7) ++len_bytes;
  key_live_ -= kb.size() + len_bytes;
  koff_[id] = kNoKey;
  // Most of the arena belongs to erased groups: copy the live keys into a fresh one.
  if (arena_.used() > 2 * key_live_ + 4 * BlobArena::kChunk) compact_keys();
  if (extra_.capacity() > id) extra_[id].reset();
  free_.push_back(id);
}

size_t GroupTable::bytes() const {
  return slots_.capacity() * sizeof(uint64_t) + recs_.capacity() * sizeof(Group) + arena_.bytes() +
         koff_.capacity() * sizeof(uint64_t) + extra_.capacity() * sizeof(std::unique_ptr<GroupValues>) +
         free_.capacity() * sizeof(Gid);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Group storage

size_t State::Impl::part_count(const Group& g) const {
  return (g.nums.size() - base(g)) / lay.words - g.head;
}

int64_t State::Impl::pane_at(const Group& g, size_t i) const {
  return g.nums[base(g) + (g.head + i) * lay.words + kPaneWord];
}

Part State::Impl::run(Gid id) const {
  Group& g = const_cast<GroupTable&>(groups).at(id);  // the partial's words are the caller's to change
  if (g.lean) {
    if (lay.r_words == lay.words) {
      // No error words: the running partial is the pane partial itself (its pane word aside), or zero.
      int64_t* w = g.nums.data() + g.head * lay.words;
      bool in_run = part_count(g) == 1 && w[kPaneWord] >= lo && w[kPaneWord] <= hi;
      return Part{in_run ? w : runbuf.data(), nullptr, nullptr};  // runbuf stays zero in this layout
    }
    std::fill(runbuf.begin(), runbuf.end(), 0);
    if (part_count(g) == 1) {
      const int64_t* w = g.nums.data() + g.head * lay.words;
      if (w[kPaneWord] >= lo && w[kPaneWord] <= hi)
        std::copy(w + kRowsWord, w + lay.words, runbuf.begin() + kRowsWord);
    }
    return Part{runbuf.data(), nullptr, nullptr};
  }
  Part p{g.nums.data(), nullptr, nullptr};
  if (GroupValues* x = groups.extra(id)) {
    p.v = x->vals.data();
    p.s = x->sets.data();
  }
  return p;
}

Part State::Impl::part(Gid id, size_t i) {
  Group& g = groups.at(id);
  size_t k = g.head + i;
  Part p{g.nums.data() + base(g) + k * lay.words, nullptr, nullptr};
  if (GroupValues* x = groups.extra(id)) {
    p.v = x->vals.data() + lay.vals * (k + 1);
    p.s = x->sets.data() + lay.sets * (k + 1);
  }
  return p;
}

size_t State::Impl::group_heap(Gid id) const {
  size_t b = groups.at(id).nums.heap_bytes();
  if (GroupValues* x = groups.extra(id)) {
    b += sizeof(GroupValues) + 32 + x->vals.capacity() * sizeof(Value) + x->sets.capacity() * sizeof(SetPtr);
  }
  return b;
}

Gid State::Impl::group_for(const Key& key) {
  uint32_t h = GroupTable::hash(key.data(), key.size());
  Gid id = groups.find(key.data(), h);
  return id != GroupTable::kNoGroup ? id : new_group(key, h);
}

Gid State::Impl::new_group(const Key& key, uint32_t h) {
  Gid id = groups.insert(key.data(), h);
  Group& g = groups.at(id);
  if (lean_ok) {
    g.lean = 1;
    g.nums.reserve(lay.words);  // one pane partial, exactly; insert_part adds it
  } else {
    g.nums.reserve(lay.r_words + lay.words);  // the running partial and one pane partial, exactly
    g.nums.assign(lay.r_words, 0);
  }
  if (lay.vals + lay.sets > 0) {
    auto x = std::make_unique<GroupValues>();
    x->vals.resize(lay.vals);
    x->sets.resize(lay.sets);
    groups.set_extra(id, std::move(x));
  }
  heap += group_heap(id);
  return id;
}

size_t State::Impl::find_part(const Group& g, int64_t pane) const {
  size_t lo_i = 0, hi_i = part_count(g);
  size_t count = hi_i;
  while (lo_i < hi_i) {
    size_t mid = (lo_i + hi_i) / 2;
    if (pane_at(g, mid) < pane) {
      lo_i = mid + 1;
    } else {
      hi_i = mid;
    }
  }
  return (lo_i < count && pane_at(g, lo_i) == pane) ? lo_i : count;
}

size_t State::Impl::insert_part(Gid id, int64_t pane) {
  Group& g = groups.at(id);
  size_t count = part_count(g);
  if (count > 0 && pane_at(g, count - 1) == pane) return count - 1;  // the usual case: in order
  size_t at = count;
  if (count > 0 && pane_at(g, count - 1) > pane) {  // out of order: binary search
    size_t a = 0, b = count;
    while (a < b) {
      size_t mid = (a + b) / 2;
      if (pane_at(g, mid) < pane) {
        a = mid + 1;
      } else {
        b = mid;
      }
    }
    at = a;
    if (pane_at(g, at) == pane) return at;
  }
  heap -= group_heap(id);
  if (g.lean && count > 0) {
    // A second pane partial: store the running partial from now on.
    Part r = run(id);
    runcopy.assign(lay.r_words, 0);
    std::copy(r.w + kRowsWord, r.w + lay.r_words, runcopy.begin() + kRowsWord);
    g.nums.insert(0, runcopy.data(), lay.r_words);
    g.lean = 0;
  }
  size_t k = g.head + at;
  g.nums.insert(base(g) + k * lay.words, lay.words, 0);
  g.nums[base(g) + k * lay.words + kPaneWord] = pane;
  if (GroupValues* x = groups.extra(id)) {
    auto& vals = x->vals;
    vals.insert(vals.begin() + static_cast<ptrdiff_t>(lay.vals * (k + 1)), lay.vals, Value());
    auto& sets = x->sets;
    for (uint32_t i = 0; i < lay.sets; ++i) {
      sets.emplace(sets.begin() + static_cast<ptrdiff_t>(lay.sets * (k + 1)));
    }
  }
  heap += group_heap(id);
  ++partials;
  pane_list(pane).push_back(id);
  return at;
}

void State::Impl::pop_front(Gid id) {
  Group& g = groups.at(id);
  GroupValues* x = groups.extra(id);
  size_t k = g.head;
  if (x) {
    for (uint32_t i = 0; i < lay.vals; ++i) x->vals[lay.vals * (k + 1) + i].set_null();
    for (uint32_t i = 0; i < lay.sets; ++i) {
      SetPtr& s = x->sets[lay.sets * (k + 1) + i];
      if (s) distinct_values -= s->size();
      s.reset();
    }
  }
  --partials;
  ++g.head;
  size_t stored = (g.nums.size() - base(g)) / lay.words;
  if (g.head < stored && (g.head < 4 || g.head * 2 < stored)) return;
  // Compact: drop the dead partials at the front, and give memory back after a burst.
  size_t before = group_heap(id);
  auto dead = static_cast<ptrdiff_t>(g.head);
  g.nums.erase(base(g), g.head * lay.words);
  if (x) {
    auto& vals = x->vals;
    vals.erase(vals.begin() + lay.vals, vals.begin() + lay.vals + dead * lay.vals);
    auto& sets = x->sets;
    sets.erase(sets.begin() + lay.sets, sets.begin() + lay.sets + dead * lay.sets);
  }
  g.head = 0;
  if (g.nums.capacity() > 64 && g.nums.capacity() > 4 * g.nums.size()) {
    g.nums.shrink_to_fit();
    if (x) {
      x->vals.shrink_to_fit();
      x->sets.shrink_to_fit();
    }
  }
  heap = heap - before + group_heap(id);
}

void State::Impl::erase_group(Gid id) {
  Group& g = groups.at(id);
  if (g.member >= 0) remove_member(id);
  if (groups.extra(id)) distinct_values -= set_sizes(lay, run(id));
  heap -= group_heap(id);
  groups.erase(id);
}

void State::Impl::add_member(Gid id) {
  groups.at(id).member = static_cast<int32_t>(members.size());
  members.push_back(id);
  members_sorted = false;
}

void State::Impl::remove_member(Gid id) {
  Group& g = groups.at(id);
  auto i = static_cast<size_t>(g.member);
  if (i + 1 != members.size()) {
    members[i] = members.back();
    groups.at(members[i]).member = static_cast<int32_t>(i);
    members_sorted = false;
  }
  members.pop_back();
  g.member = -1;
}

bool State::Impl::all_narrowable() const {
  const Layout& l = lay;
  if (l.narrow) return true;
  for (Gid id = 0; id < groups.end_id(); ++id) {
    if (!groups.live(id)) continue;
    const Group& g = groups.at(id);
    if (!g.lean && !narrowable(l, g.nums.data(), true)) return false;
    for (size_t k = base(g) + g.head * l.words; k < g.nums.size(); k += l.words) {
      if (!narrowable(l, g.nums.data() + k, false)) return false;
    }
  }
  return true;
}

void State::Impl::relayout(bool narrow) {
  Layout to(plan.aggs, narrow);
  if (to.narrow == lay.narrow) return;
  heap = 0;
  for (Gid id = 0; id < groups.end_id(); ++id) {
    if (!groups.live(id)) continue;
    Group& g = groups.at(id);
    size_t stored = (g.nums.size() - base(g)) / lay.words;
    size_t to_base = g.lean ? 0 : to.r_words;
    Words w;
    w.resize(to_base + stored * to.words);
    if (!g.lean) convert(lay, to, g.nums.data(), w.data(), true);
    for (size_t k = 0; k < stored; ++k) {
      convert(lay, to, g.nums.data() + base(g) + k * lay.words, w.data() + to_base + k * to.words, false);
    }
    g.nums = std::move(w);
    heap += group_heap(id);
  }
  lay = std::move(to);
  runbuf.assign(lay.r_words, 0);
}

void State::Impl::reindex() {
  panes.clear();
  members.clear();
  partials = 0;
  heap = 0;
  distinct_values = 0;
  for (Gid id = 0; id < groups.end_id(); ++id) {
    if (!groups.live(id)) continue;
    Group& g = groups.at(id);
    g.member = -1;
    for (size_t i = 0, c = part_count(g); i < c; ++i) {
      pane_list(pane_at(g, i)).push_back(id);
      ++partials;
      if (groups.extra(id)) distinct_values += set_sizes(lay, part(id, i));
    }
    if (groups.extra(id)) distinct_values += set_sizes(lay, run(id));
    if (run(id).w[kRowsWord] > 0) add_member(id);
    heap += group_heap(id);
  }
  // Pane lists in the order groups were created are not needed: any order works.
  members_sorted = false;
}

// ---------------------------------------------------------------------------------------------
// Public API

State::State(Plan plan) : impl_(std::make_unique<Impl>(std::move(plan))) {}
State::~State() = default;
State::State(State&&) noexcept = default;
State& State::operator=(State&&) noexcept = default;

void State::start_at(int64_t t_ms) {
  for (size_t i = 0; i < shards(); ++i) shard(i).start_at(t_ms);
}

void State::Impl::start_at(int64_t t_ms) {
  Impl& m = *this;
  m.processing = true;
  // The first window ending after t.
  int64_t s = m.valid_at_or_after(floor_div(std::clamp(t_ms, -kMaxAbsTime, kMaxAbsTime), m.S));
  if (!m.has_anchor) {
    m.has_anchor = true;
    m.anchor = s - 1;
    m.quiet_from = s;
  } else {
    // A restart after downtime: the windows of the downtime had no records; none are emitted.
    m.anchor = std::max(m.anchor, s - 1);
    m.quiet_from = std::max(m.quiet_from, s);
  }
  if (m.total && !m.has_start) {
    m.has_start = true;
    m.start_ms = t_ms;
  }
}

bool State::Impl::accepts(int64_t t_ms, int64_t& pane) const {
  if (finished || t_ms < -kMaxAbsTime || t_ms > kMaxAbsTime) return false;
  if (t_ms != acc_t) {
    acc_pane = floor_div(t_ms, S);
    // The last window holding pane p is the last one starting at or before p.
    acc_last = total ? 0 : floor_div(acc_pane - off, step) * step + off + n - 1;
    acc_t = t_ms;
  }
  const int64_t p = acc_pane;
  if (!total) {
    if (acc_last < p) return false;        // between windows (length < every): in none
    if (acc_last <= closed) return false;  // every window of t is closed: late
  }
  pane = p;
  return true;
}

void State::added_to(size_t s) {
  // The other shards' arrival counters follow the one that took the record (they stay equal).
  for (size_t i = 0; i < shards(); ++i) {
    if (i != s) ++shard(i).seq;
  }
}

bool State::add(int64_t t_ms, const Key& key, const Value* args) {
  if (!more_.empty()) {
    const uint32_t h = GroupTable::hash(key.data(), key.size());
    const size_t s = shard_of(h, shards());
    Impl& m = shard(s);
    int64_t p = 0;
    if (!m.accepts(t_ms, p)) return false;
    Gid nd = m.groups.find(key.data(), h);
    m.add_at(p, nd != GroupTable::kNoGroup ? nd : m.new_group(key, h), args);
    added_to(s);
    return true;
  }
  Impl& m = *impl_;
  int64_t p = 0;
  if (!m.accepts(t_ms, p)) return false;
  assert(key.size() == m.plan.key_count);
  m.add_at(p, m.group_for(key), args);
  return true;
}

bool State::add_string_key(int64_t t_ms, std::string_view key) {
  const uint32_t h = GroupTable::hash_string(key);
  const size_t s = more_.empty() ? 0 : shard_of(h, shards());
  Impl& m = shard(s);
  int64_t p = 0;
  if (!m.accepts(t_ms, p)) return false;
  assert(m.plan.key_count == 1);
  assert(std::all_of(m.plan.aggs.begin(), m.plan.aggs.end(),
                     [](config::AggKind k) { return k == config::AggKind::Count; }));
  if (!more_.empty()) added_to(s);
  Gid nd = m.groups.find_string(key, h);
  if (nd == GroupTable::kNoGroup) {
    // A new group (once per key): stored from a Value key (hash_string(key) is its hash()).
    m.keybuf.resize(1);
    m.keybuf[0].set_string(key);
    nd = m.new_group(m.keybuf, h);
  }
  m.add_at(p, nd, nullptr);
  return true;
}

void State::Impl::add_at(int64_t p, Gid nd, const Value* args) {
  Impl& m = *this;
  uint64_t seq = ++m.seq;
  Group& g = m.grp(nd);
  if (m.total && !m.has_start) {
    m.first_pane = m.has_first ? std::min(m.first_pane, p) : p;
    m.has_first = true;
  }
  if (m.total && p <= m.hi) {
    // Older than the last emitted boundary: counts from the next boundary on.
    Part r = m.run(nd);
    if (!fits_apply(m.lay, r.w, args)) {
      m.widen();
      r = m.run(nd);
    }
    size_t before = m.lay.sets ? set_sizes(m.lay, r) : 0;
    apply(m.lay, r, args, seq, true, true);
    if (m.lay.sets) m.distinct_values += set_sizes(m.lay, r) - before;
    if (g.member < 0) m.add_member(nd);
    m.dirty = true;
    return;
  }
  size_t i = m.insert_part(nd, p);
  const bool in_run = !m.total && p >= m.lo && p <= m.hi;
  if (m.lay.narrow && (!fits_apply(m.lay, m.part(nd, i).w, args) ||
                       (in_run && !g.lean && !fits_apply(m.lay, m.run(nd).w, args)))) {
    m.widen();
  }
  Part pp = m.part(nd, i);
  size_t before = m.lay.sets ? set_sizes(m.lay, pp) : 0;
  apply(m.lay, pp, args, seq, true, false);
  if (m.lay.sets) m.distinct_values += set_sizes(m.lay, pp) - before;
  if (in_run) {
    // The pane is inside the running window: keep the running numbers equal to the panes' sum.
    if (!g.lean) apply(m.lay, m.run(nd), args, seq, false, true);
    if (g.member < 0) m.add_member(nd);
  }
}

bool State::merge(int64_t t_ms, const Partials& parts) {
  assert(parts.shards() == shards());
  bool ok = true;
  for (size_t s = 0; s < shards(); ++s) ok = merge_shard(s, t_ms, parts);  // every shard decides alike
  return ok;
}

bool State::merge_shard(size_t s, int64_t t_ms, const Partials& parts) {
  assert(parts.shards() == shards());
  return shard(s).merge(t_ms, *parts.tabs_[s], parts.tabs_[0]->seq);
}

bool State::Impl::merge(int64_t t_ms, const Partials::Impl& P, uint64_t records) {
  Impl& m = *this;
  int64_t p = 0;
  if (!m.accepts(t_ms, p)) return false;
  // The table's records take the sequences m.seq + 1 ... m.seq + records, in the order they were added
  // (`records`: of all the shards' tables, so that every shard's counter stays equal).
  const uint64_t base = m.seq;
  m.seq += records;
  if (P.n == 0) return true;
  assert(P.key_count == m.plan.key_count && P.aggs == m.plan.aggs);
  if (m.total && !m.has_start) {
    m.first_pane = m.has_first ? std::min(m.first_pane, p) : p;
    m.has_first = true;
  }
  std::vector<int64_t>& buf = m.mergebuf;
  for (size_t e = 0; e < P.n; ++e) {
    ConstPart src = P.part(e);
    // A narrow state cannot hold a partial with float inputs or an int sum beyond int64: widen first.
    if (m.lay.narrow && !P.lay.narrow && !narrowable(P.lay, src.w, false)) m.widen();
    // The entry's words in the state's layout now, with first/last on the state's arrival counter.
    auto load = [&] {
      buf.assign(m.lay.words, 0);
      if (P.lay.narrow == m.lay.narrow) {
        std::copy(src.w, src.w + m.lay.words, buf.begin());
      } else {
        convert(P.lay, m.lay, src.w, buf.data(), false);
      }
      for (const Slot& s : m.lay.slots) {
        if ((s.kind == config::AggKind::First || s.kind == config::AggKind::Last) && buf[s.word] != 0)
          buf[s.word] += static_cast<int64_t>(base);
      }
    };
    load();
    // The table's hash of the key is the state's (GroupTable::hash; hash_string() for add_string_key).
    Gid nd = m.groups.find(P.keys[e].data(), P.hashes[e]);
    if (nd == GroupTable::kNoGroup) nd = m.new_group(P.keys[e], P.hashes[e]);
    Group& g = m.grp(nd);
    if (m.total && p <= m.hi) {
      // Older than the last emitted boundary: counts from the next boundary on (as in add()).
      Part r = m.run(nd);
      if (!fits_add(m.lay, r.w, buf.data())) {
        m.widen();
        load();
        r = m.run(nd);
      }
      size_t before = m.lay.sets ? set_sizes(m.lay, r) : 0;
      merge_all(m.lay, r, ConstPart(buf.data(), src.v, src.s), true);
      if (m.lay.sets) m.distinct_values += set_sizes(m.lay, r) - before;
      if (g.member < 0) m.add_member(nd);
      m.dirty = true;
      continue;
    }
    size_t i = m.insert_part(nd, p);
    const bool in_run = !m.total && p >= m.lo && p <= m.hi;
    if (m.lay.narrow && (!fits_add(m.lay, m.part(nd, i).w, buf.data()) ||
                         (in_run && !g.lean && !fits_add(m.lay, m.run(nd).w, buf.data())))) {
      m.widen();
      load();
    }
    Part pp = m.part(nd, i);
    size_t before = m.lay.sets ? set_sizes(m.lay, pp) : 0;
    merge_all(m.lay, pp, ConstPart(buf.data(), src.v, src.s), false);
    if (m.lay.sets) m.distinct_values += set_sizes(m.lay, pp) - before;
    if (in_run) {
      // The pane is inside the running window: keep the running numbers equal to the panes' sum.
      if (!g.lean) add_numbers(m.lay, m.run(nd).w, buf.data(), true);
      if (g.member < 0) m.add_member(nd);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Emission

namespace {

struct Emitter {
  State::Impl& m;
  std::vector<Emission>& out;

  int64_t window_start(int64_t j) const { return m.total ? m.start_ms : (j - m.n + 1) * m.S; }
  int64_t window_end(int64_t j) const { return (j + 1) * m.S; }

  // Frees every pane <= qmax (no window still to be emitted needs it), subtracting the ones inside
  // the running window from the running partials.
  void retire(int64_t qmax) {
    while (!m.panes.empty() && m.panes.begin()->first <= qmax) {
      auto pit = m.panes.begin();
      int64_t q = pit->first;
      bool in_run = q >= m.lo && q <= m.hi;
      for (Gid nd : pit->second) {
        Group& g = m.grp(nd);
        assert(m.part_count(g) > 0 && m.pane_at(g, 0) == q);  // panes retire in order
        if (in_run && g.lean) {
          if (g.member >= 0) m.remove_member(nd);  // its only partial leaves the running window
        } else if (in_run) {
          if (!fits_sub(m.lay, g.nums.data(), m.part(nd, 0).w)) m.widen();
          sub_numbers(m.lay, g.nums.data(), m.part(nd, 0).w);
          if (g.nums[kRowsWord] <= 0 && g.member >= 0) m.remove_member(nd);
        }
        m.pop_front(nd);
        if (m.part_count(g) == 0) m.erase_group(nd);
      }
      m.drop_pane(pit);
    }
    if (qmax >= m.lo) m.lo = qmax + 1;
    if (m.hi < m.lo - 1) m.hi = m.lo - 1;
  }

  // Sliding/tumbling: adds the panes (hi, j] to the running partials.
  void extend(int64_t j) {
    for (auto pit = m.panes.upper_bound(m.hi); pit != m.panes.end() && pit->first <= j; ++pit) {
      for (Gid nd : pit->second) {
        Group& g = m.grp(nd);
        size_t i = m.find_part(g, pit->first);
        assert(i < m.part_count(g));
        if (g.lean) {  // its partial is the running partial once hi covers it (rows >= 1)
          if (g.member < 0) m.add_member(nd);
          continue;
        }
        if (!fits_add(m.lay, g.nums.data(), m.part(nd, i).w)) m.widen();
        add_numbers(m.lay, g.nums.data(), m.part(nd, i).w);
        if (g.member < 0 && g.nums[kRowsWord] > 0) m.add_member(nd);
      }
    }
    m.hi = std::max(m.hi, j);
  }

  // Total: merges the panes <= j into the running partials for good.
  void absorb(int64_t j) {
    while (!m.panes.empty() && m.panes.begin()->first <= j) {
      auto pit = m.panes.begin();
      for (Gid nd : pit->second) {
        Group& g = m.grp(nd);
        Part r = m.run(nd);
        if (!fits_add(m.lay, r.w, m.part(nd, 0).w)) {
          m.widen();
          r = m.run(nd);
        }
        size_t before = m.lay.sets ? set_sizes(m.lay, r) : 0;
        merge_all(m.lay, r, m.part(nd, 0));
        if (m.lay.sets) m.distinct_values += set_sizes(m.lay, r) - before;
        if (g.member < 0 && g.nums[kRowsWord] > 0) m.add_member(nd);
        m.pop_front(nd);
      }
      m.drop_pane(pit);
    }
    m.hi = std::max(m.hi, j);
  }

  int64_t next_data_window(int64_t j) const {
    if (m.total) {
      if (m.dirty) return j;
      auto it = m.panes.lower_bound(j);
      return it == m.panes.end() ? kNoWindow : it->first;
    }
    j = m.valid_at_or_after(j);
    if (j == INT64_MAX) return kNoWindow;
    auto it = m.panes.lower_bound(j - m.n + 1);
    return it == m.panes.end() ? kNoWindow : m.valid_at_or_after(std::max(it->first, j));
  }

  void sort_members() {
    if (m.members_sorted) return;
    std::sort(m.members.begin(), m.members.end(),
              [&](Gid a, Gid b) { return m.groups.compare_keys(a, b) < 0; });
    for (size_t i = 0; i < m.members.size(); ++i) m.grp(m.members[i]).member = static_cast<int32_t>(i);
    m.members_sorted = true;
  }

  // The pane partials of g inside the running window [lo, hi], in pane order.
  void window_parts(Gid nd) {
    Group& g = m.grp(nd);
    m.parts.clear();
    for (size_t i = 0, c = m.part_count(g); i < c; ++i) {
      int64_t q = m.pane_at(g, i);
      if (q > m.hi) break;
      if (q >= m.lo) m.parts.push_back(m.part(nd, i));
    }
  }

  // Builds group nd's row of the window (running partials [lo, hi]) into `row`.
  void build_row(Gid nd, const Emission& e, Row& row) {
    bool parts_ready = fix_drift(nd);
    if (!m.total && m.lay.noninvertible && !parts_ready) window_parts(nd);
    row.clear();
    row.reserve((m.plan.bounds ? 2 : 0) + m.plan.key_count + m.lay.slots.size());
    if (m.plan.bounds) {
      row.push_back(Value::time(e.window_start_ms));
      row.push_back(Value::time(e.window_end_ms));
    }
    size_t at = row.size();
    row.resize(at + m.plan.key_count);
    m.groups.key(nd, row.data() + at);
    finish(m.lay, m.run(nd), m.total, m.parts, m.scratch, row);
  }

  // Recomputes g's running float sums from its panes where they may have drifted. Returns whether
  // m.parts now holds g's window parts.
  bool fix_drift(Gid nd) {
    Group& g = m.grp(nd);
    bool parts_ready = false;
    if (!m.total && m.lay.has_float_sums && !g.lean) {  // a lean group's running sum is its pane's
      for (const Slot& s : m.lay.slots) {
        if ((s.kind != config::AggKind::Sum && s.kind != config::AggKind::Avg) ||
            !float_sum_drifted(s, g.nums.data())) {
          continue;
        }
        if (!parts_ready) window_parts(nd);
        parts_ready = true;
        // The recomputed sum has rounding error of its own, which matters once a large pane
        // leaves: keep its bound (each addition: half an ulp of its result).
        double f = 0, err = 0;
        for (const ConstPart& p : m.parts) {
          if (p.w[s.word + 1] == 0) continue;
          f += get_f(p.w + s.word + 4);
          err += std::fabs(f) * 0x1p-53;
        }
        put_f(g.nums.data() + s.word + 4, f);
        put_f(g.nums.data() + s.err, err);
      }
    }
    return parts_ready;
  }

  // Whether the selection orders only by bounds, keys and invertible aggregates without having:
  // then a group is compared with the last kept row from its running numbers, without a row.
  bool cheap_order() const {
    if (m.sel.keep) return false;
    size_t k0 = m.plan.bounds ? 2 : 0;
    for (const auto& [col, desc] : m.sel.order) {
      if (col < k0 + m.plan.key_count) continue;
      size_t a = col - k0 - m.plan.key_count;
      if (a >= m.lay.slots.size()) return false;
      config::AggKind k = m.lay.slots[a].kind;
      if (k != config::AggKind::Count && k != config::AggKind::CountOf && k != config::AggKind::Sum &&
          k != config::AggKind::Avg) {
        return false;
      }
    }
    return true;
  }

  // Whether group nd's row would come before `row` (cheap_order() holds).
  bool group_before(Gid nd, const Row& row) {
    size_t k0 = m.plan.bounds ? 2 : 0;
    if (!m.total) fix_drift(nd);
    for (const auto& [col, desc] : m.sel.order) {
      int c;
      if (col < k0) {
        continue;  // the bounds are the same in every row of the emission
      } else if (col < k0 + m.plan.key_count) {
        c = m.groups.compare_key(nd, col - k0, row[col]);
      } else {
        invertible_value(m.lay.slots[col - k0 - m.plan.key_count], m.run(nd).w, m.tmp);
        const Value& b = row[col];
        if (m.tmp.type() == Type::Int && b.type() == Type::Int) {  // the usual case: counts
          c = m.tmp.as_int() < b.as_int() ? -1 : (m.tmp.as_int() > b.as_int() ? 1 : 0);
        } else {
          c = Value::compare(m.tmp, b);
        }
      }
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    for (size_t k = 0; k < m.plan.key_count; ++k) {
      int c = m.groups.compare_key(nd, k, row[k0 + k]);
      if (c != 0) return c < 0;
    }
    return false;
  }

  // Whether row a comes before row b under the selection's order (then the keys ascending).
  bool before(const Row& a, const Row& b) const {
    for (const auto& [col, desc] : m.sel.order) {
      int c = Value::compare(a[col], b[col]);
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    size_t k0 = m.plan.bounds ? 2 : 0;
    for (size_t k = k0; k < k0 + m.plan.key_count; ++k) {
      int c = Value::compare(a[k], b[k]);
      if (c != 0) return c < 0;
    }
    return false;
  }

  // Keeps the first sel.limit rows the selection accepts: a heap with the last kept row on top.
  void select_rows(Emission& e) {
    auto cmp = [this](const Row& a, const Row& b) { return before(a, b); };
    std::vector<Row>& heap = e.rows;
    const size_t limit = m.sel.limit;
    if (limit == 0) return;
    heap.reserve(std::min(limit, m.members.size()));
    const bool cheap = cheap_order();
    for (Gid nd : m.members) {
      // Once `limit` rows are kept, most groups lose against the last of them: find out cheaply.
      if (cheap && heap.size() == limit && !group_before(nd, heap.front())) continue;
      build_row(nd, e, m.cand);
      if (m.sel.keep && !m.sel.keep(m.cand)) continue;
      if (heap.size() < limit) {
        heap.push_back(m.cand);
        std::push_heap(heap.begin(), heap.end(), cmp);
      } else if (before(m.cand, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), cmp);
        std::swap(heap.back(), m.cand);  // the dropped row's memory is reused for the next candidate
        std::push_heap(heap.begin(), heap.end(), cmp);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), cmp);
  }

  void emit_rows(int64_t j, bool quiet = false) {
    Emission e;
    e.window_start_ms = window_start(j);
    e.window_end_ms = window_end(j);
    // A quiet sliding/tumbling window has no records (the running partials still hold an older one).
    if (m.members.empty() || (quiet && !m.total)) {
      if (!m.plan.emit_empty) return;  // no group had a record: nothing to emit
      Row row;
      if (m.plan.bounds) {
        row.push_back(Value::time(e.window_start_ms));
        row.push_back(Value::time(e.window_end_ms));
      }
      finish_empty(m.lay, row);
      if (!m.selecting || (m.sel.limit > 0 && (!m.sel.keep || m.sel.keep(row))))
        e.rows.push_back(std::move(row));
      out.push_back(std::move(e));
      return;
    }
    if (m.selecting) {
      select_rows(e);
    } else {
      sort_members();
      e.rows.resize(m.members.size());
      for (size_t i = 0; i < m.members.size(); ++i) build_row(m.members[i], e, e.rows[i]);
    }
    m.parts.clear();
    out.push_back(std::move(e));
  }

  void emit_data(int64_t j) {
    if (m.total) {
      absorb(j);
      m.dirty = false;
      if (!m.has_start) {
        m.has_start = true;
        m.start_ms = (m.has_first ? m.first_pane : j) * m.S;
      }
    } else {
      retire(j - m.n);
      extend(j);
    }
    emit_rows(j);
    if (!m.has_anchor) {
      m.has_anchor = true;
      m.anchor = j;
      m.quiet_from = j + 1;
    } else {
      m.anchor = std::max(m.anchor, j);
      m.quiet_from = std::min(m.quiet_from, j + 1);
    }
  }

  // Windows [a, b) hold no records of their own.
  void emit_quiet(int64_t a, int64_t b) {
    bool rows = m.plan.emit_empty || (m.total && !m.members.empty());
    if (!rows || !m.has_anchor || a >= b) return;
    // kMaxQuietRun windows (step panes apart) after the anchor; saturating, the anchor may sit near
    // INT64_MAX / S.
    i128 last128 = static_cast<i128>(m.anchor) + static_cast<i128>(State::kMaxQuietRun) * m.step;
    int64_t last = last128 >= INT64_MAX ? INT64_MAX - 1 : static_cast<int64_t>(last128);
    int64_t from = m.valid_at_or_after(std::max(a, m.quiet_from));
    int64_t to = std::min(b - 1, last);
    for (int64_t w = from; w <= to; w += m.step) {
      if (m.total) m.hi = std::max(m.hi, w);
      emit_rows(w, true);
      if (w > INT64_MAX - m.step) break;
    }
    int64_t skip_from = std::max({a, m.quiet_from, last + 1});
    if (b > skip_from) {
      // The windows in [skip_from, b).
      int64_t base = m.n - 1 + m.off;
      m.skipped +=
          static_cast<uint64_t>(floor_div(b - 1 - base, m.step) - floor_div(skip_from - 1 - base, m.step));
    }
  }
};

// A sharded state's emissions: each shard emits the windows holding its groups' records, in order of
// window_end, each window's rows sorted by key (or by the selection's order, cut to its limit). One window's
// rows of all shards, merged in that order (and cut to the limit), are the rows one state would emit: every
// group's row depends on its own partials only, and the first `limit` rows of all groups are among the first
// `limit` of their shards.
void combine_emissions(const State::Impl& m, std::vector<std::vector<Emission>>& in,
                       std::vector<Emission>& out) {
  const size_t k0 = m.plan.bounds ? 2 : 0;
  auto by_key = [&](const Row& a, const Row& b) {
    for (size_t k = k0; k < k0 + m.plan.key_count; ++k) {
      int c = Value::compare(a[k], b[k]);
      if (c != 0) return c < 0;
    }
    return false;
  };
  auto before = [&](const Row& a, const Row& b) {  // Emitter::before
    for (const auto& [col, desc] : m.sel.order) {
      int c = Value::compare(a[col], b[col]);
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    return by_key(a, b);
  };
  std::vector<size_t> at(in.size(), 0);
  while (true) {
    int64_t end = INT64_MAX;
    bool any = false;
    for (size_t s = 0; s < in.size(); ++s) {
      if (at[s] < in[s].size() && (!any || in[s][at[s]].window_end_ms < end)) {
        end = in[s][at[s]].window_end_ms;
        any = true;
      }
    }
    if (!any) break;
    Emission* e = nullptr;
    for (size_t s = 0; s < in.size(); ++s) {
      if (at[s] >= in[s].size() || in[s][at[s]].window_end_ms != end) continue;
      Emission& x = in[s][at[s]++];
      if (e == nullptr) {
        out.push_back(std::move(x));
        e = &out.back();
        continue;
      }
      auto mid = static_cast<std::ptrdiff_t>(e->rows.size());
      e->rows.insert(e->rows.end(), std::make_move_iterator(x.rows.begin()),
                     std::make_move_iterator(x.rows.end()));
      if (m.selecting) {
        std::inplace_merge(e->rows.begin(), e->rows.begin() + mid, e->rows.end(), before);
        if (e->rows.size() > m.sel.limit) e->rows.resize(m.sel.limit);
      } else {
        std::inplace_merge(e->rows.begin(), e->rows.begin() + mid, e->rows.end(), by_key);
      }
    }
  }
}

}  // namespace

void State::advance(int64_t watermark_ms, std::vector<Emission>& out) {
  if (more_.empty()) return impl_->advance(watermark_ms, out);
  emitted_.resize(shards());
  each_shard([this, watermark_ms](size_t s) {
    emitted_[s].clear();
    shard(s).advance(watermark_ms, emitted_[s]);
  });
  combine_emissions(*impl_, emitted_, out);
  // Every shard's running window ends where one state's would: at the last window any shard emitted. A shard
  // that emitted less (none of its groups had records in those windows) takes its panes up to there into its
  // running partials now. Otherwise a record added later into such a pane (behind the watermark: event-time
  // lateness) would count in one state's running partials but not in the shard's, and a checkpoint, which
  // holds one end for all shards, would describe that shard wrongly (weir-fuzz-state found both).
  int64_t hi = impl_->hi;
  for (const auto& x : more_) hi = std::max(hi, x->hi);
  for (size_t s = 0; s < shards(); ++s) {
    if (shard(s).hi < hi) {
      std::vector<Emission> none;
      Emitter{shard(s), none}.extend(hi);
    }
  }
}

void State::each_shard(const std::function<void(size_t)>& part) const {
  if (parallel_) return parallel_(shards(), part);
  for (size_t s = 0; s < shards(); ++s) part(s);
}

void State::Impl::advance(int64_t watermark_ms, std::vector<Emission>& out) {
  Impl& m = *this;
  if (m.finished || watermark_ms <= m.last_wm) return;
  m.last_wm = watermark_ms;
  bool final = watermark_ms == INT64_MAX;
  // Every window <= cj closes now. (No record lies below -2^61: a lower watermark closes nothing.)
  int64_t cj = floor_div(std::max(watermark_ms, -2 * kMaxAbsTime), m.S) - 1;
  if (cj > m.closed) {
    Emitter em{m, out};
    int64_t j = m.closed + 1;
    for (;;) {
      int64_t dj = em.next_data_window(j);
      int64_t quiet_end = std::min(dj, cj + 1);
      if (dj == kNoWindow && final) quiet_end = j;  // end of input: no trailing quiet windows
      em.emit_quiet(j, quiet_end);
      if (dj > cj) break;
      em.emit_data(dj);
      j = dj + 1;
    }
    m.closed = cj;
    if (m.processing && m.has_anchor && !final) m.anchor = std::max(m.anchor, cj);
    if (m.total) {
      m.hi = std::max(m.hi, cj);
    } else {
      // Panes before the next window's start are needed no more.
      int64_t next = m.valid_at_or_after(cj + 1);
      em.retire(next == INT64_MAX ? cj - m.n + 1 : next - m.n);
    }
  }
  if (final) m.finished = true;
}

int64_t State::next_window_end() const {
  int64_t end = INT64_MAX;
  for (size_t s = 0; s < shards(); ++s) {
    Impl& m = s == 0 ? *impl_ : *more_[s - 1];  // next_window_end() uses the emitter's scratch
    end = std::min(end, m.next_window_end());
  }
  return end;
}

int64_t State::Impl::next_window_end() {
  Impl& m = *this;
  if (m.finished) return INT64_MAX;
  std::vector<Emission> unused;
  Emitter em{m, unused};
  int64_t dj = em.next_data_window(m.closed + 1);
  return dj == kNoWindow ? INT64_MAX : em.window_end(dj);
}

void State::select(Select s) {
  for (size_t i = 1; i < shards(); ++i) {
    shard(i).sel = s;
    shard(i).selecting = true;
  }
  impl_->sel = std::move(s);
  impl_->selecting = true;
}

size_t State::groups() const {
  size_t n = 0;
  for (size_t s = 0; s < shards(); ++s) n += shard(s).groups.size();
  return n;
}
size_t State::panes() const {
  if (more_.empty()) return impl_->panes.size();
  std::vector<int64_t> all;  // the panes any shard holds, counted once
  for (size_t s = 0; s < shards(); ++s) {
    for (const auto& [q, list] : shard(s).panes) all.push_back(q);
  }
  std::sort(all.begin(), all.end());
  return static_cast<size_t>(std::unique(all.begin(), all.end()) - all.begin());
}
uint64_t State::skipped_windows() const {
  uint64_t n = 0;
  for (size_t s = 0; s < shards(); ++s) n += shard(s).skipped;
  return n;
}

size_t State::bytes() const {
  size_t b = 0;
  for (size_t s = 0; s < shards(); ++s) b += shard(s).bytes();
  return b;
}

bool State::shardable() const {
  const Impl& m = *impl_;
  return !m.total && m.plan.key_count > 0 && !m.plan.emit_empty && !m.sel.keep;
}

void State::set_shards(size_t n) {
  if (n < 1 || !shardable()) n = 1;
  if (n == shards()) return;
  // Through the checkpoint encoding, which load() splits by key (the state is empty, or just restored).
  std::string enc;
  save(enc);
  more_.clear();
  for (size_t s = 1; s < n; ++s) {
    more_.push_back(std::make_unique<Impl>(impl_->plan));
    more_.back()->sel = impl_->sel;
    more_.back()->selecting = impl_->selecting;
  }
  if (!load(enc)) {
    // Cannot happen (its own encoding); were it to, the state stays whole in one shard.
    assert(false);
    more_.clear();
  }
}

size_t State::Impl::bytes() const {
  const Impl& m = *this;
  size_t b = sizeof(Impl) + m.groups.bytes() + m.heap;
  b += m.panes.size() * 64 + m.partials * sizeof(Gid);  // pane index: map nodes, group lists
  b += m.members.capacity() * sizeof(Gid);
  b += m.distinct_values * (sizeof(Value) + 32);  // set nodes and buckets
  return b;
}

}  // namespace weir::window
