#!/usr/bin/env python3
"""PostgreSQL faults while weir runs (DELIVERY.md fault 4): weir backs off, its memory stays bounded, and the
tables still equal the oracle exactly.

- The server is stopped (`pg_ctl stop -m immediate`, like a crash) for 15 s mid-run while 10,000 records a
  second keep arriving: weir keeps running, logs the outage once (not once per retry), retries with backoff
  (the held batch is written after at most MAX_RETRIES attempts, not one every 100 ms), its VmRSS does not
  grow by more than RSS_GROWTH_KB while the input piles up, and it resumes when the server is back.
- Every client backend is killed with pg_terminate_backend every 500 ms for 5 s while every insert into the
  per-batch table is slow (a statement trigger sleeps 0.3 s): no loss, no duplicate, bounded memory.

Besides the treasury job's running totals (upsert) and per-batch sums (append), a pass-through output copies
every record to an append table, so the oracle checks each record once and a reader that buffered the input
while the sink was down would show in VmRSS.

usage: test_outage.py WEIR_BIN SOURCE_DIR
"""
import os
import random
import re
import sys
import time
from collections import Counter

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-outage")
PG = None
OUTAGE_S = 15  # DELIVERY.md: "PostgreSQL stopped 15 s"
# The 150,000 records that arrive during the outage are ~7 MB of JSON, more as rows: weir must not read them
# while it holds a batch. Its VmRSS moved by less than 2 MB here.
RSS_GROWTH_KB = 12 * 1024
# Backoff doubles from 100 ms to 10 s (jittered): ~8 attempts over a 15 s outage; a retry every 100 ms
# would make ~150.
MAX_RETRIES = 20
OUTPUTS = ("totals", "flow", "copy")


def setUpModule():
    global PG
    PG = CTX.postgres()


def treasury_job(name, input_dir, batch):
    """The treasury job, plus an output `copy` appending every record to <name>_copy."""
    return CTX.write_job(name, wt.treasury_job_text(name, input_dir, batch) + f"""
  - name: copy
    select: {{ branch: branch, currency: currency, amount: amount }}
    to: {{ postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: {name}_copy, mode: append, create: true }} }}
""")


def wait_consumed(job, inp):
    wt.wait_consumed(PG, job, inp, OUTPUTS)


def committed(job, out="flow"):
    p = PG.progress(job, out)
    return p[0] if p else 0


class Outage(wt.unittest.TestCase):
    def feed(self, w, inp, rng, seconds, per_step, action=lambda: 0, step=0.5):
        """For `seconds`, every `step` s: adds per_step records, calls action(), samples weir's VmRSS and checks
        that weir still runs. Returns (peak VmRSS in kB, sum of what action() returned)."""
        peak, acted = 0, 0
        t0 = time.monotonic()
        k = 0
        while time.monotonic() - t0 < seconds:
            inp.add(wt.treasury_records(rng, per_step))
            acted += action()
            self.assertTrue(w.running(), w.log()[-4000:])
            peak = max(peak, w.rss_kb())
            k += 1
            time.sleep(max(0.0, t0 + k * step - time.monotonic()))
        return peak, acted

    def assert_oracle(self, name, inp, rss_before, rss_peak):
        """The treasury oracle, every record copied exactly once, and VmRSS bounded during the fault."""
        wt.assert_treasury_oracle(self, PG, name, inp.records)
        copied = Counter({(b, c, int(a)): int(n) for b, c, a, n in PG.query(
            "SELECT branch, currency, amount, count(*) FROM %s_copy GROUP BY 1, 2, 3" % name)})
        self.assertEqual(copied, Counter((r["branch"], r["currency"], r["amount"]) for r in inp.records),
                         "the copy table does not hold every record exactly once")
        print("%s: %d records; VmRSS %d kB before the fault, at most %d kB during it" %
              (name, len(inp.records), rss_before, rss_peak))
        self.assertLessEqual(rss_peak - rss_before, RSS_GROWTH_KB,
                             "weir's memory grew by %d kB while the sink was unavailable" % (rss_peak - rss_before))

    def test_server_stopped_for_fifteen_seconds(self):
        name = "outage"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(11)
        inp.add(wt.treasury_records(rng, 800))
        w = CTX.weir(treasury_job(name, inp.dir, batch="500ms")).start()
        try:
            wait_consumed(name, inp)
            before = committed(name)
            rss_before = w.rss_kb()
            PG.stop()
            # 10,000 records a second keep arriving while the database is down.
            rss_peak, _ = self.feed(w, inp, rng, OUTAGE_S, 5000)
            w.wait_for_log(r"sink unavailable", what="the outage warning")
            PG.start()
            wait_consumed(name, inp)
            self.assertGreater(committed(name), before)
            self.assertTrue(w.running(), w.log()[-4000:])
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        log = w.log()
        # Logged once per outage (per output at most), not once per retry.
        warnings = log.count("sink unavailable")
        self.assertGreaterEqual(warnings, 1, log)
        self.assertLessEqual(warnings, len(OUTPUTS), log)
        self.assertIn("sink recovered", log)
        self.assertLess(len(log.splitlines()), 60, "the outage flooded the log:\n" + log)
        retries = [int(n) for n in re.findall(r"written after (\d+) retries", log)]
        self.assertTrue(3 <= max(retries) <= MAX_RETRIES,
                        "%s retries over a %d s outage: no backoff?\n%s" % (retries, OUTAGE_S, log))
        self.assert_oracle(name, inp, rss_before, rss_peak)

    def test_backends_terminated_every_500ms_during_slow_inserts(self):
        name = "terminated"
        inp = wt.FilesInput(CTX.path(name + "-in"))
        rng = random.Random(12)
        inp.add(wt.treasury_records(rng, 500))
        w = CTX.weir(treasury_job(name, inp.dir, batch="200ms")).start()
        try:
            wait_consumed(name, inp)
            # Every statement writing the per-batch table takes 0.3 s more (weir_slow counts them; a sequence
            # is not rolled back with the transaction a termination aborts).
            PG.execute("CREATE SEQUENCE weir_slow; CREATE FUNCTION weir_slow() RETURNS trigger LANGUAGE plpgsql "
                       "AS $$ BEGIN PERFORM nextval('weir_slow'); PERFORM pg_sleep(0.3); RETURN NULL; END $$; "
                       "CREATE TRIGGER slow BEFORE INSERT ON %s_flow FOR EACH STATEMENT "
                       "EXECUTE FUNCTION weir_slow()" % name)
            rss_before = w.rss_kb()
            rss_peak, terminated = self.feed(w, inp, rng, 5, 200, action=PG.terminate_backends)
            PG.execute("DROP TRIGGER slow ON %s_flow" % name)
            self.assertGreater(terminated, 3, "no weir backend was ever terminated")
            self.assertGreaterEqual(int(PG.scalar("SELECT last_value FROM weir_slow")), 3, "no insert was slow")
            wait_consumed(name, inp)
            self.assertEqual(w.stop(), 0, w.log()[-4000:])
        finally:
            w.kill9()
        self.assert_oracle(name, inp, rss_before, rss_peak)


if __name__ == "__main__":
    wt.main(CTX)
