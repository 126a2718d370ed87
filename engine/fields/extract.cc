// Extractor: a single-pass JSON parser that validates the whole document but materialises only
// the declared paths (spec §4, §8).
//
// The field paths are compiled once into a deterministic trie (`Plan`): each node says which
// fields end there, which keys/indexes lead on, and which `[*]` lists start there. Overlapping
// paths (`a[*].b` and `a[0].c`) are merged at compile time, so every JSON value maps to at most
// one node and the parse is one walk. Values under no node are validated but not decoded.
//
// The parser is recursive descent with a hard depth limit (kMaxDepth), so the stack stays small
// however deep the input is nested. UTF-8 is validated once over the whole payload; strings are
// scanned 16 bytes at a time. Per record it allocates nothing in steady state (decoded strings
// go to a reused scratch buffer; string slots reuse their capacity), except for `[*]` lists.
#include "engine/fields/extract.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <new>

#include "engine/fields/internal.h"

namespace weir::fields {

using detail::Raw;
using detail::RawKind;

namespace {

struct Node {
  std::vector<std::pair<std::string, int32_t>> keys;
  std::vector<std::pair<int64_t, int32_t>> indexes;
  int32_t all = -1;
  std::vector<uint32_t> terminals;   // fields whose value is the JSON value at this node
  std::vector<uint32_t> list_marks;  // [*] fields whose list is this node's array
  uint64_t key_lengths = 0;          // bit min(length, 63) set for each key: most keys are rejected by it

  static uint64_t length_bit(size_t n) { return 1ULL << std::min<size_t>(n, 63); }

  int32_t key_child(std::string_view k) const {
    if ((key_lengths & length_bit(k.size())) == 0) return -1;
    for (const auto& [name, id] : keys) {
      // Length and first byte first: most keys differ there, without a call to memcmp.
      if (name.size() == k.size() &&
          (k.empty() || (name[0] == k[0] && std::memcmp(name.data(), k.data(), k.size()) == 0))) {
        return id;
      }
    }
    return -1;
  }
  int32_t index_child(int64_t i) const {
    for (const auto& [ix, id] : indexes) {
      if (ix == i) return id;
    }
    return all;
  }
};

// The literal trie of the paths, before merging [*] with [N].
struct TrieNode {
  std::map<std::string, int> keys;
  std::map<int64_t, int> indexes;
  int all = -1;
  std::vector<uint32_t> terminals;
  std::vector<uint32_t> list_marks;
};

class PlanBuilder {
 public:
  explicit PlanBuilder(const std::vector<config::Field>& fields) {
    trie_.emplace_back();
    for (uint32_t f = 0; f < fields.size(); ++f) {
      const auto& path = fields[f].path;
      if (path.empty()) continue;
      int cur = 0;
      bool in_list = false;
      for (const auto& step : path) {
        int next;
        switch (step.kind) {
          case config::PathStep::Kind::Key:
            next = child(trie_[cur].keys, step.key);
            break;
          case config::PathStep::Kind::Index:
            next = child(trie_[cur].indexes, step.index);
            break;
          case config::PathStep::Kind::All:
          default:
            if (!in_list) trie_[cur].list_marks.push_back(f);
            in_list = true;
            if (trie_[cur].all < 0) {
              trie_[cur].all = static_cast<int>(trie_.size());
              trie_.emplace_back();
            }
            next = trie_[cur].all;
            break;
        }
        cur = next;
      }
      trie_[cur].terminals.push_back(f);
    }
  }

  std::vector<Node> build() {
    build_set({0});
    return std::move(nodes_);
  }

 private:
  template <class K>
  int child(std::map<K, int>& m, const K& k) {
    auto it = m.find(k);
    if (it != m.end()) return it->second;
    int id = static_cast<int>(trie_.size());
    m.emplace(k, id);
    trie_.emplace_back();
    return id;
  }

  int32_t build_set(std::vector<int> set) {
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    if (set.empty()) return -1;
    if (auto it = memo_.find(set); it != memo_.end()) return it->second;
    const auto id = static_cast<int32_t>(nodes_.size());
    memo_.emplace(set, id);
    nodes_.emplace_back();

    Node node;
    std::map<std::string, std::vector<int>> keys;
    std::map<int64_t, std::vector<int>> indexes;
    std::vector<int> alls;
    for (int t : set) {
      const TrieNode& tn = trie_[t];
      node.terminals.insert(node.terminals.end(), tn.terminals.begin(), tn.terminals.end());
      node.list_marks.insert(node.list_marks.end(), tn.list_marks.begin(), tn.list_marks.end());
      for (const auto& [k, c] : tn.keys) keys[k].push_back(c);
      for (const auto& [i, c] : tn.indexes) indexes[i].push_back(c);
      if (tn.all >= 0) alls.push_back(tn.all);
    }
    for (auto& [k, members] : keys) {
      node.keys.emplace_back(k, build_set(members));
      node.key_lengths |= Node::length_bit(k.size());
    }
    for (auto& [i, members] : indexes) {
      members.insert(members.end(), alls.begin(), alls.end());
      node.indexes.emplace_back(i, build_set(members));
    }
    node.all = build_set(alls);
    std::sort(node.terminals.begin(), node.terminals.end());
    nodes_[id] = std::move(node);
    return id;
  }

  std::vector<TrieNode> trie_;
  std::vector<Node> nodes_;
  std::map<std::vector<int>, int32_t> memo_;
};

// Marks a syntax error that is really invalid UTF-8 (reported as such).
constexpr const char* kInvalidUtf8 = "invalid UTF-8";

bool is_ws(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex4(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return -1;
    }
    v = v * 16 + d;
  }
  return v;
}

}  // namespace

// Cache-line aligned, as are the small arrays it writes per record (see the constructor): the parse threads
// and the batch loop each extract with their own Impl, and a line shared between two of them would bounce
// between the cores on every record (false sharing).
struct alignas(64) Extractor::Impl {
  std::vector<config::Field> fields;
  config::Decode decode = config::Decode::Json;
  std::vector<Node> nodes;
  std::vector<uint8_t> is_list;
  int line_slot = -1;  // decode text

  // Per-record state (one Extractor per thread).
  const char* begin = nullptr;
  const char* p = nullptr;
  const char* end = nullptr;
  const char* syntax_error = nullptr;
  const char* syntax_at = nullptr;
  bool too_deep = false;
  bool fast_skip = true;  // option (set_fast_skip)
  bool fast = true;       // fast_skip, and not rerunning the full parser over a value skip_value() rejected
  uint64_t reruns = 0;    // values skip_value() rejected (see Extractor::reruns)
  // UTF-8: at the first non-ASCII byte inside a string the rest of the payload is validated at once
  // (valid_utf8_fast); when it is valid, strings need not stop at non-ASCII bytes any more. When it
  // is not, every string validates its own multi-byte sequences, which finds the first bad one in
  // parse order with its exact offset.
  bool utf8_checked = false;
  bool utf8_ok = false;
  int non_ascii_mask = 0xFFFF;  // 0 once utf8_ok
  Value* slots = nullptr;
  std::string conv_error;
  std::string scratch;       // decoded strings with escapes
  std::string conv_scratch;  // compact JSON text
  std::vector<uint8_t> seen, null_seen, list_seen;
  std::vector<List> lists;
  Value tmp;

  bool fail(const char* msg) {
    if (!syntax_error) {
      syntax_error = msg;
      syntax_at = p;
    }
    return false;
  }

  __attribute__((always_inline)) void ws() { ws(p); }
  __attribute__((always_inline)) void ws(const char*& q) const {
    // Compact JSON has no whitespace: one compare rejects every byte above ' '.
    while (q < end && static_cast<unsigned char>(*q) <= ' ' && is_ws(*q)) ++q;
  }

  // Consumes a run of multi-byte UTF-8 sequences at p; false (p at the bad byte) if invalid.
  bool utf8_run() {
    if (!utf8_checked) {
      // p is at the start of a sequence (the byte before is ASCII): validate the rest at once.
      utf8_checked = true;
      utf8_ok = detail::valid_utf8_fast(std::string_view(p, static_cast<size_t>(end - p)));
      if (utf8_ok) {
        non_ascii_mask = 0;
        return true;  // scan_string no longer stops at non-ASCII bytes
      }
    }
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    const auto* e = reinterpret_cast<const unsigned char*>(end);
    while (u < e && *u >= 0x80) {
      const size_t n = detail::utf8_sequence(u, e);
      if (n == 0) {
        p = reinterpret_cast<const char*>(u);
        return false;
      }
      u += n;
    }
    p = reinterpret_cast<const char*>(u);
    return true;
  }

