/* sieve: counts the primes below N (input: N as u32 LE; default 2,000,000). Output: decimal. */
#include "alcatraz.h"

#define MAXN 4000000
static unsigned char composite[MAXN];
static unsigned char out[32];

ALCATRAZ_ENTRY(sieve)

static alc_output sieve(const unsigned char *in, unsigned long len) {
    alc_reader r = alc_reader_init(in, len);
    uint32_t n = len >= 4 ? alc_read_u32(&r) : 2000000;
    if (n > MAXN) n = MAXN;
    memset(composite, 0, n);
    uint64_t count = 0;
    for (uint32_t i = 2; i < n; i++) {
        if (composite[i]) continue;
        count++;
        for (uint64_t j = (uint64_t)i * i; j < n; j += i) composite[j] = 1;
    }
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_write_u64_dec(&w, count);
    return alc_writer_output(&w);
}
