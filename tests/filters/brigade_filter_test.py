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


class ToolTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def path(self, name, content=None):
        p = os.path.join(self.tmp, name)
        if content is not None:
            with open(p, "wb") as f:
                f.write(content)
        return p


class BrigadeFilterTest(ToolTest):

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

    def test_isal_backend_decodes_with_gzip_and_round_trips(self):
        r = run(["DEFLATE:backend=isal,level=1"], TEXT)
        self.assertEqual(r.returncode, 0, r.stderr)
        gz = self.path("isal.gz", r.stdout)
        self.assertEqual(subprocess.run(["gzip", "-dc", gz], capture_output=True).stdout, TEXT)
        self.assertLess(len(r.stdout), len(TEXT) // 3)
        both = run(["DEFLATE:backend=isal", "INFLATE:backend=isal"], TEXT)
        self.assertEqual(both.returncode, 0, both.stderr)
        self.assertEqual(both.stdout, TEXT)
        zlib_made = run(["DEFLATE"], TEXT).stdout
        self.assertEqual(run(["INFLATE:backend=isal"], zlib_made + zlib_made).stdout, TEXT + TEXT)
        bad = run(["DEFLATE:backend=lz4"], TEXT)
        self.assertEqual(bad.returncode, 2)
        self.assertIn(b"unknown gzip backend lz4 (zlib, isal)", bad.stderr)
        self.assertIn("backend", run(["--help"]).stdout.decode())

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
        r = run(["DEFLATE:level=0"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"level", r.stderr)


def stats_of(stderr):
    """The key=value pairs of the --stats line."""
    line = [l for l in stderr.decode().splitlines() if "bytes_in=" in l][-1]
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def chunked_decode(data):
    r = subprocess.run([sys.executable, CHUNKED_DECODE], input=data, capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


class OrderTest(ToolTest):
    """Filters run exactly in the order named, whatever their kinds."""

    def test_chunk_then_deflate_gunzips_to_chunked_framing(self):
        r = run(["CHUNK", "DEFLATE"], TEXT)
        self.assertEqual(r.returncode, 0, r.stderr)
        framed = gzip.decompress(r.stdout)
        self.assertTrue(framed.endswith(b"0\r\n\r\n"), framed[-20:])
        self.assertEqual(chunked_decode(framed), TEXT)

    def test_reverse_then_deflate_and_deflate_then_inflate_then_reverse(self):
        text = b"abc\ndef\n" * 100
        r = run(["REVERSE", "DEFLATE"], text)
        self.assertEqual(gzip.decompress(r.stdout), b"cba\nfed\n" * 100)
        r = run(["DEFLATE", "INFLATE", "REVERSE"], text)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"cba\nfed\n" * 100)

    def test_four_filter_round_trip_of_3_mib_of_random_bytes(self):
        data = os.urandom(3 << 20)
        chain = ["DEFLATE:level=9", "CHUNK", "DECHUNK", "INFLATE"]
        r = run(chain, data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, data)
        src = self.path("random.bin", data)
        r = run(["--in", src, "--bucket=1000"] + chain)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, data)

    def test_an_input_filter_first_decodes_the_input(self):
        chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        r = run(["DECHUNK", "DEFLATE"], chunked)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(gzip.decompress(r.stdout), b"hello world")

    def test_input_after_the_end_of_a_decoded_stream_is_an_error(self):
        r = run(["DECHUNK"], b"5\r\nhello\r\n0\r\n\r\nextra")
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("DECHUNK: 5 bytes after the end of its stream at byte 15", err)
        self.assertEqual(r.stdout, b"hello")

    def test_a_decoder_fed_the_wrong_stream_fails_naming_itself(self):
        r = run(["DEFLATE", "DECHUNK"], TEXT)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"DECHUNK: ", r.stderr)
        self.assertIn(b"at byte 0", r.stderr)

    def test_help_says_the_order_is_the_order_named(self):
        out = run(["--help"]).stdout.decode()
        self.assertIn("exactly in the order named", out)
        self.assertIn("order filters by kind", out)
        self.assertIn("level: compression level (1-9, default 6)", out)


