// Fuzz target: a job file (spec §2–§10) from arbitrary text: load and validate it (YAML, keys, durations,
// paths, expressions, cross checks), and when it is valid, compile its plan and explain it, as `weir
// validate`, `weir run` and `weir explain` do. Besides "never crashes" (ASan, UBSan; deep YAML must not
// overflow the stack), it checks that a job validation accepts always compiles: engine::compile's errors are
// meant to be caught by validation.
#include <cstdint>
#include <string>

#include "config/explain.h"
#include "config/load.h"
#include "engine/plan.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const weir::config::LoadResult r = weir::config::load_job_text(text, "fuzz.yaml");
  if (!r.ok()) {
    for (const auto& e : r.errors) {
      if (e.message.empty()) weir::fuzz::fail("a load error without a message", text);
    }
    return 0;
  }
  if (!r.job) weir::fuzz::fail("load_job_text reported no error and no job", text);
  const auto plan = weir::engine::compile(*r.job);
  if (!plan.plan) {
    weir::fuzz::fail(
        "a job validation accepted does not compile: " + (plan.errors.empty() ? "" : plan.errors[0]), text);
  }
  (void)weir::config::explain_job(*r.job);
  return 0;
}
