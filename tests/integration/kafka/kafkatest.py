"""Helpers for weir's Kafka integration tests (python3 stdlib only): the mock broker helper process
(tests/tools/weir-mock-broker), kcat produce/consume, and reading a jsonl file sink."""
import json
import subprocess
from collections import Counter


class Broker:
    """A weir-mock-broker process; `bootstrap` is its host:port list. command() sends a stdin command."""

    def __init__(self, binary, brokers=1, topics=()):
        args = [binary, "--brokers", str(brokers)]
        for t in topics:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("BOOTSTRAP "):
            self.proc.kill()
            raise RuntimeError("weir-mock-broker printed %r" % line)
        self.bootstrap = line[len("BOOTSTRAP "):]

    def command(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if reply != "OK":
            raise RuntimeError("broker command %r: %r" % (cmd, reply))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except Exception:
                pass


def produce(bootstrap, topic, lines, keyed=True, partition=None, extra=()):
    """Produces lines ('key|value' when keyed; str, or bytes for payloads that are not UTF-8) with kcat; waits
    for delivery."""
    cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic] + (["-K", "|"] if keyed else []) + list(extra)
    if partition is not None:
        cmd += ["-p", str(partition)]
    data = b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines)
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("kcat produce to %s failed: %s" % (topic, r.stderr.decode(errors="replace")))


def consume(bootstrap, topic, fmt="%k|%s\\n"):
    """Every message of a topic, formatted by kcat -f (one string per message)."""
    r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-o", "beginning", "-f", fmt],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("kcat consume from %s failed: %s" % (topic, r.stderr))
    return r.stdout.splitlines()


def tweet(i, author, lang="en"):
    return {"id": i, "user": {"screen_name": author}, "lang": lang, "text": "tweet number %d" % i}


def latest_emission(path, key="author", value="tweets"):
    """{key: value} of the rows with the largest window_end in a jsonl file sink ({} if none)."""
    try:
        with open(path) as f:
            rows = [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return {}
    if not rows:
        return {}
    end = max(r["window_end"] for r in rows)
    return {r[key]: r[value] for r in rows if r["window_end"] == end}


def tally(tweets):
    return dict(Counter(t["user"]["screen_name"] for t in tweets))
