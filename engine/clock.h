// The clock that cuts processing-time batches. Injected so tests pin time (STYLE.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace weir {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in epoch milliseconds.
  virtual int64_t now_ms() = 0;
  // Called by the executor for every record read. A test clock advances here.
  virtual void on_record() {}
  // True for a clock that only moves with records (then sources are polled one record at a time).
  virtual bool manual() const { return false; }
};

class SystemClock : public Clock {
 public:
  int64_t now_ms() override;
};

// Starts at `start_ms` and advances `step_ms` per record read: batches are then cut by record counts,
// so processing-time output is exactly reproducible.
class TestClock : public Clock {
 public:
  TestClock(int64_t start_ms, int64_t step_ms) : now_(start_ms), step_(step_ms) {}
  int64_t now_ms() override { return now_; }
  void on_record() override { now_ += step_; }
  bool manual() const override { return true; }

 private:
  int64_t now_;
  int64_t step_;
};

// The clock for `weir run`: a TestClock when WEIR_TEST_CLOCK="<start_ms>:<step_ms>" is set (tests only),
// else the system clock. Returns nullptr and sets `error` when the variable is malformed.
std::unique_ptr<Clock> clock_from_env(std::string& error);

}  // namespace weir
