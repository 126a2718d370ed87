#!/usr/bin/env python3
"""The program a reader of the Spark Streaming tutorials would write without Spark: a confluent-kafka consumer
(or a file reader), json.loads per record, plain dict aggregation per batch, printed at each batch end.

  python_consumer.py kafka BOOTSTRAP TOPIC N [--tuned] [--workload w1] [--batch-s S]
                                                                        from Kafka; exits after N records
  python_consumer.py file  PATH WORKLOAD [--batch-s S]                   W1 | W2 | W3 from a file, to its end

Workloads (the same logic as bench/jobs/*.yaml):
  w1  sum(amount) and count() per (branch, currency) per batch
  w2  tweets per author over the last 60 s every 5 s (per-batch panes), and the 10 most used words per batch
  w3  count() and sum(v) per key over the last 60 s every 1 s (per-batch panes)
Prints `ASSIGNED` on stderr when the Kafka group assignment arrives, and `RECORDS n` on stderr at the end.
"""
import collections
import heapq
import json
import sys
import time


class W1:
    def __init__(self):
        self.acc = {}

    def add(self, d):
        k = (d["branch"], d["currency"])
        a = self.acc.get(k)
        if a is None:
            self.acc[k] = [d["amount"], 1]
        else:
            a[0] += d["amount"]
            a[1] += 1

    def emit(self, out):
        for k in sorted(self.acc):
            out.write("%s %s %d %d\n" % (k[0], k[1], self.acc[k][0], self.acc[k][1]))
        self.acc = {}


class Sliding:
    """Per-batch panes; the window total is kept incrementally: add the closed pane, subtract the evicted one."""

    def __init__(self, panes):
        self.panes = collections.deque()
        self.max = panes
        self.cur = {}
        self.total = {}

    def _merge(self, pane, sign):
        total = self.total
        for k, v in pane.items():
            t = total.get(k)
            if t is None:
                total[k] = list(v)
            else:
                for i in range(len(v)):
                    t[i] += sign * v[i]
                if sign < 0 and t[0] == 0:
                    del total[k]

    def close(self):
        self.panes.append(self.cur)
        self._merge(self.cur, 1)
        self.cur = {}
        if len(self.panes) > self.max:
            self._merge(self.panes.popleft(), -1)
        return self.total


class W2:
    def __init__(self, batch_s):
        self.authors = Sliding(max(1, int(60 / batch_s)))
        self.words = {}

    def add(self, d):
        author = (d.get("user") or {}).get("screen_name")
        c = self.authors.cur.get(author)
        if c is None:
            self.authors.cur[author] = [1]
        else:
            c[0] += 1
        text = d.get("text")
        if text is not None:
            for w in text.split(" "):
                if w:
                    w = w.lower()
                    self.words[w] = self.words.get(w, 0) + 1

    def emit(self, out):
        total = self.authors.close()
        for k, v in heapq.nsmallest(10, total.items(), key=lambda kv: (-kv[1][0], str(kv[0]))):
            out.write("%s %d\n" % (k, v[0]))
        for k, v in heapq.nsmallest(10, self.words.items(), key=lambda kv: (-kv[1], kv[0])):
            out.write("%s %d\n" % (k, v))
        self.words = {}


class W3:
    def __init__(self, batch_s):
        self.s = Sliding(max(1, int(60 / batch_s)))

    def add(self, d):
        c = self.s.cur.get(d["key"])
        if c is None:
            self.s.cur[d["key"]] = [1, d["v"]]
        else:
            c[0] += 1
            c[1] += d["v"]

    def emit(self, out):
        total = self.s.close()
        for k, v in heapq.nsmallest(10, total.items(), key=lambda kv: (-kv[1][0], kv[0])):
            out.write("%s %d %d\n" % (k, v[0], v[1]))


def opt(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def run_file(path, workload, batch_s):
    agg = {"w1": W1, "w2": lambda: W2(batch_s), "w3": lambda: W3(batch_s)}[workload]()
    out = sys.stdout
    n = 0
    deadline = time.monotonic() + batch_s
    with open(path, "rb") as f:
        for line in f:
            agg.add(json.loads(line))
            n += 1
            if (n & 1023) == 0 and time.monotonic() >= deadline:
                agg.emit(out)
                deadline += batch_s
    agg.emit(out)
    print("RECORDS %d" % n, file=sys.stderr)


def run_kafka(bootstrap, topic, want, tuned, workload, batch_s):
    from confluent_kafka import Consumer

    conf = {"bootstrap.servers": bootstrap, "group.id": "py-bench-%d" % time.time_ns(),
            "auto.offset.reset": "earliest", "enable.auto.commit": True}
    if tuned:
        conf.update({"queued.min.messages": 10000000, "fetch.wait.max.ms": 10})
    c = Consumer(conf)

    def on_assign(consumer, parts):
        print("ASSIGNED %d" % len(parts), file=sys.stderr, flush=True)

    c.subscribe([topic], on_assign=on_assign)
    agg = {"w1": W1, "w2": lambda: W2(batch_s), "w3": lambda: W3(batch_s)}[workload]()
    n = 0
    deadline = time.monotonic() + batch_s
    while n < want:
        for m in c.consume(num_messages=10000, timeout=0.1):
            if m.error():
                continue
            agg.add(json.loads(m.value()))
            n += 1
        if time.monotonic() >= deadline:
            agg.emit(sys.stdout)
            deadline += batch_s
    agg.emit(sys.stdout)
    c.close()
    print("RECORDS %d" % n, file=sys.stderr)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "kafka":
        wl = opt("--workload", "w1")
        run_kafka(sys.argv[2], sys.argv[3], int(sys.argv[4]), "--tuned" in sys.argv, wl,
                  float(opt("--batch-s", {"w1": 2, "w2": 5, "w3": 1}[wl])))
    elif sys.argv[1] == "file":
        run_file(sys.argv[2], sys.argv[3], float(opt("--batch-s", {"w1": 2, "w2": 5, "w3": 1}[sys.argv[3]])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
