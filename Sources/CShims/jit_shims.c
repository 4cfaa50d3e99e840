// Fault handling and thread state for JIT code. Kept in C because a signal handler must be
// async-signal-safe: no allocation, no locks, no Swift runtime calls.
#define _GNU_SOURCE
#include "jit_shims.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static __thread const alcatraz_jit_region *active_region;
static struct sigaction previous_segv, previous_bus;
static volatile int handler_installed;

static int lookup(const alcatraz_jit_region *r, uint32_t offset, uint32_t *index) {
    uint32_t lo = 0, hi = r->fault_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t v = r->fault_offsets[2 * mid];
        if (v == offset) { *index = r->fault_indices[2 * mid]; return 1; }
        if (v < offset) lo = mid + 1; else hi = mid;
    }
    return 0;
}

static void on_fault(int sig, siginfo_t *info, void *context) {
    (void)info;
    ucontext_t *uc = (ucontext_t *)context;
    const alcatraz_jit_region *r = active_region;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uint32_t index;
    if (r != NULL && rip >= r->code_start && rip < r->code_end &&
        lookup(r, (uint32_t)(rip - r->code_start), &index)) {
        // A guest load or store faulted. Nothing of the instruction happened (x86 faults are
        // precise), so the guest registers are as before it: leave them for the fault stub,
        // which saves them and returns to Swift, where the GP rule decides panic or page fault.
        *r->fault_slot = index;
        uc->uc_mcontext.gregs[REG_RIP] = (greg_t)r->fault_stub;
        return;
    }
    // Not ours: the process must end (or the previous handler run) as it would have without us.
    const struct sigaction *previous = sig == SIGSEGV ? &previous_segv : &previous_bus;
    if (!(previous->sa_flags & SA_SIGINFO) && previous->sa_handler == SIG_DFL) {
        // The locked-down worker's case (its dispositions are all default before the handler
        // goes in). War story: restoring SIG_DFL with sigaction there is an rt_sigaction that
        // the seccomp filter kills, so every crash was reported as a seccomp violation. Instead,
        // return with the signal blocked in the mask rt_sigreturn restores: the instruction
        // faults again, and the kernel, finding a synchronous fault signal blocked, resets it to
        // SIG_DFL, unblocks it and delivers it (force_sig_fault). The process dies of SIGSEGV or
        // SIGBUS, and the only system call on the way is the rt_sigreturn the filter allows.
        sigaddset(&uc->uc_sigmask, sig);
        return;
    }
    // In-process (the CLI, tests): put the previous handler (e.g. the Swift runtime's crash
    // reporter) back; the instruction faults again and it runs.
    sigaction(sig, previous, NULL);
}

int alcatraz_jit_install_fault_handler(void) {
    if (__atomic_exchange_n(&handler_installed, 1, __ATOMIC_SEQ_CST)) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    // No alternate signal stack is set up for this handler. SA_ONSTACK uses one only where the
    // thread already has one (in-process, one the runtime may have made); a worker has none
    // (sb_reset_signals and sb_unblock_signals disable it), so there the handler runs on the
    // thread's own stack, below the faulting code's rsp. That is safe because guest code never
    // moves rsp: it stays the host stack, which generated code only pushes to and pops from
    // (around one-operand mul/div and variable rotates).
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous_segv) != 0) return errno;
    if (sigaction(SIGBUS, &sa, &previous_bus) != 0) return errno;
    return 0;
}

void alcatraz_jit_set_active(const alcatraz_jit_region *region) { active_region = region; }

int alcatraz_set_gs_base(uintptr_t base) {
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, base) != 0) return errno;
    return 0;
}

uintptr_t alcatraz_get_gs_base(void) {
    unsigned long base = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_GS, &base) != 0) return 0;
    return (uintptr_t)base;
}

void alcatraz_jit_call(uintptr_t entry) { ((alcatraz_jit_entry)entry)(); }

uint32_t alcatraz_cpu_features(void) {
    // Asked once per process: cpuid traps to the hypervisor in a VM, and every JIT instance
    // asks. A fork inherits the answer (the spawner's warm-up asks before the first worker).
    static uint32_t cached;  // bit 31: computed
    uint32_t known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known & 0x80000000u) return known & 0x7fffffffu;
    unsigned a, b, c, d;
    uint32_t features = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (b & (1u << 3)) features |= 1;   // BMI1 (andn, tzcnt)
        if (b & (1u << 8)) features |= 2;   // BMI2 (shlx, shrx, sarx, rorx)
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5))) features |= 4;  // LZCNT
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 23))) features |= 8;          // POPCNT
    __atomic_store_n(&cached, features | 0x80000000u, __ATOMIC_RELAXED);
    return features;
}
