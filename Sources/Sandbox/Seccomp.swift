// Step `seccomp`: the worker's system-call allowlist. THE POLICY IS DATA: `Seccomp.allowlist`
// below is the whole policy, one row per allowed (syscall, argument pattern), each with the
// reason it is needed. Review a change to it like a change to the kernel attack surface,
// because it is one. Tests/SandboxTests has one test per row: the allowed arguments pass, a
// changed argument is killed.
//
// Default action: SECCOMP_RET_KILL_PROCESS (not KILL_THREAD, which would leave a process
// whose other threads, were there any, go on; not ERRNO, which would let an attacker probe).
// Foreign architectures (int 0x80 i386 calls, x32 calls with bit 30 set) are killed too:
// libseccomp checks `seccomp_data.arch` and, on x86_64, rejects x32 numbers as a bad arch.
import CSeccomp
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// One comparison on one argument of a system call. All conditions of a rule must hold.
public enum ArgumentCondition: Sendable, Equatable {
    /// `args[argument] == value` (all 64 bits).
    case equals(argument: UInt32, value: UInt64)
    /// `args[argument] & mask == value`.
    case maskedEquals(argument: UInt32, mask: UInt64, value: UInt64)
}

/// One row of the allowlist: `syscall` is allowed when every condition holds. Several rows
/// for one syscall are alternatives.
public struct SeccompRule: Sendable, Equatable {
    public let name: String
    /// The x86-64 system call number.
    public let number: Int32
    public let conditions: [ArgumentCondition]
    /// Why the worker needs it, and why the arguments are restricted the way they are.
    public let why: String
}

public enum Seccomp {
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    public static let sysRead: Int32 = 0
    public static let sysWrite: Int32 = 1
    public static let sysMmap: Int32 = 9
    public static let sysMprotect: Int32 = 10
    public static let sysMunmap: Int32 = 11
    public static let sysBrk: Int32 = 12
    public static let sysRtSigprocmask: Int32 = 14
    public static let sysRtSigreturn: Int32 = 15
    public static let sysMadvise: Int32 = 28
    public static let sysExit: Int32 = 60
    public static let sysSetpriority: Int32 = 141
    public static let sysPrctl: Int32 = 157
    public static let sysArchPrctl: Int32 = 158
    public static let sysClockGettime: Int32 = 228
    public static let sysExitGroup: Int32 = 231
    public static let sysSeccomp: Int32 = 317

    static let protRead: UInt64 = 0x1, protWrite: UInt64 = 0x2, protExec: UInt64 = 0x4
    static let mapTypeMask: UInt64 = 0x0f, mapPrivate: UInt64 = 0x02
    static let madvDontNeed: UInt64 = 4
    static let madvHugePage: UInt64 = 14
    static let seccompSetModeFilter: UInt64 = 1
    static let archSetGS: UInt64 = 0x1001
    /// prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): Linux 6.3+.
    static let prSetMDWE: UInt64 = 65, mdweRefuseExecGain: UInt64 = 1
    static let clockMonotonic: UInt64 = 1

    /// Every bit of `prot` except PROT_READ: what is left must be nothing, PROT_WRITE alone or
    /// PROT_EXEC alone. So W^X holds for every mapping made after the lockdown, and no
    /// exotic bit (PROT_SEM, PROT_GROWSDOWN/UP, pkeys) is ever passed.
    static let protMask: UInt64 = ~protRead

