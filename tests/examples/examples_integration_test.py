#!/usr/bin/env python3
"""The seeds' examples, built as modules into //examples:brigaded with brigaded_binary, against
real clients (curl, http.client, raw sockets); UPPERCASE in //examples:brigade-filter."""
import base64
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import junit_unittest  # noqa: E402
from brigaded_harness import Brigaded, wait_until, wait_filled, UNDER_TSAN  # noqa: E402

SERVER = os.path.join(os.getcwd(), "examples", "brigaded")
TOOL = os.path.join(os.getcwd(), "examples", "brigade-filter")


class ExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        os.makedirs(os.path.join(cls.root, "up"))
        with open(os.path.join(cls.root, "up", "page.txt"), "wb") as f:
            f.write(b"Mixed Case text, 123 \xc3\xa9!\n" * 1000)
        cls.stacked_log = os.path.join(cls.root, "stacked.log")
        cls.server = Brigaded(cls.root, server=SERVER, workers=1, extra=f"""
<Location /hello>
  SetHandler hello
</Location>
<Location /up/>
  SetOutputFilter UPPERCASE
</Location>
<Location /deny/>
  AccessHandler deny-from
  DenyFrom 10.0.0.0/8 127.0.0.0/8
</Location>
<Location /allow/>
  SetHandler hello
  AccessHandler deny-from
  DenyFrom 10.0.0.0/8
</Location>
<Location /auth/>
  SetHandler hello
  AuthenHandler basic-auth
  AuthzHandler require-user
  AuthName "Members Area"
  AuthUser alice wonderland
  AuthUser bob builder
  RequireUser alice
</Location>
<Location /stacked/>
  SetHandler stacked
  StackedLog {cls.stacked_log}
</Location>
<Location /count>
  SetHandler count
</Location>
""")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def get(self, path, headers=None, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body

    def test_hello_answers_get_and_head(self):
        r, body = self.get("/hello")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/plain")
        self.assertEqual(body, b"Hello, world!\n")
        r, body = self.get("/hello", method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Length"), "14")
        self.assertEqual(body, b"")

    def test_uppercase_changes_letters_only(self):
        r, body = self.get("/up/page.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(body, b"MIXED CASE TEXT, 123 \xc3\xa9!\n" * 1000)

    def test_deny_from_refuses_listed_ranges_and_declines_others(self):
        self.assertEqual(self.get("/deny/anything")[0].status, 403)
        r, body = self.get("/allow/x")
        self.assertEqual(r.status, 200)
        self.assertEqual(body, b"Hello, world!\n")

    def test_basic_auth_and_require_user(self):
        def auth(user, password):
            token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            return {"Authorization": "Basic " + token}
        for headers in [{}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"},
                        auth("alice", "wrong"), auth("nobody", "wonderland")]:
            r, _ = self.get("/auth/x", headers)
            self.assertEqual(r.status, 401, headers)
            self.assertEqual(r.getheader("WWW-Authenticate"), 'Basic realm="Members Area"')
        r, body = self.get("/auth/x", auth("alice", "wonderland"))
        self.assertEqual(r.status, 200)
        self.assertEqual(body, b"Hello, world!\n")
        self.assertEqual(self.get("/auth/x", auth("bob", "builder"))[0].status, 403)
        # The access log's %u shows who.
        line = wait_until(lambda: [l for l in self.server.log_lines() if "GET /auth/x" in l and
                                   " 200 " in l])
        self.assertTrue(line)
        self.assertIn(" - alice [", line[-1])

    def test_stacked_cleanups_run_fifo_and_twice_when_pushed_twice(self):
        r, body = self.get("/stacked/x")
        self.assertEqual((r.status, body), (200, b"stacked\n"))

        def lines():
            try:
                with open(self.stacked_log) as f:
                    got = f.read().splitlines()
            except FileNotFoundError:
                return None
            return got if len(got) >= 4 else None
        self.assertEqual(wait_until(lines), ["A /stacked/x", "B /stacked/x", "C /stacked/x",
                                             "A /stacked/x"])

    def test_count_streams_lines_chunked_and_refuses_bad_n(self):
        r, body = self.get("/count?n=5")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(r.getheader("Content-Type"), "text/plain")
        self.assertEqual(body, b"1\n2\n3\n4\n5\n")
        for bad in ["/count", "/count?n=0", "/count?n=100000001", "/count?n=12x", "/count?n="]:
            self.assertEqual(self.get(bad)[0].status, 400, bad)
        r, body = self.get("/count?n=200000")
        self.assertEqual(body, b"".join(b"%d\n" % i for i in range(1, 200001)))

    def test_count_for_a_client_that_does_not_read_holds_little_and_delays_nobody(self):
        before = self.server.rss_kb()
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"GET /count?n=100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_filled(s)
        # One worker: the stalled response must not hold it.
        r, body = self.get("/hello")
        self.assertEqual((r.status, body), (200, b"Hello, world!\n"))
        grown = self.server.rss_kb() - before
        # ASan's allocator keeps freed memory in quarantine, TSan's shadow memory counts: RSS
        # says nothing there.
        if "ASAN_OPTIONS" not in os.environ and not UNDER_TSAN:
            self.assertLess(grown, 512, "KiB of server memory for a stalled count")
        s.close()


class ExamplesFilterToolTest(unittest.TestCase):
    def test_uppercase_runs_in_the_tool_beside_the_built_in_filters(self):
        text = b"abc XYZ \xc3\xa9\n" * 5000
        r = subprocess.run([TOOL, "UPPERCASE"], input=text, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"ABC XYZ \xc3\xa9\n" * 5000)
        r = subprocess.run([TOOL, "UPPERCASE", "DEFLATE", "INFLATE"], input=text,
                           capture_output=True, timeout=60)
        self.assertEqual(r.stdout, b"ABC XYZ \xc3\xa9\n" * 5000)
        help_text = subprocess.run([TOOL, "--help"], capture_output=True).stdout.decode()
        self.assertIn("UPPERCASE [RESOURCE]", help_text)
        self.assertIn("read: bytes read per loop (1-1048576, default 8192)", help_text)
        report = subprocess.run([TOOL, "--report", "UPPERCASE"], capture_output=True)
        self.assertIn(b"zero-copy: no (UPPERCASE needs bytes in memory)", report.stdout)


if __name__ == "__main__":
    junit_unittest.main("__main__")
