#!/usr/bin/env python3
"""Batch time at 80% of peak load (issue 9: p99 batch processing time <= 10 ms with a 100 ms batch).

usage: latency.py WEIR_BIN WORK_DIR [SECONDS]

1. Peak: the W1 treasury job (sum and count per branch/currency, 100 ms batches) on the generator source at
   `rate: max` for 3,000,000 records: records/s over the run's wall time.
2. Load: the same job at 80% of that rate for SECONDS (default 20), with --log-level debug. weir logs one line
   per batch: "batch N closed in C us, L us after its end" -- C is the time to close the batch (emit every
   output, write the sinks, hand over the checkpoint), L the time from the batch's end boundary until that
   close is done: what a reader of the output waits beyond the batch interval. Prints the distribution of
   both (p50, p90, p99, p99.9, max) over the batches after the first second (warm-up).
"""
import os
import re
import subprocess
import sys

LINE = re.compile(r"batch (\d+) closed in (\d+) us, (-?\d+) us after its end")


def job(path, rate, limit):
    with open(path, "w") as f:
        f.write(f"""
job: latency
batch: 100ms
source:
  generate:
    rate: {rate}
    limit: {limit}
    seed: 7
    template:
      branch: {{ one_of: [Kazan, SPB, Novosibirsk, Surgut, Moscow, Omsk, Tomsk, Perm] }}
      currency: {{ one_of: [RUB, USD, EUR, GBP, CNY] }}
      amount: {{ int: [-100000, 100000] }}
      account: {{ int: [1, 1000000] }}
      note: {{ words: [wire, cash, card, fee, refund, transfer], min: 2, max: 6 }}
fields:
  branch: {{ path: branch, type: string, required: true }}
  currency: {{ path: currency, type: string, required: true }}
  amount: {{ path: amount, type: int, required: true }}
outputs:
  - name: flow
    group_by: [branch, currency]
    aggregate: {{ amount: sum(amount), transactions: count() }}
    to: console
""")


def run(weir, job_path, state, debug):
    cmd = ["/usr/bin/time", "-f", "TIME %e %U %S %M", weir, "run", job_path, "--state-dir", state, "--reset-state"]
    if debug:
        cmd += ["--log-level", "debug"]
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    t = [l for l in p.stderr.splitlines() if l.startswith("TIME ")][-1].split()
    return p.stderr, float(t[1]), float(t[2]) + float(t[3]), int(t[4]) / 1024.0


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def main():
    weir, work = sys.argv[1], sys.argv[2]
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.makedirs(work, exist_ok=True)
    jp, state = os.path.join(work, "latency.yaml"), os.path.join(work, "state")
    n_peak = 3_000_000
    job(jp, "max", n_peak)
    _, wall, cpu, rss = run(weir, jp, state, False)
    peak = n_peak / wall
    print("Batch latency (W1 job on the generator, batch 100 ms)")
    print("  peak: %.0f rec/s (%d records in %.2f s wall, %.2f CPU-s, RSS %.1f MB)" % (peak, n_peak, wall, cpu, rss))
    rate = int(peak * 0.8)
    job(jp, "%d/s" % rate, rate * seconds)
    log, wall, cpu, rss = run(weir, jp, state, True)
    batches = [(int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in map(LINE.search, log.splitlines()) if m]
    if len(batches) < 20:
        print("  FAILED: only %d batch lines in the log (expected ~%d)" % (len(batches), seconds * 10))
        return 1
    steady = batches[10:]  # the first second is warm-up (page faults, first groups)
    close = sorted(b[1] for b in steady)
    lag = sorted(b[2] for b in steady)
    print("  load: %d rec/s (80%%) for %d s: %d batches, %.2f CPU-s over %.1f s wall (%.0f%% of one core), RSS %.1f MB" % (
        rate, seconds, len(batches), cpu, wall, 100 * cpu / wall, rss))
    for name, vals in (("close", close), ("after end", lag)):
        print("  batch %-9s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  max %6.2f ms" % (
            name, pct(vals, 50) / 1e3, pct(vals, 90) / 1e3, pct(vals, 99) / 1e3, pct(vals, 99.9) / 1e3,
            vals[-1] / 1e3))
    p99 = pct(lag, 99) / 1e3
    print("  p99 batch time %.2f ms: %s (target <= 10 ms)" % (p99, "met" if p99 <= 10 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
