/* heap: alc_alloc / alc_sbrk. Allocates N (input u32, default 1000) linked nodes and a 100 KiB
 * buffer, checks zeroing and alignment, sums. Output: decimal sum, or an error. */
#include "alcatraz.h"

typedef struct node { struct node *next; uint64_t v; unsigned char pad[40]; } node;
static unsigned char out[64];

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    alc_reader r = alc_reader_init(in, len);
    uint32_t n = len >= 4 ? alc_read_u32(&r) : 1000;
    alc_writer w = alc_writer_init(out, sizeof out);
    node *head = 0;
    for (uint32_t i = 0; i < n; i++) {
        node *x = alc_alloc(sizeof *x);
        if (!x) { alc_write_str(&w, "out of memory"); return alc_writer_output(&w); }
        if (((unsigned long)x & 15) || x->v || x->pad[39]) { alc_write_str(&w, "not zeroed/aligned"); return alc_writer_output(&w); }
        x->v = (uint64_t)i * i;
        x->next = head;
        head = x;
    }
    unsigned char *big = alc_alloc(100 * 1024);
    uint64_t s = 0;
    if (big) { for (int i = 0; i < 100 * 1024; i++) { s += big[i]; big[i] = (unsigned char)i; } s += big[12345]; }
    for (node *x = head; x; x = x->next) s += x->v;
    alc_write_u64_dec(&w, s);
    /* An impossible request fails cleanly. */
    alc_write_str(&w, alc_alloc(~0ul - 8) ? " huge!" : " ok");
    return alc_writer_output(&w);
}
