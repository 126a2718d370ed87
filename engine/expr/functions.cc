// Scalar functions of expressions (spec §10), one table row each.
#include "engine/expr/functions.h"

#include <emmintrin.h>
#include <re2/re2.h>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/expr/ast.h"

namespace weir::expr {
namespace detail {

std::string_view trim_view(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Flips the case bit (0x20) of the ASCII letters from `first` (A-Z for lower, a-z for upper), 16 bytes at a
// time. Flipping is idempotent (a lowered letter is no longer in A-Z), so the tail is one block overlapping
// the last full one, and a string under 16 bytes is one block over its buffer: a std::string's buffer holds
// capacity() + 1 >= 16 bytes, the NUL and the bytes after it are no letters. W2's lower(word) ran ~120
// instructions a word in the compiler's vectorised loop with its byte-by-byte tail.
void ascii_case(std::string& s, bool upper) {
  const size_t n = s.size();
  if (n == 0) return;
  char* d = s.data();
  auto flip = [first = _mm_set1_epi8(upper ? 'a' : 'A')](char* at) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    // (v - first) < 26 unsigned, as a signed compare after moving the range to the bottom: [-128, -102).
    const __m128i off = _mm_xor_si128(_mm_sub_epi8(v, first), _mm_set1_epi8(static_cast<char>(0x80)));
    const __m128i letter = _mm_cmplt_epi8(off, _mm_set1_epi8(static_cast<char>(0x80 + 26)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(at),
                     _mm_xor_si128(v, _mm_and_si128(letter, _mm_set1_epi8(0x20))));
  };
  if (n < 16) {
    if (s.capacity() >= 15) {
      flip(d);
      return;
    }
    for (size_t i = 0; i < n; ++i) {  // not reached with libstdc++ (its smallest capacity is 15)
      const auto u = static_cast<unsigned char>(d[i]);
      d[i] = static_cast<char>(u ^ (static_cast<unsigned char>(u - (upper ? 'a' : 'A')) < 26 ? 0x20 : 0));
    }
    return;
  }
  size_t i = 0;
  for (; i + 16 <= n; i += 16) flip(d + i);
  if (i < n) flip(d + n - 16);
}

namespace {

#define FN(name) bool name(const Value* const* a, int n, const re2::RE2* re, Value& out, std::string& err)

FN(fn_lower) {
  if (a[0]->type() != Type::String) return type_error(err, "lower", "a string", *a[0]);
  out.set_string(a[0]->as_string());
  ascii_case(const_cast<std::string&>(out.as_string()), false);
  return true;
}

FN(fn_upper) {
  if (a[0]->type() != Type::String) return type_error(err, "upper", "a string", *a[0]);
  out.set_string(a[0]->as_string());
  ascii_case(const_cast<std::string&>(out.as_string()), true);
  return true;
}

FN(fn_length) {
  if (a[0]->type() == Type::List) {
    out = Value::integer(static_cast<int64_t>(a[0]->as_list().size()));
    return true;
  }
  if (a[0]->type() != Type::String) return type_error(err, "length", "a string or a list", *a[0]);
  int64_t count = 0;
  for (char c : a[0]->as_string()) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  out = Value::integer(count);
  return true;
}

FN(fn_trim) {
  if (a[0]->type() != Type::String) return type_error(err, "trim", "a string", *a[0]);
  out.set_string(trim_view(a[0]->as_string()));
  return true;
}

bool two_strings(std::string_view fn, const Value* const* a, std::string& err) {
  if (a[0]->type() != Type::String) return type_error(err, fn, "a string as its first argument", *a[0]);
  if (a[1]->type() != Type::String) return type_error(err, fn, "a string as its second argument", *a[1]);
  return true;
}

FN(fn_starts_with) {
  if (!two_strings("starts_with", a, err)) return false;
  out = Value::boolean(std::string_view(a[0]->as_string()).starts_with(a[1]->as_string()));
  return true;
}

FN(fn_ends_with) {
  if (!two_strings("ends_with", a, err)) return false;
  out = Value::boolean(std::string_view(a[0]->as_string()).ends_with(a[1]->as_string()));
  return true;
}

// contains(string, substring), or contains(list, value): whether the list has an equal element.
FN(fn_contains) {
  if (a[0]->type() == Type::List) {
    bool found = false;
    for (const Value& v : a[0]->as_list()) {
      if (!v.is_null() && Value::compare(v, *a[1]) == 0) {
        found = true;
        break;
      }
    }
    out = Value::boolean(found);
    return true;
  }
  if (a[0]->type() != Type::String) return type_error(err, "contains", "a string or a list", *a[0]);
  if (a[1]->type() != Type::String) return type_error(err, "contains", "a string to look for", *a[1]);
  out = Value::boolean(a[0]->as_string().find(a[1]->as_string()) != std::string::npos);
  return true;
}

FN(fn_matches) {
  if (a[0]->type() != Type::String) return type_error(err, "matches", "a string", *a[0]);
  out = Value::boolean(RE2::PartialMatch(a[0]->as_string(), *re));
  return true;
}

FN(fn_extract) {
  if (a[0]->type() != Type::String) return type_error(err, "extract", "a string", *a[0]);
  int groups = re->NumberOfCapturingGroups();
  int64_t g = groups >= 1 ? 1 : 0;
  if (n == 3) {
    if (a[2]->type() != Type::Int) return type_error(err, "extract", "an int group number", *a[2]);
    g = a[2]->as_int();
    if (g < 0 || g > groups) {
      err = "extract(): group " + std::to_string(g) + " does not exist; the regex has " +
            std::to_string(groups) + " group(s)";
      return false;
    }
  }
  re2::StringPiece small[8];
  std::vector<re2::StringPiece> big;
  re2::StringPiece* sub = small;
  if (g + 1 > 8) {
    big.resize(g + 1);
    sub = big.data();
  }
  const std::string& s = a[0]->as_string();
  if (!re->Match(s, 0, s.size(), RE2::UNANCHORED, sub, static_cast<int>(g + 1)) || sub[g].data() == nullptr) {
    out.set_null();
    return true;
  }
  out.set_string(std::string_view(sub[g].data(), sub[g].size()));
  return true;
}

FN(fn_split_part) {
  if (!two_strings("split_part", a, err)) return false;
  if (a[2]->type() != Type::Int) return type_error(err, "split_part", "an int part number", *a[2]);
  int64_t k = a[2]->as_int();
  if (k <= 0) {
    err = "split_part(): part number must be 1 or more, got " + std::to_string(k);
    return false;
  }
  std::string_view s = a[0]->as_string(), sep = a[1]->as_string();
  if (sep.empty()) {
    out.set_string(k == 1 ? s : std::string_view());
    return true;
  }
  size_t start = 0;
  for (int64_t i = 1; i < k; ++i) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.set_string(std::string_view());
      return true;
    }
    start = p + sep.size();
  }
  size_t end = s.find(sep, start);
  out.set_string(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  return true;
}

// Host of an http(s) URL, lower case, without userinfo, port or IPv6 brackets; null when the
// text is not such a URL.
FN(fn_url_host) {
  if (a[0]->type() != Type::String) return type_error(err, "url_host", "a string", *a[0]);
  std::string_view s = a[0]->as_string();
  out.set_null();
  size_t p = s.find("://");
  if (p == std::string_view::npos) return true;
  std::string scheme(s.substr(0, p));
  ascii_case(scheme, false);
  if (scheme != "http" && scheme != "https") return true;
  std::string_view auth = s.substr(p + 3);
  auth = auth.substr(0, auth.find_first_of("/?#"));
  if (size_t at = auth.rfind('@'); at != std::string_view::npos) auth.remove_prefix(at + 1);
  std::string_view host;
  if (!auth.empty() && auth[0] == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return true;
    if (close + 1 < auth.size() && auth[close + 1] != ':') return true;
    host = auth.substr(1, close - 1);
  } else {
    host = auth.substr(0, auth.find(':'));
  }
  if (host.empty()) return true;
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F || c == '\\') return true;
  }
  out.set_string(host);
  ascii_case(const_cast<std::string&>(out.as_string()), false);
  return true;
}

FN(fn_coalesce) {
  for (int i = 0; i < n; ++i) {
    if (!a[i]->is_null()) {
      out = *a[i];
      return true;
    }
  }
  out.set_null();
  return true;
}

void append_text(std::string& s, const Value& v) {
  if (v.type() == Type::String) {
    s += v.as_string();
  } else {
    s += v.to_display();
  }
}

FN(fn_to_string) {
  if (a[0]->type() == Type::String) {
    out.set_string(a[0]->as_string());
  } else {
    out = Value::string(a[0]->to_display());
  }
  return true;
}

// Extension: concat(a, b, ...) joins the text of its arguments (to_string of each).
FN(fn_concat) {
  std::string s;
  for (int i = 0; i < n; ++i) append_text(s, *a[i]);
  out.set_string(s);
  return true;
}

#undef FN

const FnDef kFns[] = {
    {"lower", 1, 1, {Arg::Str}, Ret::String, fn_lower},
    {"upper", 1, 1, {Arg::Str}, Ret::String, fn_upper},
    {"length", 1, 1, {Arg::StrOrList}, Ret::Int, fn_length},
    {"trim", 1, 1, {Arg::Str}, Ret::String, fn_trim},
    {"starts_with", 2, 2, {Arg::Str, Arg::Str}, Ret::Bool, fn_starts_with},
    {"ends_with", 2, 2, {Arg::Str, Arg::Str}, Ret::Bool, fn_ends_with},
    {"contains", 2, 2, {Arg::StrOrList, Arg::Any}, Ret::Bool, fn_contains},
    {"matches", 2, 2, {Arg::Str, Arg::Regex}, Ret::Bool, fn_matches},
    {"extract", 2, 3, {Arg::Str, Arg::Regex, Arg::Int}, Ret::String, fn_extract},
    {"split_part", 3, 3, {Arg::Str, Arg::Str, Arg::Int}, Ret::String, fn_split_part},
    {"url_host", 1, 1, {Arg::Str}, Ret::String, fn_url_host},
    {"coalesce", 1, -1, {Arg::Any}, Ret::Unknown, fn_coalesce, true},
    {"abs", 1, 1, {Arg::Num}, Ret::SameAsFirst, fn_abs},
    {"round", 1, 2, {Arg::Num, Arg::Int}, Ret::Round, fn_round},
    {"floor", 1, 1, {Arg::Num}, Ret::Int, fn_floor},
    {"ceil", 1, 1, {Arg::Num}, Ret::Int, fn_ceil},
    {"to_int", 1, 1, {Arg::Any}, Ret::Int, fn_to_int},
    {"to_float", 1, 1, {Arg::Any}, Ret::Float, fn_to_float},
    {"to_string", 1, 1, {Arg::Any}, Ret::String, fn_to_string},
    {"concat", 1, -1, {Arg::Any}, Ret::String, fn_concat},
};

}  // namespace

