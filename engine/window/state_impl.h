// State::Impl (internal to engine/window): the layout of the window state, shared by
// window_state.cc (the algorithm) and window_codec.cc (checkpoint save/load).
//
// Windows are numbered by their last pane: window j covers panes [j-n+1, j], i.e. the time range
// [(j-n+1)*S, (j+1)*S), where S is the pane size, gcd(L, every), and n = L/S panes per window
// (tumbling and batch: n = 1). Windows start every `step` = every/S panes, so only the indices j with
// (j-n+1) a multiple of step are windows ("valid"); a slide adds and subtracts step panes each. A
// total's window j is [start, (j+1)*S).
//
// State is group-major: each group owns a run of pane partials (sorted by pane) plus one running
// partial (not stored while a "lean" group has a single pane partial: see Group::lean). Groups live in a
// GroupTable (flat hash table of ids, records in a chunked array, keys as bytes in an arena). Sums over
// ints are kept in narrow words until the state has to widen (partial.h). For sliding/tumbling windows the
// running partial holds the invertible aggregates of the panes [lo, hi]: panes are added when a window that
// needs them is emitted and subtracted when no open window needs them, so emitting a window costs O(groups in
// its newest/oldest panes) for counts and sums, plus, for min/max/first/last/count_distinct, O(that group's
// panes in the window) per emitted group. A total's running partial holds everything, and pane partials only
// exist for records beyond the last emitted boundary (merged in, never subtracted). `panes` indexes, per
// pane, the groups having a partial there, so a pane's groups are found without scanning all groups.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/window/partial.h"
#include "engine/window/window_state.h"

