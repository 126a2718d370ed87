#!/usr/bin/env python3
"""The checkpoint disk fills up while weir runs (spec §9; DELIVERY.md: the checkpoint precedes every commit).

The state directory lives on a small tmpfs (mounting one needs root; without it the test is skipped and says
so). When the tmpfs is full weir logs that it cannot write the checkpoint, commits nothing to PostgreSQL while
it cannot, keeps running, and once space is freed writes the checkpoint and catches up: the tables equal the
oracle exactly.

usage: test_disk_full.py WEIR_BIN SOURCE_DIR
"""
import errno
import os
import random
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-diskfull")
PG = None


def setUpModule():
    global PG
    PG = CTX.postgres()


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode == 0, (r.stderr or r.stdout).strip()


def fill(directory):
    """Appends to <directory>/filler until the file system is full; returns the path. Called again, it takes
    the blocks freed since (weir removing an old checkpoint), so the next checkpoint write must fail."""
    path = os.path.join(directory, "filler")
    chunk = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return path


class DiskFull(wt.unittest.TestCase):
    def test_full_checkpoint_disk_blocks_commits_until_space_is_freed(self):
        small = CTX.path("smallfs")
        ok, why = mount_tmpfs(small, "512k")
        if not ok:
            self.skipTest("cannot mount a tmpfs here (%s); run as root to test a full checkpoint disk" % why)
        name = "diskfull"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(31)
        inp.add(wt.treasury_records(rng, 500))
        w = CTX.weir(CTX.write_job(name, wt.treasury_job_text(name, inp.dir, batch="200ms")),
                     state_dir=os.path.join(small, "state"))
        w.start()
        try:
            wt.wait_consumed(PG, name, inp)
            filler = fill(small)
            inp.add(wt.treasury_records(rng, 400))
            # A checkpoint written while the filler grew may free an older one's blocks afterwards; keep
            # taking them until a write fails.
            rx = re.compile(r"cannot write checkpoint for batch \d+ \(.*No space left on device")
            t0 = time.monotonic()
            while not rx.search(w.log()) and time.monotonic() - t0 < 60 and w.running():
                fill(small)
                time.sleep(0.05)
            w.wait_for_log(rx.pattern, timeout=1, what="the checkpoint write error")
            # The 400 may all be committed before a write failed (a checkpoint written right after an old
            # one was removed can find space); records added now must wait for the disk.
            inp.add(wt.treasury_records(rng, 100))
            held = {o: PG.progress(name, o) for o in ("totals", "flow")}
            self.assertFalse(inp.consumed_by(held["flow"][1]))
            # While the disk stays full nothing is committed and weir keeps running.
            t0 = time.monotonic()
            while time.monotonic() - t0 < 2.0:
                self.assertEqual({o: PG.progress(name, o) for o in ("totals", "flow")}, held)
                self.assertTrue(w.running(), w.log()[-4000:])
                time.sleep(0.2)
            self.assertEqual(w.log().count("cannot write checkpoint"), 1, "logged more than once:\n" + w.log())
            os.remove(filler)
            inp.add(wt.treasury_records(rng, 100))
            wt.wait_consumed(PG, name, inp)
            self.assertRegex(w.log(), r"checkpoint for batch \d+ written")
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        wt.assert_treasury_oracle(self, PG, name, inp.records)


if __name__ == "__main__":
    wt.main(CTX)
