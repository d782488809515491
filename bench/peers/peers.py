#!/usr/bin/env python3
"""brigaded, nginx and Apache httpd side by side on loopback, measured in one interleaved run.

    bench/peers/peers.py [--rounds N] [--seconds S] [--out DIR] [--parts LIST] [--cases LIST]
                         [--smoke]

Builds brigaded optimized (or runs $BRIGADED), installs wrk, nginx and httpd from Debian when
they are missing, and serves the same files from all of them with equivalent configurations:
the same worker count (httpd: event MPM, one process per worker), access logs off, sendfile on,
keep-alive without a request limit, gzip by mod_deflate and the no-op substitution by
mod_substitute for httpd. nginx runs twice, at its defaults and with open_file_cache on. Every
case runs its servers in turn, round after round (A B C, C B A, ...), so that drift on a
shared machine hits all of them alike; each round gives a ratio, and the table shows their
median and range.

Prints, and writes to DIR (default: a new directory under /tmp) as results.md:
  - throughput: req/s of each server, the ratios, p50/p99 latency, errors, and CPU per request
    (user and system time of the server's processes over the run, from /proc);
  - brigaded's copy counters (/server-status) across the large static cases;
  - memory: peak RSS growth for a 1 GiB static and a 1 GiB gzip download, RSS growth for 20
    stalled gzip readers and for 10,000 idle keep-alive connections, and what is left of it
    once they close;
  - the scaling curve (bytes/s against body size, both servers) as curve.svg.
--smoke runs every part once with small sizes and short runs: a check that the script works,
not a measurement.
"""

import argparse
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (name, path, workers, wrk threads, wrk connections, gzip?); a case with one connection to a
# body too large to finish many times in a run compares bytes/s (wrk's Transfer/sec), not req/s.
CASES = [
    ("static 1 KiB", "/1k.txt", 1, 1, 16, False),
    ("static 1 KiB", "/1k.txt", 2, 1, 16, False),
    ("static 1 KiB -t2 -c100", "/1k.txt", 2, 2, 100, False),
    ("static 100 KiB", "/100k.bin", 1, 1, 16, False),
    ("static 10 MiB", "/10m.bin", 1, 1, 16, False),
    ("one 1 GiB download (ratio of bytes/s)", "/big/1g.bin", 1, 1, 1, False),
    ("gzip 100 KiB zlib level 1", "/gz1/page.html", 1, 1, 16, True),
    ("gzip 100 KiB zlib level 1", "/gz1/page.html", 2, 1, 16, True),
    ("gzip 100 KiB zlib level 6", "/gz6/page.html", 1, 1, 16, True),
    ("gzip 100 KiB zlib level 6", "/gz6/page.html", 2, 1, 16, True),
    ("gzip 100 KiB ISA-L level 1 (nginx: zlib 1)", "/isal1/page.html", 1, 1, 16, True),
    ("gzip 100 KiB ISA-L level 1 (nginx: zlib 1)", "/isal1/page.html", 2, 1, 16, True),
    ("gzip 100 KiB ISA-L level 6 (nginx: zlib 6)", "/isal6/page.html", 1, 1, 16, True),
    ("REVERSE 100 KiB chunked (nginx: no-op sub_filter)", "/rev/page.txt", 1, 1, 16, False),
]

CURVE_SIZES = [1 << 10, 16 << 10, 256 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30]


def say(*args):
    print(*args, flush=True)


def apache_binary():
    # Debian puts httpd in /usr/sbin, which is not on every user's PATH.
    return shutil.which("apache2") or "/usr/sbin/apache2"


def ensure_tools():
    missing = [p for tool, p in (("wrk", "wrk"), ("nginx", "nginx-light")) if not shutil.which(tool)]
    if not os.path.exists(apache_binary()):
        missing.append("apache2-bin")  # httpd and its modules, without Debian's service
    if not missing:
        return
    say("peers: installing " + " ".join(missing))
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env, stdout=subprocess.DEVNULL)
    # Debian starts the packaged nginx; this script runs its own.
    subprocess.run(sudo + ["systemctl", "stop", "nginx"], stderr=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)
    subprocess.run(sudo + ["service", "nginx", "stop"], stderr=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)