namespace weir::window {

namespace detail {
// A group's partial words: a vector of int64 that keeps up to kInline words inside the group record (no
// allocation, no malloc header: a lean count+sum group over ints has 4). Elements are zero-initialised
// on growth only where the caller says so (resize, assign, insert with a value).
class Words {
 public:
  static constexpr uint32_t kInline = 4;
  Words() : inl_{} {}
  Words(Words&& o) noexcept : inl_{} { steal(o); }
  Words& operator=(Words&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  Words(const Words&) = delete;
  Words& operator=(const Words&) = delete;
  ~Words() { release(); }

  int64_t* data() { return cap_ > kInline ? heap_ : inl_; }
  const int64_t* data() const { return cap_ > kInline ? heap_ : inl_; }
  int64_t* begin() { return data(); }
  int64_t* end() { return data() + size_; }
  int64_t& operator[](size_t i) { return data()[i]; }
  int64_t operator[](size_t i) const { return data()[i]; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return cap_; }
  // Bytes allocated outside the record.
  size_t heap_bytes() const { return cap_ > kInline ? size_t{cap_} * sizeof(int64_t) : 0; }

  void reserve(size_t n) {
    if (n > cap_) move_to(n);
  }
  void resize(size_t n) {
    grow_for(n);
    std::fill(data() + size_, data() + std::max<size_t>(n, size_), 0);
    size_ = static_cast<uint32_t>(n);
  }
  void assign(size_t n, int64_t v) {
    size_ = 0;
    grow_for(n);
    std::fill(data(), data() + n, v);
    size_ = static_cast<uint32_t>(n);
  }
  // Inserts `count` words `v` at index `at`.
  void insert(size_t at, size_t count, int64_t v) {
    grow_for(size_ + count);
    int64_t* d = data();
    std::copy_backward(d + at, d + size_, d + size_ + count);
    std::fill(d + at, d + at + count, v);
    size_ += static_cast<uint32_t>(count);
  }
  // Inserts [src, src + count) (not inside this) at index `at`.
  void insert(size_t at, const int64_t* src, size_t count) {
    grow_for(size_ + count);
    int64_t* d = data();
    std::copy_backward(d + at, d + size_, d + size_ + count);
    std::copy(src, src + count, d + at);
    size_ += static_cast<uint32_t>(count);
  }
  // Erases the words [at, at + count).
  void erase(size_t at, size_t count) {
    int64_t* d = data();
    std::copy(d + at + count, d + size_, d + at);
    size_ -= static_cast<uint32_t>(count);
  }
  void shrink_to_fit() {
    if (cap_ > kInline && size_ < cap_) move_to(size_);
  }

 private:
  void grow_for(size_t n) {
    if (n > cap_) move_to(std::max<size_t>(n, size_t{cap_} * 2));
  }
  // Moves the words to storage for max(n, kInline) words.
  void move_to(size_t n) {
    if (n <= kInline) {
      if (cap_ <= kInline) return;
      int64_t* h = heap_;
      std::copy(h, h + size_, inl_);
      delete[] h;
      cap_ = kInline;
      return;
    }
    auto* h = new int64_t[n];
    std::copy(data(), data() + size_, h);
    if (cap_ > kInline) delete[] heap_;
    heap_ = h;
    cap_ = static_cast<uint32_t>(n);
  }
  void release() {
    if (cap_ > kInline) delete[] heap_;
    cap_ = kInline;
    size_ = 0;
  }
  void steal(Words& o) {
    size_ = o.size_;
    cap_ = o.cap_;
    if (o.cap_ > kInline) {
      heap_ = o.heap_;
    } else {
      std::copy(o.inl_, o.inl_ + o.size_, inl_);
    }
    o.cap_ = kInline;
    o.size_ = 0;
  }
  union {
    int64_t* heap_;
    int64_t inl_[kInline];
  };
  uint32_t size_ = 0, cap_ = kInline;
};

struct GroupValues {
  std::vector<Value> vals;  // running partial's vals, then each pane partial's
  std::vector<SetPtr> sets;
};
struct Group {
  Words nums;              // running partial (r_words), then pane partials (words each);
                           // empty: the slot is free
  uint32_t head : 31 = 0;  // pane partials before `head` are dead (compacted lazily)
  // Lean: no running partial stored (nums holds the single pane partial only); the running numbers are
  // that partial's when its pane is inside [lo, hi], else zero. Only for sliding/tumbling plans whose
  // aggregates are all invertible; a second pane partial stores the running partial (State::Impl::run).
  uint32_t lean : 1 = 0;
  int32_t member = -1;  // index in Impl::members while the running partial has records
};

// Groups are numbered densely (ids of erased groups are reused).
using Gid = uint32_t;

// An array in fixed chunks: elements never move, and growing never copies (no reallocation peak).
template <class T>
class Chunked {
 public:
  static constexpr size_t kShift = 12, kChunk = size_t{1} << kShift;
  T& operator[](size_t i) { return chunks_[i >> kShift][i & (kChunk - 1)]; }
  const T& operator[](size_t i) const { return chunks_[i >> kShift][i & (kChunk - 1)]; }
  void ensure(size_t n) {
    while (chunks_.size() * kChunk < n) chunks_.push_back(std::make_unique<T[]>(kChunk));
  }
  size_t capacity() const { return chunks_.size() * kChunk; }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
};

// The checkpoint's encoding of Values (window_codec.cc): appends n values to `out`; decodes one at `pos`
// (advancing it), false on malformed input.
// encode_values writes from out[0] (growing out, never shrinking it) and returns the length.
size_t encode_values(const Value* v, size_t n, std::string& out);
bool decode_value(std::string_view in, size_t& pos, Value& v);

// Byte strings ("blobs") in chunks that never move; a blob is found by a 64-bit reference (chunk << 32 |
// offset) and stored after its varint length. Nothing is freed one by one: the owner compacts.
class BlobArena {
 public:
  static constexpr size_t kChunk = size_t{1} << 16;
  uint64_t add(std::string_view b);
  std::string_view get(uint64_t ref) const;
  size_t used() const { return used_; }  // bytes stored (lengths included)
  size_t bytes() const;                  // bytes reserved
 private:
  std::vector<std::string> chunks_;
  size_t used_ = 0;
};

// The groups of a state: records in a chunked array indexed by Gid, found through an open-addressing
// table (linear probing) of 32-bit hash tags and ids. Keys are stored once, encoded as in the checkpoint
// (`k0000000`: 11 bytes), in a BlobArena compacted when most of it belongs to erased groups. Strings are
// compared by their bytes, other key values decoded and compared by Value::compare (so 1 and 1.0 are one
// group, as Value::operator== says). No allocation per group beyond its partial words.
class GroupTable {
 public:
  explicit GroupTable(size_t key_count) : kc_(key_count), dec_(key_count + 1) {}
  static uint32_t hash(const Value* key, size_t kc);
  // hash() of a one-value key holding the string s.
  static uint32_t hash_string(std::string_view s);
  // The group of `key`, or kNoGroup.
  Gid find(const Value* key, uint32_t h) const;
  // find() of a one-value key holding the string s (h = hash_string(s)); only for tables of one-value keys.
  Gid find_string(std::string_view s, uint32_t h) const;
  // Adds a group for `key` (not present); its record is default-initialised.
  Gid insert(const Value* key, uint32_t h);
  void erase(Gid id);
  Group& at(Gid id) { return recs_[id]; }
  const Group& at(Gid id) const { return recs_[id]; }
  // The group's key values, decoded into out[0, key_count).
  void key(Gid id, Value* out) const;
  // The encoded key values (the checkpoint's encoding).
  std::string_view key_bytes(Gid id) const { return arena_.get(koff_[id]); }
  // Value::compare(key value k of group id, v), and of the keys of groups a and b (value by value).
  int compare_key(Gid id, size_t k, const Value& v) const;
  int compare_keys(Gid a, Gid b) const;
  // The group's Values and sets: only when the plan has min/max/first/last/count_distinct (else null).
  GroupValues* extra(Gid id) const { return extra_.capacity() > id ? extra_[id].get() : nullptr; }
  void set_extra(Gid id, std::unique_ptr<GroupValues> v) {
    extra_.ensure(size_t{id} + 1);
    extra_[id] = std::move(v);
  }
  size_t size() const { return size_; }
  Gid end_id() const { return top_; }  // ids are < end_id(); live ones have non-empty nums
  bool live(Gid id) const { return !recs_[id].nums.empty(); }
  size_t bytes() const;  // the table, records and keys
  static constexpr Gid kNoGroup = UINT32_MAX;

