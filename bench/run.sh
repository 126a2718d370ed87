#!/usr/bin/env bash
# The benchmark suite, one command: bash bench/run.sh [--no-kafka] [--no-profile]
# Installs what it needs, builds the release preset, generates (and caches) the inputs under build/bench-data,
# runs every workload and baseline (bench/bench.py), the batch latency at 80% load (bench/latency.py), the
# allocation check and a callgrind profile of W1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
data=$root/build/bench-data
args=()
profile=1
for a in "$@"; do
  case "$a" in
    --no-kafka) args+=(--no-kafka) ;;
    --no-profile) profile=0 ;;
    *) echo "usage: bash bench/run.sh [--no-kafka] [--no-profile]" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh bench
cmake --preset release >/dev/null
# ninja prints compile errors on stdout: keep it, and show it when the build fails.
mkdir -p "$data"
if ! cmake --build --preset release >"$data/build.log" 2>&1; then
  cat "$data/build.log" >&2
  echo "bench/run.sh: the release build failed (log above, also in $data/build.log)" >&2
  exit 1
fi
weir=$root/build/release/cmd/weir
broker=$root/build/release/bench/weir-mock-broker

gen() {  # gen KIND FILE N [K]
  [ -s "$data/$2" ] || { echo "generating $data/$2"; python3 bench/gen_data.py "$1" "$data/$2" "${@:3}"; }
}
gen treasury w1/treasury.jsonl 1000000
gen tweets w2/tweets.jsonl 100000
gen keys w3/keys.jsonl 1000000 1000000
if [ ! -s "$data/w1-100k/treasury.jsonl" ]; then
  mkdir -p "$data/w1-100k" && head -n 100000 "$data/w1/treasury.jsonl" > "$data/w1-100k/treasury.jsonl"
fi

rc=0
python3 bench/bench.py --weir "$weir" --broker "$broker" --data "$data" --json "$data/results.json" "${args[@]}" \
  || rc=$?

python3 bench/latency.py "$weir" "$data/latency" || rc=$?

if [ -x "$root/build/release/bench/weir-alloc-check" ]; then
  echo "Allocation check (W1 and a W2-like job, in-memory source):"
  "$root/build/release/bench/weir-alloc-check" 2>"$data/alloc-check.log" || rc=$?
fi

if [ "$profile" = 1 ]; then
  echo "Callgrind profile of W1 from a file source (100k records):"
  out=$data/callgrind.w1.out
  rm -rf "$data/state-cg"
  BENCH_IN=$data/w1-100k valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$weir" run bench/jobs/w1-treasury-file.yaml --state-dir "$data/state-cg" --reset-state \
    >/dev/null 2>"$data/callgrind.w1.log" || rc=$?
  total=$(grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}')
  echo "  instructions: $total total, $((total / 100000)) per record"
  callgrind_annotate --inclusive=no "$out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | head -15 | sed 's/^/  /'
fi
exit $rc
