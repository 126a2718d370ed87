#!/usr/bin/env python3
"""Expected outputs of the larger golden cases, computed by weirsim (independently of weir).
    python3 tests/golden/oracle/cases.py            # compare every case's expected/ with the oracle
    python3 tests/golden/oracle/cases.py --write X  # (re)write expected/ of case X from the oracle
Each function mirrors its case's job.yaml by hand (where/having/keys as Python)."""
import json
import sys

from weirsim import (Agg, Output, Time, check_or_write, emissions_jsonl, event_emissions, get_path,
                     processing_emissions, read_clock, read_lines)

CASES = {}


def case(fn):
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


def docs(name):
    return [json.loads(l) for l in read_lines(name)]


def arrivals(name, extract, batch_ms):
    """(arrival_ms, fields) of each good line; extract returns None for a bad record."""
    start, step = read_clock(name)
    out = []
    for i, line in enumerate(read_lines(name)):
        r = extract(line)
        if r is not None:
            out.append((start + i * step, r))
    return out, start, start + len(read_lines(name)) * step


def tweet(line):
    d = json.loads(line)
    return {"author": get_path(d, "user.screen_name"), "text": get_path(d, "text"),
            "lang": get_path(d, "lang") if get_path(d, "lang") is not None else "und", "_doc": d}


def proc(name, out, extract, batch_ms):
    arr, start, eof = arrivals(name, extract, batch_ms)
    return emissions_jsonl(out, processing_emissions(out, arr, batch_ms, start, eof))


@case
def seed_tweets_per_author(name):
    o = Output(keys=[("author", lambda r: r["author"])], aggs=[("tweets", Agg("count"))],
               order_by=[("tweets", True)])
    return {"tweets-per-author.jsonl": proc(name, o, tweet, 5000)}


@case
def seed_top_authors(name):
    o = Output(keys=[("author", lambda r: r["author"])], aggs=[("tweets", Agg("count"))],
               where=lambda r: r["lang"] == "en", order_by=[("tweets", True)], limit=2)
    return {"top-authors.jsonl": proc(name, o, tweet, 5000)}


@case
def seed_busy_or_rm(name):
    o = Output(keys=[("author", lambda r: r["author"])], aggs=[("tweets", Agg("count"))],
               having=lambda row: row["tweets"] > 1 or row["author"].lower().startswith("rm"),
               order_by=[("tweets", True)])
    return {"busy.jsonl": proc(name, o, tweet, 5000)}


@case
def seed_top_words(name):
    def words(r):
        return [dict(r, word=w) for w in r["text"].split(" ") if w != ""]

    o = Output(keys=[("lower(word)", lambda r: r["word"].lower())], aggs=[("n", Agg("count"))],
               where=lambda r: r["text"] is not None, explode=words, order_by=[("n", True)], limit=4)
    return {"top-words.jsonl": proc(name, o, tweet, 5000)}


@case
def seed_rolling_counts(name):
    a = Output(aggs=[("tweets", Agg("count"))], window=("sliding", 60000, 5000))
    b = Output(keys=[("lang", lambda r: r["lang"])], aggs=[("tweets", Agg("count"))],
               window=("sliding", 60000, 5000), order_by=[("tweets", True)])
    return {"count-by-window.jsonl": proc(name, a, tweet, 5000),
            "count-by-value.jsonl": proc(name, b, tweet, 5000)}


@case
def seed_hashtags_60s(name):
    def tags(r):
        lst = get_path(r["_doc"], "entities.hashtags[*].text") or []
        return [dict(r, tag=t) for t in lst if t is not None]

    o = Output(keys=[("hashtag", lambda r: r["tag"].lower())], aggs=[("n", Agg("count"))], explode=tags,
               window=("sliding", 60000, 5000), order_by=[("n", True)], limit=3)
    return {"hashtags.jsonl": proc(name, o, tweet, 5000)}


