/* fib: naive recursive Fibonacci (input: n as one byte; default 30). Output: decimal. */
#include "alcatraz.h"

static unsigned char out[32];

__attribute__((noinline)) static uint64_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    uint32_t n = len >= 1 ? in[0] : 30;
    if (n > 60) n = 60;
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_write_u64_dec(&w, fib(n));
    return alc_writer_output(&w);
}
