#!/usr/bin/env python3
"""PostgreSQL faults while weir runs (DELIVERY.md fault 4): the tables still equal the oracle exactly.

- The server is stopped (immediate, like a crash) for ~10 s mid-run while input keeps arriving: weir keeps
  running, logs the outage once (not once per retry), and resumes when the server is back.
- Every client backend is killed with pg_terminate_backend every 500 ms for a few seconds.

usage: test_outage.py WEIR_BIN SOURCE_DIR
"""
import os
import random
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-outage")
PG = None


def setUpModule():
    global PG
    PG = CTX.postgres()


def treasury_job(name, input_dir, batch):
    return CTX.write_job(name, wt.treasury_job_text(name, input_dir, batch))


def wait_consumed(job, inp):
    wt.wait_consumed(PG, job, inp)


def committed(job, out="flow"):
    p = PG.progress(job, out)
    return p[0] if p else 0


class Outage(wt.unittest.TestCase):
    def test_server_stopped_for_ten_seconds(self):
        name = "outage"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(11)
        inp.add(wt.treasury_records(rng, 800))
        w = CTX.weir(treasury_job(name, inp.dir, batch="500ms")).start()
        try:
            wait_consumed(name, inp)
            before = committed(name)
            PG.stop()
            t_down = time.monotonic()
            # Input keeps arriving while the database is down.
            while time.monotonic() - t_down < 10:
                inp.add(wt.treasury_records(rng, rng.randint(50, 300)))
                time.sleep(1.0)
                self.assertTrue(w.running(), w.log()[-4000:])
            w.wait_for_log(r"sink unavailable", what="the outage warning")
            PG.start()
            wait_consumed(name, inp)
            self.assertGreater(committed(name), before)
            self.assertTrue(w.running(), w.log()[-4000:])
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        log = w.log()
        # Logged once per outage (per output at most), not once per retry.
        warnings = log.count("sink unavailable")
        self.assertGreaterEqual(warnings, 1, log)
        self.assertLessEqual(warnings, 2, log)
        self.assertIn("sink recovered", log)
        self.assertLess(len(log.splitlines()), 60, "the outage flooded the log:\n" + log)
        wt.assert_treasury_oracle(self, PG, name, inp.records)

    def test_backends_terminated_every_500ms(self):
        name = "terminated"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(12)
        inp.add(wt.treasury_records(rng, 500))
        w = CTX.weir(treasury_job(name, inp.dir, batch="200ms")).start()
        try:
            wait_consumed(name, inp)
            terminated = 0
            t0 = time.monotonic()
            while time.monotonic() - t0 < 5:
                inp.add(wt.treasury_records(rng, rng.randint(20, 200)))
                terminated += PG.terminate_backends()
                time.sleep(0.5)
                self.assertTrue(w.running(), w.log()[-4000:])
            self.assertGreater(terminated, 3, "no weir backend was ever terminated")
            wait_consumed(name, inp)
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        wt.assert_treasury_oracle(self, PG, name, inp.records)


if __name__ == "__main__":
    wt.main(CTX)
