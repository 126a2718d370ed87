#!/usr/bin/env python3
"""The real weir binary against a Kafka-protocol broker (tests/tools/weir-mock-broker, librdkafka's mock
cluster), produced to and read with kcat; results checked against an independent Python tally.

usage: test_kafka.py WEIR_BIN SOURCE_DIR MOCK_BROKER_BIN [unittest args, e.g. a TestCase name]
"""
import base64
import json
import os
import random
import re
import sys
from collections import Counter
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, HERE)
import weirtest as wt  # noqa: E402
import kafkatest as kt  # noqa: E402

CTX = wt.Context.from_argv("kafka")
BROKER_BIN = sys.argv.pop(1)
AUTHORS = ["alice", "bob", "carol", "dave", "rmoff"]
# Short group timeouts (TESTING.md): librdkafka's mock cluster waits session.timeout.ms - 1 s for the members of
# a group to rejoin in a rebalance (and a member that left without a word stays until its session times out).
PROPS = "{ session.timeout.ms: 3000, max.poll.interval.ms: 10000, heartbeat.interval.ms: 300 }"
TIMEOUT = 90


def tweets(rng, first_id, n, langs=("en", "ru", "es")):
    return [kt.tweet(first_id + i, rng.choice(AUTHORS), rng.choice(langs)) for i in range(n)]


def lines(ts):
    return ["%s|%s" % (t["user"]["screen_name"], json.dumps(t)) for t in ts]


def counting_job(name, bootstrap, topics, out, start="earliest", extra=""):
    return CTX.write_job(name, f"""
job: {name}
batch: 500ms
source:
  kafka: {{ brokers: "{bootstrap}", topics: [{", ".join(topics)}], start: {start}, properties: {PROPS} }}
fields:
  id: {{ path: id, type: int }}
  author: {{ path: user.screen_name, type: string, required: true }}
  lang: {{ path: lang, default: und }}
outputs:
  - name: counts
    group_by: [author]
    window: total
    aggregate: {{ tweets: count() }}
    to: {{ file: {{ path: {out} }} }}
{extra}""")


class KafkaCase(wt.unittest.TestCase):
    topics = ("tweets:4",)

    def setUp(self):
        self.broker = kt.Broker(BROKER_BIN, 1, self.topics)
        self.boot = self.broker.bootstrap
        self.weirs = []

    def tearDown(self):
        for w in self.weirs:
            w.kill9()
        self.broker.close()

    def weir(self, job, state=None):
        w = CTX.weir(job, state_dir=state)
        self.weirs.append(w)
        return w

    def wait_counts(self, path, expected, w, what):
        def done():
            if not w.running():
                raise AssertionError("weir exited (%s):\n%s" % (w.proc.returncode, w.log()[-4000:]))
            return sum(kt.latest_emission(path).values()) >= sum(expected.values())
        try:
            wt.poll(done, TIMEOUT, what, interval=0.2)
        except AssertionError as e:
            raise AssertionError("%s\nlatest emission: %s\nlog:\n%s" % (e, kt.latest_emission(path), w.log()[-4000:]))

    def stop(self, w):
        self.assertEqual(w.stop(), 0, w.log()[-4000:])


class Tweets(KafkaCase):
    """1 + 2: counts per author (window: total) to a file; en tweets routed to a Kafka topic keyed by author."""

    def test_counts_and_routing(self):
        rng = random.Random(7)
        data = tweets(rng, 0, 500)
        kt.produce(self.boot, "tweets", lines(data))
        out = CTX.path("tweets-counts.jsonl")
        job = counting_job("tweets", self.boot, ["tweets"], out, extra="""
  - name: en
    where: "lang == 'en'"
    to: { kafka: { topic: en-tweets, key: author } }
""")
        w = self.weir(job).start()
        expected = kt.tally(data)
        self.wait_counts(out, expected, w, "the counts to sum to 500")
        en = [t for t in data if t["lang"] == "en"]
        # The sink commits before the batch's counts are written or at once after: poll the topic.
        wt.poll(lambda: len(kt.consume(self.boot, "en-tweets")) >= len(en), TIMEOUT, "the en tweets", interval=0.5)
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), expected)
        got = kt.consume(self.boot, "en-tweets")
        rows = [(k, json.loads(v)) for k, v in (m.split("|", 1) for m in got)]
        self.assertEqual(sorted(r["id"] for _, r in rows), sorted(t["id"] for t in en))  # each exactly once
        by_id = {t["id"]: t for t in en}
        for k, r in rows:
            self.assertEqual(k, r["author"])
            self.assertEqual(r["author"], by_id[r["id"]]["user"]["screen_name"])
            self.assertEqual(r["lang"], "en")
        self.assertIn("500 records read, 0 bad", w.log())


