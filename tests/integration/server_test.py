#!/usr/bin/env python3
"""Integration tests of brigaded: the real server on loopback, real clients (curl, python's
http.client, raw sockets)."""
import email.utils
import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
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

from brigaded_harness import (SERVER, TEXT, Brigaded, curl, dechunk, raw, recv_all,  # noqa: E402
                              status_of, wait_filled, wait_until, UNDER_TSAN)


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        r = cls.root
        with open(os.path.join(r, "text.txt"), "wb") as f:
            f.write(TEXT)
        with open(os.path.join(r, "index.html"), "wb") as f:
            f.write(b"<html><body>" + b"index page " * 50 + b"</body></html>\n")
        with open(os.path.join(r, "image.png"), "wb") as f:
            f.write(bytes(range(256)) * 40)
        os.makedirs(os.path.join(r, "dir"))
        with open(os.path.join(r, "dir", "index.html"), "wb") as f:
            f.write(b"<p>dir index</p>\n")
        os.makedirs(os.path.join(r, "empty"))
        os.makedirs(os.path.join(r, "sp ace"))
        os.makedirs(os.path.join(r, "cr\r\nSet-Cookie: x=1"))
        os.makedirs(os.path.join(r, "reverse"))
        with open(os.path.join(r, "reverse", "r.txt"), "wb") as f:
            f.write(b"zyxwvutsrqponmlkjihgfedcba\n9876543210\n")
        with open(os.path.join(r, "random.txt"), "wb") as f:
            f.write(os.urandom(48 << 20))
        cls.outside = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(cls.outside, "secret.txt"), "w") as f:
            f.write("secret")
        os.symlink(os.path.join(cls.outside, "secret.txt"), os.path.join(r, "escape.txt"))
        os.symlink(cls.outside, os.path.join(r, "escapedir"))
        cls.server = Brigaded(r)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def get(self, path, headers=None, method="GET", body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    # --- static files ---

    def test_get_static_file_with_length_date_server_and_type(self):
        r, body = self.get("/text.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(body, TEXT)
        self.assertEqual(int(r.getheader("Content-Length")), len(TEXT))
        self.assertEqual(r.getheader("Content-Type"), "text/plain; charset=utf-8")
        self.assertTrue(r.getheader("Date"))
        self.assertEqual(r.getheader("Server"), "brigaded")
        st = os.stat(os.path.join(self.root, "text.txt"))
        # The size and the modification time in nanoseconds, in hex: a file changed in place
        # within the same second still gets a new tag.
        self.assertEqual(r.getheader("ETag"), '"%x-%x"' % (st.st_size, st.st_mtime_ns))
        self.assertEqual(r.getheader("Last-Modified"),
                         email.utils.formatdate(int(st.st_mtime), usegmt=True))

    def test_gzip_with_curl_compressed(self):
        r = curl("--compressed", "-D", "-", self.server.url("/text.txt"))
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Encoding: gzip", head)
        self.assertIn(b"Vary: Accept-Encoding", head)
        self.assertEqual(body, TEXT)

    def test_gzip_only_for_listed_types_and_when_accepted(self):
        r, body = self.get("/image.png", {"Accept-Encoding": "gzip"})
        self.assertIsNone(r.getheader("Content-Encoding"))
        r, body = self.get("/text.txt", {"Accept-Encoding": "gzip;q=0"})
        self.assertIsNone(r.getheader("Content-Encoding"))
        self.assertEqual(r.getheader("Vary"), "Accept-Encoding")
        r, body = self.get("/text.txt", {"Accept-Encoding": "gzip"})
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(body), TEXT)

    def test_head_has_headers_and_length_but_no_body(self):
        r, body = self.get("/text.txt", method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.getheader("Content-Length")), len(TEXT))
        self.assertEqual(body, b"")
        resp = raw(self.server.port, b"HEAD /text.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertTrue(resp.endswith(b"\r\n\r\n"), resp[-50:])

    def test_conditional_get_answers_304(self):
        r, _ = self.get("/text.txt")
        etag, modified = r.getheader("ETag"), r.getheader("Last-Modified")
        r, body = self.get("/text.txt", {"If-None-Match": etag})
        self.assertEqual(r.status, 304)
        self.assertEqual(body, b"")
        r, body = self.get("/text.txt", {"If-Modified-Since": modified})
        self.assertEqual(r.status, 304)
        r, body = self.get("/text.txt", {"If-None-Match": '"other"'})
        self.assertEqual(r.status, 200)

    def test_directories_redirect_serve_index_or_forbid(self):
        r, _ = self.get("/dir")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader("Location"), "/dir/")
        r, body = self.get("/dir/")
        self.assertEqual(body, b"<p>dir index</p>\n")
        r, _ = self.get("/empty/")
        self.assertEqual(r.status, 403)

    def test_a_redirect_location_is_encoded_again_never_raw_bytes(self):
        r, _ = self.get("/sp%20ace")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader("Location"), "/sp%20ace/")
        resp = raw(self.server.port, b"GET /cr%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: x\r\n"
                   b"Connection: close\r\n\r\n")
        head = resp.partition(b"\r\n\r\n")[0]
        self.assertEqual(status_of(resp), 301)
        self.assertIn(b"\r\nLocation: /cr%0D%0ASet-Cookie:%20x=1/\r\n", head)
        self.assertNotIn(b"\r\nSet-Cookie", head, "no header injected from the path")

    def test_missing_file_is_404_and_wrong_method_405(self):
        r, body = self.get("/nope.txt")
        self.assertEqual(r.status, 404)
        self.assertIn(b"404 Not Found", body)
        r, _ = self.get("/text.txt", method="DELETE")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.getheader("Allow"), "GET, HEAD")

    def test_path_traversal_never_escapes_the_root(self):
        for path in [b"/../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/dir/../../etc/passwd",
                     b"/./../etc/passwd", b"/escape.txt", b"/escapedir/secret.txt",
                     b"/%2e%2e%2f%2e%2e%2fetc/passwd", b"/..%5c..%5cetc/passwd"]:
            resp = raw(self.server.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertIn(status_of(resp), (400, 403, 404), path)
            self.assertNotIn(b"root:", resp)
            self.assertNotIn(b"secret", resp.split(b"\r\n\r\n", 1)[-1])

    def test_dot_segments_inside_the_root_resolve(self):
        r, body = self.get("/dir/../text.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(body, TEXT)
        r, body = self.get("/%74ext.txt")
        self.assertEqual(body, TEXT)

    def test_reverse_location(self):
        r, body = self.get("/reverse/r.txt")
        self.assertEqual(body, b"abcdefghijklmnopqrstuvwxyz\n0123456789\n")

    # --- request bodies ---

    def test_echo_returns_the_body_chunked(self):
        r = curl("-D", "-", "--data-binary", "@-", self.server.url("/echo"), data=TEXT[:50000])
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertEqual(body, TEXT[:50000])  # curl decoded the chunking

    def test_echo_with_gzip_and_chunking_decodes_with_curl(self):
        r = curl("--compressed", "-D", "-", "-H", "Content-Type: text/plain", "--data-binary", "@-",
                 self.server.url("/echo"), data=TEXT[:60000])
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Encoding: gzip", head)
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertEqual(body, TEXT[:60000])

    def test_flush_reaches_the_client_through_deflate_and_chunk(self):
        # Each piece of a chunked upload comes back, gzip-compressed and chunked, before the
        # client sends the next one: the handler's FLUSH goes through DEFLATE (sync flush),
        # CHUNK and the network filter.
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: text/plain\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        decoder = zlib.decompressobj(31)
        received = b""
        buffered = b""
        for piece in [b"first piece of the conversation\n", b"second piece\n"]:
            s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            while not received.endswith(piece):
                buffered += s.recv(4096)  # times out (failing the test) if the piece is held back
                head, sep, rest = buffered.partition(b"\r\n\r\n")
                body = rest if sep else b""
                chunks = b""
                while True:  # decode whole chunks seen so far
                    end = body.find(b"\r\n")
                    if end < 0:
                        break
                    size = int(body[:end], 16)
                    if len(body) < end + 2 + size + 2:
                        break
                    chunks += body[end + 2:end + 2 + size]
                    body = body[end + 2 + size + 2:]
                received = zlib.decompressobj(31).decompress(chunks)
        s.sendall(b"0\r\n\r\n")
        s.close()
        self.assertEqual(received, b"first piece of the conversation\nsecond piece\n")

    def test_chunked_upload_and_expect_continue(self):
        r = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@-", self.server.url("/echo"),
                 data=TEXT[:30000])
        self.assertEqual(r.stdout, TEXT[:30000])
        r = curl("-H", "Expect: 100-continue", "--data-binary", "@-", self.server.url("/echo"),
                 data=TEXT[:20000])
        self.assertEqual(r.stdout, TEXT[:20000])
        resp = raw(self.server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                   b"Expect: 100-continue\r\nConnection: close\r\n\r\nhello")
        self.assertTrue(resp.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"), resp[:80])

    def test_gzip_request_body_is_inflated(self):
        r = curl("-H", "Content-Encoding: gzip", "--data-binary", "@-", self.server.url("/echo"),
                 data=gzip.compress(TEXT[:40000]))
        self.assertEqual(r.stdout, TEXT[:40000])

    def test_body_over_limit_is_413_before_reading_or_continue(self):
        resp = raw(self.server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n"
                   b"Expect: 100-continue\r\n\r\n")
        self.assertEqual(status_of(resp), 413)
        self.assertNotIn(b"100 Continue", resp)
        self.assertIn(b"Connection: close", resp)

    def test_chunked_body_over_limit_is_never_echoed_whole(self):
        # The echo handler streams, so the limit is crossed after its response began: the
        # response is then cut short (no last chunk) and the connection closed, or, when the
        # limit is hit first, it is a 413.
        chunk = b"%x\r\n%s\r\n" % (60000, b"x" * 60000)
        resp = raw(self.server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + chunk + chunk + b"0\r\n\r\n")
        self.assertIn(status_of(resp), (200, 413), resp[:100])
        self.assertFalse(resp.endswith(b"\r\n0\r\n\r\n"), "a complete body over the limit")
        self.assertLess(len(resp), 100000 + 4096)
        small = b"%x\r\n%s\r\n" % (200000, b"y" * 200000)
        resp = raw(self.server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + small + b"0\r\n\r\n")
        self.assertFalse(resp.endswith(b"\r\n0\r\n\r\n"))

    def test_gzip_bomb_request_is_refused(self):
        bomb = gzip.compress(b"\0" * (10 << 20))
        resp = raw(self.server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(bomb) + bomb)
        self.assertIn(status_of(resp), (413, 200))
        self.assertLess(len(resp), 200000 + 4096)  # never the whole inflated body

    # --- connections ---

    def test_keep_alive_reuses_the_connection(self):
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        for _ in range(5):
            c.request("GET", "/dir/")
            r = c.getresponse()
            self.assertEqual(r.read(), b"<p>dir index</p>\n")
        sock = c.sock
        c.request("GET", "/text.txt")
        c.getresponse().read()
        self.assertIs(c.sock, sock)
        c.close()

    def test_a_kept_connection_carries_nothing_of_one_request_into_the_next(self):
        # The server reuses one request record for request after request: filters, framing
        # and fields of one must not reach the next.
        c = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        c.request("GET", "/text.txt", headers={"Accept-Encoding": "gzip"})
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.read()), TEXT)
        sock = c.sock
        c.request("GET", "/reverse/r.txt")
        r = c.getresponse()
        self.assertEqual(r.read(), b"abcdefghijklmnopqrstuvwxyz\n0123456789\n")
        c.request("GET", "/image.png")
        r = c.getresponse()
        self.assertEqual(r.read(), bytes(range(256)) * 40)
        self.assertEqual(r.getheader("Content-Length"), str(256 * 40))
        self.assertIsNone(r.getheader("Content-Encoding"))
        self.assertIsNone(r.getheader("Transfer-Encoding"))
        c.request("POST", "/echo", body=iter([b"hel", b"lo"]), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked"})
        r = c.getresponse()
        self.assertEqual(r.read(), b"hello")
        c.request("GET", "/nope")
        r = c.getresponse()
        self.assertEqual(r.status, 404)
        r.read()
        c.request("POST", "/echo", body=b"world")
        r = c.getresponse()
        self.assertEqual(r.read(), b"world")
        c.request("GET", "/text.txt")
        r = c.getresponse()
        self.assertEqual(r.read(), TEXT)
        self.assertEqual(r.getheader("Content-Length"), str(len(TEXT)))
        self.assertIsNone(r.getheader("Content-Encoding"))
        self.assertIs(c.sock, sock)
        c.close()

    def test_pipelined_responses_come_in_order(self):
        resp = raw(self.server.port,
                   b"GET /dir/ HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"HEAD /text.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"GET /reverse/r.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        statuses = [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", resp)]
        self.assertEqual(statuses, [200, 404, 200, 200])
        self.assertTrue(resp.endswith(b"0123456789\n"))

    def test_http10_closes_unless_keep_alive_is_asked(self):
        r = curl("--http1.0", "-D", "-", self.server.url("/dir/"))
        self.assertIn(b"Connection: close", r.stdout)
        resp = raw(self.server.port, b"GET /dir/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", timeout=1)
        self.assertIn(b"Connection: keep-alive", resp)
        # A body of unknown length is close-delimited for HTTP/1.0, never chunked.
        resp = raw(self.server.port, b"POST /echo HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello")
        self.assertNotIn(b"chunked", resp)
        self.assertTrue(resp.endswith(b"\r\n\r\nhello"), resp)

    def test_absolute_form_target(self):
        resp = raw(self.server.port, b"GET http://example.test/dir/ HTTP/1.1\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(resp), 200)

    def test_malformed_and_hostile_requests(self):
        long_line = b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        cases = [
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505),
            (b"GET / HTTP/1\r\nHost: x\r\n\r\n", 400),
            (b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\nHost: x\n\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
            (long_line, 414),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 600 + b"\r\n\r\n", 431),
            (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(30)) + b"\r\n", 431),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417),
            (b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test\r\n\r\n", 501),
            (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /a%zzb HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET relative HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;=\r\nhello\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope", 400),
            (b"PUT /text.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        ]
        self.assertGreaterEqual(len(cases), 30)
        for request, expected in cases:
            resp = raw(self.server.port, request, shutdown=True)
            self.assertEqual(status_of(resp), expected, request[:80])
            if expected >= 400 and expected != 405:
                head = resp.split(b"\r\n\r\n", 1)[0]
                self.assertIn(b"Connection: close", head, request[:80])
            self.assertEqual(len(re.findall(rb"HTTP/1\.1 \d{3} ", resp)), 1, request[:80])

    def test_slow_request_head_times_out_with_408(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        resp = s.recv(4096)
        self.assertEqual(status_of(resp), 408)
        s.close()

    def test_slow_reader_costs_bounded_memory(self):
        # 48 MiB of incompressible "text" through DEFLATE: far more than the socket buffers hold,
        # so a server that did not wait for the reader would have to keep it in memory.
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        s.sendall(b"GET /random.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        before = self.server.rss_kb()
        got = s.recv(1000)
        wait_filled(s)  # the server fills the socket and must then wait, not buffer
        during = self.server.rss_kb()
        if not UNDER_TSAN:
            self.assertLess(during - before, 16 * 1024, "server grew by %d KiB" % (during - before))
        data = got
        data = recv_all(s, data)
        body = data.split(b"\r\n\r\n", 1)[1]
        # chunked + gzip: decode both
        decoded = dechunk(body)
        with open(os.path.join(self.root, "random.txt"), "rb") as f:
            self.assertEqual(gzip.decompress(decoded), f.read())

    # --- echo protocols ---

    def echo_session(self, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        out = b""
        for line in [b"hello\r\n", b"second line\n"]:
            s.sendall(line)
            while not out.endswith(line):
                out += s.recv(100)
        s.sendall(b"\r\n")
        self.assertEqual(s.recv(100), b"")  # the empty line ends the session
        s.close()
        return out

    def test_echo_protocol_brigade_based(self):
        self.assertEqual(self.echo_session(self.server.ports["echo"]), b"hello\r\nsecond line\n")

    def test_echo_protocol_socket_based(self):
        self.assertEqual(self.echo_session(self.server.ports["echo-socket"]), b"hello\r\nsecond line\n")

    # --- operations ---

    def test_server_status_counts(self):
        def counter(name):
            return int(re.search(name + r": (\d+)", self.get("/server-status")[1].decode()).group(1))
        r, body = self.get("/server-status")
        text = body.decode()
        for key in ["connections_open", "requests", "bytes_in", "bytes_out", "bytes_copied", "bytes_shared"]:
            self.assertRegex(text, key + r": \d+")
        # Bytes are counted however the connection ends, a close right after the response too.
        before = counter("bytes_out")
        resp = raw(self.server.port, b"GET /text.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(resp), 200)
        self.assertTrue(wait_until(lambda: counter("bytes_out") - before >= len(TEXT)),
                        "bytes_out grew by %d" % (counter("bytes_out") - before))
        # Each worker counts in its own block; the page shows the sum, whichever served.
        before = counter("requests")
        for _ in range(10):
            resp = raw(self.server.port, b"GET /text.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertEqual(status_of(resp), 200)
        self.assertTrue(wait_until(lambda: counter("requests") - before >= 10),
                        "requests grew by %d" % (counter("requests") - before))

    def test_access_log_is_combined_format(self):
        self.get("/dir/", {"User-Agent": "integration-test", "Referer": "http://ref.test/"})
        # Combined format, then the connection status (Apache's %X): "+" kept alive, "-" closed,
        # "X" cut before the response completed.
        pattern = re.compile(r'^127\.0\.0\.1 - - \[[^\]]+\] "GET /dir/ HTTP/1\.1" 200 \d+ '
                             r'"http://ref\.test/" "integration-test" [+-]$')
        lines = wait_until(lambda: [l for l in self.server.log_lines() if pattern.match(l)])
        self.assertTrue(lines, self.server.log_lines()[-3:])


class IsalBackendTest(unittest.TestCase):
    """DeflateBackend isal: the same responses and request bodies, compressed by ISA-L."""

    def test_gzip_responses_and_request_bodies_with_isal(self):
        root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(root, "text.txt"), "wb") as f:
            f.write(TEXT)
        srv = Brigaded(root, extra="DeflateBackend isal\nDeflateCompressionLevel 1\n")
        try:
            r = curl("--compressed", "-D", "-", srv.url("/text.txt"))
            head, _, body = r.stdout.partition(b"\r\n\r\n")
            self.assertIn(b"Content-Encoding: gzip", head)
            self.assertEqual(body, TEXT)
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("GET", "/text.txt", headers={"Accept-Encoding": "gzip"})
            resp = c.getresponse()
            raw = resp.read()
            self.assertEqual(resp.getheader("Content-Encoding"), "gzip")
            self.assertEqual(gzip.decompress(raw), TEXT)
            self.assertLess(len(raw), len(TEXT) // 2)
            # A gzip request body (two members) decoded by INFLATE on ISA-L, echoed back.
            sent = gzip.compress(TEXT[:20000]) + gzip.compress(TEXT[20000:40000])
            c.request("POST", "/echo", body=sent,
                      headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})
            resp = c.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.read(), TEXT[:40000])
            c.close()
        finally:
            srv.stop()


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(os.urandom(1 << 20) * 24)

    def test_sigterm_finishes_the_response_in_flight_then_exits_0(self):
        srv = Brigaded(self.root)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(4096)
        srv.proc.send_signal(signal.SIGTERM)
        data = recv_all(s, data)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertEqual(len(body), 24 << 20)
        self.assertEqual(srv.proc.wait(timeout=10), 0)

    def test_slow_reader_of_a_static_file_does_not_hold_the_worker(self):
        # One worker only: while client A does not read its 24 MiB file, client B must still be
        # served at once (the rest of A's response waits in the event loop, not in a thread).
        srv = Brigaded(self.root, workers=1)
        try:
            a = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            a.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            wait_filled(a)  # A's response fills the socket buffers
            start = time.time()
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("HEAD", "/big.bin")
            self.assertEqual(c.getresponse().status, 200)
            self.assertLess(time.time() - start, 1.0)
            c.close()
            data = recv_all(a)
            self.assertEqual(len(data.partition(b"\r\n\r\n")[2]), 24 << 20)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_pipelined_requests_take_turns_with_other_connections(self):
        # One worker: client A pipelines 300 requests for a page compressed on the fly, so the
        # worker always has one of A's requests in hand; client B, arriving meanwhile, must be
        # served in turn, not after all of A's.
        page = os.path.join(self.root, "page.txt")
        with open(page, "wb") as f:
            f.write(TEXT[:100 << 10])
        srv = Brigaded(self.root, workers=1, extra="MaxKeepAliveRequests 0\n")
        try:
            a = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            count = 300
            a.sendall(b"GET /page.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n" * count)
            seen = {"responses": 0}
            def read_a():
                data = b""
                while seen["responses"] < count:
                    chunk = a.recv(1 << 16)
                    if not chunk:
                        break
                    data += chunk
                    seen["responses"] = data.count(b"HTTP/1.1 200 OK\r\n")
            reader = threading.Thread(target=read_a)
            reader.start()
            self.assertTrue(wait_until(lambda: seen["responses"] >= 1))
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            c.request("GET", "/page.txt")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.read()), 100 << 10)
            served_a_meanwhile = seen["responses"]
            c.close()
            reader.join(timeout=60)
            self.assertEqual(seen["responses"], count)
            self.assertLess(served_a_meanwhile, count // 2,
                            "B waited for A's pipelined requests")
            a.close()
        finally:
            self.assertEqual(srv.stop(), 0)

    @unittest.skipIf("ASAN_OPTIONS" in os.environ, "ASan's allocator keeps freed memory")
    @unittest.skipIf(UNDER_TSAN, "ThreadSanitizer's shadow memory counts in RSS")
    def test_memory_of_many_closed_connections_goes_back(self):
        # 6,000 keep-alive connections, each served once and left idle: the worker's first 256
        # keep their records (1.5 KiB each at most), the others let them go and hold at most
        # 524 bytes each (10,000 in 5 MiB). Then closed:
        # the heap they used must not stay pinned (bucket records kept for reuse are bounded,
        # and the worker trims malloc's free pages after mass closes).
        srv = Brigaded(self.root, workers=1, timeout=60, extra="KeepAliveTimeout 120\n")
        try:
            with open(os.path.join(self.root, "small.txt"), "wb") as f:
                f.write(b"x" * 1024)
            idle = srv.rss_kb()
            socks = []
            for _ in range(6000):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
                got = b""
                while not got.endswith(b"x" * 1024):
                    chunk = s.recv(65536)
                    self.assertTrue(chunk)
                    got += chunk
                socks.append(s)
            bound = 256 * 1536 + (6000 - 256) * 524
            small = wait_until(lambda: (srv.rss_kb() - idle) * 1024 <= bound, timeout=15)
            held = srv.rss_kb()
            self.assertTrue(small, "RSS idle %d kB, with the connections %d kB" % (idle, held))
            for s in socks:
                s.close()
            back = wait_until(lambda: srv.rss_kb() <= idle + 4096, timeout=15)
            self.assertTrue(back, "RSS idle %d kB, with the connections %d kB, after %d kB"
                            % (idle, held, srv.rss_kb()))
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_slow_reader_of_a_gzip_stream_does_not_hold_the_worker(self):
        # As above, but the response is still being produced: DEFLATE compresses 24 MiB as the
        # client reads, and a full socket makes it hold back (kAgain) instead of the worker.
        with open(os.path.join(self.root, "random.txt"), "wb") as f:
            f.write(os.urandom(24 << 20))
        srv = Brigaded(self.root, workers=1)
        try:
            a = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            a.sendall(b"GET /random.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                      b"Connection: close\r\n\r\n")
            wait_filled(a)
            before = srv.rss_kb()
            start = time.time()
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("HEAD", "/big.bin")
            self.assertEqual(c.getresponse().status, 200)
            self.assertLess(time.time() - start, 1.0)
            c.close()
            self.assertLess(srv.rss_kb() - before, 16 * 1024)
            data = recv_all(a)
            head, _, body = data.partition(b"\r\n\r\n")
            self.assertIn(b"Content-Encoding: gzip", head)
            decoded = dechunk(body)
            with open(os.path.join(self.root, "random.txt"), "rb") as f:
                self.assertEqual(gzip.decompress(decoded), f.read())
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_on_an_idle_server_stops_accepting_and_exits_0(self):
        srv = Brigaded(self.root)
        self.assertEqual(status_of(raw(srv.port, b"HEAD /big.bin HTTP/1.0\r\n\r\n")), 200)
        self.assertEqual(srv.stop(), 0)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2)

    def test_sigterm_ends_open_echo_sessions_and_exits_0(self):
        srv = Brigaded(self.root)
        sessions = [socket.create_connection(("127.0.0.1", srv.ports[p]), timeout=5)
                    for p in ("echo", "echo-socket")]
        for s in sessions:
            s.sendall(b"ping\r\n")
            self.assertEqual(s.recv(100), b"ping\r\n")
        self.assertEqual(srv.stop(), 0)
        for s in sessions:
            self.assertEqual(s.recv(100), b"")  # the server ended the session
            s.close()

    def test_sighup_reopens_the_access_log(self):
        srv = Brigaded(self.root)
        raw(srv.port, b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: x\r\nConnection: close\r\n\r\n")
        os.rename(srv.log, srv.log + ".1")
        srv.proc.send_signal(signal.SIGHUP)
        # The reopen happens on the signal thread; requests go on until the new file has one.
        def logged_in_new_file():
            raw(srv.port, b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return any('"HEAD /big.bin HTTP/1.1" 200' in l for l in srv.log_lines())
        self.assertTrue(wait_until(logged_in_new_file, timeout=10, interval=0.1))
        self.assertEqual(srv.stop(), 0)

    def test_demo_starts_with_no_arguments(self):
        for port in (8080, 8081):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    self.skipTest("port %d is taken on this machine" % port)
        proc = subprocess.Popen([SERVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            lines = [proc.stdout.readline().decode() for _ in range(2)]
            self.assertIn("listening on http://127.0.0.1:8080 (http)", lines[0])
            self.assertIn("listening on 127.0.0.1:8081 (echo)", lines[1])
            c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=10)
            for path, needle in [("/", b"brigade"), ("/reverse/poem.txt", b"setyb fo weiv a"),
                                 ("/server-status", b"requests:")]:
                c.request("GET", path, headers={"Accept-Encoding": "gzip"})
                r = c.getresponse()
                body = r.read()
                if r.getheader("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                self.assertEqual(r.status, 200, path)
                self.assertIn(needle, body, path)
            c.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=10), 0)

    def test_check_config_reports_file_line_and_reason(self):
        d = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        good = os.path.join(d, "good.conf")
        with open(good, "w") as f:
            f.write("Listen 127.0.0.1:0\nDocumentRoot %s\n" % self.root)
        r = subprocess.run([SERVER, "--check-config", "--config", good], capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        for text, reason in [
            ("Listen 127.0.0.1:0\nFrobnicate on\n", "unknown directive Frobnicate"),
            ("Listen 127.0.0.1:99999\n", "bad port"),
            ("Listen 127.0.0.1:0\n<Location /x>\nSetOutputFilter NOPE\n</Location>\n", "no output filter named NOPE"),
            ("Listen 127.0.0.1:0\nDeflateCompressionLevel 12\n", "expected a number from 1 to 9"),
            ("Listen 127.0.0.1:0\nDeflateBackend lz4\n", "DeflateBackend: lz4: expected zlib or isal"),
            ("Listen 127.0.0.1:0\n<Location /x>\nSetHandler static\n", "never closed"),
        ]:
            bad = os.path.join(d, "bad.conf")
            with open(bad, "w") as f:
                f.write(text)
            r = subprocess.run([SERVER, "--check-config", "--config", bad], capture_output=True)
            self.assertEqual(r.returncode, 2, text)
            self.assertRegex(r.stderr.decode(), re.escape(bad) + r":\d+: .*" + re.escape(reason))

    def test_an_access_log_that_cannot_be_opened_stops_start_up_naming_it(self):
        d = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        conf = os.path.join(d, "badlog.conf")
        with open(conf, "w") as f:
            f.write("Listen 127.0.0.1:0\nDocumentRoot %s\nAccessLog %s/no/such/dir/log\n"
                    % (self.root, d))
        r = subprocess.run([SERVER, "--config", conf], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("open_logs", err)
        self.assertIn("no/such/dir/log", err)

    def test_check_config_report_shows_where_sendfile_is_lost(self):
        d = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        conf = os.path.join(d, "report.conf")
        with open(conf, "w") as f:
            f.write("Listen 127.0.0.1:0\nDocumentRoot %s\n"
                    "<Location /files/>\n</Location>\n"
                    "<Location /gz/>\nSetOutputFilter DEFLATE:level=1\n</Location>\n"
                    "<Location /typed/>\nAddOutputFilterByType DEFLATE text/html\n</Location>\n"
                    % self.root)
        r = subprocess.run([SERVER, "--check-config", "--report", "--config", conf],
                           capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        sections = {}
        heading = None
        for line in out.splitlines():
            if line.startswith("Location ") or line.startswith("Outside every Location"):
                heading = line.split(" (")[0]
                sections[heading] = []
            elif line.startswith("brigaded: "):
                heading = None
            elif heading is not None:
                sections[heading].append(line)
        self.assertEqual(set(sections), {"Location /files/", "Location /gz/", "Location /typed/",
                                         "Outside every Location"}, out)
        files = sections["Location /files/"]
        self.assertIn("zero-copy: yes", files)
        self.assertTrue(any(l.startswith("CORE_OUT: NETWORK") for l in files), files)
        self.assertIn("zero-copy: no (DEFLATE needs bytes in memory)", sections["Location /gz/"])
        typed = sections["Location /typed/"]
        self.assertTrue(any(l.startswith("DEFLATE:") and "only for text/html" in l for l in typed))
        for lines in sections.values():
            self.assertRegex(lines[-1], r"^worst-case buffered: \d+ bytes$")
        self.assertIn("is valid", out.splitlines()[-1])
        r = subprocess.run([SERVER, "--report"], capture_output=True)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    junit_unittest.main("__main__")
