#!/usr/bin/env python3
"""Damaged or missing checkpoints while PostgreSQL holds progress (DELIVERY.md fault 2; spec §9).

weir either falls back to the previous checkpoint when that one is still consistent with what PostgreSQL has
committed (then the tables equal the oracle), or refuses to start (exit 1, a message naming --reset-state) —
never a silent fresh start. `--reset-state` starts over on purpose.

The runs use the test clock (100 records per 1 s batch) and the test-only crash hook, so the checkpoint files
present at each step are known:
- crash after_checkpoint at batch 5: ckpt-4 and ckpt-5 on disk, PostgreSQL at batch 4 → damaging ckpt-5
  leaves ckpt-4, which is consistent: fall back.
- crash after_commit at batch 5: ckpt-4 and ckpt-5 on disk, PostgreSQL at batch 5 → damaging ckpt-5 leaves
  ckpt-4, which is older than what PostgreSQL holds: refuse.

usage: test_checkpoint.py WEIR_BIN SOURCE_DIR
"""
import os
import random
import shutil
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-checkpoint")
PG = None
START_MS = 1484148840000
CLOCK = {"WEIR_TEST_CLOCK": f"{START_MS}:10"}
LATER_CLOCK = {"WEIR_TEST_CLOCK": f"{START_MS + 600000}:10"}


def setUpModule():
    global PG
    PG = CTX.postgres()


def truncate(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)


def zero(path):
    open(path, "wb").close()


def flip(path):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        data[len(data) // 2] ^= 0x01
        f.seek(0)
        f.write(data)


DAMAGE = {"truncated": truncate, "zero_length": zero, "one_byte_flipped": flip}


class Checkpoints(wt.unittest.TestCase):
    def crashed_job(self, name, point):
        """A job crashed at `point` of batch 5 (1050 records in two files); returns (weir, input)."""
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(name)
        inp.add(wt.treasury_records(rng, 600))
        inp.add(wt.treasury_records(rng, 450))
        w = CTX.weir(CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="1s", once=True)))
        rc, log = w.run(env=dict(CLOCK, WEIR_TEST_CRASH_AT=f"{point}:5"), timeout=120)
        self.assertEqual(rc, 137, log)
        self.assertEqual([os.path.basename(p) for p in w.checkpoints(name)],
                         ["ckpt-000000000005.bin", "ckpt-000000000004.bin"])
        return w, inp

    def assert_refused(self, w, name, progress_before):
        rc, log = w.run(env=LATER_CLOCK, timeout=120)
        self.assertEqual(rc, 1, log)
        self.assertIn("--reset-state", log)
        self.assertIn("refusing to start", log)
        self.assertNotIn("starting fresh", log)
        for out in ("totals", "flow"):
            self.assertEqual(PG.progress(name, out)[0], progress_before, "a refused start wrote to PostgreSQL")

    def test_damaged_newest_checkpoint_falls_back_to_the_consistent_previous_one(self):
        for kind, damage in DAMAGE.items():
            with self.subTest(kind):
                name = "fallback_" + kind
                w, inp = self.crashed_job(name, "after_checkpoint")
                self.assertEqual(PG.progress(name, "flow")[0], 4)
                damage(w.checkpoints(name)[0])
                inp.add(wt.treasury_records(random.Random(kind), 200))
                rc, log = w.run(env=LATER_CLOCK, timeout=120)
                self.assertEqual(rc, 0, log)
                self.assertRegex(log, r"checkpoint \S*ckpt-000000000005.bin is unusable")
                self.assertIn("resuming from checkpoint batch 4 ", log)
                wt.assert_treasury_oracle(self, PG, name, inp.records)

    def test_damaged_checkpoint_without_a_consistent_fallback_is_refused(self):
        for kind, damage in DAMAGE.items():
            with self.subTest(kind):
                name = "refused_" + kind
                w, inp = self.crashed_job(name, "after_commit")
                self.assertEqual(PG.progress(name, "flow")[0], 5)
                damage(w.checkpoints(name)[0])
                self.assert_refused(w, name, 5)
                # The only checkpoint damaged (after a clean finish): refused too.
                os.remove(w.checkpoints(name)[1])
                self.assert_refused(w, name, 5)

    def test_deleted_checkpoint_dir_is_refused_and_reset_state_starts_over(self):
        name = "deleted"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(name)
        inp.add(wt.treasury_records(rng, 700))
        w = CTX.weir(CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="1s", once=True)))
        rc, log = w.run(env=CLOCK, timeout=120)
        self.assertEqual(rc, 0, log)
        wt.assert_treasury_oracle(self, PG, name, inp.records)
        committed = PG.progress(name, "flow")[0]
        shutil.rmtree(os.path.join(CTX.state_dir, name))
        self.assert_refused(w, name, committed)
        self.assertIn("there is no checkpoint", w.log())

        # --reset-state: empty state, every file read again from the start, batch ids continue above what
        # PostgreSQL holds. The upserted running totals are simply recomputed (equal to the tally again);
        # the append table gets every per-batch sum a second time: duplicates the user asked for.
        rc, log = w.run(extra=["--reset-state"], env=dict(WEIR_TEST_CLOCK=f"{START_MS + 1200000}:10"), timeout=120)
        self.assertEqual(rc, 0, log)
        self.assertIn("--reset-state", log)
        self.assertGreater(PG.progress(name, "flow")[0], committed)
        expected = wt.tally(inp.records)
        totals, flow, dups = wt.treasury_tables(PG, name)
        self.assertEqual(totals, expected)
        self.assertEqual(flow, {k: (2 * a, 2 * n) for k, (a, n) in expected.items()})
        self.assertEqual(dups, [])  # the second pass has its own window_end values
        # And the restarted state is usable: a normal restart after more input continues from it.
        inp.add(wt.treasury_records(rng, 100))
        rc, log = w.run(env=dict(WEIR_TEST_CLOCK=f"{START_MS + 1800000}:10"), timeout=120)
        self.assertEqual(rc, 0, log)
        totals, _, _ = wt.treasury_tables(PG, name)
        self.assertEqual(totals, wt.tally(inp.records))


if __name__ == "__main__":
    wt.main(CTX)
