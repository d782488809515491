#!/usr/bin/env bash
# Side by side: brigaded and nginx serving the same 1 KiB static file on loopback, each with 2
# workers and keep-alive, loaded by wrk in turn. Prints requests/s and the ratio; then
# brigaded's echo handler answering 1 KiB POST bodies (nginx has no echo to compare with).
#
#   bench/server_vs_nginx.sh [SECONDS] [CONNECTIONS]
#
# Needs wrk and nginx (Debian: apt-get install wrk nginx-light); builds brigaded with Bazel, or
# runs the binary named by $BRIGADED (to compare builds in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-50}
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk nginx-light)"; exit 2; }
done

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; nginx -p "$work" -c nginx.conf -s stop 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/www" "$work/logs"
head -c 1024 /dev/urandom | base64 -w 76 | head -c 1024 > "$work/www/1k.txt"

cat > "$work/brigaded.conf" <<CONF
Listen 127.0.0.1:18081
Workers 2
DocumentRoot $work/www
MaxKeepAliveRequests 0
<Location /echo>
  SetHandler echo
</Location>
CONF
head -c 1024 /dev/zero | tr '\0' 'e' > "$work/body.txt"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
local f = io.open("$work/body.txt", "rb")
wrk.body = f:read("*a")
f:close()
LUA
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
error_log $work/logs/error.log;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:18082; root $work/www; }
}
CONF

if [ -z "${BRIGADED:-}" ]; then
  bazel build -c opt //server:brigaded >/dev/null 2>&1
  BRIGADED=bazel-bin/server/brigaded
fi
"$BRIGADED" --config "$work/brigaded.conf" >/dev/null &
nginx -p "$work" -c nginx.conf
for port in 18081 18082; do  # both listen before the first round
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/1k.txt" && break
    sleep 0.05
  done
done

rps() {
  wrk -t 2 -c "$connections" -d "${seconds}s" "${@:2}" "http://127.0.0.1:$1" |
    awk '/Requests\/sec/ {print $2}'
}
b=$(rps 18081/1k.txt)
n=$(rps 18082/1k.txt)
e=$(rps 18081/echo -s "$work/post.lua")
echo "1 KiB static file, ${connections} connections, ${seconds} s, 2 workers each"
echo "brigaded: ${b} req/s"
echo "nginx:    ${n} req/s"
awk -v b="$b" -v n="$n" 'BEGIN { printf "ratio brigaded/nginx: %.2f\n", b / n }'
echo "brigaded echo, 1 KiB POST bodies: ${e} req/s"