 private:
  bool same(Gid id, const Value* key) const;
  // The group with hash h that same(id) accepts, or kNoGroup.
  template <class Same>
  Gid probe(uint32_t h, const Same& same) const;
  void grow();
  void compact_keys();
  uint32_t stored_hash(Gid id) const;  // hash() of the group's key
  static constexpr uint64_t kNoKey = UINT64_MAX;
  size_t kc_;
  std::vector<uint64_t> slots_;  // 0: empty; else tag << 32 | (id + 1)
  size_t size_ = 0;
  Gid top_ = 0;
  std::vector<Gid> free_;
  Chunked<Group> recs_;
  BlobArena arena_;
  Chunked<uint64_t> koff_;                       // the key's blob in arena_ per group; kNoKey: erased
  size_t key_live_ = 0;                          // arena bytes of live groups' keys
  std::string enc_;                              // scratch: an encoded key
  mutable Key dec_;                              // scratch: a decoded key
  Chunked<std::unique_ptr<GroupValues>> extra_;  // empty unless the plan has Values or sets
};

constexpr int64_t kNone = INT64_MIN / 4;    // "no window yet" for window indices
constexpr int64_t kNoWindow = INT64_MAX;    // no such window
constexpr int64_t kMaxAbsTime = 1LL << 61;  // records outside ±2^61 ms are refused (treated as late)
constexpr int64_t kMaxLength = 1LL << 50;   // longest window/slide accepted, in ms
}  // namespace detail

struct State::Impl {
  // narrow: sums start in the narrow words (partial.h); load() builds a wide state and narrows it.
  explicit Impl(Plan p, bool narrow = true);

