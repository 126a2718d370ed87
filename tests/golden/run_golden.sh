#!/usr/bin/env bash
# Runs one golden case: the real weir binary on a bounded input with a pinned clock, output compared exactly.
# Usage: run_golden.sh CASE_DIR WEIR_BINARY
# A case directory holds:
#   job.yaml          the job; sinks write under ${OUT} (e.g. `to: { file: { path: "${OUT}/top.jsonl" } }`)
#   input.jsonl       fed to weir on stdin (optional: a job may use the generator instead)
#   expected/         every file weir must write under ${OUT}, compared byte for byte (commit sidecars ignored)
#   clock             optional: WEIR_TEST_CLOCK value "<start_ms>:<step_ms>" (default 1484148840000:10,
#                     i.e. 2017-01-11T15:34:00Z and 10 ms per record)
#   exit_code         optional: the expected exit code (default 0)
#   stderr_contains   optional: lines, each of which must appear in weir's stderr
#   env               optional: extra environment, KEY=VALUE per line
#   normalize         optional: a sed script (sed -E) applied to every actual output file and to stdout before the
#                     comparison, for parts that legitimately vary from run to run (e.g. the `time` of a dead
#                     letter: `s/"time":"[^"]*"/"time":"T"/`); expected/ holds the normalized form
# WEIR_BINARY may be relative to the current directory.
# WEIR_GOLDEN_UPDATE=1 copies the actual output into expected/ (review the result by hand before committing).
set -uo pipefail
case_dir=$(cd "$1" && pwd)
weir=$2
case "$weir" in /*) ;; *) weir="$(pwd)/$weir" ;; esac
name=$(basename "$case_dir")
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-golden-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OUT="$work/out"
mkdir -p "$OUT"
clock=1484148840000:10
[ -f "$case_dir/clock" ] && clock=$(tr -d '[:space:]' < "$case_dir/clock")
want_rc=0
[ -f "$case_dir/exit_code" ] && want_rc=$(tr -d '[:space:]' < "$case_dir/exit_code")
envs=()
if [ -f "$case_dir/env" ]; then
  while IFS= read -r line; do [ -n "$line" ] && envs+=("$line"); done < "$case_dir/env"
fi
input=/dev/null
[ -f "$case_dir/input.jsonl" ] && input="$case_dir/input.jsonl"

cd "$case_dir"
env "${envs[@]}" WEIR_TEST_CLOCK="$clock" timeout 120 "$weir" run job.yaml --state-dir "$work/state" \
  < "$input" > "$work/stdout" 2> "$work/stderr"
rc=$?
fail=0
if [ -f "$case_dir/normalize" ]; then
  while IFS= read -r f; do
    sed -E -i -f "$case_dir/normalize" "$f"
  done < <(find "$OUT" -type f ! -name '*.weir-commit'; echo "$work/stdout")
fi
if [ "$rc" != "$want_rc" ]; then
  echo "golden $name: exit code $rc, expected $want_rc"
  fail=1
fi
if [ -f "$case_dir/stderr_contains" ]; then
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    if ! grep -qF -- "$line" "$work/stderr"; then
      echo "golden $name: stderr lacks: $line"
      fail=1
    fi
  done < "$case_dir/stderr_contains"
fi
if [ "${WEIR_GOLDEN_UPDATE:-0}" = 1 ]; then
  rm -rf "$case_dir/expected"
  mkdir -p "$case_dir/expected"
  (cd "$OUT" && find . -type f ! -name '*.weir-commit' -exec cp --parents {} "$case_dir/expected/" \;)
  [ -s "$work/stdout" ] && cp "$work/stdout" "$case_dir/expected/stdout.txt"
  echo "golden $name: expected/ updated"
  exit 0
fi
if [ -d "$case_dir/expected" ]; then
  while IFS= read -r f; do
    rel=${f#"$case_dir/expected/"}
    if [ "$rel" = stdout.txt ]; then actual="$work/stdout"; else actual="$OUT/$rel"; fi
    if [ ! -f "$actual" ]; then
      echo "golden $name: weir did not write $rel"
      fail=1
    elif ! diff -u "$f" "$actual" > "$work/diff"; then
      echo "golden $name: $rel differs (expected vs actual):"
      head -40 "$work/diff"
      fail=1
    fi
  done < <(find "$case_dir/expected" -type f | sort)
  while IFS= read -r f; do
    rel=${f#"$OUT/"}
    if [ ! -f "$case_dir/expected/$rel" ]; then
      echo "golden $name: unexpected output file $rel"
      fail=1
    fi
  done < <(find "$OUT" -type f ! -name '*.weir-commit' | sort)
fi
if [ "$fail" != 0 ]; then
  echo "---- stderr of weir:"
  head -50 "$work/stderr"
  exit 1
fi
echo "golden $name: ok"
