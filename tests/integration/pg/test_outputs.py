#!/usr/bin/env python3
"""weir → PostgreSQL outputs, checked against an independent Python computation (no faults injected).

1. Treasury: running totals (window: total) upserted per (branch, currency) and per-batch sums appended
   equal the Python tally of the input; no (window_end, group) appears twice in the append table.
2. Rolling windows (sliding 4s every 1s) upserted with key [window_end, author]: with the test clock the
   batch of every record is known, so the exact set of (window_end, author, count) rows is computed.
3. `create: true` column types, `columns:` renames, and a refused incompatible existing table.

usage: test_outputs.py WEIR_BIN SOURCE_DIR
"""
import os
import random
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("pg-outputs")
PG = None


def setUpModule():
    global PG
    PG = CTX.postgres()


class Treasury(wt.unittest.TestCase):
    def test_running_totals_and_batch_sums_equal_the_tally(self):
        inp = wt.FilesInput(CTX.path("treasury-in"))
        rng = random.Random(1)
        inp.add(wt.treasury_records(rng, 3000))
        job = CTX.write_job("treasury", f"""
batch: 500ms
source: {{ files: {{ dir: {inp.dir}, pattern: "*.jsonl" }} }}
fields:
  branch: {{ path: branch, type: string, required: true }}
  currency: {{ path: currency, type: string, required: true }}
  amount: {{ path: amount, type: int, required: true }}
outputs:
  - name: totals
    group_by: [branch, currency]
    window: total
    aggregate: {{ amount: sum(amount), transactions: count() }}
    to:
      postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: treasury_totals, mode: upsert, key: [branch, currency],
                  create: true }}
  - name: flow
    group_by: [branch, currency]
    aggregate: {{ amount: sum(amount), transactions: count() }}
    to:
      postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: treasury_flow, mode: append, create: true }}
""")
        w = CTX.weir(job).start()
        try:
            w.wait_for_log(r"Job 'treasury' started", what="the job to start")
            # More input while it runs, spread over several batches.
            for _ in range(6):
                wt.poll(lambda: (PG.progress("treasury", "flow") or (0, []))[0] > 0 and
                        inp.consumed_by(PG.progress("treasury", "flow")[1]), 60, "the input so far to be committed")
                inp.add(wt.treasury_records(rng, rng.randint(1, 2500)))
            for out in ("totals", "flow"):
                wt.poll(lambda: inp.consumed_by((PG.progress("treasury", out) or (0, []))[1]), 60,
                        f"output {out} to commit every input file")
            self.assertEqual(w.stop(), 0, w.log())
        finally:
            w.kill9()
        expected = wt.tally(inp.records)
        totals = {(b, c): (int(a), int(n)) for b, c, a, n in
                  PG.query("SELECT branch, currency, amount, transactions FROM treasury_totals")}
        self.assertEqual(totals, expected)
        self.assertEqual(PG.scalar("SELECT count(*) FROM treasury_totals"), str(len(expected)))
        flow = {(b, c): (int(a), int(n)) for b, c, a, n in PG.query(
            "SELECT branch, currency, sum(amount), sum(transactions) FROM treasury_flow GROUP BY 1, 2")}
        self.assertEqual(flow, expected)
        dups = PG.query("SELECT window_end, branch, currency, count(*) FROM treasury_flow GROUP BY 1, 2, 3 "
                        "HAVING count(*) > 1")
        self.assertEqual(dups, [])
        # Several batches really did carry rows (the input was spread out).
        self.assertGreater(int(PG.scalar("SELECT count(DISTINCT window_end) FROM treasury_flow")), 3)


