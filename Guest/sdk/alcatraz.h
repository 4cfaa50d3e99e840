/*
 * alcatraz.h: the C guest SDK for Alcatraz (PVM standard programs built with `alcatraz link`).
 *
 * A guest defines one entry point:
 *
 *     #include "alcatraz.h"
 *     ALCATRAZ_ENTRY(run)          // or: alc_output run(const unsigned char *in, unsigned long len)
 *     static alc_output run(const unsigned char *in, unsigned long len) { ... return alc_out(p, n); }
 *
 * The entry receives the input (read-only, at most 16 MiB) and returns a pointer/length pair: the
 * output is memory[ptr .. ptr+len) when the program halts. See docs/guest-sdk.md.
 *
 * The same source also compiles natively (any host C compiler, without ALCATRAZ_PVM defined) and
 * is then driven by Guest/sdk/native_main.c, so that a guest can be checked against native runs.
 */
#ifndef ALCATRAZ_H
#define ALCATRAZ_H

#include <stddef.h>
#include <stdint.h>

#if defined(__riscv) && !defined(ALCATRAZ_NATIVE)
#define ALCATRAZ_PVM 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The pair an entry point returns in a0/a1 (docs/guest-abi.md). */
typedef struct {
    const void *ptr;
    unsigned long len;
} alc_output;

static inline alc_output alc_out(const void *ptr, unsigned long len) {
    alc_output o = {ptr, len};
    return o;
}

/* An empty output. */
#define ALC_EMPTY alc_out((const void *)0, 0)

/*
 * ALCATRAZ_ENTRY(fn): makes `fn` (alc_output fn(const unsigned char *, unsigned long)) the entry
 * point. On the PVM, `alcatraz_start` is placed first in the code (pc 0) and returning from it
 * halts; natively it is what native_main.c calls.
 */
#define ALCATRAZ_ENTRY(fn)                                                                       \
    static alc_output fn(const unsigned char *, unsigned long);                                  \
    __attribute__((section(".text.alcatraz_start"), used)) alc_output alcatraz_start(            \
        const unsigned char *in, unsigned long len) {                                            \
        return fn(in, len);                                                                      \
    }

/*
 * ALCATRAZ_STACK_SIZE(bytes): the guest stack size (default 64 KiB, at most 16 MiB - 1). The
 * linker reads it from the 4-byte section `.alcatraz_stack`.
 */
#define ALCATRAZ_STACK_SIZE(bytes)                                                               \
    __attribute__((section(".alcatraz_stack"), used)) const uint32_t alcatraz_stack_size = (bytes)

/* ---- Host calls (docs/guest-abi.md) ------------------------------------------------------- */

/* Log levels of JIP-1. */
enum { ALC_LOG_ERROR = 0, ALC_LOG_WARN = 1, ALC_LOG_INFO = 2, ALC_LOG_DEBUG = 3, ALC_LOG_TRACE = 4 };

#ifdef ALCATRAZ_PVM
/*
 * The host-call convention: the custom-0 I-type instruction `.insn i 0x0B, 0, x0, x0, ID`
 * (opcode 0001011, funct3 0, rd = rs1 = x0, imm = the host-call id 0..2047). `alcatraz link`
 * translates it to `ecalli ID`. Arguments go in a0..a5 (PVM r7..r12), the result comes back in
 * a0; no other register changes. Plain `ecall`/`ebreak` are rejected by the linker.
 */
#define ALC_HOSTCALL(id, r0, a1v, a2v, a3v, a4v)                                                  \
    ({                                                                                           \
        register unsigned long _a0 __asm__("a0") = (unsigned long)(r0);                          \
        register unsigned long _a1 __asm__("a1") = (unsigned long)(a1v);                         \
        register unsigned long _a2 __asm__("a2") = (unsigned long)(a2v);                         \
        register unsigned long _a3 __asm__("a3") = (unsigned long)(a3v);                         \
        register unsigned long _a4 __asm__("a4") = (unsigned long)(a4v);                         \
        __asm__ volatile(".insn i 0x0B, 0, x0, x0, %5"                                           \
                         : "+r"(_a0)                                                             \
                         : "r"(_a1), "r"(_a2), "r"(_a3), "r"(_a4), "i"(id)                       \
                         : "memory");                                                            \
        _a0;                                                                                     \
    })

/* Gas remaining after this call (which costs 10). */
static inline uint64_t alc_gas(void) { return ALC_HOSTCALL(0, 0, 0, 0, 0, 0); }

