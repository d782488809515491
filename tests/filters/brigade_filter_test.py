#!/usr/bin/env python3
"""Black-box tests of the brigade-filter tool with real decoders (gzip, python's zlib, an
independent chunked decoder)."""
import gzip
import os
import subprocess
import sys
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import junit_unittest  # noqa: E402

TOOL = os.path.join(os.getcwd(), "filters", "brigade-filter")
CHUNKED_DECODE = os.path.join(HERE, "testdata", "chunked_decode.py")
TEXT = "".join("line %d of some compressible text\n" % i for i in range(20000)).encode()


def run(args, data=b""):
    return subprocess.run([TOOL] + args, input=data, capture_output=True, timeout=60)


class BrigadeFilterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def path(self, name, content=None):
        p = os.path.join(self.tmp, name)
        if content is not None:
            with open(p, "wb") as f:
                f.write(content)
        return p

    def test_help_lists_every_filter_and_its_options(self):
        r = run(["--help"])
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for name in ["DEFLATE", "INFLATE", "CHUNK", "DECHUNK", "REVERSE", "CONTENT_LENGTH"]:
            self.assertIn(name, out)
        self.assertIn("level", out)

    def test_deflate_output_decodes_with_gzip_and_python(self):
        r = run(["DEFLATE"], TEXT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(gzip.decompress(r.stdout), TEXT)
        gz = self.path("out.gz", r.stdout)
        self.assertEqual(subprocess.run(["gzip", "-dc", gz], capture_output=True).stdout, TEXT)
        self.assertEqual(zlib.decompress(r.stdout, 31), TEXT)

    def test_level_option_changes_the_output(self):
        fast = run(["DEFLATE:level=1"], TEXT).stdout
        best = run(["DEFLATE:level=9"], TEXT).stdout
        self.assertLess(len(best), len(fast))
        self.assertEqual(gzip.decompress(best), TEXT)

    def test_bad_level_is_refused_with_a_message(self):
        r = run(["DEFLATE:level=12"], TEXT)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"level", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_in_file_as_file_buckets_with_stats(self):
        src = self.path("in.txt", TEXT)
        out = self.path("out.gz")
        r = run(["--in", src, "--out", out, "--bucket=1000", "--stats", "DEFLATE:level=6"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(gzip.decompress(f.read()), TEXT)
        stats = r.stderr.decode()
        self.assertIn("bytes_in=%d" % len(TEXT), stats)
        self.assertIn("copied=", stats)
        self.assertIn("filters=DEFLATE,WRITE", stats)

    def test_inflate_round_trip_of_gzip_files(self):
        for level in ["-1", "-9"]:
            gz = subprocess.run(["gzip", "-c", level], input=TEXT, capture_output=True).stdout
            r = run(["INFLATE"], gz)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, TEXT)

    def test_filter_error_is_one_line_exit_1_and_keeps_output(self):
        gz = gzip.compress(TEXT)
        cut = gz[: len(gz) // 2]
        r = run(["--bucket=4096", "INFLATE"], cut)
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("INFLATE", err)
        self.assertIn("at byte", err)
        self.assertGreater(len(r.stdout), 0)
        self.assertTrue(TEXT.startswith(r.stdout))

    def test_chunk_output_parses_and_dechunk_restores_it(self):
        r = run(["--bucket=777", "CHUNK"], TEXT)
        self.assertEqual(r.returncode, 0, r.stderr)
        decoded = subprocess.run([sys.executable, CHUNKED_DECODE], input=r.stdout,
                                 capture_output=True)
        self.assertEqual(decoded.returncode, 0, decoded.stderr)
        self.assertEqual(decoded.stdout, TEXT)
        back = run(["DECHUNK"], r.stdout)
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual(back.stdout, TEXT)

    def test_dechunk_rejects_malformed_input_naming_the_byte(self):
        r = run(["DECHUNK"], b"5\r\nhello\r\nzz\r\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"DECHUNK: chunk size is not hexadecimal", r.stderr)
        self.assertIn(b"at byte 10", r.stderr)
        self.assertEqual(r.stdout, b"hello")

    def test_reverse_restores_mod_perls_test_text(self):
        r = run(["REVERSE"], b"zyxwvutsrqponmlkjihgfedcba\n9876543210\n")
        self.assertEqual(r.stdout, b"abcdefghijklmnopqrstuvwxyz\n0123456789\n")
        r = run(["REVERSE"], b"ab\r\ncd")
        self.assertEqual(r.stdout, b"ba\r\ndc")

    def test_filters_run_in_the_order_named(self):
        r = run(["REVERSE", "DEFLATE"], b"abc\ndef\n" * 10)
        self.assertEqual(gzip.decompress(r.stdout), b"cba\nfed\n" * 10)

    def test_unknown_filter_and_flag_are_usage_errors(self):
        self.assertEqual(run(["NOPE"]).returncode, 2)
        self.assertEqual(run(["--frobnicate"]).returncode, 2)
        r = run(["DEFLATE", "DECHUNK"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"must come before", r.stderr)


if __name__ == "__main__":
    junit_unittest.main("__main__")
