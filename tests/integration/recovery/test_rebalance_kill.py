#!/usr/bin/env python3
"""kill -9 during a consumer-group rebalance (DELIVERY.md fault 1, issue 7), into PostgreSQL.

weir reads a 4-partition topic in consumer group G and writes, exactly-once, a running count per author
(upsert) and a copy of every record (append) to PostgreSQL. Once it has committed some batches, a second
member (kcat, which also commits group offsets of its own) joins G, so weir's partitions are revoked.
weir is killed (WEIR_TEST_CRASH_AT, an immediate _exit like kill -9) at one of two points of that
rebalance:

- `rebalance:1`: the revocation has reached the engine, the batch in flight is not committed;
- `rebalance_committed:1`: that batch is committed everywhere, the partitions are not yet handed over.

Then the other member leaves, more records arrive, and weir is started again. The result must equal the
oracle computed here from what was produced: the copy table holds every record exactly once (no duplicate
(partition, offset), none missing) and the count table equals a plain tally. weir positions its partitions
from its checkpoint, never from the group offsets the other member committed.

Lost partitions (audit 8, finding 1): OffsetCommits fail, the last with UNKNOWN_MEMBER_ID, so librdkafka
reports the assignment lost while the group offsets lag; weir is stopped (SIGTERM, or kill -9) while the
partitions are unassigned and started again. Its checkpoints keep the positions of the partitions it no
longer owns, so the restart does not read the records of the failed commits again.

usage: test_rebalance_kill.py WEIR_BIN SOURCE_DIR MOCK_BROKER_BIN [unittest args]
"""
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "kafka"))
import weirtest as wt  # noqa: E402
import kafkatest as kt  # noqa: E402

CTX = wt.Context.from_argv("recovery-rebalance")
BROKER_BIN = sys.argv.pop(1) if len(sys.argv) > 1 and os.path.isfile(sys.argv[1]) else None
TIMEOUT = 120
AUTHORS = ["ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"]
# Short group timeouts (TESTING.md): a member killed with -9 stays in the group until its session times out, and
# librdkafka's mock cluster then waits session.timeout.ms - 1 s more for the members to rejoin; with 3 s instead
# of 6 s each restart here waits ~7 s instead of ~16 s (heartbeats every 300 ms keep a live member in).
SESSION_MS, HEARTBEAT_MS = 3000, 300
PROPS = "{ session.timeout.ms: %d, max.poll.interval.ms: 10000, heartbeat.interval.ms: %d }" % (SESSION_MS,
                                                                                                   HEARTBEAT_MS)


def job_yaml(name, bootstrap):
    return f"""
job: {name}
batch: 300ms
source:
  kafka: {{ brokers: "{bootstrap}", topics: [tweets], group: {name}, start: earliest, properties: {PROPS} }}
fields:
  id: {{ path: id, type: int }}
  author: {{ path: user.screen_name, type: string, required: true }}
outputs:
  - name: counts
    group_by: [author]
    window: total
    aggregate: {{ tweets: count() }}
    to: {{ postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: {name}_counts, mode: upsert, key: [author], create: true }} }}
  - name: copy
    select: {{ id: id, author: author, part: _partition, off: _offset }}
    to: {{ postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: {name}_copy, mode: append, create: true }} }}
"""


