#!/usr/bin/env python3
"""deploy/weir.service: `systemd-analyze verify` accepts it (with /usr/bin/weir pointing at the built binary),
it has the sandbox the security expectations ask for, and its ExecStartPre really validates the job files.

usage: test_unit_file.py WEIR_BIN SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

WEIR, SOURCE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
del sys.argv[1:3]
UNIT = os.path.join(SOURCE, "deploy", "weir.service")


def directives(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


class UnitFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="weir-unit-")
        with open(UNIT) as f:
            self.text = f.read()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_systemd_analyze_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.fail("systemd-analyze is missing: run scripts/setup.sh test (it installs systemd)")
        # the install path resolved to the built binary, so that verify finds an executable
        path = os.path.join(self.tmp, "weir.service")
        with open(path, "w") as f:
            f.write(self.text.replace("/usr/bin/weir", WEIR))
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
        problems = [l for l in (r.stdout + r.stderr).splitlines() if "weir.service" in l]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(problems, [], "systemd-analyze verify complains about the unit")

    def test_verify_catches_a_missing_binary(self):
        # the check above is real: a unit whose binary is missing fails verify
        path = os.path.join(self.tmp, "weir.service")
        with open(path, "w") as f:
            f.write(self.text.replace("/usr/bin/weir", os.path.join(self.tmp, "no-such-weir")))
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
        self.assertTrue(r.returncode != 0 or "no-such-weir" in r.stdout + r.stderr, r.stdout + r.stderr)

    def test_sandbox_and_notify(self):
        d = directives(self.text)
        want = {"Type": "notify", "DynamicUser": "yes", "StateDirectory": "weir", "NoNewPrivileges": "yes",
                "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
                "Restart": "on-failure"}
        for key, value in want.items():
            self.assertEqual(d.get(key), [value], key)
        self.assertIn("WatchdogSec", d)
        self.assertRegex(d["ExecStart"][0], r"^/usr/bin/weir daemon --jobs /etc/weir/jobs\.d ")
        self.assertRegex(d["ExecStartPre"][0], r"/usr/bin/weir validate")
        # the stop timeout systemd allows is longer than the one weir uses
        stop = int(re.search(r"--stop-timeout (\d+)s", d["ExecStart"][0]).group(1))
        self.assertGreater(int(d["TimeoutStopSec"][0].rstrip("s")), stop)

    def test_exec_start_pre_validates_the_job_files(self):
        jobs = os.path.join(self.tmp, "jobs.d")
        os.makedirs(jobs)
        pre = directives(self.text)["ExecStartPre"][0]
        self.assertTrue(pre.startswith("-/bin/sh -c '") and pre.endswith("'"), pre)
        script = pre[len("-/bin/sh -c '"):-1].replace("$$", "$")  # what systemd hands to sh
        script = script.replace("/etc/weir/jobs.d", jobs).replace("/usr/bin/weir", WEIR)
        # no job files: nothing to check, success
        r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(jobs, "good.yaml"), "w") as f:
            f.write("source: { generate: { rate: 10/s, template: { x: { int: [1, 2] } } } }\n"
                    "outputs:\n  - name: n\n    aggregate: { n: count() }\n    to: console\n")
        r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("good.yaml: ok", r.stdout)
        with open(os.path.join(jobs, "bad.yml"), "w") as f:
            f.write("source: { generate: { rate: 10/s, template: { x: 1 } } }\noutputs:\n  - name: n\n"
                    "    window: { tumbling: never }\n    aggregate: { n: count() }\n    to: console\n")
        r = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertRegex(r.stderr, re.escape(os.path.join(jobs, "bad.yml")) + r":4:\d+: ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
