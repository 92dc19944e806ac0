#!/usr/bin/env bash
# Builds and runs bench/screen-tile.c (needs gcc and a CPU with AVX-512 VNNI). Last line: one JSON object.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
grep -q avx512_vnni /proc/cpuinfo || { echo "screen-tile: this CPU has no AVX-512 VNNI (the screen runs the sgemm path here)" >&2; exit 1; }
bin="$(mktemp -d)/screen-tile"
gcc -O3 -std=gnu11 -fopenmp -mavx512f -mavx512bw -mavx512vnni "$here/screen-tile.c" -o "$bin"
"$bin"
rm -rf "$(dirname "$bin")"
