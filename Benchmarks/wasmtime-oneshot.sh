#!/usr/bin/env bash
# One-shot cost against wasmtime: the same guest C (Guest/bench/*.c) as a PVM program run by
# `alcatraz run --engine jit` and as a wasm32 module run by wasmtime (Cranelift, the PyPI
# package), each from program bytes to output, interleaved, medians of RUNS.
#
#   bash Benchmarks/wasmtime-oneshot.sh [RUNS]      # default 7; prints a Markdown table
#
# Both sides are measured in a warm process, as a node's long-lived executor would be:
# PVM one-shot: `alcatraz run --json --repeat 2`, the second run's elapsed_ns = decode + compile +
# guest memory set-up + run (gas metering on), not the process start or reading the file.
# wasmtime one-shot: inside one Python process with the Engine made once (as a node would keep
# it) and one untimed one-shot first: Module(engine, bytes) (validation + Cranelift compilation,
# no cache) + Store + Instance + writing the input + the call + reading the output. Measured twice: wasmtime's default (no
# metering) and with fuel metering on (consume_fuel, the closest thing to gas).
# The wasm build: the toolchain's clang --target=wasm32 -O2, Guest/sdk/wasm_main.c as harness.
# wasmtime comes from PyPI into a virtual environment under .build/ (created on first use).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=${1:-7}
cd "$ROOT"
# shellcheck source=Benchmarks/wasm-common.sh
. "$ROOT/Benchmarks/wasm-common.sh"
PY=$(wasmtime_python)
swift build -c release --product alcatraz >&2
echo "wasmtime $("$PY" -c 'import importlib.metadata as m; print(m.version("wasmtime"))'), $("$(wasm_clang)" --version | head -1)" >&2
A="$ROOT/.build/release/alcatraz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "| benchmark | PVM JIT one-shot (ms) | wasmtime one-shot (ms) | of which compile | wasmtime + fuel (ms) | PVM / wasmtime | PVM / wasmtime+fuel |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for src in Guest/bench/*.c; do
    b=$(basename "$src" .c)
    GUEST_CFLAGS=-O2 scripts/build-guest.sh "$src" -o "$tmp/$b.pvm" >&2
    build_wasm "$src" "$tmp/$b.wasm" "$tmp"
    BENCH_DIR="$ROOT/Benchmarks" "$PY" - "$A" "$tmp/$b.pvm" "$tmp/$b.wasm" "$RUNS" "$b" <<'PY'
import json, os, statistics, subprocess, sys
import wasmtime
sys.path.insert(0, os.environ["BENCH_DIR"])
import wasm_oneshot
a, prog, wasm_path, runs, name = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
wasm = open(wasm_path, "rb").read()
plain = wasmtime.Engine()
config = wasmtime.Config()
config.consume_fuel = True
fueled = wasmtime.Engine(config)

def oneshot(engine, fuel):
    compile_ns, total, out = wasm_oneshot.oneshot(engine, wasm, fuel)
    return total, compile_ns, out

times = {"pvm": [], "wasm": [], "compile": [], "fuel": []}
oneshot(plain, False)
oneshot(fueled, True)
for rep in range(runs):
    r = subprocess.run([a, "run", prog, "--engine", "jit", "--json", "--gas", str(10**13), "--repeat", "2"],
                       capture_output=True, text=True)
    d = json.loads(r.stdout)
    d["elapsed_ns"] = d["runs"][1]["elapsed_ns"]
    total, compile_ns, out = oneshot(plain, False)
    ftotal, _, fout = oneshot(fueled, True)
    if d["status"] != "halt" or d["output_hex"] != out.hex() or fout != out:
        sys.exit(f"{name}: outputs differ: PVM {d['status']} {d.get('output_hex')!r}, wasmtime {out.hex()!r}, fuel {fout.hex()!r}")
    times["pvm"].append(d["elapsed_ns"]); times["wasm"].append(total)
    times["compile"].append(compile_ns); times["fuel"].append(ftotal)
p, w, c, f = (statistics.median(times[k]) / 1e6 for k in ("pvm", "wasm", "compile", "fuel"))
print(f"| {name} | {p:.2f} | {w:.2f} | {c:.2f} | {f:.2f} | {p / w:.2f}× | {p / f:.2f}× |")
PY
done
