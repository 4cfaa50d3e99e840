/* ops: exercises the RV64IM(+Zbb) operations clang emits, on values derived from the input, so
 * that the PVM translation can be compared with the native build. Output: 8 bytes per result. */
#include "alcatraz.h"

static unsigned char out[4096];
static alc_writer w;

__attribute__((noinline)) static void put(uint64_t v) { alc_write_le(&w, v, 8); }

__attribute__((noinline)) static void binary(uint64_t a, uint64_t b) {
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
    int32_t ia = (int32_t)a, ib = (int32_t)b;
    put(a + b); put(a - b); put(a * b); put(a & b); put(a | b); put(a ^ b);
    put(a << (b & 63)); put(a >> (b & 63)); put((uint64_t)(sa >> (b & 63)));
    put((uint64_t)(int64_t)(int32_t)(ua << (ub & 31))); put((uint64_t)(int64_t)(int32_t)(ua >> (ub & 31)));
    put((uint64_t)(int64_t)(ia >> (ub & 31)));
    put((uint64_t)(int64_t)(ia + ib)); put((uint64_t)(int64_t)(ia - ib)); put((uint64_t)(int64_t)(int32_t)(ua * ub));
    put(sa < sb); put(a < b); put(sa <= sb); put(a >= b); put(a == b); put(a != b);
    if (b != 0) {
        put(a / b); put(a % b);
        if (!(sa == INT64_MIN && sb == -1)) { put((uint64_t)(sa / sb)); put((uint64_t)(sa % sb)); }
    }
    if (ub != 0) {
        put((uint64_t)(int64_t)(int32_t)(ua / ub)); put((uint64_t)(int64_t)(int32_t)(ua % ub));
        if (!(ia == INT32_MIN && ib == -1)) { put((uint64_t)(int64_t)(ia / ib)); put((uint64_t)(int64_t)(ia % ib)); }
    }
    put((uint64_t)(((unsigned __int128)a * b) >> 64));
    put((uint64_t)(((__int128)sa * sb) >> 64));
    put((uint64_t)(((__int128)sa * (unsigned __int128)b) >> 64));
    put(sa < sb ? a : b); put(a < b ? b : a);                           /* min/max */
    put(a & ~b); put(a | ~b); put(~(a ^ b));                            /* andn/orn/xnor */
    put((a >> (b & 63)) | (a << ((64 - (b & 63)) & 63)));               /* ror */
    put((uint64_t)(int64_t)(int32_t)((ua << (ub & 31)) | (ua >> ((32 - (ub & 31)) & 31))));
}

__attribute__((noinline)) static void unary(uint64_t a) {
    uint32_t u = (uint32_t)a;
    put(a ? (uint64_t)__builtin_clzll(a) : 64); put(a ? (uint64_t)__builtin_ctzll(a) : 64);
    put((uint64_t)__builtin_popcountll(a)); put(u ? (uint64_t)__builtin_clz(u) : 32);
    put(u ? (uint64_t)__builtin_ctz(u) : 32); put((uint64_t)__builtin_popcount(u));
    put((uint64_t)(int64_t)(int8_t)a); put((uint64_t)(int64_t)(int16_t)a); put((uint16_t)a); put((uint32_t)a);
    put(__builtin_bswap64(a)); put(__builtin_bswap32(u));
    put(a + 0x12345678); put(a * 0x9E3779B97F4A7C15ull); put(a ^ 0xFFFFFFFF00000000ull);
    put(a >> 33); put((uint64_t)((int64_t)a >> 47)); put(a << 13); put(a < 1000); put((int64_t)a < -5);
    put(a == 0); put(a != 0); put((uint64_t)-(int64_t)a); put((uint64_t)(int64_t)-(int32_t)a);
}

struct big { uint64_t v[9]; };
__attribute__((noinline)) static struct big make(uint64_t s) {
    struct big b;
    for (int i = 0; i < 9; i++) b.v[i] = s * (uint64_t)(i + 1);
    return b;
}

static const uint64_t table[] = {1, 0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull, 0x7FFFFFFF, 0x80000000,
                                 0xFFFFFFFF80000000ull, 0, 3, 0x123456789ABCDEFull, 0xFFFFFFFFFFFFFFFEull};

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    w = alc_writer_init(out, sizeof out);
    alc_reader r = alc_reader_init(in, len);
    uint64_t x = alc_read_u64(&r), y = alc_read_u64(&r);
    binary(x, y);
    binary(y, x);
    unary(x);
    unary(y);
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i += 3) binary(table[i], x ^ table[(i + 1) % 10]);
    struct big b = make(x);
    uint64_t s = 0;
    for (int i = 0; i < 9; i++) s += b.v[i];
    put(s);
    return alc_writer_output(&w);
}
