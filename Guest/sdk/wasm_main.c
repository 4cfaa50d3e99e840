/* WebAssembly harness for Alcatraz guests, for the wasmtime comparison only
 * (Benchmarks/wasmtime-oneshot.sh): the same guest C, built for wasm32 with the toolchain's clang,
 * run by wasmtime. The embedder writes the input at `input_buffer()`, calls `run(len)`, and reads
 * `output_len()` bytes at `output_ptr()`. Host functions: `alc_gas` answers 0 (wasmtime meters
 * with fuel, if asked, not through the guest), `alc_log_target` does nothing, `alc_sbrk` grows the
 * linear memory. */
#include "alcatraz.h"

alc_output alcatraz_start(const unsigned char *in, unsigned long len);

uint64_t alc_gas(void) { return 0; }

void alc_log_target(int level, const char *target, unsigned long target_len, const char *msg,
                    unsigned long msg_len) {
    (void)level; (void)target; (void)target_len; (void)msg; (void)msg_len;
}

extern unsigned char __heap_base;
static unsigned long heap_end;

void *alc_sbrk(unsigned long bytes) {
    if (heap_end == 0) heap_end = (unsigned long)&__heap_base;
    unsigned long old = heap_end, end = old + bytes;
    if (end < old) return 0;
    unsigned long have = __builtin_wasm_memory_size(0) * 65536ul;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (unsigned long)-1) return 0;
    heap_end = end;
    return (void *)old;
}

static unsigned char input[1 << 20];
static alc_output result;

__attribute__((export_name("input_buffer"))) unsigned char *input_buffer(void) { return input; }
__attribute__((export_name("input_capacity"))) unsigned long input_capacity(void) { return sizeof input; }
__attribute__((export_name("run"))) void run(unsigned long len) { result = alcatraz_start(input, len); }
__attribute__((export_name("output_ptr"))) const void *output_ptr(void) { return result.ptr; }
__attribute__((export_name("output_len"))) unsigned long output_len(void) { return result.len; }
