#!/usr/bin/env python3
"""kill -9 during the PostgreSQL COMMIT (spec §9; issue 6 "a commit whose outcome is unknown", issue 7).

How a COMMIT is held up: `synchronous_standby_names` names a standby that never connects, so every COMMIT
that wrote something is made durable in the WAL and then waits for that standby (wait event SyncRep). The
transaction is committed locally but not yet visible, its row locks are still held, and weir — which sent
COMMIT — has no answer: the outcome is in doubt. Then:

- KilledThenRestarted: weir is killed with SIGKILL while its COMMIT of batch b waits. A new weir starts while
  the old transaction is still in doubt (it blocks on the progress row the old one locked), then the hold is
  lifted: the old transaction commits, the new weir finds batch b in weir_progress and does not write it
  again. The table equals the oracle.
- KilledWithServerCrash: weir is killed and PostgreSQL crashes (pg_ctl stop -m immediate) while the COMMIT
  waits; crash recovery replays the commit from the WAL, so weir's restart finds batch b committed.
- ConnectionLostInCommit: weir keeps running but its backend is terminated while its COMMIT waits; weir gets
  an error instead of the COMMIT's answer, reconnects, reads weir_progress, logs that the batch did commit,
  and carries on without writing it twice.

The job is the sliding-window tweets job (tweets.py); the oracle is computed from the records written.

usage: test_indoubt_commit.py WEIR_BIN SOURCE_DIR [unittest args]
"""
import os
import random
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, HERE)
import weirtest as wt  # noqa: E402
import tweets as tw  # noqa: E402

CTX = wt.Context.from_argv("recovery-indoubt")
PG = None
TIMEOUT = 90


def setUpModule():
    global PG
    PG = CTX.postgres()


def hold_commits():
    PG.execute("ALTER SYSTEM SET synchronous_standby_names = 'weir_test_standby_that_never_comes'")
    PG.execute("SELECT pg_reload_conf()")


def release_commits(reload=True):
    PG.execute("ALTER SYSTEM RESET synchronous_standby_names")
    if reload:
        PG.execute("SELECT pg_reload_conf()")


def backends_waiting(event):
    return [int(r[0]) for r in PG.query(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND wait_event = '%s'" % event)]


class InDoubt(wt.unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(self.id())
        self.stream = tw.TweetStream(self.rng)
        self.name = self.id().rsplit(".", 1)[-1].lower()[:40]
        self.inp = wt.FilesInput(CTX.path(self.name + "-in"))
        self.w = CTX.weir(CTX.write_job(self.name, tw.pg_job_yaml(self.inp.dir, self.name)),
                          args=["--log-level", "debug"])
        self.addCleanup(self.w.kill9)
        self.addCleanup(lambda: release_commits() if PG.try_query("SELECT 1") else None)

    def progress(self):
        return PG.progress(self.name, "authors")[0]

    def run_until_commit_is_held(self):
        """First run consumes some input and stops; the next run's first batch (new input, so new rows)
        has its COMMIT held up. Returns the batch id in doubt."""
        self.inp.add(self.stream.take(300))
        self.w.start()
        wt.wait_consumed(PG, self.name, self.inp, outputs=tw.PG_OUTPUTS, timeout=TIMEOUT)
        self.assertEqual(self.w.stop(), 0, self.w.log())
        before = self.progress()
        hold_commits()
        self.inp.add(self.stream.take(300))
        self.w.start()
        wt.poll(lambda: backends_waiting("SyncRep"), TIMEOUT, "weir's COMMIT to wait for the standby")
        self.assertEqual(self.progress(), before, "the held COMMIT is visible already")
        return before + 1

    def finish_and_check(self):
        self.inp.add(self.stream.take(200))
        wt.wait_consumed(PG, self.name, self.inp, outputs=tw.PG_OUTPUTS, timeout=TIMEOUT)
        self.assertEqual(self.w.stop(), 0, self.w.log()[-4000:])
        self.assertEqual(tw.pg_tables(self, PG, self.name), tw.oracle(self.stream.records))
        self.assertNotIn("starting fresh", self.w.all_logs().split("==== run 2", 1)[1])

    def test_killed_then_restarted_while_in_doubt(self):
        doubt = self.run_until_commit_is_held()
        self.assertEqual(self.w.kill9(), -signal.SIGKILL)
        # The old backend still waits: its transaction is durable but in doubt, and holds the progress row.
        self.assertTrue(backends_waiting("SyncRep"), "the in-doubt transaction ended with its client")
        self.assertEqual(self.progress(), doubt - 1)
        self.w.start()
        wt.poll(lambda: PG.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0]
                != "0", TIMEOUT, "the restarted weir to wait for the in-doubt transaction's lock")
        release_commits()
        wt.poll(lambda: self.progress() >= doubt, TIMEOUT, "the in-doubt batch to become visible")
        # The restart found the in-doubt batch committed (in weir_progress, read once the lock was free) or,
        # had it read the progress row before, skips the batch when it rewrites it; either way it resumes
        # from the checkpoint of that batch, which was written before the COMMIT.
        self.w.wait_for_log(r"resuming from checkpoint batch %d " % doubt, TIMEOUT)
        self.finish_and_check()

    def test_killed_with_server_crash_while_in_doubt(self):
        doubt = self.run_until_commit_is_held()
        self.assertEqual(self.w.kill9(), -signal.SIGKILL)
        release_commits(reload=False)  # takes effect at the next server start
        PG.stop()  # immediate: a crash while the COMMIT waits
        PG.start()
        self.assertEqual(self.progress(), doubt, "crash recovery did not replay the durable COMMIT")
        self.w.start()
        self.w.wait_for_log(r"resuming from checkpoint batch %d " % doubt, TIMEOUT)
        self.finish_and_check()

    def test_connection_lost_during_commit_is_resolved_from_the_progress_table(self):
        doubt = self.run_until_commit_is_held()
        (pid,) = backends_waiting("SyncRep")
        PG.execute("SELECT pg_terminate_backend(%d)" % pid)
        self.w.wait_for_log(r"connection lost while committing batch %d\b" % doubt, TIMEOUT)
        self.w.wait_for_log(r"batch %d did commit before the connection was lost" % doubt, TIMEOUT)
        self.assertTrue(self.w.running(), "rc %s: %s" % (self.w.proc.poll(), self.w.log()[-6000:]))
        release_commits()
        self.finish_and_check()


if __name__ == "__main__":
    wt.main(CTX)
