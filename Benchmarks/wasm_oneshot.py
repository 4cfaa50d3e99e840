"""One wasmtime one-shot of a guest module (Guest/sdk/wasm_main.c's exports), for the benchmark
scripts (Benchmarks/guest-suite.sh --wasmtime, Benchmarks/wasmtime-oneshot.sh)."""
import time

import wasmtime


def oneshot(engine, module_bytes, fuel=False):
    """From module bytes to output with the default (empty) input: Module (validation and
    Cranelift compilation), then Store, Instance, input, the call and the output.
    Returns (compile ns, total ns, output bytes)."""
    t0 = time.perf_counter_ns()
    module = wasmtime.Module(engine, module_bytes)
    t1 = time.perf_counter_ns()
    store = wasmtime.Store(engine)
    if fuel:
        store.set_fuel(10**18)
    instance = wasmtime.Instance(store, module, [])
    ex = instance.exports(store)
    memory = ex["memory"]
    memory.write(store, b"", ex["input_buffer"](store))
    ex["run"](store, 0)
    ptr = ex["output_ptr"](store)
    out = bytes(memory.read(store, ptr, ptr + ex["output_len"](store)))
    return t1 - t0, time.perf_counter_ns() - t0, out
