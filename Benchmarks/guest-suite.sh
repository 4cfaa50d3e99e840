#!/usr/bin/env bash
# The guest suite: the same C (Guest/bench/*.c) as a native program (clang -O2), on the PVM
# interpreter and on the PVM JIT (gas metering on), with the default (benchmark-size) input.
#
#   bash Benchmarks/guest-suite.sh [RUNS] [--wasmtime]   # RUNS per engine, default 5; prints a Markdown table
#
# --wasmtime adds the same C as a wasm32 module run by wasmtime (Cranelift, from PyPI into a
# virtual environment under .build/, made on first use; Benchmarks/wasm-common.sh) to every
# repetition, in the same Python process for the whole run (its Engine made once, as a node
# would keep it): compile = Module(engine, bytes), execution = instance + input + call + output,
# one-shot = both, each as a ratio to the native time of the same repetition.
#
# Each repetition runs native and JIT back to back (alternating which goes first), then the
# interpreter: interleaved, so that they see the same load, and each JIT run next to its native run.
# Native time: one call of the entry in a fresh process, timed inside the process
# (Guest/sdk/native_main.c), so it includes first-touch page faults as the PVM runs do.
# PVM times come from `alcatraz run --json --repeat 2`, second repetition (the process is warm, as
# a worker forked from the warmed-up spawner is; the guest memory and the compiled code are new):
#   compile   = prepare_ns: decode + compile (JIT) + guest memory set-up
#   execution = execute_ns: the run with its host calls, and reading the output
#   one-shot  = compile + execution
# Times are medians of RUNS repetitions. The JIT ratios are paired: the median over repetitions of
# (JIT time / the native time measured next to it), which the machine's drift over seconds moves
# far less than the ratio of two medians (printed too, under the table). The last row is the
# geometric mean of the ratios. Every output is checked to be the same on all three.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS=5; WASM=0
for arg in "$@"; do
    case "$arg" in
        --wasmtime) WASM=1 ;;
        *) RUNS=$arg ;;
    esac
done
cd "$ROOT"
PY=python3
if [ "$WASM" = 1 ]; then
    # shellcheck source=Benchmarks/wasm-common.sh
    . "$ROOT/Benchmarks/wasm-common.sh"
    PY=$(wasmtime_python)
    echo "wasmtime $("$PY" -c 'import importlib.metadata as m; print(m.version("wasmtime"))')" >&2
fi
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

