#!/usr/bin/env python3
"""The Dockerfile and deploy/compose.yaml stay consistent with the scripts and the binary (there is no Docker
engine to build them here): the build stage uses the README's steps; the runtime stage installs the package
of every shared library the built binary needs; the image runs as non-root with the volumes, health check
and entry point the docs describe; compose gives weir every ${VAR} the example jobs need and feeds the topic
they read. Standard library only.

usage: test_deploy_files.py WEIR_BIN SOURCE_DIR
"""
import glob
import os
import re
import subprocess
import sys
import unittest

WEIR, SOURCE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
del sys.argv[1:3]


def read(*parts):
    with open(os.path.join(SOURCE, *parts)) as f:
        return f.read()


def logical_lines(dockerfile):
    return [re.sub(r"\s+", " ", l).strip() for l in dockerfile.replace("\\\n", " ").splitlines()
            if l.strip() and not l.lstrip().startswith("#")]


class Dockerfile(unittest.TestCase):
    def setUp(self):
        self.lines = logical_lines(read("Dockerfile"))
        stages = [i for i, l in enumerate(self.lines) if l.startswith("FROM ")]
        self.assertEqual(len(stages), 2, "two stages: build and runtime")
        self.build = self.lines[stages[0]:stages[1]]
        self.runtime = self.lines[stages[1]:]

    def test_build_stage_uses_the_readme_steps(self):
        self.assertTrue(self.build[0].startswith("FROM debian:bookworm"))
        text = "\n".join(self.build)
        self.assertIn("bash scripts/setup.sh build", text)
        self.assertIn("cmake --preset release", text)
        self.assertIn("cmake --build --preset release", text)
        self.assertIn("setup.sh", read("README.md"))

    def test_runtime_packages_cover_the_binary(self):
        self.assertTrue(self.runtime[0].startswith("FROM debian:bookworm"))
        installs = " ".join(l for l in self.runtime if "apt-get install" in l)
        r = subprocess.run(["readelf", "-d", WEIR], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", r.stdout)
        self.assertTrue(needed)
        ldd = subprocess.run(["ldd", WEIR], capture_output=True, text=True).stdout
        base = {"libc6", "libstdc++6", "libgcc-s1"}  # in debian:bookworm-slim
        for lib in needed:
            m = re.search(re.escape(lib) + r" => (\S+)", ldd)
            self.assertIsNotNone(m, "ldd does not resolve " + lib)
            path = os.path.realpath(m.group(1))
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", m.group(1)], capture_output=True, text=True)
            self.assertEqual(owner.returncode, 0, "no package owns " + path)
            pkg = owner.stdout.split(":")[0]
            if pkg in base:
                continue
            self.assertRegex(installs, r"(^|\s)%s(\s|$)" % re.escape(pkg), "%s (for %s) is not installed in the "
                             "runtime stage" % (pkg, lib))

    def test_runtime_user_volumes_health_entrypoint(self):
        text = "\n".join(self.runtime)
        user = [l for l in self.runtime if l.startswith("USER ")]
        self.assertEqual(len(user), 1)
        self.assertNotIn(user[0].split()[1].split(":")[0], ("root", "0"))
        self.assertIn('VOLUME ["/etc/weir/jobs.d", "/var/lib/weir"]', text)
        port = re.search(r'"--metrics", "0\.0\.0\.0:(\d+)"', text).group(1)
        self.assertRegex(text, r"HEALTHCHECK .*http://127\.0\.0\.1:%s/healthz" % port)
        self.assertIn('ENTRYPOINT ["/usr/bin/weir", "daemon"]', text)
        self.assertIn("EXPOSE %s" % port, text)
        # the default arguments are ones `weir daemon` accepts
        args = re.findall(r'"([^"]*)"', re.search(r"^CMD \[(.*)\]$", text, re.M).group(1))
        r = subprocess.run([WEIR, "daemon"] + args + ["--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        compose = read("deploy", "compose.yaml")
        self.assertIn('"127.0.0.1:%s:%s"' % (port, port), compose)


class Compose(unittest.TestCase):
    def setUp(self):
        self.text = read("deploy", "compose.yaml")

    def service(self, name):
        m = re.search(r"^  %s:\n((?:    .*\n|\n)*)" % re.escape(name), self.text, re.M)
        self.assertIsNotNone(m, "no service " + name)
        return m.group(1)

    def test_services(self):
        kafka = self.service("kafka")
        self.assertIn("KAFKA_PROCESS_ROLES: broker,controller", kafka)  # KRaft
        self.assertIn("image: postgres:", self.service("postgres"))
        weir = self.service("weir")
        self.assertIn("dockerfile: Dockerfile", weir)
        self.assertIn("- ../jobs:/etc/weir/jobs.d:ro", weir)
        self.assertRegex(weir, r"stop_grace_period: (\d+)s")
        self.assertGreater(int(re.search(r"stop_grace_period: (\d+)s", weir).group(1)), 30)

    def test_weir_gets_every_variable_the_jobs_need(self):
        weir = self.service("weir")
        for path in glob.glob(os.path.join(SOURCE, "jobs", "*.yaml")):
            with open(path) as f:
                for var, default in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(:-[^}]*)?\}", f.read()):
                    self.assertRegex(weir, r"\n      %s: " % var, "%s (used by %s) is not set for weir" %
                                     (var, os.path.basename(path)))

    def test_producer_feeds_the_topic_the_jobs_read(self):
        producer = self.service("producer")
        topic = re.search(r"TOPIC: (\S+)", producer).group(1)
        topics = set()
        for path in glob.glob(os.path.join(SOURCE, "jobs", "*.yaml")):
            with open(path) as f:
                code = "\n".join(l for l in f.read().splitlines() if not l.lstrip().startswith("#"))
                topics.update(re.findall(r"topics: \[(\w+)\]", code))
        self.assertEqual(topics, {topic})
        self.assertIn("- ./producer:/replay:ro", producer)
        script = read("deploy", "producer", "replay.sh")
        self.assertIn("/replay/tweets.jsonl", script)
        r = subprocess.run(["sh", "-n", os.path.join(SOURCE, "deploy", "producer", "replay.sh")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        tweets = [json.loads(l) for l in read("deploy", "producer", "tweets.jsonl").splitlines()]
        self.assertGreaterEqual(len(tweets), 100)
        for t in tweets:
            self.assertIn("screen_name", t["user"])
            self.assertIn("hashtags", t["entities"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
