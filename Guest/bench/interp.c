/* interp: a small stack-machine bytecode interpreter (switch dispatch, so a jump table) running
 * a program that, for i < N, adds i*i mod 7 and the Collatz step count of i+1 to an accumulator
 * (input: N as u32 LE; default 5,000). Output: decimal. */
#include "alcatraz.h"

enum { PUSH, LOAD, STORE, ADD, MUL, MOD, DUP, JZ, JMP, LT, DIV2, ODD, HALT };

/* locals: 0 = i, 1 = n, 2 = acc, 3 = x. Jump targets are indices into prog. */
static const int32_t prog[] = {
    /*  0 */ PUSH, 0, STORE, 0, PUSH, 0, STORE, 2,
    /*  8 loop: if !(i < n) goto end */ LOAD, 0, LOAD, 1, LT, JZ, 79,
    /* 15 acc += i*i % 7 */ LOAD, 0, DUP, MUL, PUSH, 7, MOD, LOAD, 2, ADD, STORE, 2,
    /* 27 x = i + 1 */ LOAD, 0, PUSH, 1, ADD, STORE, 3,
    /* 34 coll: if !(1 < x) goto next */ PUSH, 1, LOAD, 3, LT, JZ, 70,
    /* 41 if even(x) goto even */ LOAD, 3, ODD, JZ, 56,
    /* 46 3x + 1; goto store */ LOAD, 3, PUSH, 3, MUL, PUSH, 1, ADD, JMP, 59,
    /* 56 even: x / 2 */ LOAD, 3, DIV2,
    /* 59 store: x = top; acc++; goto coll */ STORE, 3, LOAD, 2, PUSH, 1, ADD, STORE, 2, JMP, 34,
    /* 70 next: i++; goto loop */ LOAD, 0, PUSH, 1, ADD, STORE, 0, JMP, 8,
    /* 79 end */ HALT,
};
static int32_t code[128];
static int64_t stack[64];
static int64_t locals[4];
static unsigned char out[32];

static int64_t run_vm(const int32_t *pc0, unsigned long steps_max) {
    const int32_t *pc = pc0;
    int64_t *sp = stack;
    for (unsigned long steps = 0; steps < steps_max; steps++) {
        switch (*pc++) {
        case PUSH: *sp++ = *pc++; break;
        case LOAD: *sp++ = locals[*pc++]; break;
        case STORE: locals[*pc++] = *--sp; break;
        case ADD: sp--; sp[-1] += sp[0]; break;
        case MUL: sp--; sp[-1] *= sp[0]; break;
        case MOD: sp--; sp[-1] %= sp[0]; break;
        case DUP: sp[0] = sp[-1]; sp++; break;
        case JZ: { int32_t t = *pc++; if (*--sp == 0) pc = pc0 + t; break; }
        case JMP: pc = pc0 + *pc; break;
        case LT: sp--; sp[-1] = sp[-1] < sp[0]; break;
        case DIV2: sp[-1] /= 2; break;
        case ODD: sp[-1] &= 1; break;
        case HALT: return locals[2];
        default: return -1;
        }
        if (sp < stack || sp >= stack + 60) return -2;
    }
    return -3;
}

ALCATRAZ_ENTRY(run)

static alc_output run(const unsigned char *in, unsigned long len) {
    alc_reader r = alc_reader_init(in, len);
    uint32_t n = len >= 4 ? alc_read_u32(&r) : 5000;
    unsigned k = 0;
    for (unsigned j = 0; j < sizeof prog / sizeof prog[0]; j++) code[k++] = prog[j];
    locals[0] = 0; locals[1] = n; locals[2] = 0; locals[3] = 0;
    alc_writer w = alc_writer_init(out, sizeof out);
    int64_t v = run_vm(code, 4000000000ul);
    if (v < 0) { alc_write_str(&w, "error "); alc_write_u64_dec(&w, (uint64_t)-v); }
    else alc_write_u64_dec(&w, (uint64_t)v);
    return alc_writer_output(&w);
}
