#ifndef ALCATRAZ_JIT_SHIMS_H
#define ALCATRAZ_JIT_SHIMS_H
#include <stdint.h>

/// What the fault handler needs to know about the JIT code running on this thread.
/// All offsets are relative to `code_start`. The arrays are owned by the Swift side and must
/// outlive the activation.
typedef struct alcatraz_jit_region {
    uintptr_t code_start;
    uintptr_t code_end;
    /// Native offsets of every instruction that may fault on a guest memory access, ascending.
    /// Interleaved with `fault_indices` (offset, index pairs): entry i is `fault_offsets[2 * i]`.
    const uint32_t *fault_offsets;
    /// The guest instruction index of each entry: `fault_indices[2 * i]` (= fault_offsets + 1).
    const uint32_t *fault_indices;
    uint32_t fault_count;
    /// Where execution continues after a guest memory fault (the fault exit stub).
    uintptr_t fault_stub;
    /// Where the handler stores the faulting guest instruction index.
    volatile uint64_t *fault_slot;
} alcatraz_jit_region;

/// Installs the SIGSEGV/SIGBUS handler for JIT guest-memory faults (once per process; later calls
/// do nothing). Faults outside an active JIT region restore the previous disposition, so a real
/// crash still crashes; when that disposition is SIG_DFL, without a system call (the signal is
/// left blocked and the kernel's forced delivery of the repeated fault resets it), so that this
/// also works under the worker's seccomp filter, which refuses rt_sigaction. A sandboxed worker
/// calls it in its "job preparation" lockdown step, before seccomp. Returns 0, or an errno value.
int alcatraz_jit_install_fault_handler(void);

/// Makes `region` the active JIT region of the calling thread (NULL: none).
void alcatraz_jit_set_active(const alcatraz_jit_region *region);

/// Sets the calling thread's GS segment base (guest memory base for JIT code). Returns 0 or errno.
int alcatraz_set_gs_base(uintptr_t base);

/// Reads the calling thread's GS segment base (0 if it cannot be read).
uintptr_t alcatraz_get_gs_base(void);

/// The function type of the JIT entry trampoline: runs guest code with the context at
/// `gs_base - context_size` until an exit stub returns.
typedef void (*alcatraz_jit_entry)(void);

/// Calls the JIT entry trampoline at `entry`.
void alcatraz_jit_call(uintptr_t entry);

/// CPU features the recompiler needs: returns a bit set (1: BMI1, 2: BMI2, 4: LZCNT, 8: POPCNT).
uint32_t alcatraz_cpu_features(void);

#endif