class StartPositions(KafkaCase):
    """3: one job reads two topics; `latest` skips what was there before it started, `earliest` does not."""
    topics = ("t1:2", "t2:2")

    def test_earliest_and_latest(self):
        rng = random.Random(3)
        before1, before2 = tweets(rng, 0, 40), tweets(rng, 100, 30)
        kt.produce(self.boot, "t1", lines(before1))
        kt.produce(self.boot, "t2", lines(before2))
        out_l, out_e = CTX.path("latest.jsonl"), CTX.path("earliest.jsonl")
        wl = self.weir(counting_job("latest", self.boot, ["t1", "t2"], out_l, start="latest")).start()
        we = self.weir(counting_job("earliest", self.boot, ["t1", "t2"], out_e, start="earliest")).start()
        # `latest` resolves each partition's end offset after the assignment: probe every partition until
        # the probe is counted, so the messages produced next are surely after the starting offsets.
        probes = ["probe-%s-%d" % (t, p) for t in ("t1", "t2") for p in (0, 1)]
        sent = []

        def probed():
            seen = kt.latest_emission(out_l)
            missing = [p for p in probes if p not in seen]
            for p in missing:
                _, t, part = p.split("-")
                kt.produce(self.boot, t, ['%s|{"user":{"screen_name":"%s"}}' % (p, p)], partition=int(part))
                sent.append(p)
            return not missing
        wt.poll(probed, TIMEOUT, "the latest job to count a probe on every partition", interval=1.0)
        after1, after2 = tweets(rng, 200, 25), tweets(rng, 300, 35)
        kt.produce(self.boot, "t1", lines(after1))
        kt.produce(self.boot, "t2", lines(after2))
        exp_l = kt.tally(after1 + after2)
        exp_e = kt.tally(before1 + before2 + after1 + after2)
        for p in sent:
            exp_e[p] = exp_e.get(p, 0) + 1

        def settled(path, exp):
            got = {a: n for a, n in kt.latest_emission(path).items() if not a.startswith("probe-")}
            return got == exp
        exp_l_real = dict(exp_l)
        wt.poll(lambda: settled(out_l, exp_l_real), TIMEOUT, "the latest job's counts")
        wt.poll(lambda: kt.latest_emission(out_e) == exp_e, TIMEOUT, "the earliest job's counts")
        self.stop(wl)
        self.stop(we)
        self.assertTrue(settled(out_l, exp_l_real), kt.latest_emission(out_l))
        self.assertEqual(kt.latest_emission(out_e), exp_e)


