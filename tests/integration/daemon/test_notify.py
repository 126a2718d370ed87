#!/usr/bin/env python3
"""`weir daemon` speaks systemd's notify protocol (Type=notify) to $NOTIFY_SOCKET: READY=1 with a STATUS once
the jobs started, WATCHDOG=1 at half of $WATCHDOG_USEC, RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM; and
--log-format json gives one JSON object per line. No systemd needed: the test listens on the socket itself.

usage: test_notify.py WEIR_BIN SOURCE_DIR
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".", "tests", "integration", "lib"))
import weirtest as wt  # noqa: E402

CTX = wt.Context.from_argv("daemon-notify")


class Notify(wt.unittest.TestCase):
    def test_notify_protocol_and_json_log(self):
        jobs = CTX.path("jobs")
        os.makedirs(jobs)
        with open(os.path.join(jobs, "gen.yaml"), "w") as f:
            f.write("batch: 200ms\nsource: { generate: { rate: 100/s, template: { x: { int: [1, 2] } } } }\n"
                    "outputs:\n  - name: n\n    aggregate: { n: count() }\n    to: { file: { path: %s } }\n"
                    % CTX.path("out.jsonl"))
        sock_path = CTX.path("notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.2)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="1000000")
        env.pop("WATCHDOG_PID", None)
        log_path = CTX.path("daemon.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([CTX.weir_bin, "daemon", "--jobs", jobs, "--state-dir", CTX.path("state"),
                                     "--log-format", "json", "--stats-every", "0s"],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        messages = []

        def receive_until(pred, timeout, what):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    messages.append(sock.recv(4096).decode())
                except socket.timeout:
                    pass
                if any(pred(m) for m in messages):
                    return
            raise AssertionError("no %s from weir; got %r" % (what, messages))

        try:
            receive_until(lambda m: "READY=1" in m, 30, "READY=1")
            ready = next(m for m in messages if "READY=1" in m)
            self.assertIn("STATUS=1 job(s) running", ready)
            t0 = time.monotonic()
            n0 = sum(m.count("WATCHDOG=1") for m in messages)
            # 1 s watchdog: a ping every 0.5 s
            receive_until(lambda m: sum(x.count("WATCHDOG=1") for x in messages) >= n0 + 3, 10, "watchdog pings")
            self.assertLess(time.monotonic() - t0, 5)
            proc.send_signal(signal.SIGHUP)
            receive_until(lambda m: "RELOADING=1" in m, 10, "RELOADING=1")
            proc.send_signal(signal.SIGTERM)
            receive_until(lambda m: "STOPPING=1" in m, 10, "STOPPING=1")
            self.assertEqual(proc.wait(timeout=30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
        with open(log_path) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            obj = json.loads(line)  # every line is one JSON object
            self.assertIsInstance(obj, dict)
        text = "\n".join(lines)
        self.assertIn("daemon starting", text)
        self.assertIn("Job 'gen' started", text)
        self.assertIn("Received SIGTERM", text)


class BadOptions(wt.unittest.TestCase):
    def run_daemon(self, *args):
        return subprocess.run([CTX.weir_bin, "daemon"] + list(args), capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    def test_usage_errors_exit_2(self):
        jobs = CTX.path("jobs-bad-options")
        os.makedirs(jobs, exist_ok=True)
        state = ["--state-dir", CTX.path("state-bad-options")]
        for args, message in (((), "--jobs"),
                              (("--jobs", CTX.path("no-such-dir")), "is not a directory"),
                              (("--jobs", jobs, "--metrics", "localhost:http"), "--metrics"),
                              (("--jobs", jobs, "--stats-every", "often"), "--stats-every 'often' is not a duration"),
                              (("--jobs", jobs, "--stop-timeout", "-1s"), "--stop-timeout"),
                              (("--jobs", jobs, "--log-format", "xml"), "--log-format")):
            r = self.run_daemon(*(list(args) + state))
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(message, r.stdout + r.stderr, args)

    def test_metrics_port_taken_exits_1(self):
        jobs = CTX.path("jobs-port")
        os.makedirs(jobs, exist_ok=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            r = self.run_daemon("--jobs", jobs, "--state-dir", CTX.path("state-port"), "--metrics",
                                "127.0.0.1:%d" % s.getsockname()[1])
        finally:
            s.close()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Cannot serve metrics on 127.0.0.1:", r.stdout + r.stderr)


if __name__ == "__main__":
    wt.main(CTX)
