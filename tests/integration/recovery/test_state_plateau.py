#!/usr/bin/env python3
"""DELIVERY.md fault 7 at a size the suite can afford: many distinct keys over moving event time, and the
checkpoint and the process's memory stop growing once the window is full.

A files source (not `once`) gets ten files, one at a time, of 100,000 records each; every record has a key
never seen before (1,000,000 distinct keys in all) and event time moves 10 s per file. The output counts and
sums per key over `{sliding: 20s, every: 2s}`, so about 200,000 keys are live at any time; it writes the top 5
of each window. After each file the newest checkpoint's size and the process's VmRSS are taken. From the
fourth file on (the window full) both must stay flat: a state that kept expired keys, or a checkpoint that
kept them, would grow by ~100,000 keys per file.

usage: test_state_plateau.py WEIR_BIN SOURCE_DIR [unittest args]
"""
import glob
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("recovery-plateau")
T0 = 1484148840000  # 2017-01-11T15:34:00Z
FILES, PER_FILE, STEP_MS = 10, 100000, 10000


class Plateau(wt.unittest.TestCase):
    def test_checkpoint_and_rss_stay_flat_over_a_million_keys(self):
        inp, out = CTX.path("in"), CTX.path("top.jsonl")
        os.makedirs(inp)
        job = CTX.write_job("plateau", f"""
job: plateau
batch: 200ms
time: {{ event: ts, lateness: 0s }}
source: {{ files: {{ dir: "{inp}", pattern: "*.jsonl" }} }}
fields:
  key: {{ path: k, type: string }}
  ts: {{ path: ts, type: int }}
  v: {{ path: v, type: int }}
outputs:
  - name: top
    group_by: [key]
    window: {{ sliding: 20s, every: 2s }}
    aggregate: {{ n: count(), s: sum(v) }}
    order_by: [s desc]
    limit: 5
    to: {{ file: {{ path: "{out}" }} }}
""")
        state = CTX.path("state")
        w = CTX.weir(job, state).start()
        ckpt, rss = [], []
        try:
            for f in range(FILES):
                base = T0 + f * STEP_MS
                tmp = os.path.join(inp, "part-%02d.tmp" % f)
                with open(tmp, "w") as fh:
                    for i in range(PER_FILE):
                        ts = base + i * STEP_MS // PER_FILE
                        fh.write('{"k":"key-%07d","ts":%d,"v":%d}\n' % (f * PER_FILE + i, ts, i % 1000))
                os.rename(tmp, os.path.join(inp, "part-%02d.jsonl" % f))
                # The file is in the state once the watermark (its last event time) has closed the windows
                # ending up to it; the windows end on multiples of 2 s.
                last_end = (base + (PER_FILE - 1) * STEP_MS // PER_FILE) // 2000 * 2000

                def emitted():
                    if not w.running():
                        raise AssertionError("weir exited:\n" + w.log()[-4000:])
                    if not os.path.exists(out):
                        return False
                    with open(out) as fh:
                        ends = [json.loads(line)["window_end"] for line in fh if line.strip()]
                    return ends and max(ends) >= wt_iso(last_end)

                wt.poll(emitted, 120, "the windows of file %d" % f, interval=0.2)
                # Two more batches: the checkpoint of the batch that closed them is written after it.
                wt.poll(lambda: newest_checkpoint(state) is not None, 30, "a checkpoint")
                ckpt.append(os.path.getsize(newest_checkpoint(state)))
                rss.append(w.rss_kb())
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        print("checkpoint bytes per file:", ckpt)
        print("VmRSS kB per file:", rss)
        full = ckpt[3:]
        # ~200,000 live keys: each file adds 100,000 keys and retires as many; 100,000 more keys would add
        # ~2 MB to the checkpoint (~20 B per group) — far above this band.
        self.assertLessEqual(max(full), 1.25 * min(full), "the checkpoint kept growing: %s" % ckpt)
        self.assertLessEqual(rss[-1], 1.5 * max(rss[3:6]), "the process kept growing: %s kB" % rss)


def wt_iso(ms):
    """window_end as the file sink writes it (RFC 3339 with milliseconds, UTC): comparable as text."""
    import datetime
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def newest_checkpoint(state):
    files = glob.glob(os.path.join(state, "plateau", "ckpt-*.bin"))
    return max(files) if files else None


if __name__ == "__main__":
    wt.main(CTX)
