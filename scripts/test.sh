#!/usr/bin/env bash
# Sets everything up and runs weir's whole test suite: the README's test command and CI's.
#   1. installs missing Debian packages (scripts/setup.sh)
#   2. checks formatting (clang-format)
#   3. dev build (warnings are errors), then its unit, golden, integration and packaging tests while the
#      ASan+UBSan build compiles alongside (many tests wait on processes; the build uses the CPU)
#   4. ASan+UBSan build: unit and golden tests
# WEIR_SKIP_ASAN=1 skips the sanitizer build. ctest runs more tests than cores: many of them wait on a
# broker, a database or a clock rather than compute.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test
bash scripts/check-format.sh

cmake --preset dev >/dev/null
cmake --build --preset dev

asan_pid=""
asan_log=build/asan-build.log
if [ "${WEIR_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan >/dev/null
  echo "Building the ASan+UBSan preset in the background (log: $asan_log) while the dev tests run."
  setsid -w cmake --build --preset asan >"$asan_log" 2>&1 &
  asan_pid=$!
  # On an early exit, stop the whole build (its own process group), not only cmake.
  trap '[ -n "$asan_pid" ] && kill -- "-$asan_pid" 2>/dev/null || true' EXIT
fi

ctest --preset dev -j4 --timeout 600 -L 'unit|golden'
integration_rc=0
ctest --preset dev -j3 --timeout 600 -LE 'unit|golden' || integration_rc=$?
if [ "$integration_rc" != 0 ]; then
  echo "test.sh: integration tests failed" >&2
  exit "$integration_rc"
fi

if [ -n "$asan_pid" ]; then
  asan_rc=0
  wait "$asan_pid" || asan_rc=$?
  asan_pid=""
  if [ "$asan_rc" != 0 ]; then
    cat "$asan_log" >&2
    echo "test.sh: the ASan+UBSan build failed (exit $asan_rc)" >&2
    exit 1
  fi
  tail -n 1 "$asan_log"
fi

if [ "${WEIR_SKIP_ASAN:-0}" != 1 ]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j4 --timeout 600
fi