class BadInput(KafkaCase):
    """4 + DELIVERY.md fault 5: a 1 % poison mix in 1000 messages of a 4-partition topic (non-JSON text, truncated
    JSON, a tombstone, a wrong type, a missing required field, invalid UTF-8, a raw NUL byte, a 2 MB message over
    the default max_record_bytes, JSON nested 100,000 deep), shuffled among valid tweets (some with null keys).
    Each poison message is counted and dead-lettered to a Kafka topic with its position and its payload, the job
    goes on, and the outputs over the valid records equal the oracle: the counts per author and a copy holding
    every valid id exactly once. Every poison message that parses names the author "poison", so one taken for
    valid shows in the counts."""

    def test_poison_mix_is_counted_and_dead_lettered(self):
        rng = random.Random(5)
        good = tweets(rng, 0, 990)
        poison = {  # payload: the error its dead letter must give
            b"not json at all": "malformed JSON at byte 0",
            b'{"user": ': "truncated JSON",
            b"][": "malformed JSON at byte 0",
            b"": "tombstone",  # kcat -Z sends an empty value as NULL
            json.dumps({"id": True, "user": {"screen_name": "poison"}}).encode(): "bool true does not convert to int",
            json.dumps({"id": 1000001, "user": {}, "lang": "en"}).encode(): "required field 'author' .* is missing",
            b'{"id": 1000002, "user": {"screen_name": "poison\xff\xfe"}}': "invalid UTF-8",
            b'{"id": 1000003, "user": {"screen_name": "poi\x00son"}}': "raw NUL byte",
            json.dumps({"id": 1000004, "user": {"screen_name": "poison"}, "text": "x" * 2000000}).encode():
                "record of 2000062 bytes exceeds max_record_bytes",
            b'{"id": 1000005, "user": {"screen_name": "poison"}, "deep": ' + b"[" * 100000 + b"]" * 100000 + b"}":
                "JSON nested deeper than",
        }
        kt.produce(self.boot, "tweets", [json.dumps(t) for t in good[:10]], keyed=False)  # null keys
        mix = [("%s|%s" % (t["user"]["screen_name"], json.dumps(t))).encode() for t in good[10:]]
        mix += [b"p%d|%s" % (i, p) for i, p in enumerate(poison)]
        rng.shuffle(mix)
        kt.produce(self.boot, "tweets", mix, extra=["-Z", "-X", "message.max.bytes=5000000"])
        out, copy = CTX.path("bad-counts.jsonl"), CTX.path("bad-copy.jsonl")
        job = counting_job("badinput", self.boot, ["tweets"], out, extra=f"""
  - name: copy
    select: {{ id: id }}
    to: {{ file: {{ path: {copy} }} }}
on_error: {{ action: dead_letter, dead_letter: {{ kafka: {{ topic: dlq }} }} }}
""")
        w = self.weir(job).start()
        expected = kt.tally(good)
        self.wait_counts(out, expected, w, "the good records to be counted")
        wt.poll(lambda: len(kt.consume(self.boot, "dlq", "%s\\n")) >= len(poison), TIMEOUT,
                "%d dead letters" % len(poison), interval=0.5)
        self.assertTrue(w.running(), w.log()[-4000:])
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), expected)
        with open(copy) as f:
            ids = [json.loads(line)["id"] for line in f if line.strip()]
        self.assertEqual(sorted(ids), [t["id"] for t in good])  # each valid record once
        self.assertIn("1000 records read, %d bad" % len(poison), w.log())
        entries = [json.loads(x) for x in kt.consume(self.boot, "dlq", "%s\\n")]
        self.assertEqual(len(entries), len(poison), [json.dumps(e)[:200] for e in entries])

        def payload(e):
            if "payload_base64" in e:
                return base64.b64decode(e["payload_base64"])
            return b"(null)" if e["payload"] is None else e["payload"].encode()
        # Each poison message once, by its payload (the 2 MB one is cut to fit the topic: compare the start),
        # with its position and the reason it is bad.
        got = {payload(e)[:200]: e for e in entries}
        self.assertEqual(sorted(got), sorted((p or b"(null)")[:200] for p in poison))
        for p, error in poison.items():
            e = got[(p or b"(null)")[:200]]
            self.assertRegex(e["error"], error, p[:80])
            self.assertEqual(e.get("topic"), "tweets", e)
            self.assertIn("offset", e)
            self.assertIn("partition", e)


class BrokerDown(KafkaCase):
    """5: the only broker goes down for 10 s: weir keeps running and the final count is exact."""

    def test_broker_down_and_up(self):
        rng = random.Random(11)
        a = tweets(rng, 0, 200)
        kt.produce(self.boot, "tweets", lines(a))
        out = CTX.path("down-counts.jsonl")
        w = self.weir(counting_job("brokerdown", self.boot, ["tweets"], out)).start()
        self.wait_counts(out, kt.tally(a), w, "the first 200 to be counted")
        size = len(w.log())
        self.broker.command("down 1")
        time.sleep(10)
        self.assertTrue(w.running(), w.log()[-4000:])
        self.broker.command("up 1")
        b = tweets(rng, 1000, 150)
        kt.produce(self.boot, "tweets", lines(b))
        self.wait_counts(out, kt.tally(a + b), w, "all 350 to be counted")
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), kt.tally(a + b))
        self.assertRegex(w.log()[size:], r"warning.*Kafka source", "weir did not warn while the broker was down")
        self.assertIn("350 records read", w.log())


