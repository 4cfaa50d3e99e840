#!/usr/bin/env bash
# The guest suite: the same C (Guest/bench/*.c) as a native program (host cc -O2), on the PVM
# interpreter and on the PVM JIT (gas metering on), with the default (benchmark-size) input.
#
#   bash Benchmarks/guest-suite.sh [RUNS]      # RUNS per engine, default 5; prints a Markdown table
#
# Native time: the median of RUNS calls of the entry inside one process (Guest/sdk/native_main.c).
# PVM time: the median of RUNS `alcatraz run --json` elapsed_ns, which covers instantiating the
# program (and, for the JIT, compiling it) plus the run, but not reading the file. Every output is
# checked to be the same on all three.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${1:-5}
cd "$ROOT"
swift build -c release --product alcatraz >&2
A="$ROOT/.build/release/alcatraz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/empty.in"

echo "| benchmark | native (ms) | interpreter (ms) | interp / native | JIT (ms) | JIT / native | gas | PVM code (bytes) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for src in Guest/bench/*.c; do
    b=$(basename "$src" .c)
    GUEST_CFLAGS=-O2 scripts/build-guest.sh "$src" -o "$tmp/$b.pvm" >&2
    GUEST_CFLAGS=-O2 scripts/build-guest.sh --native "$src" -o "$tmp/$b.native" >&2
    native_out=$("$tmp/$b.native" "$tmp/empty.in" "$RUNS" 2>"$tmp/$b.time" | python3 -c 'import sys; print(sys.stdin.buffer.read().hex())')
    native_ns=$(awk '/median_ns/ {print $2}' "$tmp/$b.time")
    row=$(python3 - "$A" "$tmp/$b.pvm" "$RUNS" "$native_ns" "$native_out" "$b" <<'PY'
import json, subprocess, sys, statistics
a, prog, runs, native_ns, native_out, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
res = {}
for engine in ("interpreter", "jit"):
    times = []
    for _ in range(runs):
        out = subprocess.run([a, "run", prog, "--engine", engine, "--json", "--gas", str(10**13)], capture_output=True, text=True)
        d = json.loads(out.stdout)
        if d["status"] != "halt" or d["output_hex"] != native_out:
            sys.exit(f"{name}: {engine} gave {d['status']} {d.get('output_hex')!r}, native gave {native_out!r}")
        times.append(d["elapsed_ns"])
        gas = d["gas_used"]
    res[engine] = statistics.median(times)
import struct
blob = open(prog, "rb").read()
ro, rw = int.from_bytes(blob[0:3], "little"), int.from_bytes(blob[3:6], "little")
code = int.from_bytes(blob[11 + ro + rw:15 + ro + rw], "little")
n = native_ns / 1e6
i, j = res["interpreter"] / 1e6, res["jit"] / 1e6
print(f"| {name} | {n:.2f} | {i:.1f} | {i / n:.1f}× | {j:.2f} | {j / n:.2f}× | {gas:,} | {code:,} |")
PY
)
    echo "$row"
done
