/* sort: quicksort (recursive, insertion sort for small ranges) of N pseudo-random u32 (input: N
 * as u32 LE; default 500,000), then a check and a checksum. Output: "sorted <checksum>". */
#include "alcatraz.h"

#define MAXN (1u << 20)
static uint32_t a[MAXN];
static unsigned char out[64];

static void insertion(uint32_t *v, long lo, long hi) {
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t x = v[i];
        long j = i - 1;
        while (j >= lo && v[j] > x) { v[j + 1] = v[j]; j--; }
        v[j + 1] = x;
    }
}

static void quicksort(uint32_t *v, long lo, long hi) {
    while (hi - lo > 16) {
        uint32_t p = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { uint32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(v, lo, j); lo = i; } else { quicksort(v, i, hi); hi = j; }
    }
    insertion(v, lo, hi);
}

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    alc_reader r = alc_reader_init(in, len);
    uint32_t n = len >= 4 ? alc_read_u32(&r) : 500000;
    if (n > MAXN) n = MAXN;
    uint64_t x = 88172645463325252ull;
    for (uint32_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; a[i] = (uint32_t)x; }
    quicksort(a, 0, (long)n - 1);
    uint64_t sum = 0;
    int ok = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (i && a[i - 1] > a[i]) ok = 0;
        sum = sum * 31 + a[i];
    }
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_write_str(&w, ok ? "sorted " : "UNSORTED ");
    alc_write_u64_dec(&w, sum);
    return alc_writer_output(&w);
}
