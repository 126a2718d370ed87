#include "connectors/generate/gen_template.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace weir {
namespace {

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// splitmix64: tiny, fast, and identical everywhere (unlike std::uniform_*_distribution).
struct SplitMix {
  uint64_t s;
  uint64_t next() { return mix64(s += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, range) (range > 0), by multiply-high.
  uint64_t below(uint64_t range) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * range) >> 64);
  }
};

inline void append_int(std::string& out, int64_t v) {
  char tmp[24];
  auto res = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, res.ptr);
}

inline void append_float(std::string& out, double v) {
  char tmp[40];
  auto res = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, res.ptr);
  // Keep it a float for JSON readers that distinguish (3 -> 3.0).
  if (std::find_if(tmp, res.ptr, [](char c) { return c == '.' || c == 'e' || c == 'n' || c == 'i'; }) ==
      res.ptr) {
    out += ".0";
  }
}

}  // namespace

GenTemplate::GenTemplate(const config::GenNode& root) {
  compile(root);
}

void GenTemplate::literal(std::string_view s) {
  if (!steps_.empty() && steps_.back().op == Op::Literal &&
      steps_.back().begin + steps_.back().len == text_.size()) {
    steps_.back().len += static_cast<uint32_t>(s.size());
  } else {
    Step st;
    st.op = Op::Literal;
    st.begin = static_cast<uint32_t>(text_.size());
    st.len = static_cast<uint32_t>(s.size());
    steps_.push_back(st);
  }
  text_.append(s);
}

void GenTemplate::compile(const config::GenNode& node) {
  using K = config::GenNode::Kind;
  Step st;
  switch (node.kind) {
    case K::Object: {
      literal("{");
      bool first = true;
      for (const auto& [key, child] : node.children) {
        std::string k = first ? "" : ",";
        first = false;
        append_json_string(k, key);
        k += ':';
        literal(k);
        compile(child);
      }
      literal("}");
      return;
    }
    case K::Constant:
      literal(node.constant.to_json());
      return;
    case K::OneOf:
      if (node.choices.empty()) {
        literal("null");
        return;
      }
      if (node.choices.size() == 1) {
        literal(node.choices[0].to_json());
        return;
      }
      st.op = Op::OneOf;
      st.begin = static_cast<uint32_t>(choices_.size());
      st.len = static_cast<uint32_t>(node.choices.size());
      for (const Value& v : node.choices) choices_.push_back(v.to_json());
      break;
    case K::IntRange: {
      st.op = Op::Int;
      int64_t lo = std::min(node.int_lo, node.int_hi), hi = std::max(node.int_lo, node.int_hi);
      st.lo = lo;
      st.range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
      break;
    }
    case K::FloatRange:
      st.op = Op::Float;
      st.flo = std::min(node.float_lo, node.float_hi);
      st.fspan = std::max(node.float_lo, node.float_hi) - st.flo;
      break;
    case K::Words: {
      st.op = Op::Words;
      st.begin = static_cast<uint32_t>(words_.size());
      st.len = static_cast<uint32_t>(node.words.size());
      for (const std::string& w : node.words) {
        std::string q;
        append_json_string(q, w);
        words_.push_back(q.substr(1, q.size() - 2));
      }
      int lo = std::max(0, std::min(node.min_words, node.max_words));
      int hi = std::max(0, std::max(node.min_words, node.max_words));
      st.min_words = static_cast<uint32_t>(lo);
      st.extra_words = static_cast<uint32_t>(hi - lo);
      break;
    }
    case K::NowMs:
      st.op = Op::Now;
      uses_clock_ = true;
      break;
    case K::Sequence:
      st.op = Op::Sequence;
      break;
  }
  steps_.push_back(st);
}

void GenTemplate::render(std::string& out, uint64_t seed, int64_t n, int64_t now_ms) const {
  SplitMix rng{mix64(seed ^ mix64(static_cast<uint64_t>(n) + 0x632be59bd9b4e019ULL))};
  for (const Step& st : steps_) {
    switch (st.op) {
      case Op::Literal:
        out.append(text_, st.begin, st.len);
        break;
      case Op::Int: {
        uint64_t r = st.range == 0 ? rng.next() : rng.below(st.range);
        append_int(out, static_cast<int64_t>(static_cast<uint64_t>(st.lo) + r));
        break;
      }
      case Op::Float: {
        double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
        double v = st.flo + u * st.fspan;
        if (st.fspan > 0 && v >= st.flo + st.fspan) v = st.flo;
        append_float(out, v);
        break;
      }
      case Op::OneOf:
        out += choices_[st.begin + rng.below(st.len)];
        break;
      case Op::Words: {
        out.push_back('"');
        if (st.len > 0) {
          uint64_t count = st.min_words + (st.extra_words > 0 ? rng.below(st.extra_words + 1ULL) : 0);
          for (uint64_t i = 0; i < count; ++i) {
            if (i > 0) out.push_back(' ');
            out += words_[st.begin + rng.below(st.len)];
          }
        }
        out.push_back('"');
        break;
      }
      case Op::Now:
        append_int(out, now_ms);
        break;
      case Op::Sequence:
        append_int(out, n);
        break;
    }
  }
}

}  // namespace weir
