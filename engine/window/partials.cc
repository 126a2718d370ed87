// window::Partials: a chunk's partial aggregates per group (see window_state.h), merged into a State by
// State::merge (window_state.cc).
#include <algorithm>
#include <cassert>

#include "engine/window/state_impl.h"

namespace weir::window {

using namespace detail;  // NOLINT: internal types of this module

Partials::Impl::Impl(const Plan& p) : aggs(p.aggs), key_count(p.key_count), lay(p.aggs, true) {}

void Partials::Impl::widen() {
  Layout to(aggs, false);
  if (!lay.narrow) return;
  std::vector<int64_t> w(words.size() / std::max<uint32_t>(1, lay.words) * to.words, 0);
  for (size_t e = 0; e < n; ++e)
    convert(lay, to, words.data() + e * lay.words, w.data() + e * to.words, false);
  words.swap(w);
  lay = std::move(to);
}

Partials::Partials(const Plan& plan, size_t shards) {
  for (size_t s = 0; s < std::max<size_t>(1, shards); ++s) tabs_.push_back(std::make_unique<Impl>(plan));
}
Partials::~Partials() = default;
Partials::Partials(Partials&&) noexcept = default;
Partials& Partials::operator=(Partials&&) noexcept = default;

size_t Partials::groups() const {
  size_t n = 0;
  for (const auto& t : tabs_) n += t->n;
  return n;
}

size_t Partials::groups(size_t shard) const {
  return tabs_[shard]->n;
}

uint64_t Partials::records() const {
  return tabs_[0]->seq;
}

size_t Partials::held_bytes() const {
  size_t b = 0;
  for (const auto& t : tabs_) b += t->held_bytes();
  return b;
}

size_t Partials::Impl::held_bytes() const {
  const Impl& m = *this;
  size_t b = m.keys.capacity() * sizeof(Key) + m.hashes.capacity() * sizeof(uint32_t) +
             m.words.capacity() * sizeof(int64_t) + m.vals.capacity() * sizeof(Value) +
             m.sets.capacity() * sizeof(SetPtr) + m.table.capacity() * sizeof(uint32_t);
  for (const Key& k : m.keys) {
    b += k.capacity() * sizeof(Value);
    for (const Value& v : k) {
      if (v.type() == Type::String) b += v.as_string().capacity();
    }
  }
  for (const Value& v : m.vals) {
    if (v.type() == Type::String) b += v.as_string().capacity();
  }
  for (const SetPtr& set : m.sets) {
    if (set) b += set->bucket_count() * sizeof(void*) + set->size() * (sizeof(Value) + 2 * sizeof(void*));
  }
  return b;
}

void Partials::clear() {
  for (auto& t : tabs_) t->clear();
  tabs_[0]->seq = 0;
}

void Partials::Impl::clear() {
  Impl& m = *this;
  if (m.n == 0) return;
  // Entries keep their buffers for the next chunk, but not without bound: a key string or distinct-value
  // set that one record made large is freed (else every entry position would keep the largest one that ever
  // passed through it, up to max_record_bytes each, as Chunk::kKeepStringBytes explains for chunk values),
  // entries beyond kKeepEntries (a chunk that exploded into very many groups) go, and so does a table sized
  // for more than that (add() grows a new one). A table widened by one chunk's float or large sum starts
  // narrow again.
  for (size_t e = 0; e < m.n; ++e) {
    for (Value& v : m.keys[e]) {
      if (v.type() == Type::String && v.as_string().capacity() > kKeepStringBytes) v.set_null();
    }
  }
  for (size_t i = 0; i < m.n * m.lay.vals; ++i) m.vals[i].set_null();
  for (size_t i = 0; i < m.n * m.lay.sets; ++i) {
    if (!m.sets[i]) continue;
    if (m.sets[i]->bucket_count() > kKeepSetBuckets) {
      m.sets[i].reset();
    } else {
      m.sets[i]->clear();  // keeps the set (and its buckets) for the next chunk
    }
  }
  if (m.keys.size() > kKeepEntries) {
    m.keys.resize(kKeepEntries);
    m.keys.shrink_to_fit();
    m.hashes.resize(kKeepEntries);
    m.hashes.shrink_to_fit();
    m.vals.resize(kKeepEntries * m.lay.vals);
    m.vals.shrink_to_fit();
    m.sets.resize(kKeepEntries * m.lay.sets);
    m.sets.shrink_to_fit();
  }
  if (m.table.size() > 4 * kKeepEntries) {
    std::vector<uint32_t>().swap(m.table);  // add() starts a small one
  } else {
    std::fill(m.table.begin(), m.table.end(), 0);
  }
  // Back to narrow sums if a record widened them (has_float_sums: a wide Sum/Avg slot; a layout without sums
  // is never narrow and needs no new one).
  if (m.lay.has_float_sums) m.lay = Layout(m.aggs, true);
  m.words.assign(m.keys.size() * m.lay.words, 0);
  if (m.keys.size() < kKeepEntries / 4) m.words.shrink_to_fit();
  m.n = 0;
  m.seq = 0;
}

template <class Same, class Fill>
size_t Partials::Impl::entry(uint32_t h, const Same& same, const Fill& fill) {
  Impl& m = *this;
  if ((m.n + 1) * 2 > m.table.size()) {
    // Load <= 1/2; rehash from the stored hashes.
    m.table.assign(std::max<size_t>(64, m.table.size() * 2), 0);
    const size_t mask = m.table.size() - 1;
    for (size_t e = 0; e < m.n; ++e) {
      size_t i = m.hashes[e] & mask;
      while (m.table[i] != 0) i = (i + 1) & mask;
      m.table[i] = static_cast<uint32_t>(e + 1);
    }
  }
  const size_t mask = m.table.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t at = m.table[i];
    if (at == 0) {
      // A new group: entries past n keep their buffers (a key's strings, sets) from earlier chunks.
      const size_t e = m.n++;
      m.table[i] = static_cast<uint32_t>(e + 1);
      if (m.keys.size() < m.n) {
        m.keys.emplace_back();
        m.hashes.push_back(0);
        m.words.resize(m.n * m.lay.words, 0);
        m.vals.resize(m.n * m.lay.vals);
        m.sets.resize(m.n * m.lay.sets);
      }
      Key& k = m.keys[e];
      k.resize(m.key_count);
      fill(k);
      m.hashes[e] = h;
      return e;
    }
    const size_t e = at - 1;
    if (m.hashes[e] == h && same(m.keys[e])) return e;
  }
}

