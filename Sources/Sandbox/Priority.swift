// Background priority for the work no request waits for. A spare worker's fork and lockdown
// happen before any job reaches it, and a used worker's teardown (its guest memory, its
// namespaces) after its answer is written; only the job in between is on a request's path.
// On a small machine those two phases cost more CPU than the job itself (docs/benchmarks.md,
// "Daemon load"), and at the same priority they delay the answers: the worker running a job,
// the supervisor's threads and the client wait behind them for a CPU.
//
// So the spawner lowers itself to a background nice value (`background_nice` in the config)
// and every worker it forks inherits it. The supervisor raises a worker back to its own nice
// right before it writes the job, and the worker lowers itself again once its answer is
// written (its seccomp allowlist takes `setpriority` for exactly that value and nothing else).
//
// Raising another process's priority needs CAP_SYS_NICE (a root daemon), or, for a process of
// the same user, an RLIMIT_NICE in that process of at least 20 - the target nice (the systemd
// unit sets LimitNICE=+0). Workers keep RLIMIT_NICE at 0 when the supervisor has the
// capability, else at exactly 20 - the daemon's nice: never room to get above the daemon.
// When neither holds, the supervisor turns background priority off and says why.
//
// Nice values, not SCHED_IDLE: an idle-class task only runs when nothing else wants the CPU, so
// on a host whose node process is busy, spares would never be ready. A background nice still
// gets its share (nice 10 against nice 0: about a tenth).
import CCap
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The two nice values of the worker pool: jobs run at `foreground` (the daemon's own), spare
/// and finished workers at `background`.
public struct WorkerNice: Sendable, Equatable {
    public var foreground: Int32
    public var background: Int32

    public init(foreground: Int32, background: Int32) {
        self.foreground = foreground
        self.background = background
    }

    /// RLIMIT_NICE that lets a process of the same user be raised to `foreground` and not
    /// higher (the kernel's ceiling is 20 - rlimit).
    public var rlimit: UInt64 { UInt64(20 - foreground) }
}

public enum WorkerPriority {
    /// In the spawner and every worker: the background nice, nil when off.
    nonisolated(unsafe) static var backgroundNice: Int32?

    static let which = __priority_which_t(PRIO_PROCESS.rawValue)

    /// This process's nice value.
    public static func currentNice() -> Int32 {
        errno = 0
        let value = getpriority(which, 0)
        return value == -1 && errno != 0 ? 0 : value
    }

    /// This process's nice and that plus `increment` (at most 19); nil when that is no lower.
    static func pair(increment: UInt64) -> WorkerNice? {
        let own = currentNice()
        let pair = WorkerNice(foreground: own, background: Int32(min(19, Int64(own) + Int64(min(increment, 39)))))
        return pair.background > pair.foreground ? pair : nil
    }

    /// In the supervisor, before it starts the spawner: the pair for `increment`, if it will be
    /// able to raise each worker back to its own nice; else nil and why not (nil, nil when
    /// `increment` is 0 or the daemon already runs at nice 19).
    public static func plan(increment: UInt64) -> (WorkerNice?, problem: String?) {
        guard let pair = pair(increment: increment) else { return (nil, nil) }
        if hasNiceCapability() { return (pair, nil) }
        let unit = "LimitNICE=\(pair.foreground >= 0 ? "+" : "")\(pair.foreground)"
        if geteuid() == 0 {
            // A root spawner's workers are nobody (65534), another user: only the capability
            // lets the daemon raise them (RLIMIT_NICE only helps a process of the same user).
            return (nil, "background_nice = \(increment) is off: the workers of a root daemon run as another user, "
                + "and raising one back to nice \(pair.foreground) for its job needs CAP_SYS_NICE, which this process "
                + "lacks (a container?); grant it, run the daemon as an ordinary user with \(unit), "
                + "or set background_nice = 0 to silence this")
        }
        if niceHardLimit() >= pair.rlimit { return (pair, nil) }
        return (nil, "background_nice = \(increment) is off: raising a worker back to nice \(pair.foreground) for its job "
            + "needs CAP_SYS_NICE or RLIMIT_NICE >= \(pair.rlimit) (it is \(niceHardLimit())); "
            + "set \(unit) in the service unit, or background_nice = 0 to silence this")
    }

    /// In the supervisor, right before a worker's job is written: back to `nice.foreground`.
    /// setpriority goes by pid, so the worker's pidfd (-1: none) is checked after the call: if
    /// it still refers to a process (running, or dead and not reaped), the pid was the worker's
    /// when the call was made. If not, the worker died before its job and the pid may have
    /// been reused by the time of the call.
    /// - Returns: 0 or the errno (the job then runs at the background nice, slower but
    ///   correct), and whether the worker was found gone after a successful call.
    public static func raise(pid: Int32, pidFD: Int32, to nice: WorkerNice) -> (errno: Int32, workerGone: Bool) {
        guard setpriority(which, id_t(UInt32(bitPattern: pid)), nice.foreground) == 0 else { return (currentErrno, false) }
        return (0, pidFD >= 0 && sb_pidfd_send_signal(pidFD, 0) != 0)
    }

    /// In the spawner, before it forks anything: lowers itself (every worker inherits it).
    /// - Returns: the RLIMIT_NICE workers keep: 0 when the supervisor raises them by capability.
    static func enterBackground(increment: UInt64) -> (backgroundNice: Int32?, workerRlimit: UInt64) {
        guard let pair = pair(increment: increment), setpriority(which, 0, pair.background) == 0 else { return (nil, 0) }
        backgroundNice = pair.background
        // A capable supervisor (always so for a root one: `plan`) raises workers by
        // CAP_SYS_NICE, so they keep no room to raise themselves; an unprivileged one raises
        // them by the same-user rule, which needs their RLIMIT_NICE.
        let rlimit = geteuid() != 0 && !hasNiceCapability() && niceHardLimit() >= pair.rlimit ? pair.rlimit : 0
        return (pair.background, rlimit)
    }

    /// In a worker, once its answer is written: what is left is background work. No-op when off.
    public static func background() {
        guard let backgroundNice else { return }
        _ = setpriority(which, 0, backgroundNice)
    }

    static func niceHardLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(SB_RLIMIT_NICE)), &limit) == 0 else { return 0 }
        return UInt64(limit.rlim_max)
    }

    /// CAP_SYS_NICE in this process's effective set.
    static func hasNiceCapability() -> Bool {
        guard let caps = cap_get_proc() else { return false }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var value = CAP_CLEAR
        guard cap_get_flag(caps, cap_value_t(CAP_SYS_NICE), CAP_EFFECTIVE, &value) == 0 else { return false }
        return value == CAP_SET
    }
}
