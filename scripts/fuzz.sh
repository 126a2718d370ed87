#!/usr/bin/env bash
# Builds weir's libFuzzer targets (tests/fuzz; clang, ASan+UBSan, the `fuzz` preset) and runs each for SECONDS
# (default 60) on its kept corpus. Not part of the test command: the suites only replay the kept corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     TARGET: extract expr job state (default: all four)
# New inputs go to build/fuzz/corpus-<target> (the kept corpus in the tree stays as it is). A crash or a broken
# invariant stops that target with its input saved as build/fuzz/crash-<target>-*; once the bug is fixed, copy
# the input into tests/fuzz/corpus/<target>/ so that every build replays it. Exits 1 when any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(extract expr job state)

bash scripts/setup.sh fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

out=build/fuzz
failed=()
for t in "${targets[@]}"; do
  case "$t" in
    extract) dict=(-dict=tests/fuzz/json.dict) ;;
    expr) dict=(-dict=tests/fuzz/expr.dict) ;;
    job) dict=(-dict=tests/fuzz/yaml.dict) ;;
    *) dict=() ;;
  esac
  mkdir -p "$out/corpus-$t"
  echo "fuzz.sh: $t for ${seconds}s"
  # -rss_limit_mb: a job file or a document may be large, but never needs this much.
  if ! "$out/tests/fuzz/weir-fuzz-$t" "$out/corpus-$t" "tests/fuzz/corpus/$t" "${dict[@]}" \
      -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$out/crash-$t-" >"$out/fuzz-$t.log" 2>&1; then
    tail -n 40 "$out/fuzz-$t.log" >&2
    failed+=("$t")
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE" "$out/fuzz-$t.log" | tr '\n' ' '
    echo
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (inputs: $out/crash-*; logs: $out/fuzz-<target>.log)" >&2
  exit 1
fi