const FnDef* find_fn(std::string_view name) {
  for (const FnDef& f : kFns) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FnDef* all_fns(size_t& count) {
  count = sizeof kFns / sizeof kFns[0];
  return kFns;
}

int regex_arg(const FnDef& f) {
  for (int i = 0; i < 3 && i < (f.max_args < 0 ? 1 : f.max_args); ++i) {
    if (f.args[i] == Arg::Regex) return i;
  }
  return -1;
}

std::unique_ptr<re2::RE2> compile_regex(const std::string& pattern, std::string& err) {
  RE2::Options opt;
  opt.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(pattern, opt);
  if (!re->ok()) {
    err = "invalid regex '" + pattern + "': " + re->error();
    return nullptr;
  }
  return re;
}

const re2::RE2* cached_regex(const std::string& pattern, std::string& err) {
  thread_local std::string last_pattern;
  thread_local std::unique_ptr<re2::RE2> last;
  if (last && last_pattern == pattern) return last.get();
  last.reset();
  last = compile_regex(pattern, err);
  if (last) last_pattern = pattern;
  return last.get();
}

std::string_view kind_name(Arg a) {
  switch (a) {
    case Arg::Str:
    case Arg::Regex:
      return "a string";
    case Arg::StrOrList:
      return "a string or a list";
    case Arg::Num:
      return "a number";
    case Arg::Int:
      return "an int";
    default:
      return "a value";
  }
}

}  // namespace detail

const FunctionInfo* find_function(std::string_view lower_name) {
  for (const FunctionInfo& f : functions()) {
    if (f.name == lower_name) return &f;
  }
  return nullptr;
}

const std::vector<FunctionInfo>& functions() {
  static const std::vector<FunctionInfo> table = [] {
    std::vector<FunctionInfo> t;
    size_t n = 0;
    const detail::FnDef* f = detail::all_fns(n);
    for (size_t i = 0; i < n; ++i) t.push_back({f[i].name, f[i].min_args, f[i].max_args});
    return t;
  }();
  return table;
}

}  // namespace weir::expr
