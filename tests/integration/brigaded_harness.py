"""What the integration tests share: a brigaded process on free loopback ports, raw-socket and
curl helpers, and waiting by polling with a deadline (never a fixed sleep and an assertion)."""
import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

SERVER = os.path.join(os.getcwd(), "server", "brigaded")
# Set by .bazelrc's --config=tsan. ThreadSanitizer's shadow memory and its own thread change what
# RSS and thread counts mean, and its runtime needs descriptors of its own.
UNDER_TSAN = "TSAN_OPTIONS" in os.environ
TEXT = "".join("line %05d: the quick brown fox jumps over the lazy dog\n" % i
               for i in range(2000)).encode()


class Brigaded:
    """A brigaded process serving `root` with extra config lines, on free ports."""

    def __init__(self, root, extra="", workers=2, timeout=5, log=None, server=None,
                 preexec_fn=None):
        self.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        self.log = log or os.path.join(self.dir, "access.log")
        self.conf = os.path.join(self.dir, "brigaded.conf")
        with open(self.conf, "w") as f:
            f.write(f"""
Listen 127.0.0.1:0 http
Listen 127.0.0.1:0 echo
Listen 127.0.0.1:0 echo-socket
Workers {workers}
DocumentRoot {root}
AccessLog {self.log}
Timeout {timeout}
KeepAliveTimeout 5
LimitRequestLine 1024
LimitRequestFields 20
LimitRequestFieldSize 512
LimitRequestBody 100000
<Location />
  AddOutputFilterByType DEFLATE text/plain text/html
</Location>
<Location /echo>
  SetHandler echo-stream
  SetInputFilter INFLATE
  AddOutputFilterByType DEFLATE text/plain
</Location>
<Location /spool>
  SetHandler echo
  SetInputFilter INFLATE
  RequestBodyBufferSize 4096
</Location>
<Location /reverse/>
  SetOutputFilter REVERSE
</Location>
<Location /server-status>
  SetHandler status
</Location>
{extra}
""")
        self.proc = subprocess.Popen([server or SERVER, "--config", self.conf],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=preexec_fn)
        self.ports = {}
        while len(self.ports) < 3:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError("brigaded exited: " + self.proc.stderr.read().decode())
            m = re.search(r"listening on (?:http://)?127\.0\.0\.1:(\d+) \((\S+)\)", line)
            if m:
                self.ports[m.group(2)] = int(m.group(1))
        self.port = self.ports["http"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode != 0 and not self.proc.stderr.closed:
            # What the server said (a sanitizer's report among it) goes into the test's log.
            said = self.proc.stderr.read() or b""
            sys.stderr.write("brigaded exited with %d; the end of its stderr:\n%s\n"
                             % (self.proc.returncode, said[-20000:].decode(errors="replace")))
        return self.proc.returncode

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def status_field(self, name):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        return 0

    def rss_kb(self):
        return self.status_field("VmRSS")

    def threads(self):
        return self.status_field("Threads")

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_lines(self):
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


def raw(port, data, timeout=5, shutdown=False, must_close=False):
    """Sends `data` on a new connection; returns everything until the server closes, or what
    came before `timeout` (with `must_close`, the timeout raises instead). A server that answers
    early and closes may reset the rest: what arrived before is still returned."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        if must_close:
            raise
    except ConnectionResetError:
        pass
    s.close()
    return out


def status_of(response):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", response)
    return int(m.group(1)) if m else None


def recv_all(s, initial=b""):
    """Everything the peer sends on `s` until it closes (pieces joined once)."""
    pieces = [initial]
    while True:
        d = s.recv(1 << 20)
        if not d:
            return b"".join(pieces)
        pieces.append(d)


def dechunk(body):
    """The data of a chunked body (linear time: the pieces are joined once)."""
    pieces, pos = [], 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end], 16)
        if size == 0:
            return b"".join(pieces)
        pieces.append(body[end + 2:end + 2 + size])
        pos = end + 2 + size + 2


def curl(*args, data=None):
    return subprocess.run(["curl", "-s", "-S", "--max-time", "20"] + list(args), input=data,
                          capture_output=True, timeout=30)




def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls `predicate` until it returns something true; returns it, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class Ticker:
    """Paces a client's loop by the clock: wait() returns at the next multiple of `period`
    seconds from the start, however long the round's work took (a client that sends or reads
    at a rate)."""

    def __init__(self, period):
        self.period = period
        self.next = time.monotonic() + period

    def wait(self):
        wait_until(lambda: time.monotonic() >= self.next, timeout=self.period + 1,
                   interval=min(0.01, self.period / 10))
        self.next += self.period


def client_inq(s):
    """Bytes that arrived on socket `s` and wait to be read (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def wait_filled(s, timeout=10.0):
    """Waits until the server has filled `s`'s receive buffer: what waits to be read stops
    growing. Returns the bytes waiting."""
    last = [-1]

    def settled():
        now = client_inq(s)
        done = now > 0 and now == last[0]
        last[0] = now
        return now if done else None
    return wait_until(settled, timeout, interval=0.1) or client_inq(s)
