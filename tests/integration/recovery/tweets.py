"""Tweets with event times for the recovery tests, the sliding-window job, and its oracle (stdlib only).

The job counts tweets per author over event-time windows `{sliding: 60s, every: 5s}` on created_at with
`lateness: 10s` (spec §6). Event time makes the result independent of batching, machine speed and of where
weir was killed, so the final table of every run must equal `oracle(records)` exactly.

Tweets are the real ones from /work/shared/testdata/tweets-100.jsonl when present (nested user/entities,
Japanese text, emoji), each copy given a new id, author and created_at; otherwise tweet-shaped documents of
similar nesting and size are generated.
"""
import calendar
import copy
import json
import os
import time

# WEIR_TEST_TWEETS=/nonexistent forces the generated documents (to check the tests without /work/shared).
TESTDATA = os.environ.get("WEIR_TEST_TWEETS", "/work/shared/testdata/tweets-100.jsonl")
AUTHORS = ["ayuu0123", "rmoff", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
           "judy"]
SLIDE_S = 5
LENGTH_S = 60
LATENESS_S = 10
START_S = calendar.timegm((2014, 8, 31, 0, 0, 0, 0, 0, 0))  # the real tweets' day


def _generated_templates(n=20):
    out = []
    for i in range(n):
        out.append({
            "metadata": {"result_type": "recent", "iso_language_code": "ja"},
            "created_at": "", "id": 0, "id_str": "",
            "text": "テスト tweet %d — 名前:テスト 😋✨ #weir #stream%d http://t.co/x%d" % (i, i % 3, i),
            "source": "<a href=\"http://twitter.com\" rel=\"nofollow\">Twitter Web Client</a>",
            "truncated": False, "in_reply_to_status_id": None,
            "user": {"id": 1000 + i, "screen_name": "", "name": "User %d ✨" % i, "location": "東京",
                     "description": "説明 " * 40, "followers_count": 10 * i, "protected": False,
                     "entities": {"description": {"urls": []}}},
            "entities": {"hashtags": [{"text": "weir", "indices": [20, 25]},
                                      {"text": "stream%d" % (i % 3), "indices": [26, 34]}],
                         "symbols": [], "urls": [{"url": "http://t.co/x%d" % i, "indices": [35, 50]}],
                         "user_mentions": []},
            "retweet_count": i, "favorite_count": 0, "lang": "ja",
        })
    return out


def templates():
    """(list of tweet dicts, description of where they came from)."""
    if os.path.exists(TESTDATA):
        with open(TESTDATA, encoding="utf-8") as f:
            ts = [json.loads(line) for line in f if line.strip()]
        if ts:
            return ts, "%d real tweets from %s" % (len(ts), TESTDATA)
    return _generated_templates(), "generated tweet-like documents (%s is absent)" % TESTDATA


def created_at(epoch_s):
    return time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime(epoch_s))


class TweetStream:
    """Produces batches of tweets with event times that mostly advance (0–3 s per tweet); 10 % are out of
    order by 1–25 s (they fall into the still-open windows only) and 2 % by 65–90 s (late: every window
    holding them is closed, so they are dropped). `records` keeps (epoch_s, author, id) in the order handed out."""

    def __init__(self, rng, tmpl=None):
        self.rng = rng
        self.tmpl = tmpl if tmpl is not None else templates()[0]
        self.now_s = START_S + rng.randint(0, 59)
        self.next_id = 1
        self.records = []

    def take(self, n):
        docs = []
        for _ in range(n):
            self.now_s += self.rng.choice((0, 0, 1, 1, 2, 3))
            u = self.rng.random()
            t = self.now_s - (self.rng.randint(1, 25) if u < 0.1 else self.rng.randint(65, 90) if u < 0.12 else 0)
            author = self.rng.choice(AUTHORS)
            d = copy.deepcopy(self.rng.choice(self.tmpl))
            d["id"] = 505874924095815681 + self.next_id
            d["id_str"] = str(d["id"])
            d["created_at"] = created_at(t)
            d.setdefault("user", {})["screen_name"] = author
            self.records.append((t, author, d["id"]))
            self.next_id += 1
            docs.append(d)
        return docs


