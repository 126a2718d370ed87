#!/usr/bin/env python3
"""`cpack -G DEB` builds an installable .deb: the binary (which runs), the systemd unit, an example job that
the packaged binary accepts, the jobs directory, the maintainer scripts and shared-library dependencies.
Inspected with dpkg-deb -c / -I / -x.

usage: test_package.py WEIR_BIN SOURCE_DIR BUILD_DIR VERSION
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

WEIR, SOURCE, BUILD, VERSION = sys.argv[1:5]
del sys.argv[1:5]
ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


class DebPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
            if shutil.which(tool) is None:
                raise AssertionError("%s is missing: run scripts/setup.sh test" % tool)
        cls.tmp = tempfile.mkdtemp(prefix="weir-deb-")
        r = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", cls.tmp])
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = glob.glob(os.path.join(cls.tmp, "*.deb"))
        if len(debs) != 1:
            raise AssertionError("expected one .deb in %s, found %r" % (cls.tmp, debs))
        cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_name(self):
        self.assertEqual(os.path.basename(self.deb), "weir_%s_%s.deb" % (VERSION, ARCH))

    def test_contents(self):
        r = run(["dpkg-deb", "-c", self.deb])
        self.assertEqual(r.returncode, 0, r.stderr)
        entries = {line.split()[-1]: line.split()[0] for line in r.stdout.splitlines()}
        for path in ("./usr/bin/weir", "./usr/lib/systemd/system/weir.service",
                     "./usr/share/weir/examples/demo.yaml", "./usr/share/doc/weir/operations.md",
                     "./etc/weir/jobs.d/"):
            self.assertIn(path, entries, r.stdout)
        self.assertEqual(entries["./usr/bin/weir"], "-rwxr-xr-x")
        self.assertEqual(entries["./usr/lib/systemd/system/weir.service"], "-rw-r--r--")

    def test_control(self):
        r = run(["dpkg-deb", "-I", self.deb])
        self.assertEqual(r.returncode, 0, r.stderr)
        info = r.stdout
        self.assertIn("Package: weir\n", info)
        self.assertIn("Version: %s\n" % VERSION, info)
        self.assertIn("Architecture: %s\n" % ARCH, info)
        depends = [l for l in info.splitlines() if l.strip().startswith("Depends:")]
        self.assertEqual(len(depends), 1, info)
        for lib in ("librdkafka1", "libpqxx-6.4", "libyaml-cpp0.7", "libsystemd0", "libcpp-httplib0.11"):
            self.assertIn(lib, depends[0])
        for script in ("postinst", "prerm", "postrm"):
            self.assertIn(" %s " % script, info)

    def test_extracted_files_work(self):
        root = os.path.join(self.tmp, "root")
        r = run(["dpkg-deb", "-x", self.deb, root])
        self.assertEqual(r.returncode, 0, r.stderr)
        weir = os.path.join(root, "usr", "bin", "weir")
        r = run([weir, "version"])
        self.assertEqual((r.returncode, r.stdout), (0, "weir %s\n" % VERSION), r.stderr)
        r = run([weir, "validate", os.path.join(root, "usr", "share", "weir", "examples", "demo.yaml")])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(root, "usr", "lib", "systemd", "system", "weir.service")) as f:
            packaged = f.read()
        with open(os.path.join(SOURCE, "deploy", "weir.service")) as f:
            self.assertEqual(packaged, f.read())
        self.assertIn("ExecStart=/usr/bin/weir daemon --jobs /etc/weir/jobs.d", packaged)


if __name__ == "__main__":
    unittest.main(verbosity=2)