void Partials::Impl::apply_at(size_t e, const Value* args) {
  int64_t* w = words.data() + e * lay.words;
  if (lay.narrow && !fits_apply(lay, w, args)) {
    widen();
    w = words.data() + e * lay.words;
  }
  Part p{w, vals.data() + e * lay.vals, sets.data() + e * lay.sets};
  apply(lay, p, args, ++seq, true, false);
}

void Partials::add(const Key& key, const Value* args) {
  const uint32_t h = GroupTable::hash(key.data(), key.size());
  Impl& m = *tabs_[shard_of(h, tabs_.size())];
  assert(key.size() == m.key_count);
  m.seq = tabs_[0]->seq;  // the tables share one arrival sequence
  const size_t e = m.entry(
      h,
      [&](const Key& k) {
        for (size_t j = 0; j < m.key_count; ++j) {
          if (Value::compare(k[j], key[j]) != 0) return false;
        }
        return true;
      },
      [&](Key& k) {
        for (size_t j = 0; j < m.key_count; ++j) {
          if (key[j].type() == Type::String) {
            k[j].set_string(key[j].as_string());
          } else {
            k[j] = key[j];
          }
        }
      });
  m.apply_at(e, args);
  tabs_[0]->seq = m.seq;
}

void Partials::add_string_key(std::string_view key) {
  const uint32_t h = GroupTable::hash_string(key);
  Impl& m = *tabs_[shard_of(h, tabs_.size())];
  assert(m.key_count == 1);
  m.seq = tabs_[0]->seq;
  const size_t e = m.entry(
      h, [&](const Key& k) { return k[0].type() == Type::String && k[0].as_string() == key; },
      [&](Key& k) { k[0].set_string(key); });
  m.apply_at(e, nullptr);
  tabs_[0]->seq = m.seq;
}

}  // namespace weir::window
