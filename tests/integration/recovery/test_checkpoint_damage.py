#!/usr/bin/env python3
"""Checkpoints weir must not trust (spec §9, issue 7), the cases tests/integration/pg/test_checkpoint.py does
not cover (it has truncated, zero-length, one byte flipped, deleted):

- FutureVersion: the newest checkpoint says format version 3 — with a valid checksum, so only the version
  check can catch it. With a consistent previous checkpoint weir falls back to it (naming the version);
  when PostgreSQL already holds the newest batch it refuses to start.
- AnotherJob: the checkpoint in the job's directory was written by another job. With a different definition
  the fingerprint differs; with an identical definition (same source, fields, outputs) only the job name
  tells — weir must refuse rather than continue another job's state (its sinks have their own progress).

The treasury job from weirtest.py with the test clock (100 records per 1 s batch) and WEIR_TEST_CRASH_AT make
the checkpoints on disk known at each step.

usage: test_checkpoint_damage.py WEIR_BIN SOURCE_DIR [unittest args]
"""
import os
import random
import shutil
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("recovery-ckpt")
PG = None
START_MS = 1484148840000
CLOCK = {"WEIR_TEST_CLOCK": f"{START_MS}:10"}
LATER_CLOCK = {"WEIR_TEST_CLOCK": f"{START_MS + 600000}:10"}
MAGIC = b"WEIRCKPT"


def setUpModule():
    global PG
    PG = CTX.postgres()


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def set_format_version(test, path, version):
    """Rewrites the format version (a varint after the 8-byte magic, 2 today) and the CRC-32C trailer, so the
    file is intact except for its version. Checks first that the layout is what this function assumes."""
    with open(path, "rb") as f:
        data = f.read()
    test.assertEqual(data[:8], MAGIC)
    test.assertEqual(data[8], 2, "the current checkpoint format version is not 2")
    test.assertEqual(struct.unpack("<I", data[-4:])[0], crc32c(data[:-4]), "the trailer is not a CRC-32C")
    framed = data[:8] + bytes([version]) + data[9:-4]
    with open(path, "wb") as f:
        f.write(framed + struct.pack("<I", crc32c(framed)))


class Case(wt.unittest.TestCase):
    def crashed_job(self, name, point, input_dir=None):
        """The treasury job crashed at `point` of batch 5 (1050 records in two files); (weir, input)."""
        inp = wt.FilesInput(input_dir or CTX.path(name + "-in"))
        if not inp.records and not os.listdir(inp.dir):
            rng = random.Random(name)
            inp.add(wt.treasury_records(rng, 600))
            inp.add(wt.treasury_records(rng, 450))
        w = CTX.weir(CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="1s", once=True)))
        rc, log = w.run(env=dict(CLOCK, WEIR_TEST_CRASH_AT=f"{point}:5"), timeout=120)
        self.assertEqual(rc, 137, log)
        self.assertEqual([os.path.basename(p) for p in w.checkpoints(name)],
                         ["ckpt-000000000005.bin", "ckpt-000000000004.bin"])
        return w, inp

    def assert_refused(self, w, name, progress, *phrases):
        rc, log = w.run(env=LATER_CLOCK, timeout=120)
        self.assertEqual(rc, 1, log)
        self.assertIn("refusing to start", log)
        for p in phrases:
            self.assertIn(p, log)
        self.assertNotIn("starting fresh", log)
        self.assertNotIn("resuming from checkpoint", log)
        for out in ("totals", "flow"):
            self.assertEqual((PG.progress(name, out) or (0,))[0], progress, "a refused start wrote to PostgreSQL")
        return log


class FutureVersion(Case):
    def test_falls_back_to_the_previous_checkpoint(self):
        name = "future_fallback"
        w, inp = self.crashed_job(name, "after_checkpoint")
        self.assertEqual(PG.progress(name, "flow")[0], 4)
        set_format_version(self, w.checkpoints(name)[0], 3)
        inp.add(wt.treasury_records(random.Random(name), 200))
        rc, log = w.run(env=LATER_CLOCK, timeout=120)
        self.assertEqual(rc, 0, log)
        self.assertRegex(log, r"checkpoint \S*ckpt-000000000005.bin is unusable: checkpoint format version 3 "
                              r"is not supported")
        self.assertIn("resuming from checkpoint batch 4 ", log)
        wt.assert_treasury_oracle(self, PG, name, inp.records)

    def test_refused_when_the_sink_holds_the_newer_batch(self):
        name = "future_refused"
        w, _ = self.crashed_job(name, "after_commit")
        self.assertEqual(PG.progress(name, "flow")[0], 5)
        set_format_version(self, w.checkpoints(name)[0], 3)
        self.assert_refused(w, name, 5, "format version 3", "--reset-state")
        # Every checkpoint from the future: nothing usable at all.
        set_format_version(self, w.checkpoints(name)[1], 3)
        self.assert_refused(w, name, 5, "no usable checkpoint", "format version 3", "--reset-state")


class AnotherJob(Case):
    def copy_newest(self, src_job, dst_job, w_src, w_dst):
        """Replaces dst_job's newest checkpoint by src_job's newest (same file name: batch 5 in both)."""
        src = w_src.checkpoints(src_job)[0]
        dst = w_dst.checkpoints(dst_job)[0]
        self.assertEqual(os.path.basename(src), os.path.basename(dst))
        shutil.copyfile(src, dst)

    def test_checkpoint_of_a_job_with_another_definition_is_refused(self):
        wa, _ = self.crashed_job("other_a", "after_commit")
        # Job b reads another input directory: another source, so another fingerprint too.
        name = "other_b"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(name)
        inp.add(wt.treasury_records(rng, 600))
        inp.add(wt.treasury_records(rng, 450))
        wb, _ = self.crashed_job(name, "after_commit", inp.dir)
        self.copy_newest("other_a", name, wa, wb)
        self.assert_refused(wb, name, 5, "other_a", "--reset-state")

    def test_checkpoint_of_an_identical_job_with_another_name_is_refused(self):
        # Jobs c and d have the same source (one input directory), fields and outputs: equal fingerprints.
        wc, inp = self.crashed_job("twin_c", "after_commit")
        name = "twin_d"
        wd = CTX.weir(CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="1s", once=True)))
        os.makedirs(os.path.join(CTX.state_dir, name))
        for p in wc.checkpoints("twin_c"):
            shutil.copyfile(p, os.path.join(CTX.state_dir, name, os.path.basename(p)))
        # d has never committed anything: without the job check it would resume from c's state (batch 5, every
        # file read) and never write c's records to its own tables.
        log = self.assert_refused(wd, name, 0, "twin_c", "--reset-state")
        self.assertFalse(PG.table_exists("twin_d_flow") and PG.scalar("SELECT count(*) FROM twin_d_flow") != "0",
                         log)
        # --reset-state is the way out: d starts over and its tables equal the oracle.
        rc, log = wd.run(extra=["--reset-state"], env=CLOCK, timeout=120)
        self.assertEqual(rc, 0, log)
        wt.assert_treasury_oracle(self, PG, name, inp.records)


if __name__ == "__main__":
    wt.main(CTX)
