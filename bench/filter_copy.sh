#!/usr/bin/env bash
# Whole-process cost of copying one file: brigade-filter with no filter (the zero-copy path)
# against cp and `cat FILE > copy`, interleaved (A B C A B C ...), median of ROUNDS runs each.
#
#   bench/filter_copy.sh            # 1 GiB, 7 rounds
#   SIZE_MIB=256 ROUNDS=9 bench/filter_copy.sh
#
# Prints each tool's median wall time (min-max) and its user and system CPU, then
# brigade-filter's speed as a ratio of each (>1 is faster). The copy goes beside the source,
# on the same file system, with a warm page cache (the source is read once first, and dirty
# pages are synced before every run), so this measures the copy path, not the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //:brigade-filter >/dev/null 2>&1
TOOL=$(bazel info -c opt bazel-bin 2>/dev/null)/filters/brigade-filter
DIR=$(mktemp -d "${TMPDIR:-/tmp}/filter_copy.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
TOOL=$TOOL DIR=$DIR SIZE_MIB=${SIZE_MIB:-1024} ROUNDS=${ROUNDS:-7} python3 - <<'PY'
import filecmp, os, statistics, subprocess, time

tool, d = os.environ["TOOL"], os.environ["DIR"]
size, rounds = int(os.environ["SIZE_MIB"]) << 20, int(os.environ["ROUNDS"])
src, dst = os.path.join(d, "src"), os.path.join(d, "copy")
with open(src, "wb") as f:
    for _ in range(size >> 20):
        f.write(os.urandom(1 << 20))
with open(src, "rb") as f:
    while f.read(1 << 24):
        pass
cases = {
    "brigade-filter": [tool, "--in", src, "--out", dst],
    "cp": ["cp", src, dst],
    "cat > copy": ["sh", "-c", 'exec cat "$0" > "$1"', src, dst],
}
runs = {name: [] for name in cases}
for i in range(rounds + 1):  # round 0 warms up and is not counted
    for name, argv in cases.items():
        if os.path.exists(dst):
            os.unlink(dst)
        os.sync()
        t0 = time.monotonic()
        p = subprocess.Popen(argv)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        assert os.waitstatus_to_exitcode(status) == 0, name
        assert filecmp.cmp(src, dst, shallow=False), name + ": the copy differs"
        if i > 0:
            runs[name].append((wall, usage.ru_utime, usage.ru_stime))
print("%-16s %9s %17s %9s %9s" % ("tool", "median_s", "min-max", "user_s", "sys_s"))
median = {}
for name, r in runs.items():
    walls = [w for w, _, _ in r]
    median[name] = statistics.median(walls)
    print("%-16s %9.3f %8.3f-%-8.3f %9.3f %9.3f" % (
        name, median[name], min(walls), max(walls),
        statistics.median(u for _, u, _ in r), statistics.median(s for _, _, s in r)))
print("brigade-filter speed vs cp: %.2fx, vs cat: %.2fx (%d MiB, %d rounds, median wall)" % (
    median["cp"] / median["brigade-filter"], median["cat > copy"] / median["brigade-filter"],
    size >> 20, rounds))
PY
