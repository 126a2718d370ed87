#!/usr/bin/env bash
# Checkpoint cost for 1,000,000 groups of count+sum (issue 7 figure): bash bench/checkpoint_bench.sh [GROUPS]
# 1. weir-checkpoint-bench (bench/checkpoint_bench.cc): the batch loop's pause (State::save into the
#    checkpoint, handed to the writer thread), the background encode + write + fsync, bytes per group, the
#    synchronous total the loop paused for before the writer thread, restore time.
# 2. End to end: `weir run` on GROUPS records with distinct keys (window: total, count + sum), with the
#    executor's own per-checkpoint figures (debug log: loop pause vs writer time), then `weir checkpoint
#    show` of what it left. The checkpoint dir is under build/ (a real disk: fsync counts).
# Figures: docs/recovery-figures.md.
set -euo pipefail
cd "$(dirname "$0")/.."
groups=${1:-1000000}
cmake --preset release >/dev/null
cmake --build build/release -j2 --target weir-checkpoint-bench weir >/dev/null
work=$PWD/build/checkpoint-bench
rm -rf "$work" && mkdir -p "$work/in"
echo "== weir-checkpoint-bench, $groups groups (median of 5)"
build/release/bench/weir-checkpoint-bench "$work/ckpt" "$groups" 5

echo "== weir run, $groups distinct keys, window: total, count + sum"
python3 - "$work/in/keys.jsonl" "$groups" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write('{"key":"k%07d","v":%d}\n' % (i, i % 1000))
PY
cat > "$work/job.yaml" <<YAML
job: checkpoint-bench
batch: 1s
source: { files: { dir: "$work/in", pattern: "*.jsonl", once: true } }
fields:
  key: { path: key, type: string, required: true }
  v: { path: v, type: int, required: true }
outputs:
  - name: per-key
    group_by: [key]
    window: total
    aggregate: { n: count(), total: sum(v) }
    limit: 1
    to: { console: { rows: 1 } }
YAML
/usr/bin/time -f "  weir run: %e s wall, %M KB max RSS" build/release/cmd/weir run "$work/job.yaml" \
  --state-dir "$work/state" --log-level debug > /dev/null 2> "$work/run.log" || { cat "$work/run.log"; exit 1; }
grep -E 'finished|s wall' "$work/run.log" | sed 's/^/  /'
grep -E 'checkpoint for batch [0-9]+ written:' "$work/run.log" | sed 's/^.*: checkpoint/  checkpoint/'
build/release/cmd/weir checkpoint show "$work/state/checkpoint-bench" | sed 's/^/  /'
ls -l "$work/state/checkpoint-bench" | sed 's/^/  /'
rm -rf "$work"
