/* atomics: C11 atomics and __sync builtins, which clang compiles to lr/sc/amo* for RV64A; the
 * linker translates them for the single-threaded PVM. Output: 8 bytes per result. */
#include "alcatraz.h"
#include <stdatomic.h>

#ifdef __clang__
#define FETCH_MIN(p, v) __atomic_fetch_min(p, v, __ATOMIC_SEQ_CST)
#define FETCH_MAX(p, v) __atomic_fetch_max(p, v, __ATOMIC_SEQ_CST)
#else /* GCC (the native build) has no __atomic_fetch_min: the single-threaded meaning */
#define FETCH_MIN(p, v) ({ __typeof__(*(p)) _o = *(p), _v = (v); if (_v < _o) *(p) = _v; _o; })
#define FETCH_MAX(p, v) ({ __typeof__(*(p)) _o = *(p), _v = (v); if (_v > _o) *(p) = _v; _o; })
#endif

static unsigned char out[1024];
static alc_writer w;
_Atomic uint64_t a64;
_Atomic uint32_t a32;
_Atomic int32_t s32;
volatile uint8_t byte;

__attribute__((noinline)) static void put(uint64_t v) { alc_write_le(&w, v, 8); }

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    w = alc_writer_init(out, sizeof out);
    alc_reader r = alc_reader_init(in, len);
    uint64_t x = alc_read_u64(&r), y = alc_read_u64(&r);
    atomic_store(&a64, x);
    atomic_store(&a32, (uint32_t)y);
    atomic_store(&s32, (int32_t)x);
    put(atomic_fetch_add(&a64, y)); put(atomic_load(&a64));
    put(atomic_fetch_sub(&a64, 3)); put(atomic_fetch_xor(&a64, y)); put(atomic_fetch_and(&a64, x | 1));
    put(atomic_fetch_or(&a64, 0x100)); put(atomic_exchange(&a64, y)); put(atomic_load(&a64));
    put(atomic_fetch_add(&a32, (uint32_t)x)); put(atomic_fetch_or(&a32, 7)); put(atomic_load(&a32));
    put((uint64_t)(int64_t)atomic_fetch_add(&s32, -100)); put((uint64_t)(int64_t)atomic_load(&s32));
    uint64_t expected = y;
    put(atomic_compare_exchange_strong(&a64, &expected, 42)); put(expected); put(atomic_load(&a64));
    expected = 7;
    put(atomic_compare_exchange_strong(&a64, &expected, 43)); put(expected); put(atomic_load(&a64));
    uint32_t e32 = atomic_load(&a32);
    put(atomic_compare_exchange_weak(&a32, &e32, e32 * 3)); put(atomic_load(&a32));
    put(__sync_fetch_and_add(&byte, 5)); put(byte);
    put(__sync_val_compare_and_swap((uint32_t *)&a32, 1u, 2u));
    int32_t m = (int32_t)y;
    put((uint64_t)(int64_t)FETCH_MIN((int32_t *)&s32, m));
    put((uint64_t)(int64_t)FETCH_MAX((int32_t *)&s32, m));
    put(FETCH_MIN((uint32_t *)&a32, (uint32_t)x));
    put(FETCH_MAX((uint64_t *)&a64, x));
    put((uint64_t)FETCH_MIN((int64_t *)&a64, (int64_t)y));
    put(atomic_load(&a64)); put(atomic_load(&a32)); put((uint64_t)(int64_t)atomic_load(&s32));
    return alc_writer_output(&w);
}