@case
def seed_treasury(name):
    def ext(line):
        d = json.loads(line)
        if any(d.get(k) is None for k in ("branch", "currency", "amount")):
            return None
        return d

    o = Output(keys=[("branch", lambda r: r["branch"]), ("currency", lambda r: r["currency"])],
               aggs=[("amount", Agg("sum", lambda r: r["amount"])), ("transactions", Agg("count"))])
    return {"flow.jsonl": proc(name, o, ext, 2000)}


@case
def proc_windows(name):
    def ext(line):
        d = json.loads(line)
        return {"k": d.get("k"), "v": d.get("v")}

    v = lambda r: r["v"]
    k = [("k", lambda r: r["k"])]
    outs = {
        "per-batch.jsonl": Output(aggs=[("n", Agg("count")), ("s", Agg("sum", v)), ("lo", Agg("min", v))]),
        "tumbling.jsonl": Output(keys=k, aggs=[("n", Agg("count")), ("s", Agg("sum", v))], window=("tumbling", 5000)),
        "sliding.jsonl": Output(aggs=[("n", Agg("count")), ("hi", Agg("max", v))], window=("sliding", 4000, 2000)),
        "total-by-k.jsonl": Output(keys=k, aggs=[("n", Agg("count")), ("s", Agg("sum", v))], window=("total",)),
        "total.jsonl": Output(aggs=[("n", Agg("count")), ("last_v", Agg("last", v))], window=("total",)),
    }
    return {f: proc(name, o, ext, 1000) for f, o in outs.items()}


def events(name):
    return [(d["ts"], d) for d in docs(name)]


def event_outputs(name, window, aggs_k, aggs_all, lateness):
    k = [("k", lambda r: r["k"])]
    a = Output(keys=k, aggs=aggs_k, window=window)
    b = Output(aggs=aggs_all, window=window)
    ev = events(name)
    return {"by-k.jsonl": emissions_jsonl(a, event_emissions(a, ev, 0, lateness)),
            "all.jsonl": emissions_jsonl(b, event_emissions(b, ev, 0, lateness))}


V = lambda r: r["v"]


@case
def event_tumbling(name):
    return event_outputs(name, ("tumbling", 10000),
                         [("n", Agg("count")), ("s", Agg("sum", V)), ("first_v", Agg("first", V))],
                         [("n", Agg("count")), ("s", Agg("sum", V))], 2000)


@case
def event_sliding(name):
    return event_outputs(name, ("sliding", 10000, 5000), [("n", Agg("count")), ("vs", Agg("sum", V))],
                         [("n", Agg("count")), ("hi", Agg("max", V))], 1000)


@case
def event_batch(name):
    return event_outputs(name, ("tumbling", 5000), [("n", Agg("count")), ("vs", Agg("sum", V))],
                         [("n", Agg("count"))], 0)


@case
def event_sliding_uneven(name):
    return event_outputs(name, ("sliding", 10000, 3000), [("n", Agg("count")), ("vs", Agg("sum", V))],
                         [("n", Agg("count"))], 0)


@case
def event_sliding_aggs(name):
    S = lambda r: r.get("s")
    Vg = lambda r: r.get("v")
    o = Output(keys=[("k", lambda r: r["k"])], window=("sliding", 30000, 10000),
               aggs=[("n", Agg("count")), ("nv", Agg("count_x", Vg)), ("sv", Agg("sum", Vg)), ("lo", Agg("min", Vg)),
                     ("hi", Agg("max", Vg)), ("ds", Agg("count_distinct", S)),
                     ("fs", Agg("first", S)), ("ls", Agg("last", S)), ("mins", Agg("min", S))])
    return {"by-k.jsonl": emissions_jsonl(o, event_emissions(o, events(name), 0, 5000))}


def main():
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or sorted(CASES)
    bad = 0
    for n in names:
        try:
            check_or_write(n, CASES[n](n))
        except SystemExit:
            bad = 1
    sys.exit(bad)


if __name__ == "__main__":
    main()