class EmptyAndSmallInputTest(ToolTest):
    def test_empty_input_is_a_complete_gzip_member(self):
        r = run(["DEFLATE"], b"")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 20)
        self.assertEqual(r.stdout[:3], b"\x1f\x8b\x08")
        gz = self.path("empty.gz", r.stdout)
        d = subprocess.run(["gzip", "-dc", gz], capture_output=True)
        self.assertEqual(d.returncode, 0, d.stderr)
        self.assertEqual(d.stdout, b"")
        self.assertEqual(gzip.decompress(r.stdout), b"")

    def test_empty_file_and_tiny_input_are_compressed_too(self):
        empty = self.path("empty", b"")
        r = run(["--in", empty, "DEFLATE"])
        self.assertEqual(gzip.decompress(r.stdout), b"")
        r = run(["DEFLATE"], b"hi\n")
        self.assertEqual(gzip.decompress(r.stdout), b"hi\n")


class MembersTest(ToolTest):
    def gzip_cli(self, data):
        return subprocess.run(["gzip", "-c"], input=data, capture_output=True, check=True).stdout

    def test_two_and_three_members_made_by_gzip_and_python(self):
        a, b, c = TEXT[:5000], b"second\n", TEXT[-7000:]
        by_gzip = self.path("ab.gz", self.gzip_cli(a) + self.gzip_cli(b))
        two = subprocess.run("cat %s" % by_gzip, shell=True, capture_output=True).stdout
        r = run(["INFLATE"], two)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, a + b)
        three = gzip.compress(a, mtime=0) + self.gzip_cli(b) + gzip.compress(c, compresslevel=1)
        self.assertEqual(subprocess.run(["gzip", "-dc"], input=three,
                                        capture_output=True).stdout, a + b + c)
        for args in (["INFLATE"], ["--bucket=7", "INFLATE"]):
            r = run(args, three)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, a + b + c)
        r = run(["--in", self.path("three.gz", three), "INFLATE"])
        self.assertEqual(r.stdout, a + b + c)

    def test_a_member_followed_by_junk_is_one_line_naming_inflate_and_the_offset(self):
        member = gzip.compress(TEXT)
        r = run(["INFLATE"], member + b"junk after it")
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("INFLATE", err)
        self.assertIn("at byte %d" % len(member), err)
        self.assertEqual(r.stdout, TEXT)

    def test_limits_count_the_whole_series(self):
        member = gzip.compress(b"x" * 60000)
        r = run(["INFLATE:limit=100000"], member)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["INFLATE:limit=100000"], member + member)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"limit of 100000", r.stderr)
        self.assertLessEqual(len(r.stdout), 100000)
        r = run(["INFLATE:ratio=50"], gzip.compress(b"y" * 200000) + gzip.compress(b"y" * 200000))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ratio", r.stderr)


