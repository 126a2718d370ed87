#!/usr/bin/env python3
"""`weir daemon` as a subprocess (issue 8): one daemon, job files in a temp dir, steps in order.

01 startup: three valid job files run; a bad file is logged as FILE:LINE:COL and skipped; a job whose
   PostgreSQL sink is on a closed port waits for it.
02 /metrics parses as strict Prometheus text; its counters equal the records fed; no payload in labels.
03 an edit (limit changed) reloads the job; its running total (window: total) continues.
04 an invalid edit keeps the old version running and logs FILE:LINE:COL.
05 deleting a file stops its job; 06 adding one starts it.
07 the job with the unreachable sink does not slow the others' batches; /readyz names it; secrets stay out.
08 a failing job: /healthz still answers, /readyz says which job; SIGHUP rescans.
99 SIGTERM: exit 0, every job stopped gracefully, checkpoints written (`weir checkpoint show`).

usage: test_daemon.py WEIR_BIN SOURCE_DIR
"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weirtest as wt  # noqa: E402
import daemontest as dt  # noqa: E402

CTX = wt.Context.from_argv("daemon")
JOBS = CTX.path("jobs")
OUT = CTX.path("out")
STATE = CTX.path("state")
SECRET = "s3cr3t-Pw-9f1"
D = None
INPUT = {}
KEYS = ["k-%d" % i for i in range(5)]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def inp(name):
    if name not in INPUT:
        INPUT[name] = wt.FilesInput(CTX.path("in-" + name))
    return INPUT[name]


def feed(name, start, n):
    """n records {k, v} for the files source of job `name`; v counts up from `start`."""
    records = [{"k": KEYS[i % len(KEYS)], "v": start + i} for i in range(n)]
    inp(name).add(records)
    return records


def write_job(name, text):
    """Writes jobs/<name>.yaml in place (as an editor does: truncate, write, close)."""
    path = os.path.join(JOBS, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def totals_job(name, limit=10):
    return f"""
batch: 200ms
source: {{ files: {{ dir: {inp(name).dir}, pattern: "*.jsonl" }} }}
fields:
  k: {{ path: k, type: string, required: true }}
  v: {{ path: v, type: int, required: true }}
outputs:
  - name: totals
    group_by: [k]
    window: total
    aggregate: {{ n: count(), s: sum(v) }}
    order_by: [k]
    limit: {limit}
    to: {{ file: {{ path: {OUT}/{name}.jsonl }} }}
"""


def per_batch_job(name, extra=""):
    return f"""
batch: 200ms
source: {{ files: {{ dir: {inp(name).dir}, pattern: "*.jsonl" }} }}
fields:
  k: {{ path: k, type: string, required: true }}
  v: {{ path: v, type: int, required: true }}
{extra}
outputs:
  - name: counts
    aggregate: {{ n: count(), s: sum(v) }}
    to: {{ file: {{ path: {OUT}/{name}.jsonl }} }}
"""


GENERATE_JOB = f"""
batch: 200ms
source: {{ generate: {{ rate: 400/s, seed: 1, template: {{ x: {{ int: [1, 10] }} }} }} }}
fields: {{ x: {{ path: x, type: int }} }}
outputs:
  - name: per_batch
    aggregate: {{ n: count() }}
    to: {{ file: {{ path: {OUT}/beta.jsonl }} }}
"""

BROKEN_JOB = """
batch: 200ms
source: { generate: { rate: 10/s } }
outputs:
  - name: x
    aggregate: { n: count() }
    window: { tumbling: banana }
    to: console
"""


def stuck_job():
    return f"""
batch: 200ms
source: {{ generate: {{ rate: 50/s, seed: 2, template: {{ x: {{ int: [1, 10] }} }} }} }}
fields: {{ x: {{ path: x, type: int }} }}
outputs:
  - name: to_pg
    aggregate: {{ n: count() }}
    to:
      postgres: {{ dsn: "host=127.0.0.1 port={closed_port()} user=weir password={SECRET} dbname=weir connect_timeout=2",
                  table: stuck_counts, mode: append, create: true }}