class TransientFaults(KafkaCase):
    """DELIVERY.md fault 3 without the outage (BrokerDown has that): three brokers; Fetch requests fail (not
    leader, timed out, unknown leader epoch, storage error), OffsetCommits fail (coordinator not available, not
    coordinator, timed out, rebalance in progress), every partition's leader moves twice; then a stop and a
    restart from the checkpoint. Counts ≡ tally, and a copy of every record (file sink) holds each id once."""

    def setUp(self):
        self.broker = kt.Broker(BROKER_BIN, 3, self.topics)
        self.boot = self.broker.bootstrap
        self.weirs = []

    def test_fetch_and_commit_errors_and_leader_moves(self):
        rng = random.Random(23)
        out, copy = CTX.path("faults-counts.jsonl"), CTX.path("faults-copy.jsonl")
        job = counting_job("transient", self.boot, ["tweets"], out, extra=f"""
  - name: copy
    select: {{ id: id }}
    to: {{ file: {{ path: {copy} }} }}
""")
        state = CTX.path("transient-state")
        sent = []

        def more(n, what):
            batch = tweets(rng, 10000 + len(sent), n)
            sent.extend(batch)
            kt.produce(self.boot, "tweets", lines(batch))
            self.wait_counts(out, kt.tally(sent), w, what)

        w = self.weir(job, state).start()
        more(300, "the first 300 to be counted")
        self.broker.command("errors 1 30 6 7 75 56")  # Fetch
        more(200, "500 to be counted through Fetch errors")
        self.assertRegex(w.log(), r"Fetch from broker \d failed", "the Fetch errors did not reach weir")
        self.broker.command("errors 8 20 15 16 7 27")  # OffsetCommit
        more(200, "700 to be counted through OffsetCommit errors")
        for p in range(4):
            self.broker.command(f"leader tweets {p} {(p + 1) % 3 + 1}")
        more(200, "900 to be counted after the leaders moved")
        for p in range(4):
            self.broker.command(f"leader tweets {p} {(p + 2) % 3 + 1}")
        more(100, "1000 to be counted after the leaders moved again")
        self.stop(w)
        w = self.weir(job, state).start()
        more(100, "1100 to be counted after the restart")
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), kt.tally(sent))
        with open(copy) as f:
            ids = [json.loads(line)["id"] for line in f if line.strip()]
        self.assertEqual(sorted(ids), sorted(t["id"] for t in sent))  # each record once, none lost


class SlowSink(KafkaCase):
    """A PostgreSQL sink down for longer than max.poll.interval.ms: weir pauses its partitions and keeps serving
    the consumer, so it stays in the group (no second assignment, no rebalance) and the totals are exact."""

    def test_sink_outage_longer_than_max_poll_interval(self):
        pg = CTX.postgres()
        rng = random.Random(17)
        a = tweets(rng, 0, 200)
        kt.produce(self.boot, "tweets", lines(a))
        job = CTX.write_job("slowsink", f"""
job: slowsink
batch: 500ms
source:
  kafka: {{ brokers: "{self.boot}", topics: [tweets], start: earliest,
           properties: {{ session.timeout.ms: 3000, max.poll.interval.ms: 3000, heartbeat.interval.ms: 300 }} }}
fields:
  author: {{ path: user.screen_name, type: string, required: true }}
outputs:
  - name: totals
    group_by: [author]
    window: total
    aggregate: {{ tweets: count() }}
    to: {{ postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: slowsink_totals, mode: upsert, key: [author],
                       create: true }} }}
""")
        w = self.weir(job).start()

        def totals():
            rows = pg.try_query("SELECT author, tweets FROM slowsink_totals") or []
            return {r[0]: int(r[1]) for r in rows}

        def counted(expected):
            if not w.running():
                raise AssertionError("weir exited:\n" + w.log()[-4000:])
            return totals() == expected
        wt.poll(lambda: counted(kt.tally(a)), TIMEOUT, "the first 200 to be committed")
        pg.stop()
        b = tweets(rng, 1000, 150)
        kt.produce(self.boot, "tweets", lines(b))
        time.sleep(7)  # > 2 x max.poll.interval.ms with the sink down
        self.assertTrue(w.running(), w.log()[-4000:])
        pg.start()
        wt.poll(lambda: counted(kt.tally(a + b)), TIMEOUT, "all 350 to be committed")
        self.stop(w)
        log = w.log()
        self.assertEqual(totals(), kt.tally(a + b))
        self.assertEqual(len(re.findall(r"assigned \d+ partitions", log)), 1,
                         "weir left the group while the sink was down:\n" + log[-4000:])
        self.assertNotIn("rebalance", log.lower())
        self.assertNotRegex(log, r"lost \d+ partitions|maximum poll interval|Unknown member",
                            "weir was dropped from the group while the sink was down")
        self.assertIn("holding batch", log)  # the sink really was down while records waited
        if os.environ.get("WEIR_TEST_SHOW_LOG"):
            print(log)