    /// The allowlist for a worker whose only descriptor is `jobFD`; `backgroundNice` when spare
    /// workers run at a background priority (Priority.swift).
    public static func allowlist(jobFD: Int32, backgroundNice: Int32? = nil) -> [SeccompRule] {
        let fd = UInt64(UInt32(bitPattern: jobFD))
        var rules: [SeccompRule] = [
            SeccompRule(name: "read", number: sysRead, conditions: [.equals(argument: 0, value: fd)],
                        why: "receive the job; only from the job socket"),
            SeccompRule(name: "write", number: sysWrite, conditions: [.equals(argument: 0, value: fd)],
                        why: "send the result; only to the job socket (not even stderr)"),
        ]
        for prot in [0, protWrite] {
            rules.append(SeccompRule(
                name: "mmap", number: sysMmap,
                conditions: [.maskedEquals(argument: 2, mask: protMask, value: prot),
                             .maskedEquals(argument: 3, mask: mapTypeMask, value: mapPrivate)],
                why: "guest pages, JIT buffers, heap; private only (shared memory escapes RLIMIT_DATA), never executable (JIT code is mapped RW and then mprotected RX)"))
        }
        for prot in [0, protWrite, protExec] {
            rules.append(SeccompRule(
                name: "mprotect", number: sysMprotect,
                conditions: [.maskedEquals(argument: 2, mask: protMask, value: prot)],
                why: "open guest pages inside the reservation; flip JIT code RW -> RX; never W+X"))
        }
        rules += [
            SeccompRule(name: "munmap", number: sysMunmap, conditions: [],
                        why: "free buffers; can only take memory away"),
            SeccompRule(name: "madvise", number: sysMadvise,
                        conditions: [.equals(argument: 2, value: madvDontNeed)],
                        why: "malloc returns freed memory with MADV_DONTNEED"),
            SeccompRule(name: "madvise", number: sysMadvise,
                        conditions: [.equals(argument: 2, value: madvHugePage)],
                        why: "the compiler asks for transparent huge pages for its large buffers (PageBuffer); other advice is not needed"),
            SeccompRule(name: "brk", number: sysBrk, conditions: [],
                        why: "glibc malloc's main arena; bounded by RLIMIT_DATA"),
            SeccompRule(name: "rt_sigreturn", number: sysRtSigreturn, conditions: [],
                        why: "return from the JIT's SIGSEGV/SIGBUS handler (installed before seccomp)"),
            SeccompRule(name: "rt_sigprocmask", number: sysRtSigprocmask, conditions: [],
                        why: "leaving the fault handler without sigreturn restores the mask; only affects this thread, and fault/seccomp signals are forced regardless"),
            SeccompRule(name: "arch_prctl", number: sysArchPrctl,
                        conditions: [.equals(argument: 0, value: archSetGS)],
                        why: "JIT code addresses guest memory through the GS base, set before each entry; GS only (never FS: glibc's thread pointer), and no reads of anything"),
            SeccompRule(name: "clock_gettime", number: sysClockGettime,
                        conditions: [.equals(argument: 0, value: clockMonotonic)],
                        why: "compile/execute timings; the vDSO answers without a system call unless the clocksource has no vDSO mode (e.g. some VMs); CLOCK_MONOTONIC only"),
            SeccompRule(name: "exit", number: sysExit, conditions: [],
                        why: "end of the job"),
            SeccompRule(name: "exit_group", number: sysExitGroup, conditions: [],
                        why: "end of the job (_exit)"),
            SeccompRule(name: "prctl", number: sysPrctl,
                        conditions: [.equals(argument: 0, value: prSetMDWE), .equals(argument: 1, value: mdweRefuseExecGain),
                                     .equals(argument: 2, value: 0), .equals(argument: 3, value: 0), .equals(argument: 4, value: 0)],
                        why: "sealExecutableMemory() after JIT compilation: memory-deny-write-execute, which can never be turned off; PR_SET_MDWE with exactly these arguments and nothing else of prctl"),
            SeccompRule(name: "seccomp", number: sysSeccomp,
                        conditions: [.equals(argument: 0, value: seccompSetModeFilter), .equals(argument: 1, value: 0)],
                        why: "sealExecutableMemory() on kernels without PR_SET_MDWE (before 6.3): a stacked filter, which can only remove rights; flags 0 (no listener fd, no TSYNC)"),
        ]
        if let backgroundNice {
            // int arguments: the kernel reads the low 32 bits only, so only those are compared.
            let low: UInt64 = 0xFFFF_FFFF
            rules.append(SeccompRule(
                name: "setpriority", number: sysSetpriority,
                conditions: [.maskedEquals(argument: 0, mask: low, value: 0 /* PRIO_PROCESS */),
                             .maskedEquals(argument: 1, mask: low, value: 0 /* this process */),
                             .maskedEquals(argument: 2, mask: low, value: UInt64(UInt32(bitPattern: backgroundNice)))],
                why: "down to the background nice once the answer is written (Priority.swift); this process, this value only: it can only lower the worker, and RLIMIT_NICE forbids anything above the daemon's nice anyway"))
        }
        return rules
    }