class RebalanceKill(wt.unittest.TestCase):
    def setUp(self):
        if BROKER_BIN is None:
            self.fail("needs MOCK_BROKER_BIN as the third argument")
        self.broker = kt.Broker(BROKER_BIN, 1, ["tweets:4"])
        self.pg = CTX.postgres()
        self.rng = random.Random(self.id())
        self.produced = []
        self.intruder = None

    def tearDown(self):
        self.stop_intruder()
        self.broker.close()

    def produce(self, n):
        first = len(self.produced)
        batch = [kt.tweet(first + i, self.rng.choice(AUTHORS)) for i in range(n)]
        kt.produce(self.broker.bootstrap, "tweets",
                   ["%s|%s" % (t["user"]["screen_name"], json.dumps(t)) for t in batch])
        self.produced += batch

    def copied(self, name):
        rows = self.pg.try_query("SELECT id, part, off FROM %s_copy" % name) or []
        return [(int(i), int(p), int(o)) for i, p, o in rows]

    def start_intruder(self, group):
        """A second member of the group: kcat's balanced consumer (it commits offsets of its own)."""
        self.intruder = subprocess.Popen(
            ["kcat", "-b", self.broker.bootstrap, "-G", group, "tweets", "-q", "-o", "beginning",
             "-X", "session.timeout.ms=%d" % SESSION_MS,
             "-X", "heartbeat.interval.ms=%d" % HEARTBEAT_MS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_intruder(self):
        if self.intruder is not None and self.intruder.poll() is None:
            self.intruder.terminate()  # kcat leaves the group and commits on SIGTERM
            try:
                self.intruder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.intruder.kill()
                self.intruder.wait()
        self.intruder = None

    def run_case(self, point):
        name = "rk_" + point
        w = CTX.weir(CTX.write_job(name, job_yaml(name, self.broker.bootstrap)), state_dir=CTX.path(name + "-state"))
        try:
            self.produce(300)
            w.start(env={"WEIR_TEST_CRASH_AT": point + ":1"})
            wt.poll(lambda: w.running() and len(self.copied(name)) >= 300, TIMEOUT,
                    "weir to copy the first 300 records")
            self.start_intruder(name)
            # Records keep arriving while the group rebalances, so a batch is in flight when the revocation
            # reaches the engine.
            deadline = time.monotonic() + 60
            while w.running() and time.monotonic() < deadline:
                self.produce(20)
                time.sleep(0.2)
            self.assertFalse(w.running(), "weir was not stopped at %s:1 within 60 s:\n%s" % (point, w.log()[-4000:]))
            w.wait()
            self.assertIn("WEIR_TEST_CRASH_AT: exiting", w.log(), w.log()[-4000:])
            self.assertIn("partitions are being revoked", w.log())
            self.stop_intruder()
            self.produce(200)
            w.start()
            self.copy_all_and_stop(w, name)
        except AssertionError:
            sys.stderr.write(w.all_logs()[-20000:])
            raise
        finally:
            w.kill9()
        self.assertIn("resuming from checkpoint batch", w.log())
        self.check_oracle(name)
        print("%s: %d records, every one copied once, counts equal the tally" % (point, len(self.produced)))

    def copy_all_and_stop(self, w, name):
        """Waits until the restarted weir has copied every record produced, gives a duplicate one second more
        to show up (it would come in the next batches), and stops it (exit 0)."""
        n = len(self.produced)
        wt.poll(lambda: w.running() and len(self.copied(name)) >= n, TIMEOUT,
                "the restarted weir to copy all %d records" % n, interval=0.3)
        time.sleep(1.0)
        self.assertEqual(w.stop(), 0, w.log()[-4000:])

    def check_oracle(self, name):
        copies = self.copied(name)
        dup = [k for k, c in Counter((p, o) for _, p, o in copies).items() if c > 1]
        self.assertEqual(dup, [], "records copied twice (partition, offset)")
        self.assertEqual(sorted(i for i, _, _ in copies), list(range(len(self.produced))))
        got = {a: int(c) for a, c in self.pg.query("SELECT author, tweets FROM %s_counts" % name)}
        self.assertEqual(got, dict(Counter(t["user"]["screen_name"] for t in self.produced)))

    def test_stop_while_partitions_are_lost(self):
        """Partitions lost (an OffsetCommit fails with UNKNOWN_MEMBER_ID) while the group offsets lag; weir
        stopped while they are unassigned, first with SIGTERM, then (after a restart and a second loss) with
        kill -9; each restart must resume them from the checkpoint, not from the lagging group offsets."""
        name = "rk_lost"
        w = CTX.weir(CTX.write_job(name, job_yaml(name, self.broker.bootstrap)), state_dir=CTX.path(name + "-state"))
        try:
            self.produce(300)
            w.start()
            for how in ("sigterm", "kill9"):
                n = len(self.produced)
                wt.poll(lambda: w.running() and len(self.copied(name)) >= n, TIMEOUT,
                        "weir to copy the first %d records" % n, interval=0.3)
                # The next 10 OffsetCommits (one per batch, ~3 s) fail harmlessly (OFFSET_METADATA_TOO_LARGE),
                # so the group offsets stay behind the 100 records produced now; the 11th fails with
                # UNKNOWN_MEMBER_ID: librdkafka reports the assignment lost. The mock broker assigns the
                # partitions again only seconds later.
                self.broker.command("errors 8 11 12 12 12 12 12 12 12 12 12 12 25")
                self.produce(100)
                n = len(self.produced)
                wt.poll(lambda: len(self.copied(name)) >= n, TIMEOUT, "weir to copy the next 100 records",
                        interval=0.3)
                w.wait_for_log(r"lost \d+ partitions", 30)
                time.sleep(1.0)  # checkpoints are taken every batch, with the partitions unassigned
                after = re.split(r"lost \d+ partitions", w.log(), maxsplit=1)[1]
                self.assertNotIn("Kafka source: assigned", after,
                                 "the partitions were assigned again before the stop (%s)" % how)
                if how == "sigterm":
                    self.assertEqual(w.stop(), 0, w.log()[-4000:])
                else:
                    w.kill9()
                self.produce(100)
                w.start()
                w.wait_for_log(r"resuming from checkpoint batch", 30)
            self.copy_all_and_stop(w, name)
        except AssertionError:
            sys.stderr.write(w.all_logs()[-20000:])
            raise
        finally:
            w.kill9()
        self.check_oracle(name)
        print("lost, SIGTERM then kill -9: %d records, every one copied once, counts equal the tally" %
              len(self.produced))

    def test_kill_when_the_revocation_arrives(self):
        self.run_case("rebalance")

    def test_kill_after_the_batch_in_flight_committed(self):
        self.run_case("rebalance_committed")


if __name__ == "__main__":
    wt.main(CTX)
