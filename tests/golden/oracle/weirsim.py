"""A small, independent model of weir's job semantics (spec §4-§7, docs/semantics.md), used to derive the
expected output of golden cases. Stdlib only. It does not parse weir's expression language: each case script
gives `where`/`select`/group keys/`having` as Python functions, written from the job file by hand.

Usage from a case script (tests/golden/oracle/<case>.py):
    from weirsim import *
    recs = read_jsonl(case_path("input.jsonl"))
    ...
    write_expected("<case>", "out.jsonl", rows_to_jsonl(...))
"""
import datetime
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(os.path.dirname(HERE), "cases")
DEFAULT_CLOCK = (1484148840000, 10)


def case_path(case, *parts):
    return os.path.join(CASES, case, *parts)


def read_lines(case):
    with open(case_path(case, "input.jsonl"), "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def read_clock(case):
    p = case_path(case, "clock")
    if not os.path.exists(p):
        return DEFAULT_CLOCK
    a, b = open(p).read().strip().split(":")
    return int(a), int(b)


# ---------------------------------------------------------------- values and paths
def get_path(doc, path):
    """Dot-separated keys, [N] index, [*] list. Missing -> None."""
    toks = []
    for part in path.split("."):
        while "[" in part:
            i = part.index("[")
            if part[:i]:
                toks.append(part[:i])
            j = part.index("]")
            toks.append(("idx", part[i + 1:j]))
            part = part[j + 1:]
        if part:
            toks.append(part)

    def walk(v, ts):
        for k, t in enumerate(ts):
            if isinstance(t, tuple):
                if not isinstance(v, list):
                    return None
                if t[1] == "*":
                    return [walk(e, ts[k + 1:]) for e in v]
                n = int(t[1])
                if n >= len(v):
                    return None
                v = v[n]
            else:
                if not isinstance(v, dict) or t not in v:
                    return None
                v = v[t]
        return v

    return walk(doc, toks)


class Time:
    """A timestamp in epoch ms (distinct from int so that JSON renders it as RFC 3339)."""

    def __init__(self, ms):
        self.ms = ms

    def __eq__(self, o):
        return isinstance(o, Time) and o.ms == self.ms

    def __lt__(self, o):
        return self.ms < o.ms

    def __hash__(self):
        return hash(self.ms)


def rfc3339(ms):
    d = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def fmt_float(d):
    """Shortest round-trip form, as weir writes floats (an integral float is written without a fraction)."""
    if not math.isfinite(d):
        return "null"
    r = repr(d)
    if r.endswith(".0"):
        r = r[:-2]
    if "e" in r:
        m, e = r.split("e")
        if m.endswith(".0"):
            m = m[:-2]
        r = m + "e" + e
    return r


def to_json(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fmt_float(v)
    if isinstance(v, Time):
        return '"' + rfc3339(v.ms) + '"'
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(to_json(e) for e in v) + "]"
    raise TypeError(v)


def row_json(cols, row):
    return "{" + ",".join(json.dumps(c) + ":" + to_json(v) for c, v in zip(cols, row)) + "}\n"


# ---------------------------------------------------------------- aggregates
def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class Agg:
    """kind: count, count_x, sum, min, max, avg, count_distinct, first, last; fn: record -> argument."""

    def __init__(self, kind, fn=None):
        self.kind, self.fn = kind, fn

    def empty(self):
        return {"n": 0, "v": None, "set": set(), "sum_int": True, "seen": False, "cnt": 0}

    def add(self, st, rec):
        st["n"] += 1
        if self.kind == "count":
            return
        x = self.fn(rec)
        if x is None:
            return
        st["cnt"] += 1
        k = self.kind
        if k == "count_distinct":
            st["set"].add(json.dumps(x) if not isinstance(x, Time) else ("t", x.ms))
        elif k in ("sum", "avg"):
            if isinstance(x, float):
                st["sum_int"] = False
            st["v"] = x if st["v"] is None else st["v"] + x
        elif k == "min":
            st["v"] = x if st["v"] is None or x < st["v"] else st["v"]
        elif k == "max":
            st["v"] = x if st["v"] is None or x > st["v"] else st["v"]
        elif k == "first":
            if not st["seen"]:
                st["v"], st["seen"] = x, True
        elif k == "last":
            st["v"] = x

    def result(self, st):
        k = self.kind
        if k == "count":
            return st["n"]
        if k == "count_x":
            return st["cnt"]
        if k == "count_distinct":
            return len(st["set"])
        if k == "sum":
            if st["v"] is None:
                return None
            return st["v"] if st["sum_int"] else float(st["v"])
        if k == "avg":
            return None if st["cnt"] == 0 else st["v"] / st["cnt"]
        return st["v"]


# ---------------------------------------------------------------- outputs
class Output:
    """An aggregating output. keys: list of (name, fn(record)); aggs: list of (name, Agg).
    where: fn(record) -> bool; explode: fn(record) -> list of records; having: fn(rowdict) -> bool;
    order_by: list of (column, desc?); limit: int or None; window: ("batch",) | ("tumbling", D) |
    ("sliding", L, S) | ("total",)."""

    def __init__(self, keys=(), aggs=(), where=None, explode=None, having=None, order_by=(), limit=None,
                 window=("batch",)):
        self.keys, self.aggs = list(keys), list(aggs)
        self.where, self.explode, self.having = where, explode, having
        self.order_by, self.limit, self.window = list(order_by), limit, window

    def columns(self):
        return ["window_start", "window_end"] + [k for k, _ in self.keys] + [a for a, _ in self.aggs]

    def records(self, rec):
        if self.where is not None and self.where(rec) is not True:
            return []
        return self.explode(rec) if self.explode else [rec]

    def rows_for(self, start, end, recs):
        """Rows of one window holding `recs` (already filtered/exploded)."""
        groups = {}
        for r in recs:
            key = tuple(fn(r) for _, fn in self.keys)
            st = groups.setdefault(key, [a.empty() for _, a in self.aggs])
            for (_, a), s in zip(self.aggs, st):
                a.add(s, r)
        if not self.keys and not groups:
            groups[()] = [a.empty() for _, a in self.aggs]
        rows = []
        for key in sorted(groups, key=sort_key_tuple):
            vals = [a.result(s) for (_, a), s in zip(self.aggs, groups[key])]
            rows.append([Time(start), Time(end)] + list(key) + vals)
        cols = self.columns()
        if self.having:
            rows = [r for r in rows if self.having(dict(zip(cols, r))) is True]
        nk = len(self.keys)
        for col, desc in reversed(self.order_by):  # stable sorts, least significant first; keys asc already
            i = cols.index(col)
            nulls = [r for r in rows if r[i] is None]
            vals = [r for r in rows if r[i] is not None]
            vals.sort(key=lambda r: sort_key(r[i]), reverse=desc)
            rows = vals + nulls if not desc else nulls + vals  # nulls smallest
        del nk
        if self.limit is not None:
            rows = rows[: self.limit]
        return rows


def sort_key(v):
    if isinstance(v, Time):
        return (2, v.ms)
    if isinstance(v, bool):
        return (0, int(v))
    if _num(v):
        return (1, v)
    if isinstance(v, str):
        return (3, v.encode("utf-8"))
    return (4, json.dumps(v))


def sort_key_tuple(t):
    return tuple((0,) if v is None else (1,) + sort_key(v) for v in t)


# ---------------------------------------------------------------- processing time
def processing_emissions(out, arrivals, batch_ms, start_ms, eof_ms):
    """arrivals: list of (arrival_ms, record) of good records (in order); eof_ms: the test clock when the
    source ends (start + lines * step: the clock steps once per line read). Returns [(start, end, rows)]."""
    first_b = start_ms // batch_ms
    end_all = (eof_ms // batch_ms + 1) * batch_ms  # the scheduled end of the batch in progress at EOF
    w = out.window
    if w[0] == "batch":
        length, every = batch_ms, batch_ms
    elif w[0] == "tumbling":
        length, every = w[1], w[1]
    elif w[0] == "sliding":
        length, every = w[1], w[2]
    else:
        length, every = None, batch_ms
    # the first emission boundary at or after the end of input
    stop = -(-end_all // every) * every
    ems = []
    b_end = (first_b + 1) * batch_ms
    while b_end <= stop:
        if b_end % every == 0:
            if length is None:
                ws = first_b * batch_ms
            else:
                ws = b_end - length
            recs = [r for t, rec in arrivals if ws <= batch_of(t, batch_ms) < b_end for r in out.records(rec)]
            rows = out.rows_for(ws, b_end, recs)
            ems.append((ws, b_end, rows))
        b_end += batch_ms
    return ems


def batch_of(t, batch_ms):
    return (t // batch_ms) * batch_ms


# ---------------------------------------------------------------- event time
def event_emissions(out, events, batch_ms, lateness_ms, late_sink=None):
    """events: list of (event_ms, record) in input order. Windows aligned to the epoch. Returns
    [(start, end, rows)] for every emitted window; late records are appended to late_sink."""
    w = out.window
    if w[0] in ("batch", "tumbling"):
        length = every = batch_ms if w[0] == "batch" else w[1]
    elif w[0] == "sliding":
        length, every = w[1], w[2]
    else:
        raise ValueError("total in event time is not modelled")
    wm = None
    windows = {}  # start -> list of records
    first_start = None
    for ts, rec in events:
        ks = []
        k = ts // every
        while k * every + length > ts:
            if k * every <= ts:
                ks.append(k * every)
            k -= 1
        open_ks = [s for s in ks if wm is None or wm < s + length]
        if not open_ks:
            if late_sink is not None:
                late_sink.append(rec)
        else:
            for s in open_ks:
                lst = windows.setdefault(s, [])
                lst.extend(out.records(rec))
                if first_start is None or s < first_start:
                    first_start = s
        wm = ts - lateness_ms if wm is None else max(wm, ts - lateness_ms)
    ems = []
    if not out.keys:
        if first_start is None:
            return []
        last = max(windows)
        s = first_start
        while s <= last:
            ems.append((s, s + length, out.rows_for(s, s + length, windows.get(s, []))))
            s += every
        return ems
    for s in sorted(windows):
        rows = out.rows_for(s, s + length, windows[s])
        if rows:
            ems.append((s, s + length, rows))
    return ems


def emissions_jsonl(out, ems):
    cols = out.columns()
    return "".join(row_json(cols, r) for _, _, rows in ems for r in rows)


def write_expected(case, rel, text):
    p = case_path(case, "expected", rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def check_or_write(case, files):
    """files: {rel: text}. With --write, writes expected/; otherwise compares and exits 1 on a difference."""
    bad = 0
    for rel, text in files.items():
        p = case_path(case, "expected", rel)
        if "--write" in sys.argv:
            write_expected(case, rel, text)
            continue
        have = open(p, encoding="utf-8").read() if os.path.exists(p) else None
        if have != text:
            print("oracle %s: expected/%s differs from the oracle" % (case, rel))
            bad = 1
    if bad:
        sys.exit(1)
    print("oracle %s: ok" % case)