  // Finds the next '"', '\\', control or non-ASCII byte at or after p; false at the end of input.
  __attribute__((always_inline)) bool scan_string() { return scan_string(p); }
  __attribute__((always_inline)) bool scan_string(const char*& q) const {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1F);
    while (end - q >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                       _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
      const int m = _mm_movemask_epi8(hit) | (_mm_movemask_epi8(v) & non_ascii_mask);
      if (m != 0) {
        q += __builtin_ctz(static_cast<unsigned>(m));
        return true;
      }
      q += 16;
    }
    while (q < end && *q != '"' && *q != '\\' && static_cast<unsigned char>(*q) >= 0x20 &&
           (static_cast<unsigned char>(*q) < 0x80 || utf8_ok)) {
      ++q;
    }
    return q < end;
  }

  // p at the backslash. Decodes into scratch when Decode.
  template <bool Decode>
  bool escape() {
    ++p;
    if (p >= end) return fail("");
    const char c = *p++;
    char out;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out = c;
        break;
      case 'b':
        out = '\b';
        break;
      case 'f':
        out = '\f';
        break;
      case 'n':
        out = '\n';
        break;
      case 'r':
        out = '\r';
        break;
      case 't':
        out = '\t';
        break;
      case 'u': {
        if (end - p < 4) return fail("");
        const int cp = hex4(p);
        if (cp < 0) return fail("invalid \\u escape: expected 4 hex digits");
        p += 4;
        uint32_t code = static_cast<uint32_t>(cp);
        if (code >= 0xD800 && code <= 0xDBFF) {
          // A high surrogate must be followed by \uDC00-\uDFFF; a lone one becomes U+FFFD.
          int low = -1;
          if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') low = hex4(p + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            code = 0x10000 + ((code - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
            p += 6;
          } else {
            code = 0xFFFD;
          }
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          code = 0xFFFD;
        }
        if constexpr (Decode) append_utf8(scratch, code);
        return true;
      }
      default:
        --p;
        return fail("invalid escape in a string");
    }
    if constexpr (Decode) scratch += out;
    return true;
  }

  // p at the opening quote. With Decode, `out` is the string's contents (a view into the payload,
  // or into scratch when it had escapes).
  template <bool Decode>
  bool string(std::string_view& out) {
    ++p;
    const char* run = p;
    bool escaped = false;
    while (true) {
      if (!scan_string()) return fail("");
      const char c = *p;
      if (c == '"') {
        if constexpr (Decode) {
          if (escaped) {
            scratch.append(run, p);
            out = scratch;
          } else {
            out = std::string_view(run, static_cast<size_t>(p - run));
          }
        }
        ++p;
        return true;
      }
      if (c == '\\') {
        if constexpr (Decode) {
          if (!escaped) scratch.clear();
          escaped = true;
          scratch.append(run, p);
        }
        if (!escape<Decode>()) return false;
        run = p;
        continue;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        // UTF-8 is validated here, only inside strings: outside them any non-ASCII byte is a
        // syntax error anyway, and this saves a second pass over the payload.
        if (!utf8_run()) return fail(kInvalidUtf8);
        continue;
      }
      return fail(c == 0 ? "raw NUL byte inside a string" : "unescaped control character inside a string");
    }
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool number(Raw& r) {
    const char* s = p;
    if (*p == '-') ++p;
    if (p >= end) return fail("");
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      while (p < end && digit(*p)) ++p;
    } else {
      return fail("invalid number");
    }
    r.is_int = true;
    if (p < end && *p == '.') {
      ++p;
      r.is_int = false;
      if (p >= end) return fail("");
      if (!digit(*p)) return fail("invalid number: expected a digit after '.'");
      while (p < end && digit(*p)) ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      ++p;
      r.is_int = false;
      if (p < end && (*p == '+' || *p == '-')) ++p;
      if (p >= end) return fail("");
      if (!digit(*p)) return fail("invalid number: expected a digit in the exponent");
      while (p < end && digit(*p)) ++p;
    }
    r.kind = RawKind::Number;
    r.text = std::string_view(s, static_cast<size_t>(p - s));
    return true;
  }

  bool literal(const char* word, size_t n) {
    for (size_t i = 0; i < n; ++i, ++p) {
      if (p >= end) return fail("");
      if (*p != word[i]) return fail("invalid literal (expected true, false or null)");
    }
    return true;
  }

  void deliver(const Node& n, const Raw& r) {
    for (uint32_t f : n.terminals) {
      if (is_list[f]) {
        lists[f].emplace_back();
        if (r.kind != RawKind::Null) convert(f, r, lists[f].back());
        continue;
      }
      if (r.kind == RawKind::Null) {
        seen[f] = 0;
        null_seen[f] = 1;
        continue;
      }
      seen[f] = 1;
      convert(f, r, slots[f]);
    }
  }

  void convert(uint32_t f, const Raw& r, Value& out) {
    if (!conv_error.empty()) return;  // the first error is the one reported
    std::string err;
    if (!detail::convert(fields[f], r, out, conv_scratch, err)) conv_error = std::move(err);
  }

  // Skips a string at p (the opening quote) and validates it; false (p anywhere) on any problem.
  // Works on its own copy `q` of the position (kept in a register; p is synced around the rare calls
  // that use it).
  __attribute__((always_inline)) bool skip_string(const char*& q) {
    ++q;
    while (true) {
      if (!scan_string(q)) return false;
      const char c = *q;
      if (c == '"') {
        ++q;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      p = q;
      if (c == '\\' ? !escape<false>() : !utf8_run()) return false;
      q = p;
    }
  }

  // Skips a number at p and validates its grammar; false on any problem.
  __attribute__((always_inline)) bool skip_number(const char*& q) const {
    if (*q == '-') ++q;
    if (q >= end) return false;
    if (*q == '0') {
      ++q;
    } else if (*q >= '1' && *q <= '9') {
      ++q;
      while (q < end && digit(*q)) ++q;
    } else {
      return false;
    }
    if (q < end && *q == '.') {
      ++q;
      if (q >= end || !digit(*q)) return false;
      while (q < end && digit(*q)) ++q;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
      ++q;
      if (q < end && (*q == '+' || *q == '-')) ++q;
      if (q >= end || !digit(*q)) return false;
      while (q < end && digit(*q)) ++q;
    }
    return true;
  }

  __attribute__((always_inline)) bool skip_word(const char*& q, const char* word, size_t n) const {
    if (static_cast<size_t>(end - q) < n || std::memcmp(q, word, n) != 0) return false;
    q += n;
    return true;
  }

  // The fast path for a value no field needs (most of a tweet): an iterative validator with no plan
  // lookups, no decoding and no recursion. It accepts exactly what value() accepts; it returns false
  // with p unspecified on anything else (including nesting beyond kMaxDepth), and the caller reruns
  // the full parser from the value's start for the exact error message.
  // `depth` is the depth of the container holding the value, as for value().
  bool skip_value(int depth) {
    const char* q = p;
    const bool ok = skip_value_at(q, depth);
    p = q;
    return ok;
  }

  __attribute__((always_inline)) bool skip_value_at(const char*& q, int depth) {
    // Kinds of the open containers: '{' or '['. Bounded by kMaxDepth.
    char open[kMaxDepth + 1];
    int top = 0;
    const int room = kMaxDepth - depth;  // containers that may still open
  value:
    if (q >= end) return false;
    switch (*q) {
      case '{':
        if (top >= room) return false;
        open[top++] = '{';
        ++q;
        ws(q);
        if (q < end && *q == '}') {
          ++q;
          --top;
          goto after;
        }
        goto member;
      case '[':
        if (top >= room) return false;
        open[top++] = '[';
        ++q;
        ws(q);
        if (q < end && *q == ']') {
          ++q;
          --top;
          goto after;
        }
        goto value;
      case '"':
        if (!skip_string(q)) return false;
        goto after;
      case 't':
        if (!skip_word(q, "true", 4)) return false;
        goto after;
      case 'f':
        if (!skip_word(q, "false", 5)) return false;
        goto after;
      case 'n':
        if (!skip_word(q, "null", 4)) return false;
        goto after;
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        // Whitespace before a value (after ':', ',' or '['), off the path of compact JSON.
        ws(q);
        goto value;
      default:
        if (*q != '-' && !digit(*q)) return false;
        if (!skip_number(q)) return false;
        goto after;
    }
  member:
    if (q >= end) return false;
    if (*q != '"') {
      ws(q);  // whitespace before a key, after ','
      if (q >= end || *q != '"') return false;
    }
    if (!skip_string(q)) return false;
    if (q < end && *q == ':') {  // compact JSON: no whitespace to skip
      ++q;
    } else {
      ws(q);
      if (q >= end || *q != ':') return false;
      ++q;
    }
    goto value;
  after:
    if (top == 0) return true;
    if (q >= end) return false;
    if (static_cast<unsigned char>(*q) <= ' ') {
      ws(q);
      if (q >= end) return false;
    }
    if (*q == ',') {
      ++q;
      if (open[top - 1] == '{') goto member;
      goto value;
    }
    if (*q == (open[top - 1] == '{' ? '}' : ']')) {
      ++q;
      --top;
      goto after;
    }
    return false;
  }

  // A key at p (the opening quote) without escapes or bytes scan_string() stops at (control bytes, and
  // non-ASCII ones until the payload's UTF-8 is known valid): sets `key` (a view into the payload, which
  // is then exactly the decoded key), moves p past the closing quote and returns true. Otherwise false, p
  // unchanged (string<>() then decodes it or reports the error).
  __attribute__((always_inline)) bool plain_key(std::string_view& key) {
    const char* q = p + 1;
    if (!scan_string(q) || *q != '"') return false;
    key = std::string_view(p + 1, static_cast<size_t>(q - p - 1));
    p = q + 1;
    return true;
  }

  // A string, number or literal at p no field needs, skipped; false (p unchanged) when it is something
  // else or not valid (the caller then takes skip(), which reports the error).
  __attribute__((always_inline)) bool skip_scalar() {
    const char* const start = p;
    const char* q = p;
    if (q >= end) return false;
    bool ok;
    switch (*q) {
      case '"':
        ok = skip_string(q);
        break;
      case 't':
        ok = skip_word(q, "true", 4);
        break;
      case 'f':
        ok = skip_word(q, "false", 5);
        break;
      case 'n':
        ok = skip_word(q, "null", 4);
        break;
      case '{':
      case '[':
        return false;
      default:
        ok = skip_number(q);
    }
    // skip_string() moves p when it meets an escape or non-ASCII byte: put it back on failure.
    if (ok) {
      p = q;
    } else {
      p = start;
    }
    return ok;
  }

  // A value under no plan node: the fast skip, and on failure the full parser for the error.
  bool skip(int depth) {
    const char* start = p;
    if (skip_value(depth)) return true;
    p = start;
    syntax_error = syntax_at = nullptr;  // escape() may have noted the error: the rerun notes it again
    ++reruns;
    fast = false;
    const bool ok = value(-1, depth);
    fast = true;
    return ok;
  }

  bool value(int32_t node, int depth) {
    if (p >= end) return fail("");
    // Unneeded objects and arrays take the fast skip; unneeded scalars are as cheap here.
    if (node < 0 && (*p == '{' || *p == '[') && fast) return skip(depth);
    const Node* n = node >= 0 ? &nodes[static_cast<size_t>(node)] : nullptr;
    const bool want = n && !n->terminals.empty();
    Raw r;
    switch (*p) {
      case '{':
        return object(node, depth + 1);
      case '[':
        return array(node, depth + 1);
      case '"':
        if (!want) {
          std::string_view ignored;
          return string<false>(ignored);
        }
        if (!string<true>(r.text)) return false;
        r.kind = RawKind::String;
        break;
      case 't':
        if (!literal("true", 4)) return false;
        r.kind = RawKind::Bool;
        r.b = true;
        break;
      case 'f':
        if (!literal("false", 5)) return false;
        r.kind = RawKind::Bool;
        break;
      case 'n':
        if (!literal("null", 4)) return false;
        break;
      default:
        if (*p == '-' || digit(*p)) {
          if (!number(r)) return false;
          break;
        }
        return fail(*p == 0 ? "raw NUL byte" : "unexpected character (expected a JSON value)");
    }
    if (want) deliver(*n, r);
    return true;
  }

  bool object(int32_t node, int depth) {
    if (depth > kMaxDepth) {
      too_deep = true;
      return false;
    }
    const Node* n = node >= 0 ? &nodes[static_cast<size_t>(node)] : nullptr;
    const bool lookup = n && !n->keys.empty();
    const char* start = p;
    ++p;
    ws();
    if (p < end && *p == '}') {
      ++p;
    } else {
      while (true) {
        if (p >= end) return fail("");
        if (*p != '"') return fail("expected a string key");
        int32_t child = -1;
        std::string_view key;
        if (plain_key(key)) {
          if (lookup) child = n->key_child(key);
        } else if (lookup) {
          if (!string<true>(key)) return false;
          child = n->key_child(key);
        } else if (!string<false>(key)) {
          return false;
        }
        if (p < end && *p == ':') {  // compact JSON: no whitespace to skip
          ++p;
        } else {
          ws();
          if (p >= end) return fail("");
          if (*p != ':') return fail("expected ':' after an object key");
          ++p;
        }
        ws();
        if (child >= 0 || !fast) {
          if (!value(child, depth)) return false;
        } else if (!skip_scalar()) {
          // Members no field needs, whatever their kind, take the fast skip.
          if (!skip(depth)) return false;
        }
        if (p < end && *p == ',') {  // compact JSON
          ++p;
          ws();
          continue;
        }
        ws();
        if (p >= end) return fail("");
        if (*p == ',') {
          ++p;
          ws();
          continue;
        }
        if (*p == '}') {
          ++p;
          break;
        }
        return fail("expected ',' or '}' after an object member");
      }
    }
    if (n && !n->terminals.empty()) {
      Raw r;
      r.kind = RawKind::Object;
      r.text = std::string_view(start, static_cast<size_t>(p - start));
      deliver(*n, r);
    }
    return true;
  }

  bool array(int32_t node, int depth) {
    if (depth > kMaxDepth) {
      too_deep = true;
      return false;
    }
    const Node* n = node >= 0 ? &nodes[static_cast<size_t>(node)] : nullptr;
    if (n) {
      for (uint32_t f : n->list_marks) list_seen[f] = 1;
    }
    const char* start = p;
    ++p;
    ws();
    if (p < end && *p == ']') {
      ++p;
    } else {
      for (int64_t i = 0;; ++i) {
        if (!value(n ? n->index_child(i) : -1, depth)) return false;
        ws();
        if (p >= end) return fail("");
        if (*p == ',') {
          ++p;
          ws();
          continue;
        }
        if (*p == ']') {
          ++p;
          break;
        }
        return fail("expected ',' or ']' after an array element");
      }
    }
    if (n && !n->terminals.empty()) {
      Raw r;
      r.kind = RawKind::Array;
      r.text = std::string_view(start, static_cast<size_t>(p - start));
      deliver(*n, r);
    }
    return true;
  }

  bool syntax(std::string& error) {
    if (syntax_error == kInvalidUtf8) {
      error = "invalid UTF-8 at byte " + std::to_string(syntax_at - begin);
    } else if (too_deep) {
      error = "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
    } else if (syntax_at >= end || !*syntax_error) {
      error = "truncated JSON: the message ends before the document does (" + std::to_string(end - begin) +
              " bytes)";
    } else {
      error = "malformed JSON at byte " + std::to_string(syntax_at - begin) + ": " + syntax_error;
    }
    return false;
  }

  bool run_json(std::string_view payload, std::string& error) {
    begin = p = payload.data();
    end = begin + payload.size();
    syntax_error = syntax_at = nullptr;
    too_deep = false;
    fast = fast_skip;
    utf8_checked = utf8_ok = false;
    non_ascii_mask = 0xFFFF;
    conv_error.clear();
    std::fill(seen.begin(), seen.end(), 0);
    std::fill(null_seen.begin(), null_seen.end(), 0);
    std::fill(list_seen.begin(), list_seen.end(), 0);
    for (auto& l : lists) l.clear();

    if (payload.empty()) {
      error = "empty message";
      return false;
    }
    ws();
    if (p >= end) {
      error = "empty message (only whitespace)";
      return false;
    }
    if (*p != '{') {
      const char* what = nullptr;
      switch (*p) {
        case '[':
          what = "an array";
          break;
        case '"':
          what = "a string";
          break;
        case 't':
        case 'f':
        case 'n': {
          // Only the literals themselves: text such as "not json" is malformed, not a null.
          std::string_view rest(p, static_cast<size_t>(end - p));
          if (rest.starts_with("true") || rest.starts_with("false")) what = "a boolean";
          if (rest.starts_with("null")) what = "null";
          break;
        }
        default:
          if (*p == '-' || digit(*p)) what = "a number";
      }
      if (!what) return fail(*p == 0 ? "raw NUL byte" : "unexpected character (expected '{')"), syntax(error);
      error = std::string("top-level JSON value is ") + what + ", expected an object";
      return false;
    }
    if (!object(nodes.empty() ? -1 : 0, 1)) return syntax(error);
    ws();
    if (p < end) {
      fail(*p == 0 ? "raw NUL byte after the document" : "unexpected data after the document");
      return syntax(error);
    }
    if (!conv_error.empty()) {
      error = std::move(conv_error);
      conv_error.clear();
      return false;
    }
    for (size_t f = 0; f < fields.size(); ++f) {
      if (is_list[f] && list_seen[f]) {
        slots[f] = Value::list(std::move(lists[f]));
        lists[f] = List();
        continue;
      }
      if (!is_list[f] && seen[f]) continue;
      if (!missing(f, null_seen[f] != 0, error)) return false;
    }
    return true;
  }

  bool missing(size_t f, bool was_null, std::string& error) {
    const config::Field& fd = fields[f];
    if (fd.required) {
      error = "required field '" + fd.name + "' (" + fd.path_text + ") is " + (was_null ? "null" : "missing");
      return false;
    }
    if (!fd.default_value) {
      slots[f].set_null();
    } else if (fd.default_value->type() == Type::String) {
      slots[f].set_string(fd.default_value->as_string());
    } else {
      slots[f] = *fd.default_value;
    }
    return true;
  }

  bool run_text(std::string_view payload, std::string& error) {
    if (size_t bad = detail::first_invalid_utf8(payload); bad != std::string_view::npos) {
      error = "invalid UTF-8 at byte " + std::to_string(bad);
      return false;
    }
    for (size_t f = 0; f < fields.size(); ++f) {
      if (static_cast<int>(f) == line_slot) {
        slots[f].set_string(payload);
      } else {
        slots[f].set_null();
      }
    }
    return true;
  }
};

Extractor::Extractor(const std::vector<config::Field>& fields, config::Decode decode)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.fields = fields;
  m.decode = decode;
  const size_t n = fields.size();
  // At least a cache line each (64-byte allocations are line-aligned with jemalloc): written per record.
  for (auto* v : {&m.seen, &m.null_seen, &m.list_seen, &m.is_list}) v->reserve(std::max<size_t>(n, 64));
  m.lists.reserve(std::max<size_t>(n, 8));
  m.seen.assign(n, 0);
  m.null_seen.assign(n, 0);
  m.list_seen.assign(n, 0);
  m.lists.resize(n);
  m.is_list.assign(n, 0);
  for (size_t f = 0; f < n; ++f) {
    for (const auto& s : fields[f].path) {
      if (s.kind == config::PathStep::Kind::All) m.is_list[f] = 1;
    }
    if (fields[f].name == "line") m.line_slot = static_cast<int>(f);
  }
  if (m.line_slot < 0 && n == 1) m.line_slot = 0;
  m.nodes = PlanBuilder(fields).build();
  m.scratch.reserve(256);
}

void Extractor::set_fast_skip(bool on) {
  impl_->fast_skip = on;
}

uint64_t Extractor::reruns() const {
  return impl_->reruns;
}

Extractor::~Extractor() = default;
Extractor::Extractor(Extractor&&) noexcept = default;

bool Extractor::extract(std::string_view payload, Value* slots, std::string& error) const {
  Impl& m = *impl_;
  try {
    m.slots = slots;
    return m.decode == config::Decode::Text ? m.run_text(payload, error) : m.run_json(payload, error);
  } catch (const std::bad_alloc&) {
    error = "out of memory while decoding the record (" + std::to_string(payload.size()) + " bytes)";
  } catch (const std::exception& e) {
    error = std::string("internal error while decoding the record: ") + e.what();
  } catch (...) {
    error = "internal error while decoding the record";
  }
  return false;
}

}  // namespace weir::fields
