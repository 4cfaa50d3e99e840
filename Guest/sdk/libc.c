/* The freestanding C library of the Alcatraz guest SDK: what clang may call on its own (struct
 * copies, zeroing) and what the E ABI needs. Built with -ffreestanding -fno-builtin so that these
 * loops are not turned back into calls to themselves. RV64EMAC has M, so no division helpers are
 * needed; floating point is not supported (docs/guest-sdk.md). */
#include "alcatraz.h"

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    unsigned char b = (unsigned char)c;
    if (n >= 16) {
        uint64_t v = b * 0x0101010101010101ull;
        while (n && ((uintptr_t)d & 7)) { *d++ = b; n--; }
        while (n >= 8) { *(uint64_t *)d = v; d += 8; n -= 8; }
    }
    while (n--) *d++ = b;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (n >= 16 && (((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
        while (n && ((uintptr_t)d & 7)) { *d++ = *s++; n--; }
        while (n >= 8) { *(uint64_t *)d = *(const uint64_t *)s; d += 8; s += 8; n -= 8; }
    }
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d == s || n == 0) return dst;
    if (d < s || d >= s + n) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