class ReportTest(ToolTest):
    def report(self, filters):
        # stdin stays open and unwritten: a tool that read it would hang until the timeout.
        p = subprocess.Popen([TOOL, "--report"] + filters, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            p.wait(timeout=30)
        finally:
            p.stdin.close()
        out = p.stdout.read().decode()
        self.assertEqual(p.returncode, 0, p.stderr.read())
        return out.splitlines()

    def test_chunk_is_zero_copy(self):
        lines = self.report(["CHUNK"])
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[0].startswith("CHUNK: TRANSCODE, takes file ranges as they are"))
        self.assertIn("passes FLUSH on", lines[0])
        self.assertEqual(lines[1:], ["zero-copy: yes", "worst-case buffered: 0 bytes"])

    def test_deflate_needs_bytes_and_bounds_what_it_holds(self):
        lines = self.report(["DEFLATE"])
        self.assertEqual(len(lines), 3, lines)
        held = int(lines[0].split("holds at most ")[1].split()[0])
        self.assertGreater(held, 256 * 1024)
        self.assertEqual(lines[1], "zero-copy: no (DEFLATE needs bytes in memory)")
        self.assertEqual(lines[2], "worst-case buffered: %d bytes" % held)
        smaller = self.report(["DEFLATE:window=9,memlevel=1"])
        self.assertLess(int(smaller[0].split("holds at most ")[1].split()[0]), held)

    def test_reverse_chunk_names_the_first_filter_needing_bytes(self):
        lines = self.report(["REVERSE", "CHUNK"])
        self.assertEqual(len(lines), 4, lines)
        self.assertTrue(lines[0].startswith("REVERSE: RESOURCE, needs bytes in memory"))
        self.assertIn("holds FLUSH back", lines[0])
        self.assertTrue(lines[1].startswith("CHUNK:"))
        self.assertEqual(lines[2], "zero-copy: no (REVERSE needs bytes in memory)")
        self.assertEqual(lines[3], "worst-case buffered: 1048576 bytes")

    def test_no_filter_and_input_filters(self):
        self.assertEqual(self.report([]), ["zero-copy: yes", "worst-case buffered: 0 bytes"])
        lines = self.report(["DECHUNK", "INFLATE"])
        self.assertTrue(lines[0].startswith("DECHUNK: input PROTOCOL"), lines)
        self.assertEqual(lines[2], "zero-copy: no (DECHUNK needs bytes in memory)")

    def test_report_leaves_the_output_alone(self):
        out = self.path("untouched", b"keep")
        r = run(["--report", "--out", out, "CHUNK"])
        self.assertEqual(r.returncode, 0)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"keep")


class ZeroCopyTest(ToolTest):
    DATA = os.urandom(5 << 20) + b"tail"

    def test_no_filter_copies_a_file_without_reading_it(self):
        src, dst = self.path("src", self.DATA), self.path("dst")
        r = run(["--stats", "--in", src, "--out", dst])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), self.DATA)
        st = stats_of(r.stderr)
        self.assertEqual(st["read"], "0")
        self.assertEqual(st["copied"], "0")
        self.assertEqual(st["zero_copy_out"], str(len(self.DATA)))

    def test_stdout_as_a_pipe_and_as_a_file(self):
        src = self.path("src", self.DATA)
        r = run(["--stats", "--in", src])  # stdout is a pipe: splice
        self.assertEqual(r.stdout, self.DATA)
        self.assertEqual(stats_of(r.stderr)["read"], "0")
        dst = self.path("redirected")
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            r = subprocess.run([TOOL, "--stats"], stdin=fin, stdout=fout, stderr=subprocess.PIPE,
                               timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), self.DATA)
        self.assertEqual(stats_of(r.stderr)["read"], "0")

    def test_appending_output_falls_back_and_still_writes_everything(self):
        src, dst = self.path("src", self.DATA), self.path("appended", b"head:")
        with open(dst, "ab") as fout:
            r = subprocess.run([TOOL, "--stats", "--in", src], stdout=fout,
                               stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), b"head:" + self.DATA)

    def test_out_naming_the_input_is_refused_and_the_input_kept(self):
        src = self.path("same", TEXT)
        r = run(["--in", src, "--out", src, "CHUNK"])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"is the input file", r.stderr)
        with open(src, "rb") as f:
            self.assertEqual(f.read(), TEXT)

    def test_in_names_a_fifo_which_is_read_as_a_stream(self):
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        p = subprocess.Popen([TOOL, "--in", fifo, "DEFLATE"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        with open(fifo, "wb") as w:
            w.write(TEXT)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(gzip.decompress(out), TEXT)

    def test_chunk_reads_no_body_bytes(self):
        src, dst = self.path("src", self.DATA), self.path("chunked")
        r = run(["--stats", "--in", src, "--out", dst, "CHUNK"])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(dst, "rb") as f:
            out = f.read()
        self.assertEqual(chunked_decode(out), self.DATA)
        st = stats_of(r.stderr)
        self.assertEqual(st["read"], "0")
        self.assertEqual(st["zero_copy_out"], str(len(self.DATA)))
        # Only the size lines and the last chunk were written from memory.
        self.assertEqual(int(st["bytes_out"]) - int(st["zero_copy_out"]), len(out) - len(self.DATA))
        self.assertLess(int(st["copied"]), 100)


if __name__ == "__main__":
    junit_unittest.main("__main__")
