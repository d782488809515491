#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need. Idempotent: when
# nothing is missing it installs nothing and prints nothing.
set -euo pipefail

packages=(
  bazel-bootstrap    # Bazel 4.2.3; WORKSPACE stubs what it would download
  g++
  pkg-config         # link flags of the system libraries (third_party/system_libs)
  libabsl-dev
  zlib1g-dev
  libisal-dev        # ISA-L: the isal DEFLATE/INFLATE backend, 2-4x zlib's speed
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  python3            # interop tests use python3's zlib and http.client
  curl
  wrk                # load beside the Python clients in soak_test
  gzip
  clang              # libFuzzer targets (.bazelrc --config=fuzz)
  libclang-rt-14-dev # the libFuzzer and sanitizer runtimes for clang 14
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
