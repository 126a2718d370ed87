#!/usr/bin/env python3
"""The real weir binary against a Kafka-protocol broker (tests/tools/weir-mock-broker, librdkafka's mock
cluster), produced to and read with kcat; results checked against an independent Python tally.

usage: test_kafka.py WEIR_BIN SOURCE_DIR MOCK_BROKER_BIN [unittest args, e.g. a TestCase name]
"""
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, HERE)
import weirtest as wt  # noqa: E402
import kafkatest as kt  # noqa: E402

CTX = wt.Context.from_argv("kafka")
BROKER_BIN = sys.argv.pop(1)
AUTHORS = ["alice", "bob", "carol", "dave", "rmoff"]
# Short group timeouts: the mock finishes a rebalance only at max.poll.interval.ms (TESTING.md).
PROPS = "{ session.timeout.ms: 6000, max.poll.interval.ms: 10000, heartbeat.interval.ms: 500 }"
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
    """4: non-JSON payloads and a tombstone are bad records, dead-lettered to a Kafka topic; null keys are fine."""

    def test_dead_letters(self):
        rng = random.Random(5)
        good = tweets(rng, 0, 50)
        kt.produce(self.boot, "tweets", lines(good[:40]))
        kt.produce(self.boot, "tweets", [json.dumps(t) for t in good[40:]], keyed=False)  # null keys
        bad = ["not json at all", "{\"user\": ", "]["]
        kt.produce(self.boot, "tweets", ["k%d|%s" % (i, b) for i, b in enumerate(bad)])
        kt.produce(self.boot, "tweets", ["gone|"], extra=["-Z"])  # tombstone: empty value sent as NULL
        more = tweets(rng, 100, 20)
        kt.produce(self.boot, "tweets", lines(more))
        out = CTX.path("bad-counts.jsonl")
        job = counting_job("badinput", self.boot, ["tweets"], out, extra="""
on_error: { action: dead_letter, dead_letter: { kafka: { topic: dlq } } }
""")
        w = self.weir(job).start()
        expected = kt.tally(good + more)
        self.wait_counts(out, expected, w, "the good records to be counted")
        wt.poll(lambda: len(kt.consume(self.boot, "dlq", "%s\\n")) >= 4, TIMEOUT, "4 dead letters", interval=0.5)
        self.stop(w)
        self.assertEqual(kt.latest_emission(out), expected)
        self.assertIn("74 records read, 4 bad", w.log())
        entries = [json.loads(x) for x in kt.consume(self.boot, "dlq", "%s\\n")]
        self.assertEqual(len(entries), 4, entries)
        text = json.dumps(entries)
        for b in bad:
            self.assertIn(json.dumps(b)[1:-1], text)
        for e in entries:
            self.assertEqual(e.get("topic"), "tweets", e)
            self.assertIn("offset", e)
            self.assertIn("partition", e)
            self.assertIn("error", e)


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


if __name__ == "__main__":
    wt.main(CTX)