class RollingWindows(wt.unittest.TestCase):
    def test_sliding_upsert_has_one_exact_row_per_window_end_and_author(self):
        inp = wt.FilesInput(CTX.path("rolling-in"))
        rng = random.Random(2)
        authors = ["alice", "bob", "carol", "rmoff", "dave"]
        records = [{"user": {"screen_name": rng.choice(authors)}} for _ in range(1500)]
        inp.add(records)
        start_ms, step_ms = 1484148840000, 10  # 100 records per 1 s batch
        job = CTX.write_job("rolling", f"""
batch: 1s
source: {{ files: {{ dir: {inp.dir}, pattern: "*.jsonl", once: true }} }}
fields:
  author: user.screen_name
outputs:
  - name: authors-rolling
    group_by: [author]
    window: {{ sliding: 4s, every: 1s }}
    aggregate: {{ tweets: count() }}
    order_by: [tweets desc]
    limit: 3
    to:
      postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: author_counts_rolling, mode: upsert,
                  key: [window_end, author], create: true }}
""")
        w = CTX.weir(job, env={"WEIR_TEST_CLOCK": f"{start_ms}:{step_ms}"})
        rc, log = w.run(timeout=120)
        self.assertEqual(rc, 0, log)
        # Oracle: record i arrives at start + i*step; each window [E-4s, E) for every batch end E up to the end of
        # the batch in progress when the source ends (the clock stands at start + N*step then: docs/semantics.md);
        # a group with no record in the window is not emitted; limit 3 by count desc, then author.
        arrivals = [(start_ms + i * step_ms, r["user"]["screen_name"]) for i, r in enumerate(records)]
        first_end = (start_ms // 1000 + 1) * 1000
        last_end = ((start_ms + len(records) * step_ms) // 1000 + 1) * 1000
        expected = set()
        for end in range(first_end, last_end + 1, 1000):
            counts = {}
            for t, a in arrivals:
                if end - 4000 <= t < end:
                    counts[a] = counts.get(a, 0) + 1
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            expected |= {(end, a, n) for a, n in top}
        got = PG.query("SELECT (extract(epoch FROM window_end) * 1000)::bigint, author, tweets, "
                       "(extract(epoch FROM window_end - window_start))::int FROM author_counts_rolling")
        self.assertTrue(all(r[3] == "4" for r in got), got[:5])
        self.assertEqual({(int(e), a, int(n)) for e, a, n, _ in got}, expected)
        self.assertEqual(len(got), len(expected))
        self.assertEqual(PG.query("SELECT window_end, author FROM author_counts_rolling GROUP BY 1, 2 "
                                  "HAVING count(*) > 1"), [])


TYPES_JOB = """
batch: 1s
source: {{ files: {{ dir: {dir}, pattern: "*.jsonl", once: true }} }}
fields:
  branch: {{ path: branch, type: string }}
  vip: {{ path: vip, type: bool }}
  amount: {{ path: amount, type: int }}
outputs:
  - name: typed
    group_by: [branch, vip]
    aggregate: {{ n: count(), total: sum(amount), mean: avg(amount) }}
    to:
      postgres:
        dsn: "${{WEIR_PG_DSN}}"
        table: {table}
        mode: append
        create: true
        columns: {{ branch_name: branch, is_vip: vip }}
"""


class CreateAndColumns(wt.unittest.TestCase):
    def setUp(self):
        self.inp = wt.FilesInput(CTX.path("types-in-" + self.id().rsplit(".", 1)[1]))
        self.records = [{"branch": b, "vip": v, "amount": a}
                        for b, v, a in [("Kazan", True, 10), ("Kazan", False, 5), ("SPB", True, -3),
                                        ("Kazan", True, 7)]]
        self.inp.add(self.records)

    def test_create_true_column_types_and_renames(self):
        job = CTX.write_job("typed", TYPES_JOB.format(dir=self.inp.dir, table="typed_out"))
        rc, log = CTX.weir(job, state_dir=CTX.path("state-typed")).run(timeout=120)
        self.assertEqual(rc, 0, log)
        cols = PG.columns("typed_out")
        self.assertEqual(cols, {
            "window_start": "timestamp with time zone",
            "window_end": "timestamp with time zone",
            "branch_name": "text",
            "is_vip": "boolean",
            "n": "bigint",
            "total": "bigint",
            "mean": "double precision",
        })
        rows = PG.query("SELECT branch_name, is_vip, n, total, mean FROM typed_out ORDER BY 1, 2")
        self.assertEqual(rows, [["Kazan", "f", "1", "5", "5"], ["Kazan", "t", "2", "17", "8.5"],
                                ["SPB", "t", "1", "-3", "-3"]])

    def test_incompatible_existing_table_is_refused_naming_the_column(self):
        PG.execute("CREATE TABLE typed_bad (window_start timestamptz, window_end timestamptz, branch_name text, "
                   "is_vip boolean, n text, total bigint, mean double precision)")
        job = CTX.write_job("typedbad", TYPES_JOB.format(dir=self.inp.dir, table="typed_bad"))
        rc, log = CTX.weir(job, state_dir=CTX.path("state-typedbad")).run(timeout=120)
        self.assertEqual(rc, 1, log)
        self.assertRegex(log, r'column "n" of table "typed_bad" is text, expected bigint')
        self.assertEqual(PG.scalar("SELECT count(*) FROM typed_bad"), "0")

    def test_existing_table_missing_a_column_is_refused(self):
        PG.execute("CREATE TABLE typed_missing (window_start timestamptz, window_end timestamptz, branch text, "
                   "is_vip boolean, n bigint, total bigint, mean double precision)")
        job = CTX.write_job("typedmissing", TYPES_JOB.format(dir=self.inp.dir, table="typed_missing"))
        rc, log = CTX.weir(job, state_dir=CTX.path("state-typedmissing")).run(timeout=120)
        self.assertEqual(rc, 1, log)
        self.assertRegex(log, r'has no column "branch_name"')


if __name__ == "__main__":
    wt.main(CTX)
