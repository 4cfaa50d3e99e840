#!/usr/bin/env bash
# The guest suite: the same C (Guest/bench/*.c) as a native program (host cc -O2), on the PVM
# interpreter and on the PVM JIT (gas metering on), with the default (benchmark-size) input.
#
#   bash Benchmarks/guest-suite.sh [RUNS]      # RUNS per engine, default 5; prints a Markdown table
#
# Each repetition runs the three one after the other (interleaved, so that they see the same load).
# Native time: one call of the entry, timed inside the process (Guest/sdk/native_main.c), so it
# includes first-touch page faults as the PVM runs do. PVM time: `alcatraz run --json` elapsed_ns,
# which covers instantiating the program (and, for the JIT, compiling it) plus the run, but not
# reading the file. Medians of RUNS repetitions. Every output is checked to be the same on all three.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${1:-5}
cd "$ROOT"
swift build -c release --product alcatraz >&2
# The native baseline is clang -O2 (the toolchain's clang, as the guests use), not the host cc:
# gcc and clang vectorise differently, and the comparison should name one compiler.
if [ -z "${HOSTCC:-}" ]; then
    for c in "$(dirname "$(command -v swift)")/clang" /opt/swift/usr/bin/clang "$(command -v clang || true)"; do
        [ -n "$c" ] && [ -x "$c" ] && { export HOSTCC="$c"; break; }
    done
fi
echo "native: ${HOSTCC:-cc} -O2 ($("${HOSTCC:-cc}" --version | head -1))" >&2
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
    python3 - "$A" "$tmp/$b.pvm" "$RUNS" "$tmp/$b.native" "$tmp/empty.in" "$b" <<'PY'
import json, subprocess, sys, statistics
a, prog, runs, native, empty, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
times = {"native": [], "interpreter": [], "jit": []}
expected = None
for rep in range(runs):
    # Interleaved: one native call, one interpreter run, one JIT run per repetition.
    out = subprocess.run([native, empty, "1"], capture_output=True)
    expected = out.stdout.hex()
    times["native"].append(int(out.stderr.split()[1]))
    for engine in ("interpreter", "jit"):
        out = subprocess.run([a, "run", prog, "--engine", engine, "--json", "--gas", str(10**13)], capture_output=True, text=True)
        d = json.loads(out.stdout)
        if d["status"] != "halt" or d["output_hex"] != expected:
            sys.exit(f"{name}: {engine} gave {d['status']} {d.get('output_hex')!r}, native gave {expected!r}")
        times[engine].append(d["elapsed_ns"])
        gas = d["gas_used"]
blob = open(prog, "rb").read()
ro, rw = int.from_bytes(blob[0:3], "little"), int.from_bytes(blob[3:6], "little")
code = int.from_bytes(blob[11 + ro + rw:15 + ro + rw], "little")
n, i, j = (statistics.median(times[k]) / 1e6 for k in ("native", "interpreter", "jit"))
print(f"| {name} | {n:.2f} | {i:.1f} | {i / n:.1f}× | {j:.2f} | {j / n:.2f}× | {gas:,} | {code:,} |")
PY
done