  Plan plan;
  detail::Layout lay;   // the layout of the partials now
  detail::Layout wide;  // the wide layout of the same aggregates (the checkpoint's)
  int64_t S = 1;        // pane size, ms (sliding: gcd(L, every))
  int64_t n = 1;        // panes per window (sliding: L/S; tumbling/batch: 1; total: unused)
  int64_t step = 1;     // panes between window starts (sliding: every/S; otherwise 1)
  int64_t off = 0;      // window starts are the panes k*step + off (0 <= off < step)

  // The smallest window index >= j (saturating near INT64_MAX).
  int64_t valid_at_or_after(int64_t j) const;
  // Whether add() takes a record at t_ms (not late, in a window, |t| small enough, not finished); sets
  // `pane` to t's pane when it does.
  bool accepts(int64_t t_ms, int64_t& pane) const;
  // accepts()'s pane of a time and last window holding that pane, for the last time it was asked about
  // (processing time asks about the same batch start for every record of a batch; each costs a division).
  mutable int64_t acc_t = INT64_MIN, acc_pane = 0, acc_last = 0;
  bool total = false;

  detail::GroupTable groups;
  std::map<int64_t, std::vector<detail::Gid>> panes;
  // Group lists of retired panes, cleared, for the next new pane: a pane's list would otherwise grow from
  // nothing (an allocation per doubling) every pane.
  std::vector<std::vector<detail::Gid>> spare_lists;
  std::vector<detail::Gid>& pane_list(int64_t pane) {
    auto [it, fresh] = panes.try_emplace(pane);
    if (fresh && !spare_lists.empty()) {
      it->second = std::move(spare_lists.back());
      spare_lists.pop_back();
    }
    return it->second;
  }
  // Erases a pane of `panes`, keeping its list (up to two, of up to 64k entries: 256 KB) for pane_list().
  // Longer lists are freed: their growth is a small cost per entry, and W3-like states should not keep
  // megabytes.
  void drop_pane(std::map<int64_t, std::vector<detail::Gid>>::iterator it) {
    if (spare_lists.size() < 2 && it->second.capacity() <= (1u << 16)) {
      it->second.clear();
      spare_lists.push_back(std::move(it->second));
    }
    panes.erase(it);
  }
  std::vector<detail::Gid> members;  // groups whose running partial has records
  bool members_sorted = true;

  int64_t lo = detail::kNone + 1, hi = detail::kNone;  // the running partials cover panes [lo, hi]
  int64_t closed = detail::kNone;                      // every window <= closed is closed (emitted or empty)
  int64_t last_wm = INT64_MIN;
  // Quiet windows w with quiet_from <= w <= anchor + kMaxQuietRun are emitted. quiet_from: start_at's
  // first window, or the one after the first window with records; anchor: the last window with records,
  // start_at's first window - 1, or in processing time the last window closed.
  bool has_anchor = false;
  int64_t anchor = 0;
  int64_t quiet_from = 0;   // set whenever has_anchor is
  bool processing = false;  // start_at() was called
  bool has_start = false;   // total: window_start fixed
  int64_t start_ms = 0;
  bool has_first = false;  // total: smallest pane seen before window_start was fixed
  int64_t first_pane = 0;
  bool dirty = false;  // total: records were added to running partials since the last emission
  bool finished = false;
  uint64_t seq = 0;
  uint64_t skipped = 0;

  // Size accounting for bytes().
  size_t partials = 0;
  size_t heap = 0;             // keys, partial words, Values arrays
  size_t distinct_values = 0;  // elements in all count_distinct sets

  // Row selection (State::select); `selecting` when a limit applies.
  Select sel;
  bool selecting = false;

  // Scratch, reused.
  std::vector<detail::ConstPart> parts;
  detail::ValueSet scratch;
  Row cand;
  Value tmp;
  std::vector<int64_t> mergebuf;  // merge(): one partial of a Partials in this layout