class Resume(KafkaCase):
    """6: SIGTERM, produce more, start again with the same state dir: totals continue exactly."""

    def test_resume_from_checkpoint(self):
        rng = random.Random(13)
        a = tweets(rng, 0, 300)
        kt.produce(self.boot, "tweets", lines(a))
        out = CTX.path("resume-counts.jsonl")
        state = CTX.path("resume-state")
        job = counting_job("resume", self.boot, ["tweets"], out)
        w = self.weir(job, state).start()
        self.wait_counts(out, kt.tally(a), w, "the first 300 to be counted")
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), kt.tally(a))
        b = tweets(rng, 1000, 120)
        kt.produce(self.boot, "tweets", lines(b))
        w.start()
        self.wait_counts(out, kt.tally(a + b), w, "all 420 to be counted after the restart")
        self.stop(w)
        self.assertIn("resuming from checkpoint", w.log())
        self.assertIn("120 records read", w.log())
        self.assertEqual(kt.latest_emission(out), kt.tally(a + b))


class ExactlyOnce(KafkaCase):
    """exactly_once into Kafka across a crash (DELIVERY.md step 4): files -> a transactional Kafka sink, killed
    right after batch 5's transaction committed (the checkpoint still lists batch 5 as pending) or right before
    it; the restarted run must find out from the topic which batches it holds and write each record once.
    The test clock (WEIR_TEST_CLOCK) makes every batch 100 records."""

    topics = ("copy:3",)
    START_MS = 1484148840000
    STEP_MS = 10
    CRASH_BATCH = 5

    def crash_and_recover(self, point):
        name = "eo_" + point
        inp = wt.FilesInput(CTX.path(name + "-in"))
        inp.add([{"seq": i, "branch": "b%d" % (i % 7)} for i in range(600)])
        inp.add([{"seq": i, "branch": "b%d" % (i % 7)} for i in range(600, 1050)])
        job = CTX.write_job(name, f"""
job: {name}
batch: 1s
source: {{ files: {{ dir: {inp.dir}, pattern: "*.jsonl", once: true }} }}
fields:
  seq: {{ path: seq, type: int, required: true }}
  branch: {{ path: branch, type: string }}
outputs:
  - name: copy
    to: {{ kafka: {{ brokers: "{self.boot}", topic: copy, key: branch, exactly_once: true }} }}
""")
        w = self.weir(job)
        rc, log = w.run(env={"WEIR_TEST_CLOCK": f"{self.START_MS}:{self.STEP_MS}",
                             "WEIR_TEST_CRASH_AT": f"{point}:{self.CRASH_BATCH}"}, timeout=120)
        self.assertEqual(rc, 137, log)

        def seqs():
            return Counter(json.loads(m)["seq"] for m in kt.consume(self.boot, "copy", "%s\\n") if m.strip())
        held = 100 * (self.CRASH_BATCH if point == "after_commit" else self.CRASH_BATCH - 1)
        self.assertEqual(seqs(), Counter(range(held)), "the topic before the restart")
        rc, log = w.run(env={"WEIR_TEST_CLOCK": f"{self.START_MS + 600000}:{self.STEP_MS}"}, timeout=120)
        self.assertEqual(rc, 0, log)
        self.assertRegex(log, "resuming from checkpoint batch %d " % self.CRASH_BATCH)
        self.assertRegex(log, "last committed batch %d\\)" % (self.CRASH_BATCH if point == "after_commit"
                                                               else self.CRASH_BATCH - 1))
        got = seqs()
        self.assertEqual([s for s, n in got.items() if n > 1], [], "records written twice")
        self.assertEqual(got, Counter(range(1050)))

    def test_crash_after_commit(self):
        self.crash_and_recover("after_commit")

    def test_crash_after_checkpoint_before_commit(self):
        self.crash_and_recover("after_checkpoint")


def batch_rows(path):
    """Every row of a jsonl file sink ([] if none)."""
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


