#!/usr/bin/env python3
"""Stopping and editing a job between runs (DELIVERY.md fault 6; spec §9).

7. SIGTERM mid-run → exit 0 promptly; what was committed is self-consistent (the running totals count exactly
   the lines the committed positions cover); a restart continues from there and the totals equal the oracle.
8. Job edited between runs: order_by / limit / having / sink changes and an added output are accepted and the
   running total continues; a changed group_by or where is refused with a message naming the output and
   mentioning --reset-state, and nothing is written.

usage: test_lifecycle.py WEIR_BIN SOURCE_DIR
"""
import os
import random
import re
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-lifecycle")
PG = None


def setUpModule():
    global PG
    PG = CTX.postgres()


def lines_covered(positions):
    return sum(int(p.get("aux", 0)) for p in positions)


class GracefulStop(wt.unittest.TestCase):
    def test_sigterm_mid_run_then_restart_continues_exactly(self):
        name = "sigterm"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(21)
        inp.add(wt.treasury_records(rng, 500))
        w = CTX.weir(CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="200ms")))
        w.start()
        try:
            wt.wait_consumed(PG, name, inp)
            # Input keeps arriving (a file every 50 ms) before, during and after the SIGTERM.
            stop_feeding = threading.Event()

            def feed():
                while not stop_feeding.is_set():
                    inp.add(wt.treasury_records(rng, 2000))
                    time.sleep(0.05)

            feeder = threading.Thread(target=feed)
            feeder.start()
            try:
                wt.poll(lambda: lines_covered(PG.progress(name, "flow")[1]) > 10000, 60,
                        "weir to be part-way through the input")
                t0 = time.monotonic()
                w.terminate()
                rc = w.wait(timeout=30)
                elapsed = time.monotonic() - t0
                time.sleep(0.3)
            finally:
                stop_feeding.set()
                feeder.join()
        finally:
            w.kill9()
        self.assertEqual(rc, 0, w.log()[-4000:])
        self.assertLess(elapsed, 10, "SIGTERM took %.1f s" % elapsed)
        stopped = re.search(r"Job 'sigterm' stopped: (\d+) records read", w.log())
        self.assertIsNotNone(stopped, w.log()[-4000:])
        # What PostgreSQL holds is exactly the records the committed positions cover.
        batch, positions = PG.progress(name, "totals")
        read = lines_covered(positions)
        self.assertEqual(PG.progress(name, "flow"), (batch, positions))
        self.assertLess(read, len(inp.records), "the stop came too late to be mid-run")
        totals, flow, dups = wt.treasury_tables(PG, name)
        self.assertEqual(totals, wt.tally(inp.records[:read]))
        self.assertEqual(flow, wt.tally(inp.records[:read]))
        self.assertEqual(dups, [])
        # The batch in flight at the SIGTERM was committed (DELIVERY.md F6): every record the stopped run read
        # is covered by the committed positions, none is left to be read again.
        self.assertEqual(int(stopped.group(1)), read,
                         "records read by the stopped run vs. covered by its committed positions")
        # Restart: continues exactly where it stopped, and reads only what was added since.
        inp.add(wt.treasury_records(rng, 300))
        w.start()
        try:
            w.wait_for_log(r"resuming from checkpoint batch %d " % batch)
            wt.wait_consumed(PG, name, inp)
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        restarted = re.search(r"Job 'sigterm' stopped: (\d+) records read", w.log())
        self.assertIsNotNone(restarted, w.log()[-4000:])
        self.assertEqual(int(restarted.group(1)), len(inp.records) - read, "records read after the restart")
        wt.assert_treasury_oracle(self, PG, name, inp.records)


class EditedJob(wt.unittest.TestCase):
    def test_state_neutral_edits_are_accepted_and_state_shaping_edits_refused(self):
        name = "edited"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(22)
        inp.add(wt.treasury_records(rng, 400))
        job = CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="200ms", once=True))
        w = CTX.weir(job)
        rc, log = w.run(timeout=120)
        self.assertEqual(rc, 0, log)
        wt.assert_treasury_oracle(self, PG, name, inp.records)

        # Accepted: order_by, limit, having on the totals; an extra sink on flow; an added output.
        inp.add(wt.treasury_records(rng, 300))
        text = wt.treasury_job_text(
            name, inp.dir, batch="200ms", once=True,
            totals_extra="    order_by: [amount desc]\n    limit: 100\n    having: \"transactions > 0\"",
            flow_extra="    order_by: [transactions desc]\n    limit: 50")
        text = text.replace(
            f"      postgres: {{ dsn: \"${{WEIR_PG_DSN}}\", table: {name}_flow, mode: append, create: true }}",
            f"      - postgres: {{ dsn: \"${{WEIR_PG_DSN}}\", table: {name}_flow, mode: append, create: true }}\n"
            f"      - file: {{ path: {CTX.path(name + '-flow.jsonl')} }}")
        text += ("  - name: added\n    aggregate: { n: count() }\n    to:\n"
                 f"      postgres: {{ dsn: \"${{WEIR_PG_DSN}}\", table: {name}_added, mode: append, create: true }}\n")
        # An added output whose where reads an undeclared path (an implicit field, spec §4) keeps the state too.
        text += ("  - name: added_path\n    where: \"memo.lang is null\"\n    aggregate: { n: count() }\n    to:\n"
                 f"      postgres: {{ dsn: \"${{WEIR_PG_DSN}}\", table: {name}_added_path, mode: append, "
                 "create: true }\n")
        with open(job, "w") as f:
            f.write(text)
        rc, log = w.run(timeout=120)
        self.assertEqual(rc, 0, log)
        self.assertRegex(log, r"resuming from checkpoint batch \d+ ")
        wt.assert_treasury_oracle(self, PG, name, inp.records)
        self.assertTrue(os.path.getsize(CTX.path(name + "-flow.jsonl")) > 0)
        # The added output starts empty: it counts only what this run read.
        self.assertEqual(PG.scalar(f"SELECT sum(n) FROM {name}_added"), "300")
        self.assertEqual(PG.scalar(f"SELECT sum(n) FROM {name}_added_path"), "300")
        progress = {o: PG.progress(name, o)[0] for o in ("totals", "flow")}

        # Refused: a changed group_by, a changed where, a where reading a new path.
        accepted = text
        for what, edited in [
            ("group_by", accepted.replace("  - name: totals\n    group_by: [branch, currency]",
                                          "  - name: totals\n    group_by: [currency, branch]", 1)),
            ("where", accepted.replace("  - name: totals\n", "  - name: totals\n    where: \"amount > 0\"\n", 1)),
            # A where reading a new (undeclared) path: the refusal names totals, not the job's fields.
            ("where path", accepted.replace("  - name: totals\n",
                                            "  - name: totals\n    where: \"memo.lang is null\"\n", 1)),
        ]:
            with self.subTest(what):
                self.assertNotEqual(edited, accepted)
                with open(job, "w") as f:
                    f.write(edited)
                rc, log = w.run(timeout=120)
                self.assertEqual(rc, 1, log)
                self.assertRegex(log, r"output\(s\) totals changed")
                self.assertIn("--reset-state", log)
                self.assertEqual({o: PG.progress(name, o)[0] for o in ("totals", "flow")}, progress)
        # Back to the accepted job: it still runs, nothing was lost.
        with open(job, "w") as f:
            f.write(accepted)
        inp.add(wt.treasury_records(rng, 50))
        rc, log = w.run(timeout=120)
        self.assertEqual(rc, 0, log)
        wt.assert_treasury_oracle(self, PG, name, inp.records)


if __name__ == "__main__":
    wt.main(CTX)
