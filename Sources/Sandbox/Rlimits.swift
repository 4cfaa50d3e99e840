// Step `resourceLimits`: bounds on what the worker can consume, set hard (soft == hard), so a
// compromised worker cannot raise them back (and seccomp refuses setrlimit/prlimit64 anyway).
//
// Memory, and why two limits:
// - The PVM reserves about 4 GiB + guard of address space with PROT_NONE|MAP_NORESERVE for
//   guest memory and then opens pages inside it. RLIMIT_AS counts every mapping, reserved or
//   not, so RLIMIT_AS alone cannot be a memory budget: it must exceed the reservation, and
//   then it allows gigabytes of real memory.
// - RLIMIT_DATA (since Linux 4.7) counts private *writable* mappings (plus brk). A PROT_NONE
//   reservation costs nothing against it; every page made writable inside it does (mprotect
//   checks it too, returning ENOMEM). So RLIMIT_DATA is the real memory budget, and the
//   allowlist makes sure memory can only be had through mmap/mprotect/brk, all of which it
//   covers. (Shared writable mappings are not counted, and the worker cannot create one
//   backed by anything but anonymous memory... which is still not counted: the allowlist
//   leaves MAP_SHARED possible, so RLIMIT_AS is the outer bound for that case.)
// - RLIMIT_AS = reservation + budget + slack then bounds everything else (read-only and
//   executable mappings, shared anonymous memory) at a number that still lets the reservation
//   succeed. The slack covers the Swift runtime, libraries and stacks already mapped at fork.
// Neither limit is a cgroup memory limit: page cache and kernel memory are not counted. A
// cgroup (memory.max) around the pool is the next layer; see docs/security-model.md.
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The budgets of one worker. Defaults are for one JAM work item; the supervisor's `Limits`
/// should own the numbers and pass them to the spawner.
public struct ResourceLimits: Sendable, Equatable {
    /// Private writable memory, bytes (RLIMIT_DATA): guest pages, JIT buffers, Swift heap.
    public var memoryBudgetBytes: UInt64 = 1 << 30
    /// Address space the job may reserve without committing (guest memory window + guards).
    public var guestReservationBytes: UInt64 = 6 << 30
    /// Address space of what is already mapped when the worker starts (runtime, libraries,
    /// stacks) plus the JIT's code buffer, which reserves (PROT_NONE, not data) up to 80 bytes
    /// per byte of guest code, at most 2 GiB: with the 2 GiB of `guestReservationBytes` that
    /// the guest does not use, it always fits.
    public var addressSpaceSlackBytes: UInt64 = 1 << 30
    /// CPU seconds (RLIMIT_CPU). The kernel checks it on the scheduler tick, so the kill comes
    /// up to a tick after the limit; a wall-clock timeout (pidfd kill) is the supervisor's.
    public var cpuSeconds: UInt64 = 10
    /// How much nicer than the daemon spare workers wait and used ones end (0: not at all).
    /// Not a budget, but it travels with them to the spawner; see Priority.swift.
    public var backgroundNice: UInt64 = 0

    public init() {}

    /// RLIMIT_AS: reservation + budget + slack.
    public var addressSpaceBytes: UInt64 { guestReservationBytes + memoryBudgetBytes + addressSpaceSlackBytes }

    /// The limits as `name=value` words, the way the spawner receives them on its command line.
    public var arguments: [String] {
        ["memory=\(memoryBudgetBytes)", "reserve=\(guestReservationBytes)",
         "slack=\(addressSpaceSlackBytes)", "cpu=\(cpuSeconds)", "nice=\(backgroundNice)"]
    }

    /// Parses `arguments`; unknown words are ignored, missing ones keep their default.
    public init(arguments: [String]) {
        for word in arguments {
            let parts = word.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = UInt64(parts[1]) else { continue }
            switch parts[0] {
            case "memory": memoryBudgetBytes = value
            case "reserve": guestReservationBytes = value
            case "slack": addressSpaceSlackBytes = value
            case "cpu": cpuSeconds = value
            case "nice": backgroundNice = value
            default: continue
            }
        }
    }
}

enum Rlimits {
    /// The table: resource, value. Reviewed like the seccomp table.
    static func table(_ limits: ResourceLimits, jobFD: Int32, niceRlimit: UInt64 = 0) -> [(resource: Int32, name: String, value: UInt64)] {
        [
            // Only the job fd is open; nothing new may be numbered above it (seccomp already
            // refuses every call that creates a descriptor; this is the second lock).
            (SB_RLIMIT_NOFILE, "NOFILE", UInt64(jobFD) + 1),
            // No process can be created (fork is also refused by seccomp).
            (SB_RLIMIT_NPROC, "NPROC", 0),
            // No core dump: it would be written by the kernel outside the sandbox's root.
            (SB_RLIMIT_CORE, "CORE", 0),
            // No file may grow (there is no writable file; belt and braces).
            (SB_RLIMIT_FSIZE, "FSIZE", 0),
            (SB_RLIMIT_DATA, "DATA", limits.memoryBudgetBytes),
            (SB_RLIMIT_AS, "AS", limits.addressSpaceBytes),
            // soft == hard: a PID-namespace init ignores the soft limit's SIGXCPU (see
            // Namespaces.checkPIDNamespace), so the hard limit's SIGKILL is what ends it.
            (SB_RLIMIT_CPU, "CPU", limits.cpuSeconds),
            (SB_RLIMIT_MEMLOCK, "MEMLOCK", 0),
            (SB_RLIMIT_MSGQUEUE, "MSGQUEUE", 0),
            (SB_RLIMIT_LOCKS, "LOCKS", 0),
            // Nothing above the daemon's own priority: 0 (no raising at all), or, with background
            // priority and a supervisor without CAP_SYS_NICE, exactly what lets it raise the
            // worker back to the daemon's nice for its job (Priority.swift).
            (SB_RLIMIT_NICE, "NICE", niceRlimit),
            (SB_RLIMIT_RTPRIO, "RTPRIO", 0),
        ]
    }
}