class Rebalance(KafkaCase):
    """A second weir instance joins the group mid-run while records keep arriving (4 partitions).

    Asserted (docs/delivery.md, rebalances), with `window: batch` counts to a file per instance and a
    pass-through copy of every record to a Kafka topic:
    - no loss: every produced record is in the copy topic, and the summed per-batch counts of both
      instances are, per author, at least the independent tally of everything produced;
    - duplicates are whole records read twice: the extra counts per author equal the authors of the ids
      that appear more than once in the copy topic;
    - duplicates only come from a handover whose offset commit was refused (weir then logs it): without
      that log line the counts equal the tally exactly and every record is copied once. librdkafka 2.0.2's
      mock cluster refuses OffsetCommit while the group is joining (a real broker accepts it from the
      current generation), so on the mock the records a revoked partition delivered since its last batch
      commit may be read again by the new owner; they must belong to partitions that were revoked;
    - both instances count something (the partitions really were shared)."""

    def weir_env(self, job, state, out):
        w = CTX.weir(job, state_dir=state, env={"OUT": out})
        self.weirs.append(w)
        return w

    def test_second_consumer_joins(self):
        rng = random.Random(17)
        job = CTX.write_job("rebal", f"""
job: rebal
batch: 500ms
source:
  kafka: {{ brokers: "{self.boot}", topics: [tweets], start: earliest, properties: {PROPS} }}
fields:
  id: {{ path: id, type: int }}
  author: {{ path: user.screen_name, type: string, required: true }}
outputs:
  - name: counts
    group_by: [author]
    aggregate: {{ tweets: count() }}
    to: {{ file: {{ path: "${{OUT}}" }} }}
  - name: copy
    select: {{ id: id, author: author, partition: _partition }}
    to: {{ kafka: {{ topic: copied, key: author }} }}
""")
        out1, out2 = CTX.path("rebal-1.jsonl"), CTX.path("rebal-2.jsonl")
        produced = tweets(rng, 0, 400)
        kt.produce(self.boot, "tweets", lines(produced))
        w1 = self.weir_env(job, CTX.path("rebal-state-1"), out1).start()

        def total():
            for w in (w1,) + ((w2,) if w2 else ()):
                if not w.running():
                    raise AssertionError("weir exited (%s):\n%s" % (w.proc.returncode, w.log()[-4000:]))
            return sum(r["tweets"] for r in batch_rows(out1) + batch_rows(out2))
        w2 = None
        wt.poll(lambda: total() >= 400, TIMEOUT, "the first instance to count the first 400")
        w2 = self.weir_env(job, CTX.path("rebal-state-2"), out2).start()
        # Keep producing while the group rebalances (the mock ends it at max.poll.interval.ms, 10 s), so
        # batches are in flight when partitions move.
        deadline = time.monotonic() + 60
        next_id = 1000
        while time.monotonic() < deadline:
            chunk = tweets(rng, next_id, 40)
            next_id += 40
            kt.produce(self.boot, "tweets", lines(chunk))
            produced += chunk
            if "assigned" in w2.log() and total() > 400 and batch_rows(out2):
                break
            time.sleep(0.3)
        for _ in range(5):  # and some more once both own partitions
            chunk = tweets(rng, next_id, 40)
            next_id += 40
            kt.produce(self.boot, "tweets", lines(chunk))
            produced += chunk
        n = len(produced)
        wt.poll(lambda: total() >= n, TIMEOUT, "both instances to count all %d" % n, interval=0.3)
        wt.poll(lambda: len(kt.consume(self.boot, "copied")) >= n, TIMEOUT, "the copies", interval=0.5)
        time.sleep(1.5)  # a duplicate would show up in the next batches
        self.stop(w2)
        self.stop(w1)
        log1, log2 = w1.log(), w2.log()
        self.assertIn("rebalance; ending batch", log1)
        rows1, rows2 = batch_rows(out1), batch_rows(out2)

        def note(log):
            return "\n".join(l for l in log.splitlines() if "partition" in l or "rebalance" in l)
        self.assertTrue(rows2, "the second instance counted nothing:\n" + log2[-3000:])
        got = {}
        for r in rows1 + rows2:
            got[r["author"]] = got.get(r["author"], 0) + r["tweets"]
        copies = [json.loads(m.split("|", 1)[1]) for m in kt.consume(self.boot, "copied")]
        ids = sorted(c["id"] for c in copies)
        want = kt.tally(produced)
        diag = "\nfirst:\n%s\nsecond:\n%s" % (note(log1), note(log2))
        # No loss: every record counted and copied at least once.
        self.assertEqual(sorted(set(ids)), sorted(t["id"] for t in produced), diag)
        for author, count in want.items():
            self.assertGreaterEqual(got.get(author, 0), count, diag)
        self.assertEqual(set(got), set(want))
        # Extra counts are whole records read twice, the same in both outputs.
        dup_ids = [i for i, c in Counter(ids).items() for _ in range(c - 1)]
        by_id = {t["id"]: t["user"]["screen_name"] for t in produced}
        self.assertEqual(Counter(by_id[i] for i in dup_ids), Counter(got) - Counter(want), diag)
        # A record is read twice only when a handover's commit failed (librdkafka's mock cluster refuses
        # OffsetCommit while the group is joining; a real broker accepts it), and then only records of
        # partitions that changed owner.
        if "before handing over partitions failed" not in log1 + log2:
            self.assertEqual(dup_ids, [], diag)
        moved = set()
        for line in (log1 + log2).splitlines():
            m = re.search(r"revoked \d+ partitions: (.*)\.$", line)
            if m:
                moved |= {int(p.split("/")[1]) for p in m.group(1).split(", ")}
        part_of = {c["id"]: c["partition"] for c in copies}
        for i in dup_ids:
            self.assertIn(part_of[i], moved, diag)
        self.assertGreater(sum(r["tweets"] for r in rows2), 0)
        print("rebalance: %d records, %d read twice (handover commit refused by the mock: %s)" % (
            n, len(dup_ids), "before handing over partitions failed" in log1 + log2))

