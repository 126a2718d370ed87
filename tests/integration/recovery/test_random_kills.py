#!/usr/bin/env python3
"""20 kill -9 at random instants during the sliding-window tweets job (spec §9, issue 7), for each sink kind.

The job (tweets.py): count per author over event-time windows {sliding: 60s, every: 5s} on created_at, from a
files source that keeps receiving new files while weir runs and is killed. Event time makes the result
independent of where the kills land, so after the last run the sink must hold exactly oracle(records):

- Postgres (exactly-once): the upsert table keyed [window_end, author] equals the oracle; no duplicate keys.
- File (exactly-once): the jsonl file equals the oracle line for line with no duplicate line; after every
  kill a torn tail (the uncommitted rows a crash can leave, or a partial line the test appends when there
  is none) is gone after the restart, and committed bytes are never rewritten.
- Kafka (at-least-once, mock broker): every oracle row is in the topic with its exact count; duplicates
  (rows sent again after a kill) are allowed and reported.

usage: test_random_kills.py WEIR_BIN SOURCE_DIR [MOCK_BROKER_BIN] [unittest args, e.g. Postgres]
"""
import json
import os
import random
import re
import signal
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "kafka"))
sys.path.insert(0, HERE)
import weirtest as wt  # noqa: E402
import tweets as tw  # noqa: E402

CTX = wt.Context.from_argv("recovery-kills")
# Optional third argument: the mock broker binary (a path to a file, not a unittest argument).
BROKER_BIN = sys.argv.pop(1) if len(sys.argv) > 1 and os.path.isfile(sys.argv[1]) else None
KILLS = int(os.environ.get("WEIR_RECOVERY_KILLS", "20"))  # fewer only to debug the test itself
TIMEOUT = 120


def kill_loop(test, w, stream, inp, rng, after_kill=None):
    """Starts weir, adds input at a random moment, kills it 0.2–2 s after the start; KILLS times. Then a last
    run gets more input (the caller waits for it to be consumed)."""
    inp.add(stream.take(400))
    for i in range(KILLS):
        w.start()
        delay = rng.uniform(0.2, 2.0)
        add_at = rng.uniform(0, delay)
        t0 = time.monotonic()
        time.sleep(add_at)
        inp.add(stream.take(rng.randint(1, 250)))
        time.sleep(max(0.0, delay - (time.monotonic() - t0)))
        test.assertTrue(w.running(), "weir exited by itself (rc %s) in run %d:\n%s" %
                        (w.proc.returncode, i + 1, w.log()[-8000:]))
        test.assertEqual(w.kill9(), -signal.SIGKILL)
        if after_kill:
            after_kill(i)
    w.start()
    inp.add(stream.take(300))


def assert_resumed_every_time(test, w):
    """Once a run has resumed from a checkpoint, every later run does too (none starts over from empty state;
    a run killed before its first checkpoint leaves nothing to resume, so the next one starts fresh)."""
    runs = re.split(r"^==== run \d+: ", w.all_logs(), flags=re.M)[1:]
    test.assertEqual(len(runs), KILLS + 1)
    resumed = False
    for i, log in enumerate(runs):
        test.assertNotIn("refusing to start", log)
        if resumed:
            test.assertIn("resuming from checkpoint batch", log, "run %d did not resume:\n%s" % (i + 1, log))
        resumed = resumed or "resuming from checkpoint batch" in log
    test.assertTrue(resumed or KILLS == 0, "no run resumed from a checkpoint")


class KillCase(wt.unittest.TestCase):
    def setUp(self):
        self.rng = random.Random(self.id())
        tmpl, origin = tw.templates()
        sys.stderr.write("input: %s\n" % origin)
        self.stream = tw.TweetStream(self.rng, tmpl)

    def report(self, what):
        sys.stderr.write("%s: %d records (%d late), %d windows x authors in the oracle\n" %
                         (what, len(self.stream.records), tw.late_count(self.stream.records),
                          len(tw.oracle(self.stream.records))))


class Postgres(KillCase):
    def test_twenty_kills_upsert_table_equals_oracle(self):
        pg = CTX.postgres()
        name = "kills_pg"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        w = CTX.weir(CTX.write_job(name, tw.pg_job_yaml(inp.dir, name)))
        try:
            kill_loop(self, w, self.stream, inp, self.rng)
            wt.wait_consumed(pg, name, inp, outputs=tw.PG_OUTPUTS, timeout=TIMEOUT)
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        except AssertionError:
            sys.stderr.write(w.all_logs()[-20000:])
            raise
        finally:
            w.kill9()
        assert_resumed_every_time(self, w)
        got = tw.pg_tables(self, pg, name)
        assert_equals_oracle(self, got, tw.oracle(self.stream.records))
        self.report("postgres")


def assert_equals_oracle(test, got, expected):
    """got == expected, with a short diff (first differing keys in time order) when not."""
    if got == expected:
        return
    keys = sorted(set(got) | set(expected))
    diff = ["  window_end %s author %s: weir %s, oracle %s" % (tw.iso(k[0]), k[1], got.get(k), expected.get(k))
            for k in keys if got.get(k) != expected.get(k)]
    test.fail("%d of %d (window_end, author) rows differ from the oracle, first ones:\n%s" %
              (len(diff), len(keys), "\n".join(diff[:15])))


