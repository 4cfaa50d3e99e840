/* Native harness for Alcatraz guests (scripts/build-guest.sh --native): reads the input from the
 * file named by argv[1] (or stdin), calls the guest's entry and writes its output to stdout.
 * Optional argv[2] = a repeat count, for benchmarks: the entry runs that many times and the
 * harness prints the median time per run in nanoseconds to stderr. */
#define _POSIX_C_SOURCE 199309L
#include "alcatraz.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

alc_output alcatraz_start(const unsigned char *in, unsigned long len);

uint64_t alc_gas(void) { return 0; }

/* sbrk over a fixed zeroed arena (256 MiB of address space, touched on demand). */
static unsigned char *arena, *arena_end;
void *alc_sbrk(unsigned long bytes) {
    if (!arena) {
        arena = calloc(1, 256u << 20);
        arena_end = arena;
    }
    unsigned char *old = arena_end;
    if (bytes > (unsigned long)(arena + (256u << 20) - arena_end)) return NULL;
    arena_end += bytes;
    return old;
}
void alc_log_target(int level, const char *target, unsigned long target_len, const char *msg,
                    unsigned long msg_len) {
    (void)level; (void)target; (void)target_len; (void)msg; (void)msg_len;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    FILE *f = argc > 1 && argv[1][0] != '-' ? fopen(argv[1], "rb") : stdin;
    if (!f) { perror(argv[1]); return 1; }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 1;
    if (repeat < 1) repeat = 1;
    uint64_t *times = malloc(sizeof(uint64_t) * (size_t)repeat);
    alc_output out = {0, 0};
    for (int i = 0; i < repeat; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        out = alcatraz_start(buf, len);
        clock_gettime(CLOCK_MONOTONIC, &b);
        times[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)(b.tv_nsec - a.tv_nsec);
    }
    fwrite(out.ptr, 1, out.len, stdout);
    if (argc > 2) {
        qsort(times, (size_t)repeat, sizeof *times, cmp);
        fprintf(stderr, "median_ns %llu\n", (unsigned long long)times[repeat / 2]);
    }
    return 0;
}