def build_brigaded():
    if os.environ.get("BRIGADED"):
        return os.environ["BRIGADED"]
    subprocess.run(["bazel", "build", "-c", "opt", "//server:brigaded"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run(["bazel", "info", "-c", "opt", "bazel-bin"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    return os.path.join(out, "server", "brigaded")


def text_block(size):
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "brigade", "bucket",
             "filter", "stream", "zero", "copy", "server", "response", "header", "chunk", "gzip"]
    out, x = [], 12345
    n = 0
    while n < size:
        x = (x * 1103515245 + 12345) & 0xffffffff
        w = words[(x >> 16) % len(words)] + ("\n" if (x >> 8) % 11 == 0 else " ")
        out.append(w)
        n += len(w)
    return "".join(out).encode()[:size]


def write_file(path, size, text=True, sparse=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        if sparse:
            f.truncate(size)
            return
        block = text_block(min(size, 1 << 20)) if text else os.urandom(min(size, 1 << 20))
        left = size
        while left > 0:
            f.write(block[:left])
            left -= min(left, len(block))


def make_site(www, smoke):
    write_file(f"{www}/1k.txt", 1024)
    write_file(f"{www}/100k.bin", 100 << 10, text=False)
    write_file(f"{www}/10m.bin", 10 << 20, text=False)
    for d in ("gz1", "gz6", "isal1", "isal6"):
        write_file(f"{www}/{d}/page.html", 100 << 10)
    write_file(f"{www}/rev/page.txt", 100 << 10)
    write_file(f"{www}/stall/3m.html", 3 << 20)
    big = (64 << 20) if smoke else (1 << 30)
    write_file(f"{www}/big/1g.bin", big, sparse=True)
    write_file(f"{www}/gzbig/1g.html", big)
    for size in curve_sizes(smoke):
        write_file(f"{www}/curve/{size}.bin", size, sparse=size >= (1 << 20))


def curve_sizes(smoke):
    return [s for s in CURVE_SIZES if not smoke or s <= (16 << 20)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(server, path="/1k.txt", deadline_s=20):
    port = server.port
    end = time.time() + deadline_s
    while time.time() < end:
        if server.proc.poll() is not None:
            with open(server.log) as f:
                raise RuntimeError(f"{server.name} exited: {f.read()}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


def tree_pids(pid):
    """pid and its descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents.setdefault(int(fields[1]), []).append(int(entry))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def rss_kib(pid):
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
                total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def cpu_seconds(pid):
    """(user, system) seconds of pid and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except OSError:
            pass
    return user / tick, system / tick


class Server:
    def port_for(self, path):
        """The port that serves `path` as the case means it."""
        return self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Brigaded(Server):
    name = "brigaded"

    def __init__(self, binary, www, work, workers):
        self.port = free_port()
        conf = os.path.join(work, f"brigaded-{workers}.conf")
        with open(conf, "w") as f:
            f.write(f"""Listen 127.0.0.1:{self.port}
Workers {workers}
DocumentRoot {www}
MaxKeepAliveRequests 0
KeepAliveTimeout 300
Timeout 300
<Location /gz1/>
  SetOutputFilter DEFLATE:level=1
</Location>
<Location /gz6/>
  SetOutputFilter DEFLATE:level=6
</Location>
<Location /isal1/>
  SetOutputFilter DEFLATE:level=1,backend=isal
</Location>
<Location /isal6/>
  SetOutputFilter DEFLATE:level=6,backend=isal
</Location>
<Location /stall/>
  SetOutputFilter DEFLATE:level=6
</Location>
<Location /gzbig/>
  SetOutputFilter DEFLATE:level=1
</Location>
<Location /rev/>
  SetOutputFilter REVERSE
</Location>
<Location /server-status>
  SetHandler status
</Location>
""")
        self.log = os.path.join(work, f"brigaded-{workers}.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([binary, "--config", conf], stdout=subprocess.DEVNULL,
                                         stderr=log)
        wait_for(self)

    def copy_counters(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", "/server-status")
        body = c.getresponse().read().decode()
        c.close()
        return {k: int(v) for k, v in re.findall(r"^(bytes_\w+): (\d+)$", body, re.M)}


class Nginx(Server):
    def __init__(self, www, work, workers, open_file_cache):
        self.name = "nginx+ofc" if open_file_cache else "nginx"
        self.port = free_port()
        prefix = os.path.join(work, f"nginx-{workers}-{int(open_file_cache)}")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        cache = ("open_file_cache max=1000 inactive=20s;\n  open_file_cache_valid 30s;"
                 if open_file_cache else "")
        gzip = "gzip on; gzip_min_length 20; gzip_types text/plain text/html;"
        with open(os.path.join(prefix, "nginx.conf"), "w") as f:
            f.write(f"""worker_processes {workers};
worker_rlimit_nofile 20000;
error_log {prefix}/logs/error.log;
pid {prefix}/nginx.pid;
daemon off;
events {{ worker_connections 16384; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  {cache}
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    root {www};
    location /gz1/ {{ {gzip} gzip_comp_level 1; }}
    location /isal1/ {{ {gzip} gzip_comp_level 1; }}
    location /gzbig/ {{ {gzip} gzip_comp_level 1; }}
    location /gz6/ {{ {gzip} gzip_comp_level 6; }}
    location /isal6/ {{ {gzip} gzip_comp_level 6; }}
    location /stall/ {{ {gzip} gzip_comp_level 6; }}
    location /rev/ {{ sub_filter 'never-in-the-text' 'x'; sub_filter_once off;
                     sub_filter_types *; }}
  }}
}}
""")
        self.log = os.path.join(prefix, "logs", "stderr.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["nginx", "-p", prefix, "-c", "nginx.conf"],
                                         stdout=subprocess.DEVNULL, stderr=log)
        wait_for(self)


def raise_nofile():
    """In the child before exec: httpd has no directive for its descriptor limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 20000 if hard == resource.RLIM_INFINITY else min(20000, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Apache(Server):
    """Apache httpd with the event MPM: one process per worker, each with enough threads for the
    -t2 -c100 case. mod_deflate's level is set per virtual host only, so the level-6 paths are
    served from a second port (`port_for`)."""
    name = "apache"
    MODULES = ("mpm_event", "authz_core", "mime", "filter", "deflate", "substitute")

    def __init__(self, www, work, workers):
        self.port, self.port6 = free_port(), free_port()
        # One directory per instance: httpd will not start on another's PidFile.
        prefix = tempfile.mkdtemp(dir=work, prefix=f"apache-{workers}-")
        os.chmod(prefix, 0o755)
        threads = 64
        load = "\n".join(f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so"
                         for m in self.MODULES)
        # Started as root, httpd must be told whom to serve as; the files are world-readable.
        user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
        deflate = "SetOutputFilter DEFLATE"
        with open(os.path.join(prefix, "httpd.conf"), "w") as f:
            f.write(f"""ServerRoot {prefix}
ServerName 127.0.0.1
PidFile {prefix}/httpd.pid
DefaultRuntimeDir {prefix}
ErrorLog {prefix}/error.log
LogLevel warn
{load}
{user}
Listen 127.0.0.1:{self.port}
Listen 127.0.0.1:{self.port6}
StartServers {workers}
ServerLimit {workers}
ThreadLimit {threads}
ThreadsPerChild {threads}
MinSpareThreads 1
MaxSpareThreads {workers * threads}
MaxRequestWorkers {workers * threads}
MaxConnectionsPerChild 0
# Idle keep-alive connections wait without a thread; let a process hold the memory part's 10,000.
AsyncRequestWorkerFactor 200
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 300
Timeout 300
EnableSendfile On
TypesConfig /dev/null
AddType text/html .html
AddType text/plain .txt
DocumentRoot {www}
<Directory {www}>
  Require all granted
  AllowOverride None
</Directory>
<VirtualHost 127.0.0.1:{self.port}>
  DeflateCompressionLevel 1
  <Location /gz1/>
    {deflate}
  </Location>
  <Location /isal1/>
    {deflate}
  </Location>
  <Location /gzbig/>
    {deflate}
  </Location>
  <Location /rev/>
    AddOutputFilterByType SUBSTITUTE text/plain
    Substitute "s/never-in-the-text/x/"
  </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:{self.port6}>
  DeflateCompressionLevel 6
  {deflate}
</VirtualHost>
""")
        self.log = os.path.join(prefix, "stderr.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([apache_binary(), "-f",
                                          os.path.join(prefix, "httpd.conf"), "-DFOREGROUND"],
                                         stdout=subprocess.DEVNULL, stderr=log,
                                         preexec_fn=raise_nofile)
        wait_for(self)

    def port_for(self, path):
        level6 = path.startswith(("/gz6/", "/isal6/", "/stall/"))
        return self.port6 if level6 else self.port


def wrk(port, path, threads, conns, seconds, gzip):
    cmd = ["wrk", "--latency", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s"]
    if gzip:
        cmd += ["-H", "Accept-Encoding: gzip"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    def grab(pattern, default="0"):
        m = re.search(pattern, out, re.M)
        return m.group(1) if m else default
    def ms(text):
        value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.sub(r"[\d.]", "", text)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}.get(unit, 1.0)
    errors = int(grab(r"Non-2xx or 3xx responses: (\d+)"))
    for kind in ("connect", "read", "write", "timeout"):
        errors += int(grab(kind + r" (\d+)"))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    scale = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    return {
        "bytes_per_s": float(transfer.group(1)) * scale[transfer.group(2)] if transfer else 0.0,
        "rps": float(grab(r"Requests/sec:\s+([\d.]+)")),
        "requests": int(grab(r"(\d+) requests in")),
        "p50": ms(grab(r"^\s+50%\s+([\d.]+[a-z]+)", "0ms")),
        "p99": ms(grab(r"^\s+99%\s+([\d.]+[a-z]+)", "0ms")),
        "errors": errors,
    }


def warm(server, path, gzip=False):
    """One untimed request: the file's pages come into the page cache before any server is
    measured on it (else the first server in a round pays for reading it)."""
    cmd = ["curl", "-s", "-o", "/dev/null"] + (["-H", "Accept-Encoding: gzip"] if gzip else [])
    subprocess.run(cmd + [f"http://127.0.0.1:{server.port_for(path)}{path}"], check=False)


def measure(server, path, threads, conns, seconds, gzip):
    u0, s0 = cpu_seconds(server.proc.pid)
    r = wrk(server.port_for(path), path, threads, conns, seconds, gzip)
    u1, s1 = cpu_seconds(server.proc.pid)
    n = max(r["requests"], 1)
    r["user_us"] = (u1 - u0) * 1e6 / n
    r["sys_us"] = (s1 - s0) * 1e6 / n
    return r


def spread(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def throughput(servers_by_workers, rounds, seconds, report, only):
    rows = []
    copies = []
    peers = None
    for name, path, workers, threads, conns, gzip in CASES:
        if only and not any(o in name for o in only):
            continue
        servers = servers_by_workers[workers]
        peers = [s.name for s in servers if s.name != "brigaded"]
        runs = {s.name: [] for s in servers}
        brig = next(s for s in servers if s.name == "brigaded")
        for s in servers:
            warm(s, path, gzip)
        before = brig.copy_counters()
        for rnd in range(rounds):
            order = servers if rnd % 2 == 0 else list(reversed(servers))
            for s in order:
                runs[s.name].append(measure(s, path, threads, conns, seconds, gzip))
        after = brig.copy_counters()
        if not gzip:
            copies.append((f"{name}, {workers} worker{'s' if workers > 1 else ''}",
                           {k: after[k] - before.get(k, 0) for k in after}))
        med = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in runs.items()}
        by = "bytes_per_s" if conns == 1 else "rps"
        def ratios(peer):
            return spread([b[by] / p[by] if p[by] else 0
                           for b, p in zip(runs["brigaded"], runs[peer])])
        every = peers + ["brigaded"]
        row = " | ".join(
            [f"| {name}", str(workers), f"-t{threads} -c{conns}"] +
            [f"{med[n]['rps']:.0f}" for n in every] +
            [ratios(n) for n in peers] +
            [f"{med[n]['p50']:.2f} / {med[n]['p99']:.2f}" for n in every] +
            [f"{med[n]['user_us']:.1f} + {med[n]['sys_us']:.1f}" for n in every] +
            [" / ".join(str(sum(r["errors"] for r in runs[n])) for n in every)]) + " |"
        say(row)
        rows.append(row)
    if peers is None:
        return
    every = peers + ["brigaded"]
    report.append("## Throughput\n")
    report.append(f"wrk against each server in turn, {rounds} rounds of {seconds} s per server; "
                  "ratios are brigaded / the other server per round, median (min–max). Latency "
                  "in ms (medians over the rounds); CPU is µs of user + system time of the "
                  "server's processes per request. The client shares the machine's cores with "
                  "the servers.\n")
    head = (["case", "workers", "wrk"] + [f"{n} req/s" for n in every] +
            [f"ratio vs {n}" for n in peers] + [f"{n} p50 / p99" for n in every] +
            [f"{n} CPU µs/req" for n in every] + [f"errors ({' / '.join(every)})"])
    report.append("| " + " | ".join(head) + " |")
    report.append("|" + "---|" * len(head))
    report.extend(rows)
    report.append("\n## brigaded's copy counters over the static cases\n")
    report.append("bytes_copied counts every memcpy of payload, head or body; bytes_read what "
                  "read(2) brought into memory (request heads, and file data a filter needs "
                  "in memory); bytes_shared what was passed on as a view of existing storage.\n")
    report.append("| case | bytes_copied | bytes_read | bytes_shared |")
    report.append("|---|---|---|---|")
    for name, d in copies:
        report.append(f"| {name} | {d.get('bytes_copied', 0)} | {d.get('bytes_read', 0)} | "
                      f"{d.get('bytes_shared', 0)} |")


def settle(pid, deadline_s=15):
    """Polls RSS until it stops moving (within 1% over 1 s) or the deadline; returns it."""
    end = time.time() + deadline_s
    last = rss_kib(pid)
    while time.time() < end:
        time.sleep(1)
        now = rss_kib(pid)
        if abs(now - last) <= max(last // 100, 64):
            return now
        last = now
    return last


def peak_during_download(server, path, gzip):
    base = settle(server.proc.pid, 5)
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}"]
    if gzip:
        cmd += ["-H", "Accept-Encoding: gzip"]
    proc = subprocess.Popen(cmd + [f"http://127.0.0.1:{server.port_for(path)}{path}"],
                            stdout=subprocess.PIPE, text=True)
    peak = base
    while proc.poll() is None:
        peak = max(peak, rss_kib(server.proc.pid))
        time.sleep(0.02)
    size = int(proc.stdout.read() or 0)
    return (peak - base) / 1024, size


def stalled_readers(server, count=20):
    base = settle(server.proc.pid, 5)
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", server.port_for("/stall/")))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /stall/3m.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        socks.append(s)
    held = settle(server.proc.pid)
    for s in socks:
        s.close()
    return (held - base) / 1024, held / 1024


def idle_connections(server, count):
    base = settle(server.proc.pid, 5)
    socks = []
    req = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 1024:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        socks.append(s)
    held = settle(server.proc.pid) - base
    for s in socks:
        s.close()
    after = settle(server.proc.pid) - base
    return held / 1024, after / 1024


def memory(makers, smoke, report):
    """Each measure on freshly started servers (1 worker, one from each of `makers`), so that
    none inherits another's heap."""
    count = 200 if smoke else 10000
    big = "64 MiB" if smoke else "1 GiB"
    measures = [
        (f"peak during a {big} static download",
         lambda s: f"{peak_during_download(s, '/big/1g.bin', False)[0]:.1f}"),
        (f"peak during a {big} gzip download (level 1)",
         lambda s: "%.1f (%d MiB sent)" % (lambda p: (p[0], p[1] >> 20))(
             peak_during_download(s, "/gzbig/1g.html", True))),
        # Growth alone flatters a server that keeps freed heap resident (it reuses it) against
        # one that gives it back when idle: the total shows both.
        ("20 stalled readers of 3 MiB gzip responses (growth / total RSS)",
         lambda s: "%.1f / %.1f" % stalled_readers(s)),
        (f"{count} idle keep-alive connections (held / after they closed)",
         lambda s: "%.1f / %.1f" % idle_connections(s, count)),
    ]
    names = None
    rows = []
    for label, measure_one in measures:
        servers = []
        try:
            for make in makers:
                servers.append(make())  # the ones started are stopped if the next fails
            names = [s.name for s in servers]
            rows.append(f"| {label} | " + " | ".join(measure_one(s) for s in servers) + " |")
        finally:
            for s in servers:
                s.stop()
        say(rows[-1])
    report.append("\n## Memory (MiB of RSS above the idle server, master and workers summed)\n")
    report.append("| measure | " + " | ".join(names) + " |")
    report.append("|---|" + "---|" * len(names))
    report.extend(rows)


def curve(servers, smoke, seconds, out_dir, report):
    points = {s.name: [] for s in servers}
    for size in curve_sizes(smoke):
        for s in servers:
            warm(s, f"/curve/{size}.bin")
            # Bytes the client read per second (wrk's Transfer/sec), over one connection: a body
            # larger than what a run can finish still counts what arrived.
            r = wrk(s.port, f"/curve/{size}.bin", 1, 1, seconds, False)
            points[s.name].append((size, r["bytes_per_s"]))
            say(f"curve {s.name} {size} B: {r['bytes_per_s'] / 1e9:.2f} GB/s")
    svg = os.path.join(out_dir, "curve.svg")
    write_svg(svg, points)
    report.append("\n## Scaling: bytes/s against body size (wrk -t1 -c1, 1 worker)\n")
    report.append("| body | " + " | ".join(f"{n} GB/s" for n in points) + " |")
    report.append("|---|" + "---|" * len(points))
    for i, size in enumerate(curve_sizes(smoke)):
        report.append(f"| {human(size)} | " +
                      " | ".join(f"{points[n][i][1] / 1e9:.2f}" for n in points) + " |")
    report.append(f"\nPlot: {svg}")


def human(size):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def write_svg(path, points):
    import math
    w, h, left, bottom, top, right = 640, 400, 70, 50, 30, 150
    xs = [math.log2(x) for v in points.values() for x, _ in v]
    ymax = max([y for v in points.values() for _, y in v] + [1]) * 1.1
    x0, x1 = min(xs), max(xs)
    def px(x):
        return left + (math.log2(x) - x0) / max(x1 - x0, 1) * (w - left - right)
    def py(y):
        return h - bottom - y / ymax * (h - bottom - top)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{left}" y="18">bytes/s against body size (loopback, 1 worker)</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" '
             'stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>']
    sizes = sorted({x for v in points.values() for x, _ in v})
    for x in sizes:
        parts.append(f'<text x="{px(x):.1f}" y="{h - bottom + 18}" text-anchor="middle">'
                     f'{human(x)}</text>')
    for i in range(6):
        y = ymax * i / 5
        parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">'
                     f'{y / 1e9:.1f}</text>')
        parts.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{w - right}" y2="{py(y):.1f}" '
                     'stroke="#ddd"/>')
    parts.append(f'<text x="16" y="{(h - bottom + top) / 2}" '
                 f'transform="rotate(-90 16 {(h - bottom + top) / 2})" text-anchor="middle">'
                 'GB/s</text>')
    for i, (name, v) in enumerate(points.items()):
        c = colors[i % len(colors)]
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in v)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{c}" stroke-width="2"/>')
        for x, y in v:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>')
        parts.append(f'<text x="{w - right + 10}" y="{top + 20 + 18 * i}" fill="{c}">{name}'
                     '</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--out", default="")
    ap.add_argument("--parts", default="throughput,memory,curve",
                    help="which parts to run, comma-separated")
    ap.add_argument("--cases", default="",
                    help="throughput: only the cases whose names contain one of these "
                         "comma-separated strings (e.g. 'static 1 KiB')")
    ap.add_argument("--smoke", action="store_true",
                    help="every part once, small and short: checks the script, measures nothing")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.seconds = 1, 1
    ensure_tools()
    binary = build_brigaded()
    out_dir = args.out or tempfile.mkdtemp(prefix="peers-")
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="peers-work-")
    os.chmod(work, 0o755)  # nginx's workers run as another user when started as root
    www = os.path.join(work, "www")
    make_site(www, args.smoke)
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    apache_v = re.search(r"Server version: (\S+)", subprocess.run(
        [apache_binary(), "-v"], capture_output=True, text=True).stdout).group(1)
    report = ["# brigaded, nginx and Apache httpd side by side", "",
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
              f"{nginx_v}, {apache_v} (event MPM), "
              f"{'smoke run' if args.smoke else 'measured run'}.", ""]
    servers_by_workers = {}
    try:
        for workers in (1, 2):
            group = servers_by_workers[workers] = []  # stopped below, however far it got
            group.append(Nginx(www, work, workers, False))
            group.append(Nginx(www, work, workers, True))
            group.append(Apache(www, work, workers))
            group.append(Brigaded(binary, www, work, workers))
        parts = args.parts.split(",")
        if "throughput" in parts:
            throughput(servers_by_workers, args.rounds, args.seconds, report,
                       [c for c in args.cases.split(",") if c])
        if "memory" in parts:
            memory([lambda: Nginx(www, work, 1, False), lambda: Apache(www, work, 1),
                    lambda: Brigaded(binary, www, work, 1)], args.smoke, report)
        if "curve" in parts:
            one = [s for s in servers_by_workers[1] if s.name != "nginx+ofc"]
            curve(one, args.smoke, args.seconds, out_dir, report)
    finally:
        for group in servers_by_workers.values():
            for s in group:
                s.stop()
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(report) + "\n")
    say(f"peers: results in {out_dir}/results.md, plot in {out_dir}/curve.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
