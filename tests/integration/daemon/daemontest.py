"""Helpers for the `weir daemon` integration tests: the daemon as a subprocess, HTTP, a strict Prometheus
text-format parser and small readers for the file sink's JSON lines. Standard library only."""

import json
import math
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import weirtest as wt


class Daemon:
    """`weir daemon --jobs DIR --state-dir STATE --metrics 127.0.0.1:0 ...` with its log in a file."""

    def __init__(self, weir_bin, jobs_dir, state_dir, log_path, args=(), env=None):
        self.bin = weir_bin
        self.jobs_dir = jobs_dir
        self.state_dir = state_dir
        self.log_path = log_path
        self.args = list(args)
        self.env = dict(env or {})
        self.proc = None
        self.port = None

    def command(self):
        return [self.bin, "daemon", "--jobs", self.jobs_dir, "--state-dir", self.state_dir, "--metrics",
                "127.0.0.1:0"] + self.args

    def start(self):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.update(self.env)
        with open(self.log_path, "ab") as f:
            self.proc = subprocess.Popen(self.command(), stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        m = self.wait_for_log(r"Serving metrics at http://127\.0\.0\.1:(\d+)/metrics", 30, "the metrics address")
        self.port = int(m.group(1))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for_log(self, pattern, timeout=wt.DEFAULT_TIMEOUT, what=None, count=1):
        """Waits until the log matches `pattern` `count` times; returns the last match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = list(rx.finditer(self.log()))
            if len(found) >= count:
                return found[count - 1]
            if not self.running():
                raise AssertionError("weir daemon exited (%s) before logging %s:\n%s" %
                                     (self.proc.returncode, what or repr(pattern), self.log()[-6000:]))
            if time.monotonic() >= deadline:
                raise AssertionError("timed out waiting for the daemon to log %s; log:\n%s" %
                                     (what or repr(pattern), self.log()[-6000:]))
            time.sleep(0.05)

    def get(self, path, timeout=5):
        """(status, body) of GET http://127.0.0.1:PORT/path."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=timeout) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8")

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200, "GET /metrics answered %d: %s" % (status, body)
        return parse_prometheus(body)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=60):
        """SIGTERM, then the exit code."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("weir daemon did not exit within %.0f s of SIGTERM; log:\n%s" %
                                 (timeout, self.log()[-6000:]))

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------------------------------------
# Prometheus text format 0.0.4, parsed strictly


class PromError(Exception):
    pass


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _parse_value(text, lineno):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise PromError("line %d: %r is not a number" % (lineno, text))
    return float(text)


def _parse_labels(s, i, lineno):
    """Parses `{a="x",b="y"}` from s[i] == '{'; returns (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = _LABEL.match(s, i)
        if not m:
            raise PromError("line %d: bad label name at column %d" % (lineno, i + 1))
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise PromError("line %d: expected =\" after label %s" % (lineno, name))
        i += 2
        value = []
        while True:
            if i >= len(s):
                raise PromError("line %d: unterminated label value" % lineno)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise PromError("line %d: bad escape \\%s in a label value" % (lineno, nxt))
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise PromError("line %d: raw newline in a label value" % lineno)
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise PromError("line %d: label %s given twice" % (lineno, name))
        labels[name] = "".join(value)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        raise PromError("line %d: expected , or } after a label value" % lineno)


class Metrics:
    """families: {name: {"type", "help", "samples": [(sample name, labels dict, value)]}}"""

    def __init__(self, families):
        self.families = families

    def samples(self, name):
        """[(labels, value)] of every sample named `name` (also _bucket/_sum/_count of histograms)."""
        out = []
        for fam in self.families.values():
            for sname, labels, value in fam["samples"]:
                if sname == name:
                    out.append((labels, value))
        return out

    def value(self, name, **labels):
        """The value of the one sample `name` whose labels include `labels`; None when there is none."""
        found = [v for ls, v in self.samples(name) if all(ls.get(k) == str(x) for k, x in labels.items())]
        if len(found) > 1:
            raise AssertionError("%d samples of %s match %r" % (len(found), name, labels))
        return found[0] if found else None

    def jobs(self, name="weir_records_in_total"):
        return sorted({ls["job"] for ls, _ in self.samples(name) if "job" in ls})


def parse_prometheus(text):
    """Parses the text exposition format strictly: every sample belongs to a family declared by # TYPE
    before it, a family's samples are contiguous, no series appears twice, values are numbers, counters
    are >= 0, histogram buckets are cumulative and end with le="+Inf" equal to _count. Raises PromError."""
    if text and not text.endswith("\n"):
        raise PromError("the exposition does not end with a newline")
    families = {}
    current = None
    seen_series = set()
    closed = set()
    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        if line == "":
            raise PromError("line %d: empty line" % lineno)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not _NAME.fullmatch(name):
                    raise PromError("line %d: bad metric name %r" % (lineno, name))
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if name in closed:
                    raise PromError("line %d: family %s continues after another family" % (lineno, name))
                if current is not None and current != name:
                    closed.add(current)
                current = name
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in _TYPES:
                        raise PromError("line %d: bad TYPE line %r" % (lineno, line))
                    if fam["type"] is not None:
                        raise PromError("line %d: second TYPE for %s" % (lineno, name))
                    if fam["samples"]:
                        raise PromError("line %d: TYPE for %s after its samples" % (lineno, name))
                    fam["type"] = parts[3]
                else:
                    if fam["help"] is not None:
                        raise PromError("line %d: second HELP for %s" % (lineno, name))
                    fam["help"] = parts[3] if len(parts) == 4 else ""
            continue  # other comments are allowed
        m = _NAME.match(line)
        if not m:
            raise PromError("line %d: no metric name: %r" % (lineno, line))
        sname = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, lineno)
        if i >= len(line) or line[i] != " ":
            raise PromError("line %d: expected a space before the value" % lineno)
        rest = line[i + 1:].split(" ")
        if len(rest) not in (1, 2):
            raise PromError("line %d: expected VALUE [TIMESTAMP]" % lineno)
        value = _parse_value(rest[0], lineno)
        if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
            raise PromError("line %d: bad timestamp %r" % (lineno, rest[1]))
        fam_name = sname
        if fam_name not in families:
            for suffix in ("_bucket", "_sum", "_count"):
                if sname.endswith(suffix) and sname[:-len(suffix)] in families:
                    fam_name = sname[:-len(suffix)]
        fam = families.get(fam_name)
        if fam is None or fam["type"] is None:
            raise PromError("line %d: sample %s has no # TYPE line before it" % (lineno, sname))
        if fam_name != current:
            raise PromError("line %d: sample %s is not next to its family %s" % (lineno, sname, fam_name))
        if fam["type"] != "histogram" and sname != fam_name:
            raise PromError("line %d: sample %s in %s family %s" % (lineno, sname, fam["type"], fam_name))
        if fam["type"] == "histogram" and sname == fam_name:
            raise PromError("line %d: histogram %s needs _bucket/_sum/_count" % (lineno, sname))
        if fam["type"] == "histogram" and sname.endswith("_bucket") and "le" not in labels:
            raise PromError("line %d: bucket without le" % lineno)
        key = (sname, tuple(sorted(labels.items())))
        if key in seen_series:
            raise PromError("line %d: series %s%r appears twice" % (lineno, sname, labels))
        seen_series.add(key)
        if fam["type"] == "counter" and not (value >= 0):
            raise PromError("line %d: counter %s is %r" % (lineno, sname, value))
        fam["samples"].append((sname, labels, value))
    for name, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(name, fam)
    return Metrics(families)


def _check_histogram(name, fam):
    series = {}
    for sname, labels, value in fam["samples"]:
        base = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(base, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            s["buckets"].append((_parse_value(labels["le"], 0), value))
        elif sname == name + "_sum":
            s["sum"] = value
        elif sname == name + "_count":
            s["count"] = value
    for base, s in series.items():
        if s["count"] is None or s["sum"] is None:
            raise PromError("histogram %s%r lacks _sum or _count" % (name, base))
        bounds = [b for b, _ in s["buckets"]]
        if bounds != sorted(bounds) or not bounds or bounds[-1] != math.inf:
            raise PromError("histogram %s%r: buckets not in order or no +Inf bucket" % (name, base))
        counts = [c for _, c in s["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise PromError("histogram %s%r: buckets are not cumulative" % (name, base))
        if counts[-1] != s["count"]:
            raise PromError("histogram %s%r: +Inf bucket %r != count %r" % (name, base, counts[-1], s["count"]))


# ---------------------------------------------------------------------------------------------------------
# file sink output


def read_rows(path):
    """The JSON objects of a jsonl file (an incomplete last line is ignored)."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8").split("\n"):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows
