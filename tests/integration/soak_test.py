#!/usr/bin/env python3
"""A bounded soak: static, gzip, chunked and spooled echo, and pipelined HTTP/1.0 and 1.1
traffic at once from several client threads and wrk, for SOAK_SECONDS (30 by default; 300 while
developing). Every response is checked byte for byte; there must be no error, RSS must stay
flat over the second half, and the descriptors must be back at the idle figure at the end.
The RSS curve goes to the test's log (and to SOAK_CURVE, when set, as CSV)."""
import gzip
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
import junit_unittest  # noqa: E402

from brigaded_harness import (TEXT, Brigaded, Ticker, recv_all, wait_until,  # noqa: E402
                              UNDER_TSAN)

SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
# tools/bootstrap.sh installs wrk.
WRK = shutil.which("wrk") or "wrk"
SANITIZED = "ASAN_OPTIONS" in os.environ or UNDER_TSAN


def split_responses(data, count):
    """`count` Content-Length-framed responses from `data`: [(head, body)]."""
    out = []
    for _ in range(count):
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        out.append((head, rest[:length]))
        data = rest[length:]
    return out


class SoakTest(unittest.TestCase):
    def test_mixed_traffic_loses_nothing_and_holds_memory_flat(self):
        root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        small = b"<p>" + b"x" * 1000 + b"</p>\n"
        with open(os.path.join(root, "small.html"), "wb") as f:
            f.write(small)
        with open(os.path.join(root, "text.txt"), "wb") as f:
            f.write(TEXT)
        srv = Brigaded(root, workers=2, timeout=10)
        errors = []
        counts = {}
        stop = time.monotonic() + SECONDS
        lock = threading.Lock()

        def count(kind):
            with lock:
                counts[kind] = counts.get(kind, 0) + 1

        def run(kind, fn):
            def loop():
                while time.monotonic() < stop:
                    try:
                        fn()
                        count(kind)
                    except Exception as e:  # noqa: BLE001: every failure is the finding
                        with lock:
                            errors.append("%s: %r" % (kind, e))
                        return
            return threading.Thread(target=loop)

        def static_keepalive():
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            for _ in range(50):
                c.request("GET", "/small.html")
                r = c.getresponse()
                assert r.status == 200 and r.read() == small, r.status
            c.close()

        def gzip_text():
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", "/text.txt", headers={"Accept-Encoding": "gzip"})
            r = c.getresponse()
            body = r.read()
            assert r.getheader("Content-Encoding") == "gzip"
            assert gzip.decompress(body) == TEXT
            c.close()

        def echo_chunked():
            body = TEXT[:30000]
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("POST", "/echo", body=iter([body[:10000], body[10000:]]),
                      encode_chunked=True, headers={"Content-Type": "text/plain"})
            r = c.getresponse()
            got = r.read()
            if r.getheader("Content-Encoding") == "gzip":
                got = gzip.decompress(got)
            assert r.status == 200 and got == body, r.status
            c.close()

        def echo_spooled():
            body = os.urandom(20000)
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("POST", "/spool", body=body)
            r = c.getresponse()
            assert r.status == 200 and r.read() == body, r.status
            c.close()

        def pipelined():
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"GET /small.html HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /small.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                      b"GET /small.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = split_responses(recv_all(s), 3)
            s.close()
            for head, body in got:
                assert head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")), head[:40]
                assert body == small

        threads = [run("static", static_keepalive), run("static", static_keepalive),
                   run("gzip", gzip_text), run("echo-chunked", echo_chunked),
                   run("echo-spooled", echo_spooled), run("pipelined", pipelined)]
        idle_fds = len(os.listdir("/proc/%d/fd" % srv.proc.pid))
        start = time.monotonic()
        # wrk beside the Python clients: 16 keep-alive connections as fast as they go, every
        # response checked by soak_wrk.lua.
        wrk = subprocess.Popen(
            [WRK, "-t1", "-c16", "-d%ds" % max(1, int(SECONDS)), "--timeout", "10s",
             "-s", os.path.join(HERE, "soak_wrk.lua"), "http://127.0.0.1:%d/" % srv.port,
             "--", root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for t in threads:
            t.start()
        curve = []
        tick = Ticker(1.0)
        while any(t.is_alive() for t in threads):
            curve.append((time.monotonic() - start, srv.rss_kb()))
            tick.wait()
        for t in threads:
            t.join()
        wrk_out = wrk.communicate(timeout=60)[0].decode()
        try:
            self.assertEqual(wrk.returncode, 0, wrk_out)
            checked = re.search(r"wrk-check: (\d+) responses, (\d+) bad", wrk_out)
            self.assertIsNotNone(checked, wrk_out)
            counts["wrk"] = int(checked.group(1))
            self.assertGreater(counts["wrk"], 0, wrk_out)
            self.assertEqual(checked.group(2), "0", wrk_out)
            # wrk prints these lines only when something went wrong.
            self.assertNotIn("Socket errors", wrk_out)
            self.assertNotIn("Non-2xx", wrk_out)
            self.assertEqual(errors, [])
            for kind in ("static", "gzip", "echo-chunked", "echo-spooled", "pipelined"):
                self.assertGreater(counts.get(kind, 0), 0, kind)
            sys.stderr.write("soak: %.0f s, %s\nRSS curve (s, kB): %s\n"
                             % (SECONDS, counts, curve))
            if os.environ.get("SOAK_CURVE"):
                with open(os.environ["SOAK_CURVE"], "w") as f:
                    f.write("seconds,rss_kb\n" + "".join("%.1f,%d\n" % p for p in curve))
            second_half = [kb for t, kb in curve if t >= SECONDS / 2]
            if not SANITIZED and len(second_half) >= 2:
                self.assertLess(max(second_half) - min(second_half), 4096,
                                "RSS moved over the second half: %s" % second_half)
            self.assertTrue(
                wait_until(lambda: len(os.listdir("/proc/%d/fd" % srv.proc.pid)) <= idle_fds + 4,
                           timeout=15), "descriptors not back to idle")
        finally:
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    junit_unittest.main("__main__")
