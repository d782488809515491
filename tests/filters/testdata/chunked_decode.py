#!/usr/bin/env python3
"""An independent HTTP/1.1 chunked-coding decoder (RFC 9112 section 7.1), used to check the
CHUNK filter's output. Reads the chunked stream on stdin, writes the body to stdout and the
trailer fields to stderr as "name: value" lines. Exits 1 on any framing error."""
import sys


def fail(msg):
    sys.stderr.write("chunked_decode: %s\n" % msg)
    sys.exit(1)


def main():
    data = sys.stdin.buffer.read()
    pos = 0
    body = bytearray()

    def line():
        nonlocal pos
        end = data.find(b"\r\n", pos)
        if end < 0:
            fail("missing CRLF at byte %d" % pos)
        text = data[pos:end]
        pos = end + 2
        return text

    while True:
        size_field = line().split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            fail("bad chunk size %r" % size_field)
        if size == 0:
            break
        if pos + size + 2 > len(data):
            fail("truncated chunk at byte %d" % pos)
        body += data[pos:pos + size]
        pos += size
        if data[pos:pos + 2] != b"\r\n":
            fail("missing CRLF after chunk data at byte %d" % pos)
        pos += 2
    while True:
        field = line()
        if field == b"":
            break
        sys.stderr.write(field.decode("latin-1") + "\n")
    if pos != len(data):
        fail("%d bytes after the last chunk" % (len(data) - pos))
    sys.stdout.buffer.write(bytes(body))


if __name__ == "__main__":
    main()
