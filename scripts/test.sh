#!/usr/bin/env bash
# Sets everything up and runs weir's whole test suite: the README's test command and CI's.
#   1. installs missing Debian packages (scripts/setup.sh)
#   2. checks formatting (clang-format)
#   3. dev build (warnings are errors): unit, golden and integration tests
#   4. ASan+UBSan build: unit and golden tests
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test
bash scripts/check-format.sh

cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev -j2 --timeout 600

if [ "${WEIR_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j2 --timeout 600
fi
