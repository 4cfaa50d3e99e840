# Sourced by the benchmark scripts that run the guests on wasmtime (Benchmarks/guest-suite.sh
# --wasmtime, Benchmarks/wasmtime-oneshot.sh). Needs ROOT set to the repository root.
#
# wasmtime_python: prints the Python of a virtual environment under .build/ with wasmtime from
#   PyPI in it, creating it on first use.
# build_wasm SRC OUT TMPDIR: compiles a guest's C to a wasm32 module with the toolchain's clang
#   (-O2, Guest/sdk/wasm_main.c as the harness, the SDK's libc.c), 16 MiB of stack.
# The timed one-shot itself is Benchmarks/wasm_oneshot.py, imported by both scripts' Python.

wasmtime_python() {
    local venv="$ROOT/.build/wasmtime-venv"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import wasmtime' 2>/dev/null; then
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet wasmtime >&2
    fi
    echo "$venv/bin/python"
}

wasm_clang() {
    local c
    c="$(dirname "$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)")/clang"
    [ -x "$c" ] || c=/opt/swift/usr/bin/clang
    echo "${CLANG:-$c}"
}

build_wasm() {
    local src=$1 out=$2 tmp=$3 clang b
    clang=$(wasm_clang)
    b=$(basename "$src" .c)
    local W=(--target=wasm32 -O2 -ffreestanding -nostdlib -std=gnu11 -I"$ROOT/Guest/sdk")
    "$clang" "${W[@]}" -c "$src" -o "$tmp/$b.wasm.o"
    "$clang" "${W[@]}" -c "$ROOT/Guest/sdk/wasm_main.c" -o "$tmp/wasm_main.o"
    "$clang" "${W[@]}" -fno-builtin -c "$ROOT/Guest/sdk/libc.c" -o "$tmp/wasm_libc.o"
    "$clang" "${W[@]}" "$tmp/$b.wasm.o" "$tmp/wasm_main.o" "$tmp/wasm_libc.o" -Wl,--no-entry \
        -Wl,-z,stack-size=16777216 -o "$out"
}