for src in Guest/bench/*.c; do
    b=$(basename "$src" .c)
    GUEST_CFLAGS=-O2 scripts/build-guest.sh "$src" -o "$tmp/$b.pvm" >&2
    GUEST_CFLAGS=-O2 scripts/build-guest.sh --native "$src" -o "$tmp/$b.native" >&2
    if [ "$WASM" = 1 ]; then build_wasm "$src" "$tmp/$b.wasm" "$tmp"; fi
done
BENCH_DIR="$ROOT/Benchmarks" "$PY" - "$A" "$tmp" "$RUNS" "$WASM" Guest/bench/*.c <<'PY'
import json, math, os, subprocess, sys, statistics
a, tmp, runs, wasm_on, sources = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5:]
empty = os.path.join(tmp, "empty.in")
if wasm_on:
    import wasmtime
    sys.path.insert(0, os.environ["BENCH_DIR"])
    import wasm_oneshot as wasm_oneshot_module
    wasm_engine = wasmtime.Engine()

def wasm_oneshot(module_bytes):
    """wasmtime from bytes to output: (compile ns, execution ns, output)."""
    compile_ns, total, out = wasm_oneshot_module.oneshot(wasm_engine, module_bytes)
    return compile_ns, total - compile_ns, out

def pvm(prog, engine, repeat):
    out = subprocess.run([a, "run", prog, "--engine", engine, "--json", "--gas", str(10**13),
                          "--repeat", str(repeat)], capture_output=True, text=True)
    d = json.loads(out.stdout)
    last = d["runs"][-1] if repeat > 1 else d
    return d, last["prepare_ns"], last["execute_ns"]

wasm_head = ("| wasmtime compile (ms) | wasmtime execution (ms) | wasmtime execution / native "
             "| wasmtime one-shot / native | JIT one-shot / wasmtime one-shot ") if wasm_on else ""
print("| benchmark | native (ms) | interpreter (ms) | interp / native | JIT compile (ms) | JIT execution (ms) "
      "| execution / native | JIT one-shot (ms) | one-shot / native " + wasm_head + "| gas | PVM code (bytes) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" * 5 if wasm_on else "") + "---:|---:|")
exec_ratios, oneshot_ratios, unpaired = [], [], []
wasm_exec_ratios, wasm_oneshot_ratios, versus_wasm = [], [], []
for src in sources:
    name = os.path.basename(src)[:-2]
    prog, native = os.path.join(tmp, name + ".pvm"), os.path.join(tmp, name + ".native")
    t = {"native": [], "interpreter": [], "compile": [], "jit": [], "oneshot": [], "wcompile": [], "wexec": []}
    if wasm_on:
        module_bytes = open(os.path.join(tmp, name + ".wasm"), "rb").read()
        wasm_oneshot(module_bytes)   # untimed: the first one-shot of a module pays one-time costs
    for rep in range(runs):
        # Interleaved: one native call and one JIT run back to back (in alternating order, so
        # that neither always goes first), then one interpreter run. The machine's speed drifts
        # over seconds, so each JIT run is compared with the native call next to it.
        def run_native():
            out = subprocess.run([native, empty, "1"], capture_output=True)
            t["native"].append(int(out.stderr.split()[1]))
            return out.stdout.hex()
        engines = [("jit", 2), ("interpreter", 1)]
        if rep % 2 == 0:
            expected = run_native()
        else:
            engines = [("jit", 2), ("native", 0), ("interpreter", 1)]
            expected = None
        for engine, repeat in engines:
            if engine == "native":
                expected = run_native()
                if jit_output != expected:
                    sys.exit(f"{name}: jit gave {jit_output!r}, native gave {expected!r}")
                continue
            d, prepare, execute = pvm(prog, engine, repeat)
            if engine == "jit": jit_output = d.get("output_hex")
            if d["status"] != "halt" or (expected is not None and d["output_hex"] != expected):
                sys.exit(f"{name}: {engine} gave {d['status']} {d.get('output_hex')!r}, native gave {expected!r}")
            if engine == "interpreter":
                t["interpreter"].append(execute)
            else:
                t["compile"].append(prepare); t["jit"].append(execute); t["oneshot"].append(prepare + execute)
            gas = d["gas_used"]
        if wasm_on:
            wc, we, wout = wasm_oneshot(module_bytes)
            if wout.hex() != expected:
                sys.exit(f"{name}: wasmtime gave {wout.hex()!r}, native gave {expected!r}")
            t["wcompile"].append(wc); t["wexec"].append(we)
    blob = open(prog, "rb").read()
    ro, rw = int.from_bytes(blob[0:3], "little"), int.from_bytes(blob[3:6], "little")
    code = int.from_bytes(blob[11 + ro + rw:15 + ro + rw], "little")
    n, i, c, j, o = (statistics.median(t[k]) / 1e6 for k in ("native", "interpreter", "compile", "jit", "oneshot"))
    # The ratio columns: the median over repetitions of JIT time / the native time measured next
    # to it (paired). The ratio of the two medians is kept for the summary line.
    pe = statistics.median(a / b for a, b in zip(t["jit"], t["native"]))
    po = statistics.median(a / b for a, b in zip(t["oneshot"], t["native"]))
    exec_ratios.append(pe); oneshot_ratios.append(po); unpaired.append(j / n)
    wasm_cells = ""
    if wasm_on:
        # Paired as the JIT's: each wasmtime time against the native time of its repetition.
        wc_m, we_m = statistics.median(t["wcompile"]) / 1e6, statistics.median(t["wexec"]) / 1e6
        pwe = statistics.median(e / b for e, b in zip(t["wexec"], t["native"]))
        pwo = statistics.median((c_ + e) / b for c_, e, b in zip(t["wcompile"], t["wexec"], t["native"]))
        pvw = statistics.median(x / (c_ + e) for x, c_, e in zip(t["oneshot"], t["wcompile"], t["wexec"]))
        wasm_exec_ratios.append(pwe); wasm_oneshot_ratios.append(pwo); versus_wasm.append(pvw)
        wasm_cells = f"| {wc_m:.2f} | {we_m:.2f} | {pwe:.2f}× | {pwo:.2f}× | {pvw:.2f}× "
    print(f"| {name} | {n:.2f} | {i:.1f} | {i / n:.1f}× | {c:.3f} | {j:.2f} | {pe:.2f}× | {o:.2f} | {po:.2f}× "
          + wasm_cells + f"| {gas:,} | {code:,} |", flush=True)
g = lambda v: math.exp(sum(map(math.log, v)) / len(v))
wasm_mean = (f"| | | **{g(wasm_exec_ratios):.2f}×** | **{g(wasm_oneshot_ratios):.2f}×** | **{g(versus_wasm):.2f}×** "
             if wasm_on else "")
print(f"| **geometric mean** | | | | | | **{g(exec_ratios):.2f}×** | | **{g(oneshot_ratios):.2f}×** "
      + wasm_mean + "| | |")
print(f"\n(execution: geometric mean of the ratios of the medians, unpaired: {g(unpaired):.2f}×)")
PY
