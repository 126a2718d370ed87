#include "engine/clock.h"

#include <cstdlib>

#include <fmt/format.h>

namespace weir {

int64_t SystemClock::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<Clock> clock_from_env(std::string& error) {
  const char* v = std::getenv("WEIR_TEST_CLOCK");
  if (v == nullptr || *v == '\0') return std::make_unique<SystemClock>();
  std::string s(v);
  auto colon = s.find(':');
  try {
    size_t used = 0;
    int64_t start = std::stoll(s.substr(0, colon), &used);
    if (used != colon && colon != std::string::npos) throw std::invalid_argument("start");
    int64_t step = colon == std::string::npos ? 0 : std::stoll(s.substr(colon + 1));
    if (start < 0 || step < 0) throw std::invalid_argument("negative");
    return std::make_unique<TestClock>(start, step);
  } catch (const std::exception&) {
    error = fmt::format("WEIR_TEST_CLOCK must be <start_ms>:<step_ms>, got '{}'", s);
    return nullptr;
  }
}

}  // namespace weir
