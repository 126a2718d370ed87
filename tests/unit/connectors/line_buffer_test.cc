#include "connectors/files/line_buffer.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using weir::LineBuffer;

namespace {

// `size`: the line's real length, given only for a truncated line (otherwise it must be text.size()).
constexpr uint64_t kWhole = ~uint64_t{0};
struct Got {
  std::string text;
  uint64_t bytes;
  bool truncated;
  uint64_t size = kWhole;
  bool operator==(const Got&) const = default;
};

Got to_got(const LineBuffer::Line& l) {
  if (!l.truncated) REQUIRE(l.size == l.text.size());
  return {std::string(l.text), l.bytes, l.truncated, l.truncated ? l.size : kWhole};
}

// Feeds `input` in pieces of the given sizes (cycled) and collects every line.
std::vector<Got> split(const std::string& input, size_t max_line, size_t chunk,
                       const std::vector<size_t>& pieces) {
  LineBuffer b(max_line, chunk);
  std::vector<Got> out;
  LineBuffer::Line l;
  size_t pos = 0, k = 0;
  while (pos < input.size()) {
    while (b.next(l)) out.push_back(to_got(l));
    char* dst = b.space();
    size_t n = std::min({pieces[k++ % pieces.size()], input.size() - pos, b.space_size()});
    std::memcpy(dst, input.data() + pos, n);
    b.commit(n);
    pos += n;
  }
  while (b.next(l)) out.push_back(to_got(l));
  if (b.finish(l)) out.push_back(to_got(l));
  return out;
}

// The obvious reference implementation.
std::vector<Got> reference(const std::string& input, size_t max_line) {
  std::vector<Got> out;
  size_t pos = 0;
  while (pos < input.size()) {
    size_t nl = input.find('\n', pos);
    size_t end = nl == std::string::npos ? input.size() : nl;
    std::string text = input.substr(pos, end - pos);
    uint64_t bytes = end - pos + (nl == std::string::npos ? 0 : 1);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    bool trunc = text.size() > max_line;
    uint64_t size = trunc ? text.size() : kWhole;
    if (trunc) text.resize(max_line + 1);
    out.push_back({text, bytes, trunc, size});
    pos = end + (nl == std::string::npos ? 0 : 1);
  }
  return out;
}

}  // namespace

TEST_CASE("line buffer: LF, CRLF, empty lines and a final line without newline", "[connectors]") {
  auto got = split("a\r\n\nbc\n\r\nlast", 100, 64, {1000});
  std::vector<Got> want = {
      {"a", 3, false}, {"", 1, false}, {"bc", 3, false}, {"", 2, false}, {"last", 4, false}};
  REQUIRE(got == want);
  REQUIRE(split("x\n", 100, 64, {1000}) == std::vector<Got>{{"x", 2, false}});
  REQUIRE(split("", 100, 64, {1000}).empty());
}

TEST_CASE("line buffer: a too-long line is cut to max+1 bytes and the rest skipped", "[connectors]") {
  std::string big(1000, 'x');
  auto got = split("ok\n" + big + "\nafter\n", 10, 16, {7});
  REQUIRE(got.size() == 3);
  REQUIRE(got[0] == Got{"ok", 3, false});
  REQUIRE(got[1] == Got{std::string(11, 'x'), 1001, true, 1000});
  REQUIRE(got[2] == Got{"after", 6, false});
  // Exactly max bytes (plus CRLF) is not too long; max + 1 is.
  REQUIRE(split(std::string(10, 'y') + "\r\n", 10, 16, {1}) ==
          std::vector<Got>{{std::string(10, 'y'), 12, false}});
  REQUIRE(split(std::string(11, 'y') + "\n", 10, 16, {3}) ==
          std::vector<Got>{{std::string(11, 'y'), 12, true, 11}});
  // The real size of a cut line does not count its CRLF, wherever the CR fell while skipping.
  for (size_t piece : {1, 2, 3, 7, 1000}) {
    INFO("piece " << piece);
    REQUIRE(split(std::string(30, 'w') + "\r\nnext\r\n", 10, 16, {piece}) ==
            std::vector<Got>{{std::string(11, 'w'), 32, true, 30}, {"next", 6, false}});
    REQUIRE(split(std::string(30, 'w') + "\r", 10, 16, {piece}) ==
            std::vector<Got>{{std::string(11, 'w'), 31, true, 30}});
    // A CR inside the line is part of it.
    REQUIRE(split(std::string(20, 'w') + "\rww\n", 10, 16, {piece}) ==
            std::vector<Got>{{std::string(11, 'w'), 24, true, 23}});
  }
  // A too-long final line without newline.
  REQUIRE(split(std::string(50, 'z'), 10, 16, {5}) == std::vector<Got>{{std::string(11, 'z'), 50, true, 50}});
}

TEST_CASE("line buffer: memory stays bounded while skipping a huge line", "[connectors]") {
  LineBuffer b(100, 1024);
  LineBuffer::Line l;
  uint64_t total = 0;
  while (total < 10000000) {  // 10 MB without a newline
    REQUIRE_FALSE(b.next(l));
    char* p = b.space();
    size_t n = std::min<uint64_t>(b.space_size(), 10000000 - total);
    REQUIRE(b.space_size() < 4096);  // never grows past max_line + chunk
    std::memset(p, 'q', n);
    b.commit(n);
    total += n;
  }
  REQUIRE_FALSE(b.next(l));
  b.space()[0] = '\n';
  b.commit(1);
  REQUIRE(b.next(l));
  REQUIRE(l.truncated);
  REQUIRE(l.text.size() == 101);
  REQUIRE(l.bytes == 10000001);
  REQUIRE(l.size == 10000000);
}

TEST_CASE("line buffer: random inputs split in random pieces match the reference", "[connectors]") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string input;
    int lines = static_cast<int>(rng() % 20);
    for (int i = 0; i < lines; ++i) {
      size_t len = rng() % 4 == 0 ? rng() % 200 : rng() % 12;
      for (size_t j = 0; j < len; ++j) input += static_cast<char>('a' + rng() % 26);
      if (rng() % 5 == 0) input += '\r';
      if (i + 1 < lines || rng() % 2 == 0) input += '\n';
    }
    size_t max_line = 1 + rng() % 40;
    size_t chunk = 16 + rng() % 64;
    std::vector<size_t> pieces = {1 + rng() % 50, 1 + rng() % 3, 1 + rng() % 200};
    INFO("round " << round);
    REQUIRE(split(input, max_line, chunk, pieces) == reference(input, max_line));
  }
}
