"""Shared helpers for weir integration tests (python3, standard library only).

A test script runs the real `weir` binary as a subprocess against real services. Typical use:

    import sys, os
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration", "lib"))
    import weirtest as wt

    ctx = wt.Context.from_argv("pg-treasury")  # argv: WEIR_BIN SOURCE_DIR [unittest args...]
    pg = ctx.postgres()                         # a throwaway PostgreSQL server (tests/tools/pg-harness.sh)
    inp = wt.FilesInput(ctx.path("in"))         # input files written atomically into a directory
    inp.add([{"branch": "Kazan", "currency": "RUB", "amount": 5}])
    job = ctx.write_job("treasury", "...yaml with source: { files: { dir: %s } } ..." % inp.dir)
    w = ctx.weir(job)                           # weir run JOB --state-dir <ctx>/state, env WEIR_PG_DSN set
    w.start(); ...; w.terminate(); w.wait()
    rows = pg.query("SELECT branch, sum(amount) FROM t GROUP BY 1")
    ctx.cleanup()                               # stops PostgreSQL, removes every temporary file

Everything a Context creates lives under one temporary directory that cleanup() removes (the PostgreSQL
server is stopped first). Call cleanup() from a `finally:` or tearDownModule so a failing test leaves
nothing behind; Context also registers an atexit hook as a last resort.

Conventions:
- Never sleep for a fixed time to wait for something: use poll(condition, timeout, what).
- Timeouts are generous (the machine may be a loaded 2-core box); a poll that times out raises
  AssertionError naming what it waited for, and the failing test prints weir's log.
"""

import atexit
import json
import os
import unittest
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DEFAULT_TIMEOUT = 60.0
# Third-party leaks LeakSanitizer must not report for an ASan-built weir (see the file).
LSAN_SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")


def poll(condition, timeout=DEFAULT_TIMEOUT, what="condition", interval=0.1):
    """Calls condition() until it returns a truthy value, which is returned; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = condition()
            if v:
                return v
        except Exception as e:  # the condition may race with a restarting server
            last_exc = e
        if time.monotonic() >= deadline:
            extra = " (last error: %s)" % last_exc if last_exc else ""
            raise AssertionError("timed out after %.0f s waiting for %s%s" % (timeout, what, extra))
        time.sleep(interval)


def vm_rss_kb(pid):
    """VmRSS of a process in kB (from /proc/PID/status)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL


class PgServer:
    """A throwaway PostgreSQL server managed with tests/tools/pg-harness.sh (one per test script).

    dsn: a libpq keyword string for weir (`host=127.0.0.1 port=N user=postgres dbname=postgres`).
    stop() is an immediate stop (like a crash); start() brings it back on the same port.
    """

    def __init__(self, source_dir, directory):
        self.harness = os.path.join(source_dir, "tests", "tools", "pg-harness.sh")
        self.dir = directory
        self.port = None
        self.dsn = None

    def _harness(self, cmd):
        r = subprocess.run(["bash", self.harness, cmd, self.dir], capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError("pg-harness.sh %s failed (%d): %s%s" % (cmd, r.returncode, r.stdout, r.stderr))
        return r.stdout

    def start(self):
        out = self._harness("start")
        for line in out.splitlines():
            if line.startswith("PGPORT="):
                self.port = int(line[len("PGPORT="):])
            elif line.startswith("DSN="):
                self.dsn = line[len("DSN="):]
        if not self.dsn:
            raise RuntimeError("pg-harness.sh start printed no DSN: %r" % out)
        poll(lambda: self.try_query("SELECT 1") is not None, 60, "PostgreSQL to accept connections")
        return self

    def stop(self):
        """pg_ctl stop -m immediate (no shutdown checkpoint: like a crash)."""
        self._harness("stop")

    def kill(self):
        self._harness("kill")

    def psql(self, sql, timeout=60):
        """Runs SQL with psql; returns the CompletedProcess (stdout: unaligned, tab-separated, no header)."""
        return subprocess.run(
            ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", self.dsn, "-c", sql],
            capture_output=True, text=True, timeout=timeout)

    def query(self, sql):
        """Rows of a query as lists of strings (NULL is ''). Raises on error."""
        r = self.psql(sql)
        if r.returncode != 0:
            raise RuntimeError("psql failed for %r: %s" % (sql, r.stderr.strip()))
        return [line.split("\t") for line in r.stdout.splitlines() if line != ""]

    def try_query(self, sql):
        """Like query(), but None when the server cannot be reached or the query fails."""
        try:
            return self.query(sql)
        except Exception:
            return None

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def execute(self, sql):
        self.query(sql)

    def table_exists(self, table):
        return self.scalar("SELECT to_regclass('%s') IS NOT NULL" % table) == "t"

    def progress(self, job, output):
        """(batch, positions as a list of dicts) of weir_progress for (job, output); None when absent."""
        rows = self.try_query(
            "SELECT batch, positions FROM public.weir_progress WHERE job = '%s' AND output = '%s'" % (job, output))
        if not rows:
            return None
        return int(rows[0][0]), json.loads(rows[0][1])

    def backend_pids(self, exclude_self=True):
        """Server pids of client backends connected to database postgres (weir's, plus this psql)."""
        rows = self.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                          "AND datname = 'postgres' AND pid <> pg_backend_pid()")
        return [int(r[0]) for r in rows]

    def terminate_backends(self):
        """pg_terminate_backend on every other client backend; returns how many were terminated."""
        rows = self.try_query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                              "backend_type = 'client backend' AND pid <> pg_backend_pid()")
        return int(rows[0][0]) if rows else 0

    def columns(self, table):
        """{column: data type as psql \\d prints it} of a table (via psql's \\d)."""
        r = subprocess.run(["psql", "-X", "-d", self.dsn, "-c", "\\d " + table], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql \\d %s failed: %s" % (table, r.stderr))
        cols = {}
        for line in r.stdout.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) >= 2 and parts[0] and parts[0] != "Column" and not line.startswith("-"):
                cols[parts[0]] = parts[1]
        return cols