"""


def latest_emission(path):
    """The rows of the newest window_end in a jsonl file, as {k: row}."""
    rows = dt.read_rows(path)
    if not rows:
        return {}
    last = max(r["window_end"] for r in rows)
    return {r.get("k"): r for r in rows if r["window_end"] == last}


def expected_totals(records, keys=None):
    out = {}
    for r in records:
        n, s = out.get(r["k"], (0, 0))
        out[r["k"]] = (n + 1, s + r["v"])
    if keys is not None:
        out = {k: v for k, v in out.items() if k in keys}
    return out


def emission_totals(path):
    return {k: (r["n"], r["s"]) for k, r in latest_emission(path).items()}


def setUpModule():
    global D
    os.makedirs(JOBS)
    os.makedirs(OUT)
    write_job("alpha", totals_job("alpha"))
    write_job("beta", GENERATE_JOB)
    write_job("gamma", per_batch_job("gamma"))
    write_job("broken", BROKEN_JOB)
    write_job("stuck", stuck_job())
    D = dt.Daemon(CTX.weir_bin, JOBS, STATE, CTX.path("daemon.log"),
                  args=["--stats-every", "1s", "--stop-timeout", "20s"])
    D.start()


def tearDownModule():
    if D is not None:
        D.kill()


FED = {"alpha": [], "gamma": [], "delta": []}


class Daemon(wt.unittest.TestCase):
    def setUp(self):
        self.assertTrue(D.running(), "the daemon is not running; log:\n" + D.log()[-6000:])

    def test_01_startup_runs_valid_jobs_and_skips_the_bad_file(self):
        for job in ("alpha", "beta", "gamma", "stuck"):
            D.wait_for_log(r"Job '%s' started \(" % job, 30, "job %s to start" % job)
        broken = os.path.join(JOBS, "broken.yaml")
        # FILE:LINE:COL of the bad duration (line 7 of the file: `window: { tumbling: banana }`)
        D.wait_for_log(r"%s:7:\d+: .*banana" % broken, 10, "the located error of broken.yaml")
        D.wait_for_log(r"Job file %s has \d+ problem\(s\).*no job runs from it" % broken, 10)
        self.assertNotIn("Job 'broken' started", D.log())
        FED["alpha"] += feed("alpha", 0, 100)
        FED["gamma"] += feed("gamma", 0, 50)
        wt.poll(lambda: emission_totals(os.path.join(OUT, "alpha.jsonl")) == expected_totals(FED["alpha"]), 30,
                "alpha's running totals over the first 100 records")
        wt.poll(lambda: sum(r["n"] for r in dt.read_rows(os.path.join(OUT, "gamma.jsonl"))) == 50, 30,
                "gamma's per-batch counts to add up to 50")
        wt.poll(lambda: len(dt.read_rows(os.path.join(OUT, "beta.jsonl"))) >= 3, 30, "beta's batches")
        # the statistics line, once per --stats-every
        D.wait_for_log(r"Job 'alpha' running: 100 records \([\d.]+/s\), 0 bad, 0 late, \d+ batches, the last one "
                       r"closed in [\d.]+ ms \(windows, sinks, checkpoint\), \d+ rows written\.", 10)

    def test_02_metrics_parse_and_count_the_records_fed(self):
        m = D.metrics()
        self.assertEqual(m.value("weir_records_in_total", job="alpha"), 100)
        self.assertEqual(m.value("weir_records_in_total", job="gamma"), 50)
        self.assertEqual(m.value("weir_output_records_total", job="alpha", output="totals"), 100)
        self.assertEqual(m.value("weir_bad_records_total", job="alpha"), 0)
        self.assertEqual(m.value("weir_late_records_total", job="gamma"), 0)
        self.assertEqual(m.value("weir_job_state", job="alpha", state="running"), 1)
        self.assertEqual(m.value("weir_job_state", job="alpha", state="failed"), 0)
        self.assertEqual(m.families["weir_batch_duration_seconds"]["type"], "histogram")
        self.assertGreater(m.value("weir_batch_duration_seconds_count", job="beta"), 0)
        self.assertGreater(m.value("weir_checkpoint_bytes", job="alpha"), 0)
        self.assertGreater(m.value("weir_last_success_timestamp_seconds", job="alpha"), time.time() - 60)
        self.assertEqual(m.value("weir_state_groups", job="alpha", output="totals"), len(KEYS))
        # rows written: alpha's file holds what its counter says (read after the next batch committed)
        rows_metric = m.value("weir_rows_out_total", job="gamma", output="counts")
        self.assertGreaterEqual(rows_metric, 1)
        self.assertEqual(m.value("weir_job_file_problem", file=os.path.join(JOBS, "broken.yaml")), 1)
        self.assertEqual(m.jobs(), ["alpha", "beta", "gamma", "stuck"])
        # no payload values in labels: only these label names, and no record key as a value
        names = set()
        for fam in m.families.values():
            for _, labels, _ in fam["samples"]:
                names.update(labels)
                for v in labels.values():
                    self.assertNotIn(v, KEYS)
                    self.assertNotIn(SECRET, v)
        self.assertLessEqual(names, {"job", "output", "state", "le", "version", "file", "previous_version_running"})

    def test_02b_the_parser_is_strict(self):
        good = '# TYPE a counter\na{job="x"} 1\n'
        dt.parse_prometheus(good)
        for bad in ['a 1\n',                                           # no TYPE
                    '# TYPE a counter\na{job="x} 1\n',                 # unterminated label value
                    '# TYPE a counter\na{job="x"} one\n',              # not a number
                    '# TYPE a counter\na{job="x"} 1\na{job="x"} 2\n',  # duplicate series
                    '# TYPE a counter\na{job="x"} -1\n',               # negative counter
                    '# TYPE a counter\n# TYPE b gauge\nb 1\na 2\n',     # family not contiguous
                    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
                    '# TYPE a counter\na{job="x"} 1']:                  # no final newline
            with self.assertRaises(dt.PromError, msg=bad):
                dt.parse_prometheus(bad)

    def test_03_edit_reloads_with_running_total_intact(self):
        write_job("alpha", totals_job("alpha", limit=2))
        D.wait_for_log(r"Job 'alpha' reloaded: its file changed \(", 30, "alpha to reload")
        D.wait_for_log(r"Job 'alpha' stopped \(its file changed\): 100 records read", 10)
        FED["alpha"] += feed("alpha", 1000, 60)
        # the new version runs (limit 2: the first two keys) and counts all 160 records
        want = expected_totals(FED["alpha"], keys=KEYS[:2])
        wt.poll(lambda: emission_totals(os.path.join(OUT, "alpha.jsonl")) == want, 30,
                "alpha's totals over 160 records, limited to 2 rows")
        m = D.metrics()
        self.assertEqual(m.value("weir_records_in_total", job="alpha"), 160)
        self.assertEqual(m.value("weir_job_reloads_total", job="alpha"), 1)
        self.assertIn("resuming from checkpoint", D.log())

    def test_04_invalid_edit_keeps_the_old_version(self):
        path = write_job("alpha", totals_job("alpha", limit=2).replace("window: total", "window: { sliding: 5s }"))
        # sliding needs `every`: a located error on line 10 (`window:`)
        D.wait_for_log(r"%s:10:\d+: " % path, 30, "the located error of alpha.yaml")
        D.wait_for_log(r"Job file %s has \d+ problem\(s\) \(above\); job 'alpha' keeps running its previous "
                       r"version\." % path, 10)
        FED["alpha"] += feed("alpha", 5000, 40)
        want = expected_totals(FED["alpha"], keys=KEYS[:2])
        wt.poll(lambda: emission_totals(os.path.join(OUT, "alpha.jsonl")) == want, 30,
                "the previous alpha version to count the next 40 records")
        m = D.metrics()
        self.assertEqual(m.value("weir_job_file_problem", file=path, previous_version_running="true"), 1)
        self.assertEqual(m.value("weir_job_reloads_total", job="alpha"), 1)
        status, body = D.get("/readyz")
        self.assertIn("alpha.yaml", body)
        # the fix applies: the same definition as the one running restarts it, with its state
        write_job("alpha", totals_job("alpha", limit=2))
        D.wait_for_log(r"Job 'alpha' reloaded: its file changed", 30, count=2)
        wt.poll(lambda: D.metrics().value("weir_job_file_problem", file=path) is None, 10,
                "the problem of alpha.yaml to clear")

    def test_05_delete_stops_the_job(self):
        os.remove(os.path.join(JOBS, "gamma.yaml"))
        D.wait_for_log(r"Job 'gamma' stopped \(its file %s was removed\): 50 records read" %
                       os.path.join(JOBS, "gamma.yaml"), 30)
        self.assertNotIn("gamma", D.metrics().jobs())
        before = dt.read_rows(os.path.join(OUT, "gamma.jsonl"))
        feed("gamma", 0, 10)
        time.sleep(1.0)  # several batches: a running gamma would have written a row
        self.assertEqual(dt.read_rows(os.path.join(OUT, "gamma.jsonl")), before)

    def test_06_add_starts_the_job(self):
        FED["delta"] += feed("delta", 0, 30)
        write_job("delta", per_batch_job("delta"))
        D.wait_for_log(r"Job 'delta' started \(", 30)
        wt.poll(lambda: sum(r["n"] for r in dt.read_rows(os.path.join(OUT, "delta.jsonl"))) == 30, 30,
                "delta to count 30 records")
        wt.poll(lambda: D.metrics().value("weir_records_in_total", job="delta") == 30, 10)

    def test_07_unreachable_sink_does_not_slow_the_others(self):
        D.wait_for_log(r"Job 'stuck', output 'to_pg': sink not reachable at start", 30)
        # beta keeps committing a batch every 200 ms, and closes each one quickly
        m0 = D.metrics()
        b0 = m0.value("weir_batches_total", job="beta")
        t0 = time.monotonic()
        time.sleep(2.0)
        m1 = D.metrics()
        elapsed = time.monotonic() - t0
        batches = m1.value("weir_batches_total", job="beta") - b0
        self.assertGreaterEqual(batches, int(elapsed / 0.2) - 3, "beta committed %d batches in %.1f s" %
                                (batches, elapsed))
        count = m1.value("weir_batch_duration_seconds_count", job="beta")
        fast = m1.value("weir_batch_duration_seconds_bucket", job="beta", le="0.5")
        self.assertEqual(fast, count, "some of beta's batches took more than 0.5 s to close")
        self.assertEqual(m1.value("weir_batches_total", job="stuck"), 0)
        D.wait_for_log(r"Job 'stuck' running: \d+ records \([\d.]+/s\), 0 bad, 0 late, no batch committed yet, 0 rows "
                       r"written\.", 10)
        # /readyz names the stuck job once it went 10 s without a batch; the secret is nowhere
        status, body = wt.poll(lambda: (lambda r: r if r[0] == 503 and "no batch committed" in r[1] else None)(
            D.get("/readyz")), 30, "/readyz to name the stuck job")
        self.assertRegex(body, r"job 'stuck' \([^)]*stuck.yaml\): running, but no batch committed for \d+ s")
        self.assertEqual(D.get("/healthz")[0], 200)
        for text in (D.log(), body, D.get("/metrics")[1]):
            self.assertNotIn(SECRET, text)

    def test_08_failing_job_healthz_answers_readyz_names_it(self):
        os.remove(os.path.join(JOBS, "stuck.yaml"))
        os.remove(os.path.join(JOBS, "broken.yaml"))
        D.wait_for_log(r"Job 'stuck' stopped", 30)
        wt.poll(lambda: D.get("/readyz")[0] == 200, 30, "/readyz to be 200 without stuck and broken")
        inp("failing").add([{"k": "k-0", "v": 1}])
        write_job("failing", per_batch_job("failing", "on_error: { action: stop }"))
        D.wait_for_log(r"Job 'failing' started", 30)
        path = os.path.join(inp("failing").dir, "bad.jsonl")
        with open(path + ".tmp", "w") as f:
            f.write("{not json\n")
        os.rename(path + ".tmp", path)
        D.wait_for_log(r"Job 'failing' failed: ", 30)
        status, body = D.get("/readyz")
        self.assertEqual(status, 503)
        self.assertIn("job 'failing'", body)
        self.assertIn("failed", body)
        self.assertNotIn("job 'alpha' (%s): failed" % os.path.join(JOBS, "alpha.yaml"), body)
        self.assertEqual(D.get("/healthz"), (200, "ok\n"))
        self.assertEqual(D.metrics().value("weir_job_state", job="failing", state="failed"), 1)
        # the other jobs go on
        FED["alpha"] += feed("alpha", 9000, 5)
        want = expected_totals(FED["alpha"], keys=KEYS[:2])
        wt.poll(lambda: emission_totals(os.path.join(OUT, "alpha.jsonl")) == want, 30, "alpha to go on")
        D.signal(signal.SIGHUP)
        D.wait_for_log(r"Received SIGHUP: reading .* again and restarting failed jobs\.", 10)
        D.wait_for_log(r"Job 'failing' restarted after a failure", 10)

    def test_99_sigterm_exits_0_with_checkpoints(self):
        t0 = time.monotonic()
        rc = D.stop(60)
        self.assertEqual(rc, 0, D.log()[-4000:])
        self.assertLess(time.monotonic() - t0, 20)
        log = D.log()
        self.assertIn("Received SIGTERM: stopping every job.", log)
        for job in ("alpha", "beta", "delta"):
            self.assertRegex(log, r"Job '%s' stopped \(shutdown\): \d+ records read" % job)
        self.assertRegex(log, r"weir daemon stopped\.\n")
        r = subprocess.run([CTX.weir_bin, "checkpoint", "show", os.path.join(STATE, "alpha")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("job:          alpha", r.stdout)
        # the checkpoint covers every input file of alpha to its end
        for p, size in inp("alpha").sizes().items():
            self.assertIn("%s offset %d " % (p, size), r.stdout)
        self.assertIn("totals (fingerprint", r.stdout)


if __name__ == "__main__":
    wt.main(CTX)
