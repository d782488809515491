#!/usr/bin/env python3
"""Hostile and faulty clients at scale, on loopback, bounded in time and count: slowloris, slow
uploaders and slow readers by the hundred, clients that vanish mid-request and mid-response by
the thousand, and files that shrink while they are sent. The server must keep serving others,
lose nothing it accepted, and give back what the crowd cost."""
import base64
import gzip
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
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
import junit_unittest  # noqa: E402

from brigaded_harness import (TEXT, Brigaded, Ticker, dechunk, recv_all,  # noqa: E402
                              status_of, wait_filled, wait_until, UNDER_TSAN)

SANITIZED = "ASAN_OPTIONS" in os.environ or UNDER_TSAN
# SLOW_READ_MIB=100 makes the slow-reader tests read whole responses of that size instead of
# the bounded prefix CI reads (at 64 KiB/s, 100 MiB takes about 27 minutes).
FULL_MIB = int(os.environ["SLOW_READ_MIB"]) if os.environ.get("SLOW_READ_MIB") else None
# Enough descriptors for a thousand clients here and a thousand connections there.
FDS = 8192


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(FDS, hard), hard))


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_kinds(pid):
    """(sockets, other descriptors) the process holds."""
    targets = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except FileNotFoundError:
            pass
    sockets = sum(t.startswith("socket:") for t in targets)
    return sockets, len(targets) - sockets


class StreamCheck:
    """Checks a response as it arrives, a read at a time, without holding it: the head, then
    the body (by Content-Length or chunked, gzip-decoded when the head says so) compared with
    `expected` byte for byte. `verified` counts the body bytes that matched; `done` is set at
    the end of a complete body, `error` at the first mismatch or framing fault."""

    def __init__(self, expected):
        self.expected = memoryview(expected)
        self.head = None
        self.pending = b""
        self.length = None       # body bytes still due when framed by Content-Length
        self.chunk = None        # bytes left in the current chunk, None between chunks
        self.inflate = None
        self.verified = 0
        self.done = False
        self.error = None

    def feed(self, data):
        if self.done or self.error:
            if data:
                self.error = self.error or "bytes after the end of the body"
            return
        self.pending += data
        if self.head is None:
            end = self.pending.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head, self.pending = self.pending[:end], self.pending[end + 4:]
            if b"Content-Encoding: gzip" in self.head:
                self.inflate = zlib.decompressobj(31)
            m = re.search(rb"\r\nContent-Length: (\d+)", self.head)
            if m:
                self.length = int(m.group(1))
            elif b"Transfer-Encoding: chunked" not in self.head:
                self.error = "neither Content-Length nor chunked: %r" % self.head[:200]
                return
        if self.length is not None:
            self._body(self.pending[:self.length])
            self.length -= min(len(self.pending), self.length)
            self.pending = b""
            if self.length == 0:
                self._end()
            return
        self._chunks()

    def _chunks(self):
        while not self.done and not self.error:
            if self.chunk is None:
                end = self.pending.find(b"\r\n")
                if end < 0:
                    return
                size = int(self.pending[:end], 16)
                if size == 0:
                    if len(self.pending) < end + 4:
                        return  # the last chunk's closing CRLF has yet to come
                    if self.pending[end + 2:end + 4] == b"\r\n":
                        self._end()
                    else:
                        self.error = "trailer or garbage after the last chunk"
                    return
                self.chunk, self.pending = size, self.pending[end + 2:]
            take = min(self.chunk, len(self.pending))
            self._body(self.pending[:take])
            self.pending = self.pending[take:]
            self.chunk -= take
            if self.chunk:
                return
            if len(self.pending) < 2:
                self.chunk = 0  # the data is whole; its CRLF has yet to come
                return
            if self.pending[:2] != b"\r\n":
                self.error = "chunk without its CRLF"
                return
            self.pending, self.chunk = self.pending[2:], None

    def _body(self, data):
        if self.inflate is not None:
            data = self.inflate.decompress(data)
        want = self.expected[self.verified:self.verified + len(data)]
        if want != data:
            self.error = "body differs at byte %d" % self.verified
            return
        self.verified += len(data)

    def _end(self):
        if self.inflate is not None and not self.inflate.eof:
            self.error = "gzip stream cut short"
        elif self.verified != len(self.expected):
            self.error = "body of %d bytes, want %d" % (self.verified, len(self.expected))
        else:
            self.done = True


