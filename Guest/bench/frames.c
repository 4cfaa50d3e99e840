/* frames: large stack frames. Each level of a deep call chain keeps three 4 KiB structs alive
 * across the recursive call (input: depth as u32 LE, default 200; `rounds` = 20 repetitions).
 * Needs a 4 MiB stack. Output: decimal checksum. */
#include "alcatraz.h"

ALCATRAZ_STACK_SIZE(4u << 20);

typedef struct { uint32_t w[1024]; } page_t;
static unsigned char out[32];

__attribute__((noinline)) static uint64_t descend(uint32_t depth, const page_t *parent) {
    page_t a, b, c;
    for (int i = 0; i < 1024; i++) a.w[i] = parent->w[i] * 2654435761u + depth;
    for (int i = 0; i < 1024; i++) b.w[i] = a.w[i] ^ (a.w[(i + 1) & 1023] >> 3);
    for (int i = 0; i < 1024; i++) c.w[i] = a.w[i] + b.w[1023 - i];
    uint64_t below = depth ? descend(depth - 1, &c) : 0;
    uint64_t s = below;
    for (int i = 0; i < 1024; i += 64) s = s * 1099511628211ull + a.w[i] + b.w[i + 1] + c.w[i + 2];
    return s;
}

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    alc_reader r = alc_reader_init(in, len);
    uint32_t depth = len >= 4 ? alc_read_u32(&r) : 200;
    if (depth > 300) depth = 300;
    static page_t root;
    for (int i = 0; i < 1024; i++) root.w[i] = (uint32_t)i * 7919u;
    uint64_t s = 0;
    for (int k = 0; k < 20; k++) { root.w[0] = (uint32_t)k; s ^= descend(depth, &root); }
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_write_u64_dec(&w, s);
    return alc_writer_output(&w);
}