  // The State operations on this state (one shard of a sharded State, or the whole).
  void start_at(int64_t t_ms);
  // State::merge of one table holding `records` of the chunk's records (all of them unless sharded).
  bool merge(int64_t t_ms, const Partials::Impl& P, uint64_t records);
  void advance(int64_t watermark_ms, std::vector<Emission>& out);
  int64_t next_window_end();
  size_t bytes() const;

  // ---- group storage (window_state.cc) ----
  detail::Gid group_for(const Key& key);
  // A group for `key`, which has none, whose hash() is h.
  detail::Gid new_group(const Key& key, uint32_t h);
  // add()'s work once the record is accepted into pane p and its group is nd.
  void add_at(int64_t p, detail::Gid nd, const Value* args);
  Key keybuf;  // add_string_key(): a new group's key
  detail::Group& grp(detail::Gid id) { return groups.at(id); }
  size_t part_count(const detail::Group& g) const;
  int64_t pane_at(const detail::Group& g, size_t i) const;
  // The running partial. For a lean group: its pane partial when that is inside [lo, hi] and the layout
  // has no error words (read only), else built in `runbuf` (valid until the next run() call).
  detail::Part run(detail::Gid id) const;
  size_t base(const detail::Group& g) const { return g.lean ? 0 : lay.r_words; }
  bool lean_ok = false;  // new groups start lean (sliding/tumbling, invertible aggregates only)
  mutable std::vector<int64_t> runbuf;
  std::vector<int64_t> runcopy;  // insert_part: a lean group's running partial, stored
  detail::Part part(detail::Gid id, size_t i);
  size_t find_part(const detail::Group& g, int64_t pane) const;  // index of `pane`, or part_count
  size_t insert_part(detail::Gid id, int64_t pane);              // finds or creates
  void pop_front(detail::Gid id);
  void erase_group(detail::Gid id);
  size_t group_heap(detail::Gid id) const;  // excluding the key
  void add_member(detail::Gid id);
  void remove_member(detail::Gid id);
  // Rebuilds `panes` and `members` from the groups (after load).
  void reindex();
  // Rewrites every group's partials in the narrow or wide layout (narrow: all must be narrowable()).
  void relayout(bool narrow);
  // Whether every live group's partials have a narrow form.
  bool all_narrowable() const;
  // Before an operation a narrow layout cannot hold: from now on the state is wide.
  void widen() { relayout(false); }
};

// Partials' table (State::merge reads it). Group e's key is keys[e], its partial words
// words[e * lay.words, (e + 1) * lay.words) in layout `lay` (pane word unused), its Values
// vals[e * lay.vals ...) and sets sets[e * lay.sets ...). Entries past `n` are kept for reuse.
struct Partials::Impl {
  explicit Impl(const Plan& p);
  std::vector<config::AggKind> aggs;
  size_t key_count = 0;
  detail::Layout lay;  // narrow until a record needs the wide form (as a State's)
  std::vector<Key> keys;
  std::vector<int64_t> words;
  std::vector<Value> vals;
  std::vector<detail::SetPtr> sets;
  std::vector<uint32_t> table;  // open addressing: 0 empty, else entry + 1
  std::vector<uint32_t> hashes;
  size_t n = 0;
  uint64_t seq = 0;  // add() calls; a sharded Partials' shared sequence is the first table's
  void clear();
  size_t held_bytes() const;
  detail::ConstPart part(size_t e) const {
    return detail::ConstPart(words.data() + e * lay.words, vals.data() + e * lay.vals,
                             sets.data() + e * lay.sets);
  }
  void widen();
  // The entry of the group with hash h that same(key) accepts, or a new one whose key fill(key) sets.
  template <class Same, class Fill>
  size_t entry(uint32_t h, const Same& same, const Fill& fill);
  // Adds one record's arguments to entry e.
  void apply_at(size_t e, const Value* args);
};

}  // namespace weir::window
