// What a fuzz target does when an invariant does not hold: print it and abort, which libFuzzer reports as a
// crash (keeping the input) and which fails the replay test.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace weir::fuzz {

[[noreturn]] inline void fail(const std::string& what, const std::string& input) {
  std::fprintf(stderr, "fuzz invariant broken: %s\ninput (%zu bytes): %.400s\n", what.c_str(), input.size(),
               input.c_str());
  std::abort();
}

}  // namespace weir::fuzz
