#!/usr/bin/env python3
"""Request smuggling and framing, as a table: every ambiguous or malformed framing of a request
gets the right status and exactly one response, and the connection closes wherever the byte
stream after it cannot be trusted; a well-framed request followed by a pipelined one gets two
answers. Also path traversal in every disguise, never served."""
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
import junit_unittest  # noqa: E402

from brigaded_harness import Brigaded, raw, status_of  # noqa: E402

H = b"Host: x\r\n"
POST = b"POST /spool HTTP/1.1\r\n" + H
NEXT = b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

# (name, request bytes, status, trusted): `trusted` means the server may go on reading the
# connection after answering (the pipelined NEXT must then be answered too); otherwise it
# must answer once and close.
CASES = [
    # Content-Length and Transfer-Encoding together, or either one ambiguous.
    ("CL and TE", POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400, False),
    ("TE and CL", POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
     400, False),
    # Identical values are one length (RFC 9110 8.6 lets a recipient take it): no ambiguity.
    ("duplicate CL, same value", POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
     200, True),
    ("duplicate CL, other values", POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
     400, False),
    ("comma-joined CL", POST + b"Content-Length: 5, 5\r\n\r\nhello", 200, True),
    ("comma-joined CL, other values", POST + b"Content-Length: 5, 6\r\n\r\nhello", 400, False),
    ("CL with a sign", POST + b"Content-Length: +5\r\n\r\nhello", 400, False),
    ("CL negative", POST + b"Content-Length: -1\r\n\r\n", 400, False),
    ("CL in hex", POST + b"Content-Length: 0x5\r\n\r\nhello", 400, False),
    ("CL with inner space", POST + b"Content-Length: 5 5\r\n\r\nhello", 400, False),
    ("CL empty", POST + b"Content-Length:\r\n\r\n", 400, False),
    ("CL overflowing 64 bits", POST + b"Content-Length: 99999999999999999999999\r\n\r\n",
     400, False),
    ("CL over the body limit", POST + b"Content-Length: 100001\r\n\r\n", 413, False),
    ("CL with padding whitespace", POST + b"Content-Length:   5  \r\n\r\nhello", 200, True),
    # Transfer-Encoding other than exactly chunked, once, last.
    ("TE gzip", POST + b"Transfer-Encoding: gzip\r\n\r\n", 501, False),
    ("TE identity", POST + b"Transfer-Encoding: identity\r\n\r\n", 501, False),
    ("TE gzip then chunked", POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
     501, False),
    ("TE chunked not last", POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
     400, False),
    ("TE chunked twice", POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
     400, False),
    ("TE in two fields", POST + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 501, False),
    ("TE xchunked", POST + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501, False),
    ("TE in HTTP/1.0", b"POST /spool HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400, False),
    ("TE chunked in capitals", POST + b"Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     200, True),
    # Chunked bodies that are malformed.
    ("chunk size overflowing 64 bits", POST + b"Transfer-Encoding: chunked\r\n\r\n"
     b"fffffffffffffffff\r\nx\r\n0\r\n\r\n", 400, False),
    ("chunk size over the limit", POST + b"Transfer-Encoding: chunked\r\n\r\n"
     b"ffffff\r\nx\r\n0\r\n\r\n", 413, False),
    ("chunk size not hex", POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n",
     400, False),
    ("chunk size with a sign", POST + b"Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n"
     b"0\r\n\r\n", 400, False),
    ("chunk data longer than its size", POST + b"Transfer-Encoding: chunked\r\n\r\n"
     b"3\r\nhello\r\n0\r\n\r\n", 400, False),
    ("chunk size line ending in bare LF", POST + b"Transfer-Encoding: chunked\r\n\r\n"
     b"5\nhello\r\n0\r\n\r\n", 400, False),
    ("chunk extension without a name", POST + b"Transfer-Encoding: chunked\r\n\r\n"
     b"5;=x\r\nhello\r\n0\r\n\r\n", 400, False),
    ("chunked, well formed, with an extension and a trailer", POST +
     b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", 200, True),
    # Line endings and characters.
    ("bare LF line ends", b"GET /index.html HTTP/1.1\nHost: x\n\n", 400, False),
    ("bare CR inside a field line", b"GET /index.html HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n",
     400, False),
    ("bare CR ending the head", b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\r\n", 400, False),
    ("whitespace before a colon", b"GET /index.html HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length : 5\r\n\r\nhello", 400, False),
    ("tab before a colon", b"GET /index.html HTTP/1.1\r\nHost\t: x\r\n\r\n", 400, False),
    ("NUL in a value", b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
     400, False),
    ("NUL in a name", b"GET /index.html HTTP/1.1\r\nHost: x\r\nX\x00A: b\r\n\r\n", 400, False),
    ("DEL in a value", b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
     400, False),
    ("ESC in a value", b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-A: a\x1bb\r\n\r\n",
     400, False),
    ("obs-text in a value", b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-A: caf\xc3\xa9\r\n\r\n",
     200, True),
    ("obs-fold", b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
     400, False),
    ("obs-fold of the first field", b"GET /index.html HTTP/1.1\r\n Host: x\r\n\r\n",
     400, False),
    ("tab-separated request line", b"GET\t/index.html\tHTTP/1.1\r\nHost: x\r\n\r\n", 400, False),
    ("space before the request line", b" GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
     400, False),
    # Sizes.
    ("request line over the limit", b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, False),
    ("a field over the limit", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"v" * 600 +
     b"\r\n\r\n", 431, False),
    ("too many fields", b"GET / HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-%d: 1\r\n" % i for i in range(25)) + b"\r\n", 431, False),
    ("body over the limit, chunked", POST + b"Transfer-Encoding: chunked\r\n\r\n" +
     b"".join(b"4000\r\n" + b"a" * 0x4000 + b"\r\n" for _ in range(7)) + b"0\r\n\r\n",
     413, False),
    # Hosts and targets.
    ("absolute-form with another Host", b"GET http://example.test/index.html HTTP/1.1\r\n"
     b"Host: other.test\r\n\r\n", 200, True),
    ("absolute-form of another scheme", b"GET ftp://example.test/index.html HTTP/1.1\r\n"
     b"Host: x\r\n\r\n", 400, False),
    ("absolute-form without a host", b"GET http:///index.html HTTP/1.1\r\nHost: x\r\n\r\n",
     400, False),
    ("two Hosts", b"GET /index.html HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, False),
    ("no Host in HTTP/1.1", b"GET /index.html HTTP/1.1\r\n\r\n", 400, False),
    ("a Host with a path", b"GET /index.html HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, False),
    ("a Host with userinfo", b"GET /index.html HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, False),
]


def statuses(out):
    """The status of every response in `out`, read by its framing (Content-Length or
    chunked); a trailing partial response counts as None."""
    found = []
    while out:
        head, sep, rest = out.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
        if not sep or not m:
            found.append(None)
            break
        found.append(int(m.group(1)))
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        if length:
            out = rest[int(length.group(1)):]
        elif re.search(rb"\r\nTransfer-Encoding: chunked", head):
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                rest = rest[size + 2:] if size else rest.partition(b"\r\n\r\n")[2]
                if size == 0:
                    break
            out = rest
        else:
            break  # to the close
    return found


class FramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        with open(os.path.join(cls.root, "index.html"), "wb") as f:
            f.write(b"<p>index</p>\n")
        cls.server = Brigaded(cls.root, timeout=5)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def exchange(self, request):
        """Sends `request` and then NEXT; returns all the server sent until it closed."""
        return raw(self.server.port, request + NEXT, timeout=10, must_close=True)

    def test_every_framing_gets_its_status_one_answer_and_a_close_when_untrusted(self):
        self.assertGreaterEqual(len(CASES), 40)
        for name, request, status, trusted in CASES:
            with self.subTest(name):
                out = self.exchange(request)
                got = statuses(out)
                self.assertTrue(got, "no answer")
                self.assertEqual(got[0], status, out[:300])
                if trusted:
                    self.assertEqual(got, [status, 200], out[:600])
                else:
                    self.assertEqual(got, [status], out[:600])
                    head = out.split(b"\r\n\r\n", 1)[0]
                    self.assertIn(b"\r\nConnection: close\r\n", head + b"\r\n")
        # The server is still well after all of it.
        out = self.exchange(b"")
        self.assertEqual(status_of(out), 200)


class TraversalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        base = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        cls.root = os.path.join(base, "root")
        os.makedirs(os.path.join(cls.root, "sub"))
        with open(os.path.join(cls.root, "sub", "in.txt"), "w") as f:
            f.write("inside\n")
        with open(os.path.join(base, "secret.txt"), "w") as f:
            f.write("secret\n")
        os.symlink(os.path.join(base, "secret.txt"), os.path.join(cls.root, "link.txt"))
        os.symlink(base, os.path.join(cls.root, "updir"))
        cls.server = Brigaded(cls.root)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_no_disguise_of_a_path_outside_the_root_is_served(self):
        targets = [
            b"/../secret.txt", b"/sub/../../secret.txt", b"/%2e%2e/secret.txt",
            b"/%2E%2E/secret.txt", b"/.%2e/secret.txt", b"/sub/..%2f..%2fsecret.txt",
            b"/sub%2f..%2f..%2fsecret.txt", b"/%c0%ae%c0%ae/secret.txt",
            b"/%c0%af../secret.txt", b"/..\\secret.txt", b"/sub\\..\\..\\secret.txt",
            b"/link.txt", b"/updir/secret.txt", b"/secret.txt%00.html", b"/%252e%252e/secret.txt",
            b"//../secret.txt", b"/./../secret.txt", b"/sub/./../../secret.txt",
        ]
        for target in targets:
            with self.subTest(target.decode()):
                out = raw(self.server.port,
                          b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertNotIn(b"secret", out)
                self.assertIn(status_of(out), (400, 403, 404), out[:200])
        # What lies inside is served, dot segments and all.
        out = raw(self.server.port,
                  b"GET /sub/../sub/./in.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(out), 200)
        self.assertTrue(out.endswith(b"inside\n"))


if __name__ == "__main__":
    junit_unittest.main("__main__")
