#!/usr/bin/env python3
"""A hard stop (a second SIGTERM) on a hung disk (docs/operations.md, "Stopping").

A hung disk is simulated by an LD_PRELOAD shim (tests/tools/weir-hang-fsync.c): fsync() under one directory
sleeps 60 s. A job reads files into an exactly-once file sink.

- CheckpointDisk: the checkpoint directory hangs. The first SIGTERM (graceful) waits for the checkpoint, as
  it always has; the second makes weir exit within a couple of seconds (1 s for the disk) with exit code 1 and the log line
  "the checkpoint write for batch N is abandoned". The previous checkpoint is still the newest and intact,
  the sink has only what was committed before, and a restart (without the shim) resumes from that checkpoint:
  every record once in the sink.
- SinkDisk: the sink's directory hangs (the batch loop itself is blocked in the sink's fsync). The second
  SIGTERM makes weir exit after its grace period (3 s) with exit code 1, saying so; a restart writes every
  record exactly once (the sink drops its torn tail).

usage: test_hard_stop.py WEIR_BIN SOURCE_DIR HANG_FSYNC_SHIM [TestCase]
"""
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("hard-stop")
SHIM = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else None


def job_text(input_dir, out_path):
    return f"""
batch: 200ms
source: {{ files: {{ dir: {input_dir}, pattern: "*.jsonl" }} }}
fields: {{ id: {{ path: id, type: int }} }}
outputs:
  - name: copy
    to: {{ file: {{ path: {out_path} }} }}
"""


def ids(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line)["id"] for line in f if line.endswith("\n")]  # not a line being written


class Case(wt.unittest.TestCase):
    def setUp(self):
        self.assertIsNotNone(SHIM, "usage: test_hard_stop.py WEIR_BIN SOURCE_DIR HANG_FSYNC_SHIM")
        name = self.id().split(".")[-2].lower()
        self.name = name
        self.inp = wt.FilesInput(CTX.path(name + "-in"))
        self.out_dir = os.path.realpath(os.path.join(CTX.root, name + "-out"))
        os.makedirs(self.out_dir, exist_ok=True)
        self.out = os.path.join(self.out_dir, "copy.jsonl")
        self.w = CTX.weir(CTX.write_job(name, job_text(self.inp.dir, self.out)))
        self.ckdir = os.path.realpath(os.path.join(self.w.state_dir, name))

    def first_run(self):
        """Run 1, no shim: records 0-99 into the sink, then a graceful stop (exit 0)."""
        self.inp.add([{"id": i} for i in range(100)])
        self.w.start()
        wt.poll(lambda: len(ids(self.out)) == 100, what="records 0-99 in the sink")
        self.assertEqual(self.w.stop(), 0, self.w.log())
        before = self.w.checkpoints(self.name)
        self.assertTrue(before)
        return before

    def hard_stop(self, grace):
        """SIGTERM (graceful: still waiting after 1 s), then SIGTERM again: exit 1 within `grace` s."""
        self.w.terminate()
        time.sleep(1)
        self.assertTrue(self.w.running(), "a graceful stop no longer waits for the disk:\n" + self.w.log())
        t0 = time.monotonic()
        self.w.terminate()
        rc = self.w.wait(timeout=30)
        took = time.monotonic() - t0
        self.assertEqual(rc, 1, self.w.log())
        self.assertLess(took, grace, self.w.log())
        return self.w.log()

    def restart_and_check(self, resume_log):
        """Run 3, no shim: every record once in the sink."""
        self.w.start()
        # Rows the checkpoint holds go to the sink before the job logs that it started (the sink first drops an
        # uncommitted tail, which may hold the same records).
        self.w.wait_for_log(r"Job '\S+' started")
        wt.poll(lambda: len(ids(self.out)) >= 200, what="records 0-199 in the sink")
        time.sleep(0.5)  # a few more batches: nothing more may come
        self.assertEqual(self.w.stop(), 0, self.w.log())
        self.assertIn(resume_log, self.w.log())
        self.assertEqual(sorted(ids(self.out)), list(range(200)))


class CheckpointDisk(Case):
    def test_second_sigterm_abandons_the_checkpoint_write(self):
        before = self.first_run()
        newest = os.path.basename(before[0])
        batch = int(re.search(r"ckpt-(\d+)\.bin", newest).group(1))
        with open(before[0], "rb") as f:
            newest_bytes = f.read()
        # Run 2: the checkpoint disk hangs; records 100-199 are read, their checkpoint is never durable.
        self.inp.add([{"id": i} for i in range(100, 200)])
        self.w.start(env={"LD_PRELOAD": SHIM, "WEIR_TEST_HANG_FSYNC": self.ckdir})
        wt.poll(lambda: any(".bin.tmp" in n for n in os.listdir(self.ckdir)), what="a checkpoint write in flight")
        log = self.hard_stop(grace=3)
        self.assertRegex(log, r"the checkpoint write for batch \d+ is abandoned")
        self.assertEqual(self.w.checkpoints(self.name)[0], before[0], "a checkpoint appeared after the hard stop")
        with open(before[0], "rb") as f:
            self.assertEqual(f.read(), newest_bytes)
        self.assertEqual(sorted(ids(self.out)), list(range(100)), "the sink took an uncheckpointed batch")
        self.restart_and_check(f"resuming from checkpoint batch {batch} ")


class SinkDisk(Case):
    def test_second_sigterm_exits_while_a_sink_hangs(self):
        before = self.first_run()
        self.inp.add([{"id": i} for i in range(100, 200)])
        self.w.start(env={"LD_PRELOAD": SHIM, "WEIR_TEST_HANG_FSYNC": self.out_dir})
        # A batch of this run is checkpointed; the sink's write of it then hangs in an fsync, on the batch loop.
        wt.poll(lambda: self.w.checkpoints(self.name)[0] != before[0], what="a checkpoint of run 2")
        time.sleep(0.5)
        log = self.hard_stop(grace=3 + 2)
        self.assertIn("did not end within 3000 ms of the second stop signal", log)
        self.restart_and_check("resuming from checkpoint batch ")


if __name__ == "__main__":
    wt.main(CTX)