/* JIP-1 log: a message with an optional target (NULL/0 for none). Never affects the verdict. */
static inline void alc_log_target(int level, const char *target, unsigned long target_len,
                                  const char *msg, unsigned long msg_len) {
    (void)ALC_HOSTCALL(100, level, target, target_len, msg, msg_len);
}
/*
 * Heap growth: the PVM's `sbrk` (GP 0.7.2), as the custom-0 instruction
 * `.insn i 0x0B, 1, rd, rs1, 0`. Grows the heap by `bytes` (the new pages are zero) and returns
 * the previous heap end, or NULL if the heap would come within 64 KiB of the stack or exceed the
 * operator's memory limit. alc_sbrk(0) returns the current end.
 */
static inline void *alc_sbrk(unsigned long bytes) {
    unsigned long end;
    __asm__ volatile(".insn i 0x0B, 1, %0, %1, 0" : "=r"(end) : "r"(bytes) : "memory");
    return (void *)end;
}
#else
void *alc_sbrk(unsigned long bytes);
uint64_t alc_gas(void);
void alc_log_target(int level, const char *target, unsigned long target_len, const char *msg,
                    unsigned long msg_len);
#endif

static inline unsigned long alc_strlen(const char *s) {
    unsigned long n = 0;
    while (s[n]) n++;
    return n;
}

/* Log a NUL-terminated message at `level`, without a target. */
static inline void alc_log(int level, const char *msg) {
    alc_log_target(level, (const char *)0, 0, msg, alc_strlen(msg));
}

/* ---- Input and output helpers ------------------------------------------------------------- */

/* A cursor over the input (little-endian readers; reads past the end yield zeros and set `bad`). */
typedef struct {
    const unsigned char *p;
    unsigned long len, pos;
    int bad;
} alc_reader;

static inline alc_reader alc_reader_init(const unsigned char *in, unsigned long len) {
    alc_reader r = {in, len, 0, 0};
    return r;
}

static inline uint64_t alc_read_le(alc_reader *r, unsigned n) {
    if (r->len - r->pos < n || r->pos > r->len) { r->bad = 1; r->pos = r->len; return 0; }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)r->p[r->pos + i] << (8 * i);
    r->pos += n;
    return v;
}
static inline uint8_t alc_read_u8(alc_reader *r) { return (uint8_t)alc_read_le(r, 1); }
static inline uint32_t alc_read_u32(alc_reader *r) { return (uint32_t)alc_read_le(r, 4); }
static inline uint64_t alc_read_u64(alc_reader *r) { return alc_read_le(r, 8); }
/* A pointer to the next n bytes, or NULL (and bad) if fewer remain. */
static inline const unsigned char *alc_read_bytes(alc_reader *r, unsigned long n) {
    if (r->pos > r->len || r->len - r->pos < n) { r->bad = 1; r->pos = r->len; return 0; }
    const unsigned char *p = r->p + r->pos;
    r->pos += n;
    return p;
}

/* An output buffer in guest memory (a static array the guest provides). */
typedef struct {
    unsigned char *p;
    unsigned long cap, len;
    int overflow;
} alc_writer;

static inline alc_writer alc_writer_init(void *buf, unsigned long cap) {
    alc_writer w = {(unsigned char *)buf, cap, 0, 0};
    return w;
}
static inline void alc_write_bytes(alc_writer *w, const void *src, unsigned long n) {
    const unsigned char *s = (const unsigned char *)src;
    for (unsigned long i = 0; i < n; i++) {
        if (w->len >= w->cap) { w->overflow = 1; return; }
        w->p[w->len++] = s[i];
    }
}
static inline void alc_write_le(alc_writer *w, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        unsigned char b = (unsigned char)(v >> (8 * i));
        alc_write_bytes(w, &b, 1);
    }
}
static inline void alc_write_str(alc_writer *w, const char *s) { alc_write_bytes(w, s, alc_strlen(s)); }
static inline void alc_write_u64_dec(alc_writer *w, uint64_t v) {
    char tmp[20];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) { char c = tmp[--n]; alc_write_bytes(w, &c, 1); }
}
static inline alc_output alc_writer_output(const alc_writer *w) { return alc_out(w->p, w->len); }

/*
 * A bump allocator over alc_sbrk: 16-byte aligned, zeroed memory, never freed (a guest runs once).
 * Returns NULL when the heap is exhausted.
 */
static inline void *alc_alloc(unsigned long bytes) {
    unsigned char *end = (unsigned char *)alc_sbrk(0);
    unsigned long pad = (16 - ((unsigned long)end & 15)) & 15;
    if (bytes > ~0ul - pad - 15) return (void *)0;
    unsigned char *p = (unsigned char *)alc_sbrk(pad + ((bytes + 15) & ~15ul));
    return p ? p + pad : (void *)0;
}

/* ---- Freestanding C library (Guest/sdk/libc.c on the PVM; the host libc natively) ---------- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#ifdef __cplusplus
}
#endif
#endif /* ALCATRAZ_H */
