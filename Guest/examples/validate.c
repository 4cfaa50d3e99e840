/*
 * validate: a toy candidate validation. Input = parent state ‖ block; output = "OK" ‖ new state
 * ‖ FNV-1a digest of the new state, or "REJECT <reason> tx <n>".
 *
 *   state  = nonce:u64 ‖ balances:u64[16]                          (136 bytes)
 *   block  = nonce:u64 ‖ count:u32 ‖ count × (kind:u8 from:u8 to:u8 amount:u64)
 *
 * The block nonce must be the parent's + 1. Kinds: 0 transfer, 1 mint (account 0 only may mint),
 * 2 burn, 3 swap balances, 4 no-op, 5 fee (1% of `amount` from `from` to account 15). The
 * kinds are dispatched through a table of function pointers (code addresses in data) and a
 * switch (a jump table), both of which the linker turns into PVM jump-table entries.
 */
#include "alcatraz.h"

#define ACCOUNTS 16
typedef struct { uint64_t nonce; uint64_t bal[ACCOUNTS]; } state_t;
typedef struct { uint8_t kind, from, to; uint64_t amount; } tx_t;

static state_t st;
static unsigned char out[256];
static const char *reason;

static int op_transfer(const tx_t *t) {
    if (st.bal[t->from] < t->amount) { reason = "insufficient balance"; return 0; }
    st.bal[t->from] -= t->amount; st.bal[t->to] += t->amount; return 1;
}
static int op_mint(const tx_t *t) {
    if (t->from != 0) { reason = "mint by non-treasury"; return 0; }
    if (st.bal[t->to] + t->amount < st.bal[t->to]) { reason = "overflow"; return 0; }
    st.bal[t->to] += t->amount; return 1;
}
static int op_burn(const tx_t *t) {
    if (st.bal[t->from] < t->amount) { reason = "burn exceeds balance"; return 0; }
    st.bal[t->from] -= t->amount; return 1;
}
static int op_swap(const tx_t *t) {
    uint64_t x = st.bal[t->from]; st.bal[t->from] = st.bal[t->to]; st.bal[t->to] = x; return 1;
}
static int op_noop(const tx_t *t) { (void)t; return 1; }
static int op_fee(const tx_t *t) {
    uint64_t fee = t->amount / 100;
    if (st.bal[t->from] < fee) { reason = "cannot pay fee"; return 0; }
    st.bal[t->from] -= fee; st.bal[ACCOUNTS - 1] += fee; return 1;
}

static int (*const ops[])(const tx_t *) = {op_transfer, op_mint, op_burn, op_swap, op_noop, op_fee};

static const char *kind_name(unsigned k) {
    switch (k) {
    case 0: return "transfer";
    case 1: return "mint";
    case 2: return "burn";
    case 3: return "swap";
    case 4: return "noop";
    case 5: return "fee";
    case 6: return "reserved6";
    default: return "unknown";
    }
}

static alc_output reject(const char *why, unsigned long tx) {
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_write_str(&w, "REJECT ");
    alc_write_str(&w, why);
    alc_write_str(&w, " tx ");
    alc_write_u64_dec(&w, tx);
    return alc_writer_output(&w);
}

ALCATRAZ_ENTRY(validate)

static alc_output validate(const unsigned char *in, unsigned long len) {
    alc_reader r = alc_reader_init(in, len);
    st.nonce = alc_read_u64(&r);
    for (int i = 0; i < ACCOUNTS; i++) st.bal[i] = alc_read_u64(&r);
    uint64_t nonce = alc_read_u64(&r);
    uint32_t count = alc_read_u32(&r);
    if (r.bad) return reject("truncated header", 0);
    if (nonce != st.nonce + 1) return reject("bad nonce", 0);
    for (uint32_t i = 0; i < count; i++) {
        tx_t t;
        t.kind = alc_read_u8(&r); t.from = alc_read_u8(&r); t.to = alc_read_u8(&r); t.amount = alc_read_u64(&r);
        if (r.bad) return reject("truncated transaction", i);
        if (t.from >= ACCOUNTS || t.to >= ACCOUNTS) return reject("bad account", i);
        if (t.kind >= sizeof ops / sizeof ops[0]) return reject(kind_name(t.kind), i);
        if (!ops[t.kind](&t)) return reject(reason, i);
    }
    if (r.pos != r.len) return reject("trailing bytes", count);
    st.nonce = nonce;
    alc_writer w = alc_writer_init(out, sizeof out);
    alc_write_str(&w, "OK");
    alc_write_le(&w, st.nonce, 8);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < ACCOUNTS; i++) {
        alc_write_le(&w, st.bal[i], 8);
        for (int b = 0; b < 8; b++) { h ^= (st.bal[i] >> (8 * b)) & 0xFF; h *= 0x100000001b3ull; }
    }
    alc_write_le(&w, h, 8);
    return alc_writer_output(&w);
}