class Faults(KafkaCase):
    """Bad input and faults: a record over max_record_bytes is dead-lettered (the job goes on); a topic that
    does not exist yet is waited for with a log line and read once it exists; a wrong broker address is
    logged and retried, and SIGTERM still stops weir cleanly."""
    topics = ("tweets:2", "late:2")

    def test_huge_record_is_dead_lettered(self):
        rng = random.Random(23)
        good = tweets(rng, 0, 30)
        huge = json.dumps({"id": 999, "user": {"screen_name": "huge"}, "text": "x" * 200000})
        kt.produce(self.boot, "tweets", lines(good[:15]) + ["big|" + huge] + lines(good[15:]))
        out = CTX.path("huge-counts.jsonl")
        job = counting_job("huge", self.boot, ["tweets"], out, extra="""
on_error: { action: dead_letter, max_record_bytes: 100KiB, dead_letter: { kafka: { topic: dlq } } }
""")
        w = self.weir(job).start()
        self.wait_counts(out, kt.tally(good), w, "the 30 good records to be counted")
        wt.poll(lambda: len(kt.consume(self.boot, "dlq", "%s\\n")) >= 1, TIMEOUT, "the dead letter", interval=0.5)
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), kt.tally(good))
        entries = [json.loads(x) for x in kt.consume(self.boot, "dlq", "%s\\n")]
        self.assertEqual(len(entries), 1, entries)
        self.assertIn("max_record_bytes", entries[0]["error"])
        self.assertEqual(entries[0].get("topic"), "tweets")
        self.assertIn("31 records read, 1 bad", w.log())

    def check_two_megabyte_dead_letter(self, w, good, size, where):
        """The good records are counted and the 2 MB record reaches the Kafka dead-letter topic, its payload cut
        to fit the producer's message.max.bytes (librdkafka's 1,000,000), marked with its real size."""
        self.wait_counts(self.out, kt.tally(good), w, "the 30 good records to be counted")
        wt.poll(lambda: len(kt.consume(self.boot, "dlq", "%s\\n")) >= 1, TIMEOUT, "the dead letter", interval=0.5)
        self.assertTrue(w.running(), w.log()[-3000:])
        self.stop(w)
        self.assertEqual(kt.latest_emission(self.out), kt.tally(good))
        raw = kt.consume(self.boot, "dlq", "%s\\n")
        self.assertEqual(len(raw), 1, [x[:300] for x in raw])
        self.assertLess(len(raw[0].encode()), 1000000)
        entry = json.loads(raw[0])
        self.assertEqual(entry["error"], "record of %d bytes exceeds max_record_bytes (1048576)" % size)
        self.assertIs(entry["payload_truncated"], True)
        self.assertEqual(entry["payload_bytes"], size)
        self.assertTrue(entry["payload"].startswith('{"id": 999, "user": {"screen_name": "huge"}'),
                        entry["payload"][:80])
        self.assertGreater(len(entry["payload"]), 990000)
        for k, v in where.items():
            self.assertEqual(entry.get(k), v, k)
        self.assertIn("31 records read, 1 bad", w.log())

    def test_two_megabyte_record_from_kafka_with_the_default_cap(self):
        """A 2 MB message over the default max_record_bytes (1 MiB) from a Kafka source, with a Kafka
        dead-letter topic: the entry is cut to fit and the job goes on (it used to fail on every start)."""
        good = tweets(random.Random(31), 0, 30)
        huge = json.dumps({"id": 999, "user": {"screen_name": "huge"}, "text": "x" * 2000000})
        kt.produce(self.boot, "tweets", lines(good[:15]) + ["big|" + huge],
                   extra=["-X", "message.max.bytes=5000000"], partition=0)
        kt.produce(self.boot, "tweets", lines(good[15:]), partition=0)
        self.out = CTX.path("huge2-counts.jsonl")
        job = counting_job("huge2", self.boot, ["tweets"], self.out, extra="""
on_error: { action: dead_letter, dead_letter: { kafka: { topic: dlq } } }
""")
        w = self.weir(job).start()
        self.check_two_megabyte_dead_letter(w, good, len(huge), {"topic": "tweets", "partition": 0, "offset": 15})

    def test_two_megabyte_line_from_files_with_the_default_cap(self):
        """The same with a files source: the line is cut by the source to 1 MiB + 2 bytes, then again to fit."""
        good = tweets(random.Random(37), 0, 30)
        huge = json.dumps({"id": 999, "user": {"screen_name": "huge"}, "text": "x" * 2000000})
        inp = CTX.path("huge-files-in")
        os.makedirs(inp, exist_ok=True)
        with open(os.path.join(inp, "a.jsonl"), "w") as f:
            f.write("".join(json.dumps(t) + "\n" for t in good[:15]) + huge + "\n")
            f.write("".join(json.dumps(t) + "\n" for t in good[15:]))
        self.out = CTX.path("huge3-counts.jsonl")
        job = CTX.write_job("huge3", f"""
job: huge3
batch: 500ms
source: {{ files: {{ dir: {inp}, pattern: "*.jsonl" }} }}
fields:
  author: {{ path: user.screen_name, type: string, required: true }}
on_error: {{ action: dead_letter, dead_letter: {{ kafka: {{ brokers: "{self.boot}", topic: dlq }} }} }}
outputs:
  - name: counts
    group_by: [author]
    window: total
    aggregate: {{ tweets: count() }}
    to: {{ file: {{ path: {self.out} }} }}
""")
        w = self.weir(job).start()
        self.check_two_megabyte_dead_letter(w, good, len(huge),
                                            {"file": os.path.join(inp, "a.jsonl"), "line": 16})

    def test_unknown_topic_is_waited_for(self):
        self.broker.command("topic-error late 3")  # UNKNOWN_TOPIC_OR_PART on metadata requests
        out = CTX.path("late-counts.jsonl")
        job = counting_job("late", self.boot, ["late"], out)
        w = self.weir(job).start()
        w.wait_for_log(r"warning.*Kafka source.*(UNKNOWN_TOPIC_OR_PART|not available)", TIMEOUT)
        time.sleep(2)
        self.assertTrue(w.running(), w.log()[-3000:])
        self.broker.command("topic-error late 0")
        data = tweets(random.Random(29), 0, 40)
        kt.produce(self.boot, "late", lines(data))
        self.wait_counts(out, kt.tally(data), w, "the records of the topic once it exists")
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), kt.tally(data))

    def test_wrong_broker_address(self):
        out = CTX.path("wrong-counts.jsonl")
        job = counting_job("wrong", "127.0.0.1:1", ["tweets"], out)
        w = self.weir(job).start()
        w.wait_for_log(r"warning.*Kafka source.*127\.0\.0\.1:1.*(refused|_TRANSPORT)", TIMEOUT)
        time.sleep(4)  # retries; the state is logged once, not once per attempt
        self.assertTrue(w.running(), w.log()[-3000:])
        self.assertLessEqual(len(re.findall("Connection refused", w.log())), 3, w.log()[-3000:])
        self.stop(w)  # exits 0 on SIGTERM
        self.assertNotIn("Segmentation", w.log())

    def test_security_properties_validated(self):
        """SASL/TLS properties are passed to librdkafka by name; an unknown name is refused naming it, and the
        values (secrets) are never printed."""
        def job(extra):
            return CTX.write_job("sec", f"""
job: sec
source:
  kafka:
    brokers: "{self.boot}"
    topics: [tweets]
    properties: {{ security.protocol: SASL_SSL, sasl.mechanisms: PLAIN, sasl.username: weir,
                  sasl.password: "hunter2-secret", ssl.endpoint.identification.algorithm: none{extra} }}
outputs:
  - name: all
    to: {{ console: {{}} }}
""")
        w = self.weir(job(", ssl.no.such.property: x"))
        rc, log = w.run(timeout=30)
        self.assertEqual(rc, 2, log)
        self.assertIn("ssl.no.such.property", log)
        self.assertNotIn("hunter2-secret", log)
        for name in ("security.protocol", "sasl.mechanisms", "sasl.username", "sasl.password"):
            self.assertNotRegex(log, "unknown[^\\n]*" + re.escape(name), log)
        # The known names alone are accepted: the job starts (the mock speaks no SASL/TLS, so it only
        # logs connection errors) and stops cleanly.
        w2 = self.weir(job("")).start()
        w2.wait_for_log(r"Kafka source: subscribed", TIMEOUT)
        self.stop(w2)
        self.assertNotIn("hunter2-secret", w2.log())


if __name__ == "__main__":
    wt.main(CTX)
