#!/usr/bin/env python3
"""Integration tests of the execution model: a worker never blocks on a client, handlers and
protocols are resumable, request bodies are spooled, every response gets one log line that
says whether it completed. The real brigaded on loopback; one worker unless said otherwise."""
import gzip
import http.client
import os
import re
import resource
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
import junit_unittest  # noqa: E402
from brigaded_harness import (TEXT, Brigaded, dechunk, recv_all, status_of,  # noqa: E402
                              wait_filled, wait_until, UNDER_TSAN)


def timed_get(port, path="/index.html"):
    """Seconds a fresh connection's GET took, and its status."""
    start = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return time.monotonic() - start, r.status


def read_response(s):
    """Everything until the server closes `s`, split into head and body."""
    data = recv_all(s)
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


class Root:
    """A document root shared by the tests of one class."""

    def __init__(self):
        self.path = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.write("index.html", b"<html>index</html>\n")
        os.makedirs(os.path.join(self.path, "reverse"))
        self.write("reverse/r.txt", b"abc\n123\n")
        self.write("big.bin", os.urandom(1 << 20) * 24)

    def write(self, name, data):
        with open(os.path.join(self.path, name), "wb") as f:
            f.write(data)

    def read(self, name):
        with open(os.path.join(self.path, name), "rb") as f:
            return f.read()


class WorkerNeverBlocksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = Root()
        with open(os.path.join(cls.root.path, "big.txt"), "wb") as f:
            for _ in range(100 << 20 >> 17):  # 100 MiB of text, in 128 KiB writes
                f.write((TEXT * 2)[:1 << 17])
        cls.srv = Brigaded(cls.root.path, workers=1, timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def assertServedQuickly(self):
        elapsed, status = timed_get(self.srv.port)
        self.assertEqual(status, 200)
        self.assertLess(elapsed, 1.0)

    def test_a_client_trickling_its_request_body_does_not_hold_the_worker(self):
        a = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        a.sendall(b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab")
        for byte in (b"c", b"d", b"e"):
            self.assertServedQuickly()
            a.sendall(byte)
        self.assertServedQuickly()
        a.sendall(b"f")
        data = b""
        while not data.endswith(b"abcdef"):
            d = a.recv(4096)
            if not d:
                break
            data += d
        self.assertEqual(status_of(data), 200)
        self.assertTrue(data.endswith(b"abcdef"), data)
        a.close()

    def test_a_client_that_sends_only_an_expect_continue_head_does_not_hold_the_worker(self):
        a = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        a.sendall(b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        self.assertEqual(a.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n")
        self.assertServedQuickly()
        a.close()

    def test_a_slow_reader_of_a_100_mib_gzip_response_does_not_hold_the_worker(self):
        a = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        a.sendall(b"GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        got = 0
        start = time.monotonic()
        for _ in range(12):  # about 3 s at 64 KiB/s, checking another client in between
            got += len(a.recv(16 << 10))
            self.assertServedQuickly()
            # Pace the reading to 64 KiB/s, whatever the GET took.
            ahead = got / (64 << 10) - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.assertGreater(got, 0)
        a.close()

    def test_an_idle_echo_connection_does_not_hold_the_worker(self):
        for protocol in ("echo", "echo-socket"):
            a = socket.create_connection(("127.0.0.1", self.srv.ports[protocol]), timeout=10)
            self.assertServedQuickly()
            a.sendall(b"still here\n")
            self.assertEqual(a.recv(100), b"still here\n")
            a.close()

    def test_500_echo_connections_at_once_on_worker_threads(self):
        conns = []
        try:
            for i in range(500):
                protocol = "echo" if i % 2 else "echo-socket"
                conns.append(socket.create_connection(("127.0.0.1", self.srv.ports[protocol]),
                                                      timeout=20))
            for i, s in enumerate(conns):
                s.sendall(b"line %d\r\n" % i)
            for i, s in enumerate(conns):
                want = b"line %d\r\n" % i
                got = b""
                while len(got) < len(want):
                    d = s.recv(100)
                    if not d:
                        break
                    got += d
                self.assertEqual(got, want)
            # One worker, the main thread, the signal thread and the log's writer: no thread per
            # connection.
            self.assertLessEqual(self.srv.threads(), 1 + 3 + (1 if UNDER_TSAN else 0))
        finally:
            for s in conns:
                s.close()

    def test_a_line_of_200_kb_comes_back_whole_on_both_echo_protocols(self):
        line = b"".join(b"%06d," % i for i in range(200000 // 7)) + b"\r\n"
        for protocol in ("echo", "echo-socket"):
            s = socket.create_connection(("127.0.0.1", self.srv.ports[protocol]), timeout=10)
            s.sendall(line)
            got = b""
            while len(got) < len(line):
                d = s.recv(1 << 16)
                if not d:
                    break
                got += d
            self.assertEqual(got, line, protocol)
            s.sendall(b"\r\n")
            self.assertEqual(s.recv(10), b"")
            s.close()

    def test_locations_match_the_normalised_path(self):
        for path, expected in [(b"/%72everse/r.txt", b"cba\n321\n"),
                               (b"/./reverse/r.txt", b"cba\n321\n"),
                               (b"/echo/../index.html", b"<html>index</html>\n"),
                               (b"/echo%2F..%2Findex.html", b"<html>index</html>\n")]:
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head, body = read_response(s)
            self.assertEqual(status_of(head), 200, path)
            self.assertEqual(body, expected, path)


class SpooledBodiesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = Root()
        cls.srv = Brigaded(cls.root.path, workers=1, extra="LimitRequestBody 4000000\n")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def exchange(self, request):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        s.sendall(request)
        data = recv_all(s)
        s.close()
        return data

    def assertOneErrorAndClose(self, data, status):
        self.assertEqual(status_of(data), status, data[:200])
        self.assertEqual(data.count(b"HTTP/1.1 "), 1, "exactly one response")
        self.assertIn(b"Connection: close", data.partition(b"\r\n\r\n")[0])

    def test_echo_answers_a_body_error_with_its_own_status(self):
        chunked = b"POST /spool HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        self.assertOneErrorAndClose(self.exchange(chunked + b"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"),
                                    400)
        big = b"".join(b"100000\r\n" + b"z" * 0x100000 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
        self.assertOneErrorAndClose(self.exchange(chunked + big), 413)
        bomb = gzip.compress(b"\0" * (10 << 20))
        self.assertOneErrorAndClose(self.exchange(
            b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(bomb) + bomb), 413)
        corrupt = bytearray(gzip.compress(TEXT))
        corrupt[len(corrupt) // 2] ^= 0xff
        self.assertOneErrorAndClose(self.exchange(
            b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(corrupt) + bytes(corrupt)), 400)

    def test_echo_stream_aborts_a_response_whose_body_fails_and_logs_it_as_cut(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n")
        got = b""
        while b"hello" not in got:
            got += s.recv(4096)
        s.sendall(b"3\r\nabcXX")  # chunk data without its CRLF
        data = recv_all(s, got)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertEqual(status_of(head), 200)
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertFalse(body.endswith(b"0\r\n\r\n"), "no last chunk: the body must not look whole")
        line = wait_until(lambda: [l for l in self.srv.log_lines()
                                   if '"POST /echo HTTP/1.1"' in l and l.endswith(" X")])
        self.assertTrue(line, self.srv.log_lines()[-3:])

    def test_20_concurrent_3_mib_uploads_are_spooled_and_echoed_exactly(self):
        bodies = [os.urandom(3 << 20) for _ in range(20)]
        results = [None] * 20
        peak = [0]
        stop = threading.Event()
        before = self.srv.rss_kb()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], self.srv.rss_kb())
                stop.wait(0.01)

        def upload(i):
            c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=60)
            c.request("POST", "/spool", body=bodies[i],
                      headers={"Content-Type": "application/octet-stream"})
            r = c.getresponse()
            results[i] = (r.status, r.read())
            c.close()

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        stop.set()
        sampler.join()
        for i in range(20):
            self.assertIsNotNone(results[i], "upload %d did not finish" % i)
            self.assertEqual(results[i][0], 200)
            self.assertTrue(results[i][1] == bodies[i], "echo %d differs" % i)
        self.assertLess(peak[0] - before, 24 * 1024, "grew by %d KiB" % (peak[0] - before))


class OutputProgressTest(unittest.TestCase):
    """Timeout is inactivity: a steady slow reader gets everything, a stalled one is cut."""

    @classmethod
    def setUpClass(cls):
        cls.root = Root()
        cls.root.write("eight.bin", os.urandom(8 << 20))

    def test_a_steady_slow_reader_gets_every_byte_and_a_stalled_one_is_cut(self):
        srv = Brigaded(self.root.path, workers=1, timeout=2)
        try:
            stalled = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            stalled.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: stalled\r\n\r\n")
            steady = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            steady.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            steady.sendall(b"GET /eight.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: steady\r\n"
                           b"Connection: close\r\n\r\n")
            start = time.monotonic()
            pieces = []
            got = 0
            cut_after = None  # when the stalled client's cut showed in the log
            while True:
                d = steady.recv(16 << 10)
                if not d:
                    break
                pieces.append(d)
                got += len(d)
                if cut_after is None and any('"stalled"' in l for l in srv.log_lines()):
                    cut_after = time.monotonic() - start
                ahead = got / (256 << 10) - (time.monotonic() - start)  # 256 KiB/s
                if ahead > 0:
                    time.sleep(ahead)
            head, _, body = b"".join(pieces).partition(b"\r\n\r\n")
            self.assertEqual(body, self.root.read("eight.bin"))
            steady_line = wait_until(lambda: [l for l in srv.log_lines() if '"steady"' in l])
            self.assertTrue(steady_line)
            self.assertIn(" 200 %d " % (8 << 20), steady_line[0])
            self.assertFalse(steady_line[0].endswith(" X"), steady_line[0])
            # The stalled client read nothing for far longer than Timeout: it was cut, and its
            # line says how far the response got.
            cut = wait_until(lambda: [l for l in srv.log_lines() if '"stalled"' in l])
            self.assertTrue(cut, srv.log_lines())
            # Cut about Timeout after its socket stopped draining (it filled within a second),
            # long before the steady download's 32 s were over.
            self.assertIsNotNone(cut_after)
            self.assertLess(cut_after, 10.0)
            self.assertTrue(cut[0].endswith(" X"), cut[0])
            sent = int(re.search(r'" 200 (\d+) ', cut[0]).group(1))
            self.assertLess(sent, 24 << 20)
            stalled.close()
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_the_log_line_of_a_slow_download_comes_after_its_last_byte(self):
        srv = Brigaded(self.root.path, workers=1, timeout=10)
        try:
            a = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            a.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n"
                      b"Connection: close\r\n\r\n")
            got = a.recv(1 << 16)
            wait_filled(a)
            # Another request goes through and is logged, so the log is being written.
            timed_get(srv.port)
            self.assertTrue(wait_until(lambda: any('"GET /index.html' in l
                                                   for l in srv.log_lines())))
            self.assertFalse([l for l in srv.log_lines() if '"slow"' in l])
            data = recv_all(a, got)
            self.assertEqual(len(data.partition(b"\r\n\r\n")[2]), 24 << 20)
            line = wait_until(lambda: [l for l in srv.log_lines() if '"slow"' in l])
            self.assertTrue(line)
            self.assertIn(" 200 %d " % (24 << 20), line[0])
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_cuts_what_is_still_stalled_after_the_graceful_limit(self):
        srv = Brigaded(self.root.path, workers=1, timeout=30,
                       extra="GracefulShutdownTimeout 1\n")
        a = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        a.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nUser-Agent: stalled\r\n\r\n")
        wait_filled(a)
        start = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.proc.wait(timeout=20), 0)
        self.assertLess(time.monotonic() - start, 10)
        lines = [l for l in srv.log_lines() if '"stalled"' in l]
        self.assertEqual(len(lines), 1, srv.log_lines())
        self.assertTrue(lines[0].endswith(" X"), lines[0])
        a.close()


class StalledGzipReadersTest(unittest.TestCase):
    """Clients that stop reading a gzip response: after a second, each one's compressor gives
    its window and tables back (DEFLATE's OnStalled), and the responses still decode whole."""

    def test_20_stalled_gzip_readers_give_their_compressors_memory_back(self):
        root = Root()
        # Hex digits, 12 MiB: half that compressed, more than the sockets' buffers take (the
        # server's send buffer grows to 4 MiB on loopback while the client does not read), so
        # that each response stalls mid-stream with its compressor under way.
        body = os.urandom(6 << 20).hex().encode()
        root.write("stall.txt", body)
        srv = Brigaded(root.path, workers=1, timeout=30)
        try:
            def get(s):
                s.sendall(b"GET /stall.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                          b"Connection: close\r\n\r\n")
            # One whole response first, so that the code and pools a gzip response touches
            # count in the idle server.
            warm = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            get(warm)
            head, body_bytes = read_response(warm)
            self.assertEqual(gzip.decompress(dechunk(body_bytes)), body)
            warm.close()
            idle = srv.rss_kb()
            socks = []
            for _ in range(20):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                get(s)
                socks.append(s)
            for s in socks:
                self.assertGreater(wait_filled(s), 0)
            if "ASAN_OPTIONS" not in os.environ and not UNDER_TSAN:
                # zlib's state at level 6 is 256 KiB a stream: 5 MiB for the 20 while they
                # compress. A stalled one keeps its output, a few records, zlib's state struct
                # and the part pages at the ends of its buffers.
                small = wait_until(lambda: srv.rss_kb() - idle < 20 * 128, timeout=15)
                self.assertTrue(small, "RSS idle %d kB, with 20 stalled readers %d kB"
                                % (idle, srv.rss_kb()))
            # Each stream went on, after its full flush, as one gzip member.
            for s in socks:
                head, body_bytes = read_response(s)
                self.assertIn(b"Content-Encoding: gzip", head)
                self.assertTrue(gzip.decompress(dechunk(body_bytes)) == body)
                s.close()
        finally:
            self.assertEqual(srv.stop(), 0)


    @unittest.skipIf("ASAN_OPTIONS" in os.environ, "ASan's allocator keeps freed memory")
    @unittest.skipIf(UNDER_TSAN, "ThreadSanitizer's shadow memory counts in RSS")
    def test_memory_of_20_gzip_responses_goes_back_while_their_connections_stay_open(self):
        # 3 MiB of hex digits compress to 1.6 MiB, which the sockets take whole: the 20
        # compressors run at once, finish and are freed, and the connections stay open
        # (keep-alive, for longer than the test). A quiet worker hands the pages back.
        root = Root()
        body = os.urandom(3 << 19).hex().encode()
        root.write("done.txt", body)
        srv = Brigaded(root.path, workers=1, timeout=30, extra="KeepAliveTimeout 120\n")
        try:
            idle = srv.rss_kb()
            socks = []
            for _ in range(20):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                s.sendall(b"GET /done.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
                socks.append(s)
            for s in socks:
                r = http.client.HTTPResponse(s, method="GET")
                r.begin()
                self.assertEqual(r.getheader("Content-Encoding"), "gzip")
                self.assertTrue(gzip.decompress(r.read()) == body)
            peak = srv.rss_kb()
            small = wait_until(lambda: srv.rss_kb() - idle < 20 * 64, timeout=15)
            self.assertTrue(small, "RSS idle %d kB, after 20 gzip responses %d kB, then %d kB"
                            % (idle, peak, srv.rss_kb()))
            for s in socks:
                s.close()
        finally:
            self.assertEqual(srv.stop(), 0)


class DescriptorExhaustionTest(unittest.TestCase):
    def test_out_of_descriptors_the_worker_backs_off_and_says_so(self):
        if "ASAN_OPTIONS" in os.environ or UNDER_TSAN:  # .bazelrc's --config=asan, tsan
            self.skipTest("the sanitizers' runtime needs descriptors of its own (UBSan probes "
                          "memory through a pipe), which a process out of descriptors lacks")
        root = Root()
        limit = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))  # noqa: E731
        srv = Brigaded(root.path, workers=1, preexec_fn=limit)
        conns = []
        try:
            live = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            live.request("GET", "/index.html")
            self.assertEqual(live.getresponse().read(), b"<html>index</html>\n")
            for _ in range(100):  # more than the server has descriptors for
                conns.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
            os.set_blocking(srv.proc.stderr.fileno(), False)
            said = wait_until(lambda: srv.proc.stderr.read() or b"", timeout=10)
            self.assertIn(b"Too many open files", said or b"")
            cpu = srv.cpu_seconds()
            wall = time.monotonic()
            wait_until(lambda: time.monotonic() - wall >= 1.0, timeout=5)
            self.assertLess(srv.cpu_seconds() - cpu, 0.5, "the worker spins on the listener")
            # A live keep-alive connection is still answered: the file, or 503 when the server
            # has no descriptor left to open it with — never a false 403 or 404.
            live.request("GET", "/index.html")
            r = live.getresponse()
            body = r.read()
            self.assertIn(r.status, (200, 503))
            if r.status == 200:
                self.assertEqual(body, b"<html>index</html>\n")
            live.close()
            # Once descriptors are free again, the backlog and new clients are served.
            for s in conns:
                s.close()
            conns = []

            def served():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
                    c.request("GET", "/index.html")
                    ok = c.getresponse().status == 200
                    c.close()
                    return ok
                except OSError:
                    return False
            self.assertTrue(wait_until(served, timeout=15), "no recovery once descriptors freed")
        finally:
            for s in conns:
                s.close()
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    junit_unittest.main("__main__")
