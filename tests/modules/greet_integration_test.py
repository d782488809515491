#!/usr/bin/env python3
"""The binaries brigaded_binary and brigade_filter_binary made from the greet module."""
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import junit_unittest  # noqa: E402
from brigaded_harness import Brigaded  # noqa: E402

BIN = os.path.join(os.getcwd(), "tests", "modules")


class GreetTest(unittest.TestCase):
    def test_server_runs_the_modules_handler_directive_and_filter(self):
        root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        s = Brigaded(root, server=os.path.join(BIN, "greet_brigaded"), extra="""
<Location /greet>
  SetHandler greet
  Greeting Howdy
</Location>
<Location /secret>
  SetHandler greet
  SetOutputFilter ROT13
</Location>
""")
        try:
            with urllib.request.urlopen(s.url("/greet?partner"), timeout=20) as r:
                self.assertEqual(r.read(), b"Howdy, partner!\n")
            with urllib.request.urlopen(s.url("/secret"), timeout=20) as r:
                self.assertEqual(r.read(), b"Uryyb, jbeyq!\n")
        finally:
            self.assertEqual(s.stop(), 0)

    def test_tool_runs_the_modules_filter(self):
        r = subprocess.run([os.path.join(BIN, "greet_filter"), "ROT13", "DEFLATE", "INFLATE"],
                           input=b"Hello\n", capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"Uryyb\n")


if __name__ == "__main__":
    junit_unittest.main("__main__")