    /// Compiles the allowlist to classic BPF once, so that each worker only has to hand the
    /// program to the kernel: the spawner does this at start, saving every worker libseccomp's
    /// build (allocations, rule merging and BPF generation) on the fork-to-ready path.
    /// - Returns: the program, `struct sock_filter` records as the kernel takes them.
    public static func compile(jobFD: Int32, backgroundNice: Int32? = nil) throws(LockdownError) -> [UInt8] {
        let ctx = try build(jobFD: jobFD, backgroundNice: backgroundNice)
        defer { seccomp_release(ctx) }
        // libseccomp 2.5 exports to a descriptor only; a pipe holds 64 KiB, and a filter is
        // limited to 4096 instructions of 8 bytes (32 KiB), so it cannot block.
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw LockdownError(.seccomp, errno: currentErrno) }
        defer { close(pipeFDs[0]) }
        let rc = seccomp_export_bpf(ctx, pipeFDs[1])
        close(pipeFDs[1])
        if rc != 0 { throw LockdownError(.seccomp, errno: -rc) }
        var program: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            // SAFETY: read writes at most `count` bytes into the chunk.
            let n = retryingOnEINTR { chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) } }
            if n < 0 { throw LockdownError(.seccomp, errno: currentErrno) }
            if n == 0 { break }
            program += chunk[0..<n]
        }
        return program
    }

    /// The libseccomp filter context for the allowlist. The caller releases it.
    static func build(jobFD: Int32, backgroundNice: Int32? = nil) throws(LockdownError) -> scmp_filter_ctx {
        guard let ctx = seccomp_init(SCMP_ACT_KILL_PROCESS) else { throw LockdownError(.seccomp, errno: ENOMEM) }
        var rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)
        // no_new_privs is its own lockdown step; do not let libseccomp hide its absence.
        if rc == 0 { rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) }
        // A binary tree on the syscall number instead of a linear chain: every syscall (allowed
        // or not) is decided after about log2(rules) comparisons. Loading the filter costs the
        // kernel one emulated walk of it per syscall number (the constant-action cache that
        // seccomp builds at load), so a short walk for the ~440 numbers that end in the kill
        // makes each worker's load cheaper too.
        if rc == 0 { rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) }
        if rc != 0 {
            seccomp_release(ctx)
            throw LockdownError(.seccomp, errno: -rc)
        }
        for rule in allowlist(jobFD: jobFD, backgroundNice: backgroundNice) {
            var comparisons = rule.conditions.map { condition -> scmp_arg_cmp in
                switch condition {
                case let .equals(argument, value):
                    return scmp_arg_cmp(arg: argument, op: SCMP_CMP_EQ, datum_a: value, datum_b: 0)
                case let .maskedEquals(argument, mask, value):
                    return scmp_arg_cmp(arg: argument, op: SCMP_CMP_MASKED_EQ, datum_a: mask, datum_b: value)
                }
            }
            // SAFETY: libseccomp reads `count` comparisons from the array during the call only.
            rc = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, rule.number, UInt32(comparisons.count), &comparisons)
            if rc != 0 {
                seccomp_release(ctx)
                throw LockdownError(.seccomp, errno: -rc)
            }
        }
        return ctx
    }

    /// From now on no mapping can become executable. Call it once the JIT code is RX, before
    /// running guest code, so that a JIT bug exploited at run time cannot create new code.
    /// With Linux 6.3+: `prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)` (a few microseconds):
    /// mprotect adding PROT_EXEC fails with EACCES for good, and the allowlist already kills
    /// any mmap with PROT_EXEC. Older kernels: a second, stacked seccomp filter that kills on
    /// mmap, mprotect or pkey_mprotect with PROT_EXEC (tens of microseconds to load).
    /// Both are allowed after the lockdown by their rows of the allowlist.
    /// - Returns: 0 or the errno of the call that failed.
    public static func sealExecutableMemory() -> Int32 {
        let e = sb_set_mdwe()
        if e != EINVAL { return e }
        return sb_seccomp_seal_exec() == 0 ? 0 : currentErrno
    }

    /// Whether this kernel has memory-deny-write-execute (`PR_SET_MDWE`, Linux 6.3+), which
    /// `sealExecutableMemory` prefers to a second seccomp filter.
    public static var hasMemoryDenyWriteExecute: Bool {
        sb_has_mdwe() != 0
    }
}
