#!/usr/bin/env bash
# Fails when a tracked C++ file is not formatted per .clang-format (fix: clang-format -i FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard '*.cc' '*.h' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ ${#files[@]} -eq 0 ] && exit 0
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/weir-format.$$; then
  echo "check-format: these files need clang-format -i:" >&2
  grep -o '^[^:]*\.\(cc\|h\)' /tmp/weir-format.$$ | sort -u >&2
  rm -f /tmp/weir-format.$$
  exit 1
fi
rm -f /tmp/weir-format.$$

# catch_discover_tests splits a test name at ';' (a CMake list), so such a test would never run under ctest.
# An unclosed '[' breaks the list the same way (the tests after it are merged into one name).
if git grep -n -e 'TEST_CASE("[^"]*;' -e 'TEST_CASE("[^"]*\[[^]"]*"' -- 'tests/*.cc' >&2; then
  echo "check-format: a TEST_CASE name above contains ';' or an unclosed '[' — ctest would run nothing for it" >&2
  exit 1
fi