# ---------------------------------------------------------------------------------------------------------
# weir


class Weir:
    """One `weir run JOB` at a time (start again after it exited, e.g. after kill9()).

    Every run's stderr+stdout is appended to `log_path`; `log()` returns the current run's output,
    `all_logs()` every run's. env: extra environment variables for the process.
    """

    def __init__(self, weir_bin, job_path, state_dir, log_path, env=None, args=()):
        self.bin = weir_bin
        self.job = job_path
        self.state_dir = state_dir
        self.log_path = log_path
        self.env = dict(env or {})
        self.args = list(args)
        self.proc = None
        self.runs = 0
        self._log_start = 0
        self.returncode = None

    def command(self, extra=()):
        return [self.bin, "run", self.job, "--state-dir", self.state_dir] + self.args + list(extra)

    def start(self, extra=(), env=None):
        assert self.proc is None or self.proc.poll() is not None, "weir is already running"
        full_env = dict(os.environ)
        full_env.setdefault("LSAN_OPTIONS", "suppressions=" + LSAN_SUPPRESSIONS)
        full_env.update(self.env)
        full_env.update(env or {})
        with open(self.log_path, "ab") as f:
            f.write(("==== run %d: %s\n" % (self.runs + 1, " ".join(self.command(extra)))).encode())
            f.flush()  # before the child appends to the same file
            self._log_start = f.tell()
            self.proc = subprocess.Popen(self.command(extra), stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=full_env)
        self.runs += 1
        self.returncode = None
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def wait(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the process to exit; returns its exit code (AssertionError after timeout)."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("weir did not exit within %.0f s; log:\n%s" % (timeout, self.log()[-4000:]))
        return self.returncode

    def run(self, extra=(), env=None, timeout=DEFAULT_TIMEOUT):
        """start() then wait(): (exit code, this run's log)."""
        self.start(extra, env)
        rc = self.wait(timeout)
        return rc, self.log()

    def kill9(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.returncode = self.proc.wait()
        return self.returncode

    def terminate(self):
        """SIGTERM (graceful stop: the batch in flight commits)."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout=DEFAULT_TIMEOUT):
        """SIGTERM then wait; returns the exit code."""
        self.terminate()
        return self.wait(timeout)

    def log(self):
        """This run's output so far."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_start)
            return f.read().decode("utf-8", "replace")

    def all_logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for_log(self, pattern, timeout=DEFAULT_TIMEOUT, what=None):
        """Polls this run's output for a regex; AssertionError if weir exits or time runs out first."""
        rx = re.compile(pattern)

        def found():
            if rx.search(self.log()):
                return True
            if not self.running():
                raise AssertionError("weir exited (%s) before logging %r:\n%s" %
                                     (self.proc.returncode, pattern, self.log()[-4000:]))
            return False

        deadline = time.monotonic() + timeout
        while not found():
            if time.monotonic() >= deadline:
                raise AssertionError("timed out waiting for weir to log %s; log:\n%s" %
                                     (what or repr(pattern), self.log()[-4000:]))
            time.sleep(0.1)

    def rss_kb(self):
        """The process's resident memory (VmRSS) in kB."""
        return vm_rss_kb(self.pid())

    def checkpoints(self, job_name):
        """Paths of ckpt-*.bin in the job's checkpoint dir, newest (highest batch) first."""
        d = os.path.join(self.state_dir, job_name)
        if not os.path.isdir(d):
            return []
        names = [n for n in os.listdir(d) if re.fullmatch(r"ckpt-\d+\.bin", n)]
        return [os.path.join(d, n) for n in sorted(names, reverse=True)]


# ---------------------------------------------------------------------------------------------------------
# input


class FilesInput:
    """Input for a `files` source: each add() writes a new file (written elsewhere, then renamed into the
    directory, so weir never sees a partial file). Records are JSON-encoded dicts, one per line. `records`
    holds everything added, in order."""

    def __init__(self, directory, pattern_ext=".jsonl"):
        self.dir = directory
        self.staging = directory + ".staging"
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.staging, exist_ok=True)
        self.ext = pattern_ext
        self.records = []
        self.files = []  # paths, in the order written (which is name order)

    def add(self, records):
        name = "in-%06d%s" % (len(self.files) + 1, self.ext)
        tmp = os.path.join(self.staging, name)
        with open(tmp, "w") as f:
            for r in records:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        path = os.path.join(self.dir, name)
        os.rename(tmp, path)
        self.records.extend(records)
        self.files.append(path)
        return path

    def sizes(self):
        """{path: size in bytes} of every file written."""
        return {p: os.path.getsize(p) for p in self.files}

    def consumed_by(self, positions):
        """True when `positions` (weir_progress.positions) cover every file written up to its end."""
        at = {p.get("stream"): p.get("offset") for p in positions}
        return all(at.get(p) == size for p, size in self.sizes().items())


BRANCHES = ["Kazan", "SPB", "Novosibirsk", "Surgut"]
CURRENCIES = ["RUB", "USD", "EUR", "GBP"]


def treasury_records(rng, n):
    """n random {branch, currency, amount} transactions from a random.Random."""
    return [{"branch": rng.choice(BRANCHES), "currency": rng.choice(CURRENCIES), "amount": rng.randint(-100, 100)}
            for _ in range(n)]


def tally(records, keys=("branch", "currency"), value="amount"):
    """{(key values...): (sum of value, count)} — the oracle for sum/count per group."""
    out = {}
    for r in records:
        k = tuple(r[x] for x in keys)
        s, c = out.get(k, (0, 0))
        out[k] = (s + r[value], c + 1)
    return out


def treasury_job_text(name, input_dir, batch="200ms", once=False, totals_extra="", flow_extra=""):
    """The standard treasury job: a files source of {branch, currency, amount} and two PostgreSQL outputs,
    `totals` (window: total, upsert into <name>_totals keyed by branch, currency) and `flow` (per-batch sums
    appended to <name>_flow). *_extra: YAML lines added to an output (indented by 4 spaces)."""
    return f"""
batch: {batch}
source: {{ files: {{ dir: {input_dir}, pattern: "*.jsonl", once: {"true" if once else "false"} }} }}
fields:
  branch: {{ path: branch, type: string, required: true }}
  currency: {{ path: currency, type: string, required: true }}
  amount: {{ path: amount, type: int, required: true }}
outputs:
  - name: totals
    group_by: [branch, currency]
    window: total
    aggregate: {{ amount: sum(amount), transactions: count() }}
{totals_extra}
    to:
      postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: {name}_totals, mode: upsert, key: [branch, currency],
                  create: true }}
  - name: flow
    group_by: [branch, currency]
    aggregate: {{ amount: sum(amount), transactions: count() }}
{flow_extra}
    to:
      postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: {name}_flow, mode: append, create: true }}
"""


def wait_consumed(pg, job, inp, outputs=("totals", "flow"), timeout=90):
    """Polls weir_progress until every output of `job` has committed every file of `inp` to its end."""
    for out in outputs:
        poll(lambda: inp.consumed_by((pg.progress(job, out) or (0, []))[1]), timeout,
             "job %s output %s to commit every input file" % (job, out))


def treasury_tables(pg, name):
    """(running totals, per-group sums of the per-batch rows, duplicate (window_end, group) rows) of the
    treasury job's tables: dicts {(branch, currency): (amount, transactions)}, and a list."""
    totals = {(b, c): (int(a), int(n)) for b, c, a, n in
              pg.query("SELECT branch, currency, amount, transactions FROM %s_totals" % name)}
    flow = {(b, c): (int(a), int(n)) for b, c, a, n in pg.query(
        "SELECT branch, currency, sum(amount), sum(transactions) FROM %s_flow GROUP BY 1, 2" % name)}
    dups = pg.query("SELECT window_end, branch, currency, count(*) FROM %s_flow GROUP BY 1, 2, 3 "
                    "HAVING count(*) > 1" % name)
    return totals, flow, dups


def assert_treasury_oracle(test, pg, name, records):
    """The running totals and the sums of the per-batch rows equal tally(records); no duplicate rows."""
    expected = tally(records)
    totals, flow, dups = treasury_tables(pg, name)
    test.assertEqual(totals, expected, "running totals differ from the oracle")
    test.assertEqual(pg.scalar("SELECT count(*) FROM %s_totals" % name), str(len(expected)))
    test.assertEqual(flow, expected, "per-batch sums do not add up to the oracle (lost or duplicated batch)")
    test.assertEqual(dups, [], "duplicate (window_end, group) rows in the append table")


# ---------------------------------------------------------------------------------------------------------
# context


def main(ctx):
    """Runs the script's unittest cases, then ctx.cleanup() (also on failure); exits 0 only if all passed."""
    try:
        prog = unittest.main(exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        ctx.cleanup()
    sys.exit(0 if ok else 1)


class Context:
    """Per-script test context: paths, one PostgreSQL server, weir runners; cleanup() removes it all."""

    def __init__(self, weir_bin, source_dir, name):
        self.weir_bin = os.path.abspath(weir_bin)
        self.source_dir = os.path.abspath(source_dir)
        self.name = name
        self.root = tempfile.mkdtemp(prefix="weir-itest-%s-" % name)
        os.chmod(self.root, 0o755)  # the PostgreSQL server user must reach its directory below
        self.state_dir = self.path("state")
        self._pg = None
        self._weirs = []
        self._cleaned = False
        atexit.register(self.cleanup)

    @classmethod
    def from_argv(cls, name):
        """Reads WEIR_BIN and SOURCE_DIR from sys.argv[1:3] and removes them (the rest is for unittest)."""
        if len(sys.argv) < 3:
            sys.stderr.write("usage: %s WEIR_BIN SOURCE_DIR [unittest args]\n" % sys.argv[0])
            sys.exit(2)
        weir_bin, source_dir = sys.argv[1], sys.argv[2]
        del sys.argv[1:3]
        return cls(weir_bin, source_dir, name)

    def path(self, *parts):
        p = os.path.join(self.root, *parts)
        return p

    def postgres(self):
        """The script's PostgreSQL server, started on first use."""
        if self._pg is None:
            self._pg = PgServer(self.source_dir, self.path("pg"))
            self._pg.start()
        return self._pg

    def write_job(self, name, text):
        """Writes job file <root>/jobs/<name>.yaml (the job's default name is <name>); returns its path."""
        d = self.path("jobs")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, name + ".yaml")
        with open(p, "w") as f:
            f.write(text)
        return p

    def weir(self, job_path, state_dir=None, env=None, args=()):
        """A Weir runner for job_path with --state-dir (default <root>/state) and WEIR_PG_DSN set."""
        e = {}
        if self._pg is not None:
            e["WEIR_PG_DSN"] = self._pg.dsn
        e.update(env or {})
        log = self.path("logs", "%s-%d.log" % (os.path.splitext(os.path.basename(job_path))[0], len(self._weirs)))
        os.makedirs(os.path.dirname(log), exist_ok=True)
        w = Weir(self.weir_bin, job_path, state_dir or self.state_dir, log, e, args)
        self._weirs.append(w)
        return w

    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        for w in self._weirs:
            try:
                w.kill9()
            except Exception:
                pass
        if self._pg is not None:
            try:
                self._pg.stop()
            except Exception as e:
                sys.stderr.write("warning: stopping PostgreSQL failed: %s\n" % e)
        # A tmpfs a test mounted inside root must be unmounted first.
        for line in open("/proc/mounts").read().splitlines():
            mnt = line.split()[1] if len(line.split()) > 1 else ""
            if mnt.startswith(self.root + "/"):
                subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