def read_slowly(srv, socks, checks, rounds, idle_kb, warm_rounds, until_whole):
    """Reads 6,554 bytes from each socket ten times a second (about 64 KiB/s each) into its
    StreamCheck for `rounds` rounds, or (until_whole) until every response is whole, a check
    fails or the rounds run out. Returns
    the server's peak RSS growth over `idle_kb` (KiB) and the times of a normal GET made every
    fourth round after `warm_rounds`."""
    peak = 0
    normal = []
    tick = Ticker(0.1)
    r = 0
    while r < rounds and not (until_whole and all(c.done for c in checks)):
        for s, check in zip(socks, checks):
            if check.done or check.error:
                continue
            try:
                data = s.recv(6554)
                check.feed(data)
                if not data and not check.done:
                    check.error = "closed after %d body bytes" % check.verified
            except BlockingIOError:
                pass
            except OSError as e:
                check.error = "%s after %d body bytes" % (e, check.verified)
        if until_whole and any(c.error for c in checks):
            break
        peak = max(peak, srv.rss_kb() - idle_kb)
        if r >= warm_rounds and r % 4 == 0:
            normal.append(timed_get(srv.port)[0])
        tick.wait()
        r += 1
    normal.sort()
    return peak, normal


def timed_get(port, path=b"/index.html"):
    """(seconds, status) of one GET on a fresh connection."""
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    out = recv_all(s)
    s.close()
    return time.monotonic() - start, status_of(out)


class HostileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise_fd_limit()
        cls.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(cls.root, "index.html"), "wb") as f:
            f.write(b"<p>index</p>\n")
        with open(os.path.join(cls.root, "text.txt"), "wb") as f:
            f.write(TEXT * 20)  # 1.1 MB of compressible text
        cls.random_text = base64.b64encode(os.urandom(6 << 20))
        with open(os.path.join(cls.root, "random.txt"), "wb") as f:
            f.write(cls.random_text)

    def write_text(self, name, size):
        """Writes `size` bytes of the base64 text under the root as `name`; returns them."""
        data = (self.random_text * (size // len(self.random_text) + 1))[:size]
        path = os.path.join(self.root, name)
        with open(path, "wb") as f:
            f.write(data)
        self.addCleanup(os.remove, path)
        return data

    def start(self, **kw):
        srv = Brigaded(self.root, preexec_fn=raise_fd_limit, **kw)
        self.addCleanup(lambda: self.assertEqual(srv.stop(), 0))
        return srv

    def test_slowloris_1000_connections_are_timed_out_and_others_served(self):
        srv = self.start(workers=1, timeout=3)
        idle = srv.rss_kb()
        slow = []
        for i in range(1000):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nX-%d: " % i)
            slow.append(s)
        # One header byte a second from each, while a normal client is served promptly.
        seconds = []
        tick = Ticker(1.0)
        for _ in range(3):
            for s in slow:
                try:
                    s.send(b"a")
                except OSError:
                    pass
            seconds.append(timed_get(srv.port))
            tick.wait()
        for took, status in seconds:
            self.assertEqual(status, 200)
            self.assertLess(took, 1.0)
        if not SANITIZED:
            self.assertLess(srv.rss_kb() - idle, 16 * 1024, "KiB for 1000 slow heads")
        # The header timeout (a deadline for the whole head, not pushed back by each byte)
        # answers each with 408, or closes it when the answer meets the bytes still coming.
        ended = 0
        for s in slow:
            s.settimeout(10)
            try:
                out = recv_all(s)
                ended += out == b"" or status_of(out) == 408
            except ConnectionResetError:
                ended += 1
            s.close()
        self.assertEqual(ended, 1000)
        self.assertTrue(wait_until(lambda: open_fds(srv.proc.pid) <= 16, timeout=10))

    def test_200_slow_uploaders_are_all_echoed_whole_and_block_no_one(self):
        srv = self.start(workers=1, timeout=20)
        body = TEXT[:20000]
        socks = []
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            s.sendall(b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n" % len(body))
            socks.append(s)
        for at in range(0, len(body), 4000):  # five rounds of 4 KB each
            for s in socks:
                s.sendall(body[at:at + 4000])
            took, status = timed_get(srv.port)
            self.assertEqual(status, 200)
            self.assertLess(took, 0.5 if not SANITIZED else 2.0)
        for s in socks:
            out = recv_all(s)
            s.close()
            self.assertEqual(status_of(out), 200)
            self.assertTrue(out.endswith(body), out[:200])

    def slow_readers(self, path, expected, rounds, warm_rounds, gzip_on):
        """200 clients reading `path` at about 64 KiB/s each, every byte checked against
        `expected` as it arrives: for `rounds` rounds, or with SLOW_READ_MIB set until each
        has its whole response. Returns (peak RSS growth in KiB, normal GET times, idle RSS)."""
        srv = self.start(workers=1, timeout=30, extra="SendBufferSize 65536\n")
        idle = srv.rss_kb()
        socks, checks = [], []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            # Small, so that the server holds what the readers have not taken; not smaller:
            # with 16 KiB a 6.5 KB read does not reopen a closed window, and the zero-window
            # probes then pace a gzip stream at about 36 KB/s, the server's queues full.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" +
                      (b"Accept-Encoding: gzip\r\n" if gzip_on else b"") +
                      b"Connection: close\r\n\r\n")
            s.setblocking(False)
            socks.append(s)
            checks.append(StreamCheck(expected))
        whole = FULL_MIB is not None
        if whole:
            # A bound against a hang, not a pace: at 64 KiB/s each the whole body takes
            # len/6554 rounds.
            rounds = len(expected) // 6554 * 2 + 600
        peak, normal = read_slowly(srv, socks, checks, rounds, idle, warm_rounds,
                                   until_whole=whole)
        for check in checks:
            self.assertIsNone(check.error)
            self.assertIn(b"Content-Encoding: gzip" if gzip_on else
                          b"Content-Length: %d" % len(expected), check.head)
            if whole:
                self.assertTrue(check.done, "%d of %d bytes" % (check.verified, len(expected)))
            else:
                self.assertGreater(check.verified, 64 * 1024)
        for s in socks:
            s.close()
        if whole:
            print("%s: 200 readers of %d MiB each, peak +%d KiB, GET median %.1f ms, max "
                  "%.1f ms over %d" % (path.decode(), FULL_MIB, peak,
                                       normal[len(normal) // 2] * 1e3, normal[-1] * 1e3,
                                       len(normal)), file=sys.stderr)
        return srv, peak, normal, idle

    def test_200_slow_gzip_readers_get_their_bytes_in_bounded_memory_and_block_no_one(self):
        # 200 clients read gzip streams of base64 text (8 MiB, 6 MiB compressed: far more than
        # the socket buffers hold) at about 64 KiB/s for 5 s. The crowd must stay under
        # 64 MiB (320 KiB each: no file read whole, no output held beyond the watermark), what
        # each got must decode to the start of the file, a normal client is answered within
        # 100 ms once the streams run, and the memory goes back when they close. SendBufferSize
        # keeps what the kernel buffers per socket (and so the work of filling it) bounded.
        expected = self.random_text
        if FULL_MIB is not None:
            expected = self.write_text("slow.txt", FULL_MIB << 20)
        srv, peak, normal, idle = self.slow_readers(
            b"/slow.txt" if FULL_MIB is not None else b"/random.txt", expected, 50, 10, True)
        if not SANITIZED:
            self.assertLess(peak, 64 * 1024, "KiB for 200 slow gzip readers")
            # The worker dispatches the streams' write readiness for a bounded time per round
            # and a request at once, so a GET waits for a few ms of others' output (4.7 ms at
            # worst over the 21-minute full-size run); before, a round ran every stream ready
            # and a GET waited up to 877 ms. The client shares the 2 cores with the server
            # (and CI's with other jobs): the median is held to 100 ms, the slowest to 0.5 s.
            self.assertLess(normal[len(normal) // 2], 0.1, "seconds for a GET beside them")
            self.assertLess(normal[-1], 0.5, "seconds for the slowest GET beside them")
            back = wait_until(lambda: srv.rss_kb() - idle <= 4096, timeout=10)
            self.assertTrue(back, "RSS idle %d kB, after %d kB" % (idle, srv.rss_kb()))

    def test_200_slow_static_readers_get_their_bytes_and_cost_no_file_in_memory(self):
        # 200 clients reading a 64 MiB file at about 64 KiB/s for 3 s: sendfile in slices, so
        # the server holds no part of the file in memory, and a normal client is served.
        size = (FULL_MIB if FULL_MIB is not None else 64) << 20
        expected = self.write_text("big.bin", size)
        _, peak, normal, _ = self.slow_readers(b"/big.bin", expected, 30, 5, False)
        if not SANITIZED:
            self.assertLess(peak, 16 * 1024, "KiB for 200 slow static readers")
            self.assertLess(normal[len(normal) // 2], 0.1, "seconds for a GET beside them")

    def test_10000_clients_vanishing_mid_request_and_mid_response_leak_nothing(self):
        srv = self.start(workers=2, timeout=5)
        sockets, others = fd_kinds(srv.proc.pid)
        for _ in range(20):  # warm: the first connections make the pools
            timed_get(srv.port)
        rss = srv.rss_kb()
        linger_rst = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends RST
        kinds = [
            b"GET /index.html HTTP/1.1\r\nHo",                                  # mid-head
            b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab",  # mid-body
            b"GET /text.txt HTTP/1.1\r\nHost: x\r\n\r\n",                         # sendfile
            b"GET /text.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",  # gzip
        ]
        for i in range(10000):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(kinds[i % 4])
            if i % 4 >= 2:
                s.recv(1000)  # the response is under way
            if i % 3 == 0:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_rst)
            elif i % 3 == 1:
                s.shutdown(socket.SHUT_WR)
            s.close()
        took, status = timed_get(srv.port)
        self.assertEqual(status, 200)
        # Every socket goes; beyond them only the open-file cache's descriptors stay (at most
        # one per file and worker: index.html and text.txt on two workers).
        self.assertTrue(wait_until(lambda: fd_kinds(srv.proc.pid)[0] <= sockets, timeout=20),
                        "%d sockets open, %d before" % (fd_kinds(srv.proc.pid)[0], sockets))
        self.assertLessEqual(fd_kinds(srv.proc.pid)[1], others + 2 * 2)
        if not SANITIZED:
            back = wait_until(lambda: srv.rss_kb() - rss <= 4096, timeout=10)
            self.assertTrue(back, "RSS %d kB, %d kB before" % (srv.rss_kb(), rss))

    def test_a_file_that_shrinks_while_it_is_sent_is_cut_cleanly_and_logged_so(self):
        srv = self.start(workers=1, timeout=10)
        path = os.path.join(self.root, "shrinking.txt")
        for agent, extra in ((b"plain", b""), (b"gzip", b"Accept-Encoding: gzip\r\n")):
            with open(path, "wb") as f:
                f.write(os.urandom(64 << 20))  # incompressible: DEFLATE must wait for the reader
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            s.sendall(b"GET /shrinking.txt HTTP/1.1\r\nHost: x\r\n" + extra +
                      b"User-Agent: " + agent + b"\r\nConnection: close\r\n\r\n")
            first = s.recv(65536)
            wait_filled(s)
            os.truncate(path, 1 << 20)
            out = recv_all(s, first)
            s.close()
            head, _, body = out.partition(b"\r\n\r\n")
            self.assertEqual(status_of(out), 200)
            self.assertLess(len(body), 64 << 20, "never padded to the promised length")
            if extra:
                self.assertFalse(body.endswith(b"0\r\n\r\n"), "a cut stream must not look whole")
                with self.assertRaises((zlib.error, EOFError, ValueError)):
                    gzip.decompress(dechunk(body))
            line = wait_until(lambda: [l for l in srv.log_lines() if '"%s"' % agent.decode() in l])
            self.assertTrue(line, srv.log_lines())
            self.assertTrue(line[0].endswith(" X"), line[0])
        took, status = timed_get(srv.port)
        self.assertEqual(status, 200, "the worker keeps serving")
        os.remove(path)


class ZipBombTest(unittest.TestCase):
    """Request bodies that inflate past the limit (100,000 bytes in the harness) stop with 413
    at the limit, however they are framed, and the server reads no further than it must."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.server = Brigaded(cls.root)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def post(self, head, body):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        s.sendall(b"POST /spool HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n" + head +
                  b"\r\n" + body)
        out = recv_all(s)
        s.close()
        return out

    def test_bombs_by_length_chunked_and_in_many_members_are_413(self):
        bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in 64 KB
        out = self.post(b"Content-Length: %d\r\n" % len(bomb), bomb)
        self.assertEqual(status_of(out), 413, out[:300])
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(bomb[i:i + 4096]), bomb[i:i + 4096])
                           for i in range(0, len(bomb), 4096)) + b"0\r\n\r\n"
        out = self.post(b"Transfer-Encoding: chunked\r\n", chunked)
        self.assertEqual(status_of(out), 413, out[:300])
        # Each member alone is under the limit; together they are not.
        members = b"".join(gzip.compress(b"\0" * 30000) for _ in range(8))
        out = self.post(b"Content-Length: %d\r\n" % len(members), members)
        self.assertEqual(status_of(out), 413, out[:300])
        # Under the limit, several members inflate to their concatenation.
        fine = gzip.compress(b"a" * 30000) + gzip.compress(b"b" * 30000)
        out = self.post(b"Content-Length: %d\r\n" % len(fine), fine)
        self.assertEqual(status_of(out), 200, out[:300])
        self.assertTrue(out.endswith(b"a" * 30000 + b"b" * 30000))


class FaultsTest(unittest.TestCase):
    def test_sighup_when_the_new_log_cannot_be_opened_keeps_the_old_one_and_says_so(self):
        root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(root, "index.html"), "wb") as f:
            f.write(b"<p>index</p>\n")
        logdir = os.path.join(root, "logs")
        os.makedirs(logdir)
        srv = Brigaded(root, log=os.path.join(logdir, "access.log"))
        try:
            timed_get(srv.port)
            os.rename(logdir, logdir + ".moved")  # the reopen's path no longer exists
            srv.proc.send_signal(signal.SIGHUP)
            os.set_blocking(srv.proc.stderr.fileno(), False)
            said = [b""]

            def complained():
                said[0] += srv.proc.stderr.read() or b""
                return b"access.log" in said[0]
            self.assertTrue(wait_until(complained, timeout=10), said[0])
            moved = os.path.join(logdir + ".moved", "access.log")

            def logged_in_old_file():
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: after-hup\r\n"
                          b"Connection: close\r\n\r\n")
                recv_all(s)
                s.close()
                with open(moved) as f:
                    return '"after-hup"' in f.read()
            self.assertTrue(wait_until(logged_in_old_file, timeout=10, interval=0.5))
        finally:
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    junit_unittest.main("__main__")
