#!/usr/bin/env python3
"""kill -9 recovery into PostgreSQL (DELIVERY.md fault 1; spec §9): the tables equal the oracle exactly.

A files source (input written from Python) feeds two outputs: a running total upserted per (branch, currency)
and per-batch sums appended. The oracle is the Python tally of every record written.

- RandomKills: weir is killed with SIGKILL at 20 random instants (0.2–2 s after each start) while input keeps
  arriving, and restarted each time with the same --state-dir.
- NamedCrashPoints: the test-only hook WEIR_TEST_CRASH_AT=<point>:<batch> (docs/semantics.md) makes weir die
  before the checkpoint, halfway through writing it, after it but before the COMMIT, and after the COMMIT; the
  test clock (WEIR_TEST_CLOCK) makes the batches deterministic, so the state at each point is checked too.

usage: test_crash.py WEIR_BIN SOURCE_DIR
"""
import os
import random
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-crash")
PG = None


def setUpModule():
    global PG
    PG = CTX.postgres()


def treasury_job(name, input_dir, batch="200ms", once=False):
    return CTX.write_job(name, wt.treasury_job_text(name, input_dir, batch, once))


def assert_tables_equal_oracle(test, name, records):
    wt.assert_treasury_oracle(test, PG, name, records)


def wait_consumed(job, inp, timeout=90):
    wt.wait_consumed(PG, job, inp, timeout=timeout)


class RandomKills(wt.unittest.TestCase):
    def test_twenty_random_kills_while_input_arrives(self):
        name = "killed"
        inp = wt.FilesInput(CTX.path("killed-in"))
        rng = random.Random(7)
        inp.add(wt.treasury_records(rng, 500))
        w = CTX.weir(treasury_job(name, inp.dir))
        kills = 0
        try:
            for i in range(20):
                w.start()
                delay = rng.uniform(0.2, 2.0)
                add_at = rng.uniform(0, delay)
                t0 = time.monotonic()
                time.sleep(add_at)
                inp.add(wt.treasury_records(rng, rng.randint(1, 400)))
                time.sleep(max(0.0, delay - (time.monotonic() - t0)))
                self.assertTrue(w.running(), f"weir exited by itself (rc {w.proc.returncode}) in run {i + 1}:\n"
                                + w.log()[-8000:])
                self.assertEqual(w.kill9(), -signal.SIGKILL)
                kills += 1
            # Last run: let it consume everything, then stop it gracefully.
            w.start()
            inp.add(wt.treasury_records(rng, 300))
            wait_consumed(name, inp)
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        except AssertionError:
            sys.stderr.write(w.all_logs()[-20000:])
            raise
        finally:
            w.kill9()
        self.assertEqual(kills, 20)
        # Each restart resumed: none of the runs started over from empty state.
        self.assertNotIn("starting fresh", w.all_logs().split("==== run 2", 1)[1])
        assert_tables_equal_oracle(self, name, inp.records)


class NamedCrashPoints(wt.unittest.TestCase):
    """Crash at batch 5 of a deterministic run (100 records per batch), restart, finish: ≡ oracle."""

    START_MS = 1484148840000
    STEP_MS = 10
    CRASH_BATCH = 5

    def crash_and_recover(self, point):
        name = "crash_" + point
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(point)
        inp.add(wt.treasury_records(rng, 600))
        inp.add(wt.treasury_records(rng, 450))
        job = treasury_job(name, inp.dir, batch="1s", once=True)
        w = CTX.weir(job)
        rc, log = w.run(env={"WEIR_TEST_CLOCK": f"{self.START_MS}:{self.STEP_MS}",
                             "WEIR_TEST_CRASH_AT": f"{point}:{self.CRASH_BATCH}"}, timeout=120)
        self.assertEqual(rc, 137, log)
        self.assertIn("WEIR_TEST_CRASH_AT", log)
        ckdir = os.path.join(CTX.state_dir, name)
        files = sorted(os.listdir(ckdir))
        committed = {out: PG.progress(name, out)[0] for out in ("totals", "flow")}
        b = self.CRASH_BATCH
        # What each point leaves behind.
        if point == "before_checkpoint":
            self.assertEqual(files, [f"ckpt-{b - 1:012d}.bin"])
            self.assertEqual(committed, {"totals": b - 1, "flow": b - 1})
        elif point == "mid_checkpoint":
            self.assertEqual(files, [f"ckpt-{b - 1:012d}.bin", f"ckpt-{b:012d}.bin.tmp"])
            self.assertEqual(committed, {"totals": b - 1, "flow": b - 1})
        elif point == "after_checkpoint":
            self.assertEqual(files, [f"ckpt-{b - 1:012d}.bin", f"ckpt-{b:012d}.bin"])
            self.assertEqual(committed, {"totals": b - 1, "flow": b - 1})
        else:
            self.assertEqual(files, [f"ckpt-{b - 1:012d}.bin", f"ckpt-{b:012d}.bin"])
            self.assertEqual(committed, {"totals": b, "flow": b})
        # The rows PostgreSQL holds so far are exactly the first (committed) batches: records 1..100*committed.
        first = inp.records[:100 * committed["flow"]]
        flow = {(bb, c): (int(a), int(n)) for bb, c, a, n in PG.query(
            f"SELECT branch, currency, sum(amount), sum(transactions) FROM {name}_flow GROUP BY 1, 2")}
        self.assertEqual(flow, wt.tally(first))
        # More input arrives while weir is down; restart later in (test) time, without the crash point.
        inp.add(wt.treasury_records(rng, 250))
        rc, log = w.run(env={"WEIR_TEST_CLOCK": f"{self.START_MS + 600000}:{self.STEP_MS}"}, timeout=120)
        self.assertEqual(rc, 0, log)
        self.assertNotIn("starting fresh", log)
        resumed = b if point in ("after_checkpoint", "after_commit") else b - 1
        self.assertRegex(log, f"resuming from checkpoint batch {resumed} ")
        assert_tables_equal_oracle(self, name, inp.records)
        self.assertEqual([f for f in os.listdir(ckdir) if f.endswith(".tmp")], [])

    def test_before_checkpoint(self):
        self.crash_and_recover("before_checkpoint")

    def test_mid_checkpoint(self):
        self.crash_and_recover("mid_checkpoint")

    def test_after_checkpoint_before_commit(self):
        self.crash_and_recover("after_checkpoint")

    def test_after_commit(self):
        self.crash_and_recover("after_commit")


if __name__ == "__main__":
    wt.main(CTX)