def job_yaml(input_dir, sink_yaml, batch="200ms", extra=""):
    """The sliding-window tweets job over a files source; sink_yaml is the `to:` value (flow YAML)."""
    return f"""
batch: {batch}
time: {{ event: ts, lateness: {LATENESS_S}s }}
source: {{ files: {{ dir: {input_dir}, pattern: "*.jsonl" }} }}
fields:
  ts: {{ path: created_at, type: time, format: "%a %b %d %H:%M:%S %z %Y" }}
  author: {{ path: user.screen_name, type: string, required: true }}
outputs:
  - name: authors
    group_by: [author]
    window: {{ sliding: {LENGTH_S}s, every: {SLIDE_S}s }}
    aggregate: {{ tweets: count() }}
    to: {sink_yaml}
{extra}"""


def pg_sink(table):
    return ('{ postgres: { dsn: "${WEIR_PG_DSN}", table: %s, mode: upsert, key: [window_end, author], '
            'create: true } }' % table)


def pg_job_yaml(input_dir, table, batch="200ms"):
    """The job with two PostgreSQL outputs of the same windows: `authors` upserted into TABLE (keyed
    [window_end, author]) and `authors_log` appended to TABLE_log — where a batch written twice shows as
    duplicate rows (an upsert would hide it)."""
    log = """  - name: authors_log
    group_by: [author]
    window: {{ sliding: {L}s, every: {S}s }}
    aggregate: {{ tweets: count() }}
    to: {{ postgres: {{ dsn: "${{WEIR_PG_DSN}}", table: {t}_log, mode: append, create: true }} }}
""".format(L=LENGTH_S, S=SLIDE_S, t=table)
    return job_yaml(input_dir, pg_sink(table), batch, extra=log)


PG_OUTPUTS = ("authors", "authors_log")


def pg_tables(test, pg, table):
    """{(window_end s, author): count} of TABLE, after checking TABLE_log holds the same rows exactly once
    (no duplicate (window_end, author)) and window_start = window_end - length everywhere."""
    got = {}
    for t in (table, table + "_log"):
        rows = pg.query("SELECT extract(epoch FROM window_start)::bigint, extract(epoch FROM window_end)::bigint, "
                        "author, tweets FROM %s" % t)
        g = {(int(e), a): int(n) for _, e, a, n in rows}
        test.assertEqual(len(g), len(rows), "duplicate (window_end, author) rows in %s" % t)
        test.assertTrue(all(int(e) - int(s) == LENGTH_S for s, e, _, _ in rows), "window_start is off in " + t)
        got[t] = g
    test.assertEqual(got[table + "_log"], got[table], "the append and the upsert table differ")
    return got[table]


def oracle(records):
    """{(window_end epoch s, author): count} of every window weir has emitted by the time it has read
    `records` (in this order), computed from spec §6 directly: the watermark is the largest event time so far
    minus the lateness; a record goes into each window [k·S, k·S+L) holding it whose end is still above the
    watermark (a record with none left is late and dropped); a window is emitted once the watermark reaches
    its end. Groups with no records in a window are not emitted."""
    wm = None
    counts = {}
    for t, author, _ in records:
        k_hi = t // SLIDE_S                              # last window start k·S ≤ t
        k_lo = (t - LENGTH_S) // SLIDE_S + 1             # first window with k·S + L > t
        for k in range(k_lo, k_hi + 1):
            end = k * SLIDE_S + LENGTH_S
            if wm is not None and end <= wm:
                continue  # closed already
            counts[(end, author)] = counts.get((end, author), 0) + 1
        wm = t - LATENESS_S if wm is None else max(wm, t - LATENESS_S)
    return {k: v for k, v in counts.items() if wm is not None and k[0] <= wm}


def late_count(records):
    """How many records had every window closed when they arrived (dropped as late)."""
    wm, late = None, 0
    for t, _, _ in records:
        last_end = (t // SLIDE_S) * SLIDE_S + LENGTH_S
        if wm is not None and last_end <= wm:
            late += 1
        wm = t - LATENESS_S if wm is None else max(wm, t - LATENESS_S)
    return late


def iso(epoch_s):
    """A window bound as the file/Kafka sinks write it (RFC 3339 UTC, milliseconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_s))


def from_iso(s):
    """Epoch seconds of an RFC 3339 UTC timestamp with milliseconds ('2014-08-31T00:01:00.000Z')."""
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