def read_rows(path):
    with open(path, "rb") as f:
        data = f.read()
    return data, [json.loads(line) for line in data.decode("utf-8").splitlines()]


def commit_record(path):
    try:
        with open(path + ".weir-commit") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


class File(KillCase):
    def test_twenty_kills_jsonl_equals_oracle_without_duplicates(self):
        name = "kills_file"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        out = CTX.path(name + ".jsonl")
        w = CTX.weir(CTX.write_job(name, tw.job_yaml(inp.dir, "{ file: { path: %s } }" % out)))
        committed_prefixes = []
        tails = {"left by the crash": 0, "appended by the test": 0}

        def after_kill(i):
            rec = commit_record(out)
            if rec is None or not os.path.exists(out):
                return
            with open(out, "rb") as f:
                data = f.read()
            length = int(rec["length"])
            self.assertGreaterEqual(len(data), length, "the data file is shorter than its commit record")
            committed_prefixes.append(data[:length])
            if len(data) > length:
                tails["left by the crash"] += 1
            else:  # simulate a crash halfway through an append: a partial, unterminated line
                with open(out, "ab") as f:
                    f.write(b'{"window_start":"2014-08-31T00:00:00.000Z","window_end":"2014-08-31T00:01:0')
                tails["appended by the test"] += 1

        try:
            kill_loop(self, w, self.stream, inp, self.rng, after_kill)
            expected = tw.oracle(self.stream.records)

            def complete():
                if not w.running():
                    raise AssertionError("weir exited (%s)" % w.proc.returncode)
                try:
                    _, rows = read_rows(out)
                except (FileNotFoundError, ValueError):
                    return False
                return len(rows) >= len(expected)
            wt.poll(complete, TIMEOUT, "the file sink to hold every oracle row")
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        except AssertionError:
            sys.stderr.write(w.all_logs()[-20000:])
            raise
        finally:
            w.kill9()
        assert_resumed_every_time(self, w)
        data, rows = read_rows(out)  # every line parses: no torn line survived
        self.assertTrue(data.endswith(b"\n"))
        lines = data.decode("utf-8").splitlines()
        dups = [l for l, n in Counter(lines).items() if n > 1]
        self.assertEqual(dups, [], "duplicate lines in the file sink")
        got = {}
        for r in rows:
            key = (tw.from_iso(r["window_end"]), r["author"])
            self.assertNotIn(key, got, "two rows for one (window_end, author)")
            self.assertEqual(tw.from_iso(r["window_end"]) - tw.from_iso(r["window_start"]), tw.LENGTH_S)
            got[key] = r["tweets"]
        assert_equals_oracle(self, got, tw.oracle(self.stream.records))
        for p in committed_prefixes:
            self.assertTrue(data.startswith(p), "committed bytes of the file were rewritten")
        rec = commit_record(out)
        self.assertEqual(int(rec["length"]), len(data))
        self.assertEqual(sum(tails.values()), KILLS)
        self.report("file (torn tails: %s)" % tails)


class Kafka(KillCase):
    def test_twenty_kills_topic_holds_every_oracle_row(self):
        if BROKER_BIN is None:
            self.fail("the Kafka case needs MOCK_BROKER_BIN as the third argument")
        import kafkatest as kt
        broker = kt.Broker(BROKER_BIN, 1, ["authors:2"])
        name = "kills_kafka"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        w = CTX.weir(CTX.write_job(name, tw.job_yaml(
            inp.dir, '{ kafka: { brokers: "%s", topic: authors, key: author } }' % broker.bootstrap)))
        expected = None

        def messages():
            return [json.loads(m) for m in kt.consume(broker.bootstrap, "authors", "%s\\n") if m.strip()]

        try:
            kill_loop(self, w, self.stream, inp, self.rng)
            expected = tw.oracle(self.stream.records)

            def complete():
                if not w.running():
                    raise AssertionError("weir exited (%s)" % w.proc.returncode)
                keys = {(tw.from_iso(r["window_end"]), r["author"]) for r in messages()}
                return keys >= set(expected)
            wt.poll(complete, TIMEOUT, "the topic to hold every oracle row", interval=1.0)
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
            msgs = messages()
        except AssertionError:
            sys.stderr.write(w.all_logs()[-20000:])
            raise
        finally:
            w.kill9()
            broker.close()
        assert_resumed_every_time(self, w)
        seen = {}
        for r in msgs:
            key = (tw.from_iso(r["window_end"]), r["author"])
            seen.setdefault(key, []).append(r["tweets"])
        missing = set(expected) - set(seen)
        self.assertEqual(missing, set(), "rows missing from the topic")
        extra = set(seen) - set(expected)
        self.assertEqual(extra, set(), "rows the oracle does not have")
        wrong = {k: v for k, v in seen.items() if any(n != expected[k] for n in v)}
        self.assertEqual(wrong, {}, "a row (or a re-sent copy of it) has a wrong count")
        dups = len(msgs) - len(seen)
        self.report("kafka (%d messages, %d duplicates from replayed batches)" % (len(msgs), dups))


if __name__ == "__main__":
    wt.main(CTX)
