#!/usr/bin/env python3
"""Runs the benchmark workloads and their baselines; called by bench/run.sh (which builds and makes the data).

  bench.py --weir BIN --broker BIN --data DIR [--alloc BIN] [--no-kafka] [--json OUT]

Per run: wall seconds, CPU seconds (user+sys of the measured process, from wait4's rusage), records/s (wall),
records per CPU-second (= records/s per core used), peak RSS. Kafka runs that join a consumer group also report
the rate from the group assignment on (the mock cluster takes ~3 s to form a group; kcat -C uses no group).
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Debian's python3 (python3-confluent-kafka is a Debian package; a pyenv python3 on PATH would not see it).
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PY_BASELINE = os.path.join(HERE, "baselines", "python_consumer.py")
N_W1 = 1_000_000
PARTITIONS = 64  # 1M x ~154 B over 64 partitions: ~15.6k messages / 2.4 MB each, under the mock's retention


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


class Run:
    """One measured child process. `on_line(stream, line, run)` may call run.done() to stop it with SIGTERM."""

    def __init__(self, name, cmd, records, env=None, on_line=None, timeout=120, group="", baseline=None):
        self.name, self.cmd, self.records, self.group, self.baseline = name, cmd, records, group, baseline
        self.env = dict(os.environ, **(env or {}))
        self.on_line, self.timeout = on_line, timeout
        self.t_assigned = self.t_done = None
        self.counted = 0
        self.lines = {"out": [], "err": []}
        self.result = {}

    def done(self):
        if self.t_done is None:
            self.t_done = time.monotonic()
            # Our child is /usr/bin/time; the measured program is its only child.
            try:
                with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            for k in kids or [self.proc.pid]:
                os.kill(k, signal.SIGTERM)

    def _reader(self, stream, f):
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if len(self.lines[stream]) < 200 or stream == "err":
                self.lines[stream].append(line)
            if self.on_line:
                self.on_line(stream, line, self)

    def run(self):
        piped = self.on_line is not None
        # Peak RSS comes from GNU time (%M): a child forked from this Python process would report at least this
        # process's own RSS (Linux keeps the pre-exec high-water mark). CPU comes from wait4 (it includes the
        # measured grandchild once time has waited for it).
        rss_file = "/tmp/weir-bench-rss.%d" % os.getpid()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + self.cmd, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE if piped else subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        readers = []
        if piped:
            readers.append(threading.Thread(target=self._reader, args=("out", self.proc.stdout)))
        readers.append(threading.Thread(target=self._reader, args=("err", self.proc.stderr)))
        for r in readers:
            r.daemon = True
            r.start()
        killer = threading.Timer(self.timeout, lambda: self.proc.poll() is None and self.proc.kill())
        killer.start()
        _, status, ru = os.wait4(self.proc.pid, 0)
        t_end = time.monotonic()
        killer.cancel()
        for r in readers:
            r.join(timeout=5)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        # A run that ends by itself: wall = process lifetime. A run stopped by us: wall = until N were counted.
        t_stop = self.t_done if self.t_done is not None else t_end
        wall = t_stop - t0
        cpu = ru.ru_utime + ru.ru_stime
        try:
            with open(rss_file) as f:
                rss_kb = int(f.read().split()[-1])
            os.unlink(rss_file)
        except (OSError, ValueError, IndexError):
            rss_kb = 0
        res = {"name": self.name, "group": self.group, "records": self.records, "wall_s": wall,
               "cpu_s": cpu, "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "rss_mb": rss_kb / 1024.0,
               "rc": self.proc.returncode, "rate": self.records / wall if wall > 0 else 0,
               "per_core": self.records / cpu if cpu > 0 else 0, "baseline": self.baseline}
        if self.t_assigned is not None:
            res["rate_after_assign"] = self.records / (t_stop - self.t_assigned)
        ok_rc = self.proc.returncode == 0 or (self.t_done is not None and self.proc.returncode in (0, -15, 143))
        if not ok_rc or (self.on_line and self.t_done is None and self.counted < self.records):
            res["error"] = "exit %s, counted %d of %d; stderr tail: %s" % (
                self.proc.returncode, self.counted, self.records, " | ".join(self.lines["err"][-5:]))
        self.result = res
        return res


def weir_records_read(run):
    for line in run.lines["err"]:
        m = re.search(r"(\d+) records read", line)
        if m:
            return int(m.group(1))
    return None


def fmt(r):
    if "error" in r:
        return "  %-34s FAILED: %s" % (r["name"], r["error"])
    s = "  %-34s %9.0f rec/s  %6.2f CPU-s  %9.0f rec/CPU-s  RSS %7.1f MB  (wall %.2f s)" % (
        r["name"], r["rate"], r["cpu_s"], r["per_core"], r["rss_mb"], r["wall_s"])
    if "rate_after_assign" in r:
        s += "  [%.0f rec/s after group assignment]" % r["rate_after_assign"]
    return s


def ratios(results, group):
    rows = [r for r in results if r["group"] == group and "error" not in r]
    weirs = [r for r in rows if r["baseline"] is None]
    for w in weirs:
        for b in rows:
            if b["baseline"] is None:
                continue
            wr = w.get("rate_after_assign", w["rate"])
            br = b.get("rate_after_assign", b["rate"])
            print("    %s vs %s: %.2fx records/s, %.2fx records per CPU-s" % (
                w["name"], b["name"], wr / br if br else 0, w["per_core"] / b["per_core"] if b["per_core"] else 0))


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def file_workloads(weir, data, results):
    jobs = os.path.join(HERE, "jobs")
    state = os.path.join(data, "state")
    specs = [("W1 treasury (file)", "w1", "w1-treasury-file.yaml", "w1/treasury.jsonl"),
             ("W2 tweets (file)", "w2", "w2-tweets-file.yaml", "w2/tweets.jsonl"),
             ("W3 many keys (file)", "w3", "w3-many-keys-file.yaml", "w3/keys.jsonl")]
    for title, wl, job, path in specs:
        path = os.path.join(data, path)
        n = count_lines(path)
        print("%s: %d records, %.0f bytes each" % (title, n, os.path.getsize(path) / n), flush=True)
        # One record-path thread (the per-core figure), then two (the parse-ahead pool: the scaling figure).
        for workers in (1, 2):
            name = "weir " + wl if workers == 1 else "weir %s, %d workers" % (wl, workers)
            r = Run(name, [weir, "run", os.path.join(jobs, job), "--state-dir", state, "--reset-state",
                           "--log-level", "info", "--workers", str(workers)],
                    n, env={"BENCH_IN": os.path.dirname(path)}, group=title, timeout=300)
            res = r.run()
            res["workers"] = workers
            got = weir_records_read(r)
            if got != n and "error" not in res:
                res["error"] = "weir read %s records, expected %d" % (got, n)
            if wl == "w3":
                show = subprocess.run([weir, "checkpoint", "show", os.path.join(state, "w3-many-keys-file")],
                                      capture_output=True, text=True)
                m = re.search(r"(\d+) groups, (\d+) panes, (\d+) bytes of state", show.stdout)
                if m:
                    res["state"] = {"groups": int(m.group(1)), "panes": int(m.group(2)), "bytes": int(m.group(3))}
            results.append(res)
            print(fmt(res), flush=True)
            if "state" in res:
                st = res["state"]
                print("    state: %d groups, %d panes, %.1f MB checkpointed (%.1f B/group)" % (
                    st["groups"], st["panes"], st["bytes"] / 1e6, st["bytes"] / max(1, st["groups"])))
        one, two = results[-2], results[-1]
        if "error" not in one and "error" not in two and two["wall_s"] > 0 and one["cpu_s"] > 0:
            print("    2 workers vs 1: %.2fx records/s (wall), %.2fx the CPU-s" % (
                one["wall_s"] / two["wall_s"], two["cpu_s"] / one["cpu_s"]), flush=True)
        b = Run("python file " + wl, [PYTHON, PY_BASELINE, "file", path, wl], n, group=title,
                baseline="python", timeout=300).run()
        results.append(b)
        print(fmt(b), flush=True)
        ratios(results, title)


# Kafka workloads: (title, data file, topic, partitions, weir job, progress column, python workload). Partitions
# keep every partition under the mock's retention (~5 MB / 100k messages): W1 1M x 154 B over 64 is ~2.4 MB each,
# W2 100k x 4.7 KB over 128 is ~3.6 MB each, W3 1M x 27 B over 64 is ~0.4 MB each.
KAFKA_WORKLOADS = [
    ("W1 treasury (loopback Kafka)", "w1/treasury.jsonl", "treasury", PARTITIONS, "w1-treasury-kafka.yaml",
     "transactions", "w1"),
    ("W2 tweets (loopback Kafka)", "w2/tweets.jsonl", "tweets", 128, "w2-tweets-kafka.yaml", "seen", "w2"),
    ("W3 many keys (loopback Kafka)", "w3/keys.jsonl", "keys", PARTITIONS, "w3-many-keys-kafka.yaml", "seen", "w3"),
]


def kafka_workloads(weir, broker, data, results):
    topics = ["%s:%d" % (w[2], w[3]) for w in KAFKA_WORKLOADS]
    topics += ["copy-kcat:%d" % PARTITIONS, "copy-weir:%d" % PARTITIONS]
    args = [broker, "--brokers", "1"]
    for t in topics:
        args += ["--topic", t]
    mb = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = mb.stdout.readline().strip()
        if not line.startswith("BOOTSTRAP "):
            raise RuntimeError("mock broker said: %r" % line)
        bootstrap = line.split(" ", 1)[1]
        for spec in KAFKA_WORKLOADS:
            kafka_workload(weir, bootstrap, data, results, *spec)
        producer_workload(weir, bootstrap, os.path.join(data, KAFKA_WORKLOADS[0][1]), data, results)
    finally:
        try:
            mb.stdin.write("quit\n")
            mb.stdin.close()
        except OSError:
            pass
        try:
            mb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            mb.kill()


def kafka_workload(weir, bootstrap, data, results, title, file, topic, partitions, job, column, wl):
    path = os.path.join(data, file)
    n = count_lines(path)
    t0 = time.monotonic()
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-l", "-X", "linger.ms=20", "-X",
                    "sticky.partitioning.linger.ms=0", "-X", "batch.num.messages=10000", "-X",
                    "queue.buffering.max.messages=1000000", path], check=True)
    print("%s: produced %d records (%.0f bytes each) to %s (%d partitions) in %.1f s" % (
        title, n, os.path.getsize(path) / n, bootstrap, partitions, time.monotonic() - t0), flush=True)
    # The mock drops old messages past its per-partition retention: check that all N are there.
    held = topic_count(bootstrap, topic)
    if held != n:
        raise RuntimeError("the topic holds %d of %d records (mock retention)" % (held, n))
    kc = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-o", "beginning", "-q"]
    tuned = ["-X", "queued.min.messages=10000000", "-X", "fetch.wait.max.ms=10"]
    for name, cmd in [("kcat -C (default)", kc), ("kcat -C (tuned)", kc + tuned)]:
        r = Run(name, cmd, n, group=title, baseline="kcat").run()
        results.append(r)
        print(fmt(r), flush=True)

    def py_line(stream, line, run):
        if stream == "err" and line.startswith("ASSIGNED"):
            run.t_assigned = time.monotonic()
        elif stream == "err" and line.startswith("RECORDS "):
            run.counted = int(line.split()[1])

    pys = [("python consumer (default)", [])]
    if wl == "w1":
        pys.append(("python consumer (tuned)", ["--tuned"]))
    for name, extra in pys:
        r = Run(name, [PYTHON, PY_BASELINE, "kafka", bootstrap, topic, str(n), "--workload", wl] + extra, n,
                group=title, baseline="python", on_line=py_line, timeout=300)
        results.append(r.run())  # it exits by itself after N records
        print(fmt(results[-1]), flush=True)

    def weir_line(stream, line, run):
        if stream == "err" and "assigned" in line and run.t_assigned is None:
            run.t_assigned = time.monotonic()
        elif stream == "out" and line.startswith("{"):
            try:
                run.counted += json.loads(line).get(column, 0)
            except ValueError:
                return
            if run.counted >= n:
                run.done()

    for workers in (1, 2):
        name = "weir %s kafka, %d worker%s" % (wl, workers, "s" if workers > 1 else "")
        r = Run(name, [weir, "run", os.path.join(HERE, "jobs", job), "--state-dir", os.path.join(data, "state"),
                       "--reset-state", "--workers", str(workers)],
                n, env={"BENCH_BROKERS": bootstrap, "BENCH_TOPIC": topic,
                        "BENCH_GROUP": "bench-%s-%d-%d" % (wl, workers, os.getpid())},
                group=title, on_line=weir_line, timeout=300)
        res = r.run()
        res["workers"] = workers
        results.append(res)
        print(fmt(res), flush=True)
    ratios(results, title)


def topic_count(bootstrap, topic):
    return int(subprocess.run("kcat -C -b %s -t %s -e -o beginning -q | wc -l" % (bootstrap, topic), shell=True,
                              stdout=subprocess.PIPE, check=True).stdout)


def producer_workload(weir, bootstrap, path, data, results):
    """The Kafka sink: the W1 file passed through to a topic (a JSON row per record; weir exits once every
    message is acknowledged), against kcat -P producing the file's lines (the client's limit)."""
    title = "Producer sink (file -> loopback Kafka)"
    print("%s: %d records" % (title, N_W1), flush=True)
    r = Run("kcat -P", ["kcat", "-P", "-b", bootstrap, "-t", "copy-kcat", "-l", path], N_W1, group=title,
            baseline="kcat").run()
    results.append(r)
    print(fmt(r), flush=True)
    r = Run("weir producer sink", [weir, "run", os.path.join(HERE, "jobs", "w1-producer-sink.yaml"), "--state-dir",
                                   os.path.join(data, "state"), "--reset-state", "--log-level", "info"],
            N_W1, env={"BENCH_IN": os.path.dirname(path), "BENCH_BROKERS": bootstrap, "BENCH_TOPIC": "copy-weir"},
            group=title, timeout=120)
    res = r.run()
    held = topic_count(bootstrap, "copy-weir")
    if held != N_W1 and "error" not in res:
        res["error"] = "the topic holds %d of %d rows" % (held, N_W1)
    results.append(res)
    print(fmt(res), flush=True)
    ratios(results, title)


def main():
    weir, broker, data = arg("--weir"), arg("--broker"), arg("--data")
    results = []
    print("machine: %d cores, %s" % (os.cpu_count(), cpu_model()), flush=True)
    file_workloads(weir, data, results)
    if "--no-kafka" not in sys.argv:
        try:
            kafka_workloads(weir, broker, data, results)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            print("Loopback Kafka: not run: %s" % e, flush=True)
    out = arg("--json")
    if out:
        with open(out, "w") as f:
            json.dump({"machine": {"cores": os.cpu_count(), "cpu": cpu_model()}, "results": results}, f, indent=1)
    return 1 if any("error" in r for r in results) else 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
