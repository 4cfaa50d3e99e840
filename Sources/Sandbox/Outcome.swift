// How a worker ended, decided on the parent side from what the kernel reports (the wait
// status and resource usage the spawner collected) and what the supervisor itself did (a kill
// for the wall-clock timeout). Causes are never collapsed into one "failed":
//   SIGSYS                                  -> seccompViolation (the filter's kill)
//   SIGXCPU, or SIGKILL with CPU ~>= limit  -> cpuLimit (RLIMIT_CPU; see cpuLimitThreshold)
//   SIGKILL we sent through the pidfd       -> timedOut
//   exit code 99                            -> memoryLimit (the worker's own claim; see below)
//   exit code 100 + step                    -> lockdownFailed(step)
//   other signals                           -> killedBySignal (a crash: SIGSEGV, SIGILL, ...)
//   other exit codes                        -> exited(code)
// Trust: signals and resource usage come from the kernel and cannot be forged by the worker.
// Exit codes are the worker's word; a compromised worker can pick any of them, so an exit
// code can only ever make the worker's *own* job fail, which it could do anyway.
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel said about one worker's end, as the spawner reports it.
public struct WorkerExitReport: Sendable, Equatable {
    public var workerID: UInt32
    /// The pid in the supervisor's PID namespace (the worker is PID 1 in its own).
    public var pid: Int32
    /// The raw status of wait4(2).
    public var waitStatus: Int32
    /// User + system CPU time (wait4's rusage), microseconds.
    public var cpuMicroseconds: UInt64
    /// Peak resident set, KiB (wait4's rusage).
    public var maxRSSKiB: UInt64

    public init(workerID: UInt32, pid: Int32, waitStatus: Int32, cpuMicroseconds: UInt64, maxRSSKiB: UInt64) {
        self.workerID = workerID
        self.pid = pid
        self.waitStatus = waitStatus
        self.cpuMicroseconds = cpuMicroseconds
        self.maxRSSKiB = maxRSSKiB
    }

    /// The terminating signal, or nil if the worker exited.
    public var terminatingSignal: Int32? { waitStatus & 0x7f == 0 ? nil : waitStatus & 0x7f }
    /// The exit code, or nil if the worker was killed by a signal.
    public var exitCode: Int32? { waitStatus & 0x7f == 0 ? (waitStatus >> 8) & 0xff : nil }
}

/// Exit codes with a meaning in the worker protocol.
public enum WorkerExitCode {
    /// The worker ran out of its memory budget (an mmap/mprotect/brk returned ENOMEM).
    public static let memoryLimit: Int32 = 99
    /// `lockdownFailedBase + step.rawValue`: the lockdown failed at that step.
    public static let lockdownFailedBase: Int32 = 100
}

/// How a worker ended.
public enum WorkerOutcome: Sendable, Equatable {
    /// Normal exit with this code (0 = the job's result was written).
    case exited(code: Int32)
    /// Killed by the seccomp filter. The number of the refused call is not in the wait status
    /// (the kernel logs it as an audit record, type 1326); nil unless known.
    case seccompViolation(syscall: Int32?)
    /// RLIMIT_CPU reached.
    case cpuLimit
    /// The memory budget (RLIMIT_DATA/RLIMIT_AS) was exhausted, as reported by the worker.
    case memoryLimit
    /// Killed by a signal nobody in the sandbox asked for: a crash (SIGSEGV, SIGILL, SIGBUS...)
    /// or an outside kill (e.g. the OOM killer's SIGKILL).
    case killedBySignal(Int32)
    /// The supervisor killed it for exceeding the wall-clock timeout.
    case timedOut
    /// The lockdown failed at `step`; errno when the worker could report it.
    case lockdownFailed(step: LockdownStep, errno: Int32?)
    /// The spawner or the worker broke the protocol.
    case protocolError(String)

    /// Classifies one report.
    /// - Parameters:
    ///   - report: the spawner's report of the wait status and resource usage.
    ///   - limits: the limits the worker ran under (for the CPU-time comparison).
    ///   - killedBySupervisor: the supervisor sent SIGKILL (wall-clock timeout) before the end.
    ///   - lockdownErrno: the errno in the worker's lockdown-failure record, if it sent one.
    public static func classify(
        _ report: WorkerExitReport,
        limits: ResourceLimits,
        killedBySupervisor: Bool,
        lockdownErrno: Int32? = nil
    ) -> WorkerOutcome {
        if let signal = report.terminatingSignal {
            if killedBySupervisor && signal == SIGKILL { return .timedOut }
            switch signal {
            case SIGSYS: return .seccompViolation(syscall: nil)
            case SIGXCPU: return .cpuLimit
            case SIGKILL where report.cpuMicroseconds >= cpuLimitThreshold(limits):
                // A PID-namespace init ignores the soft limit's SIGXCPU; the hard limit's
                // SIGKILL arrives on the first scheduler tick past the limit.
                return .cpuLimit
            default: return .killedBySignal(signal)
            }
        }
        let code = report.exitCode ?? 0
        if code == WorkerExitCode.memoryLimit { return .memoryLimit }
        let stepIndex = code - WorkerExitCode.lockdownFailedBase
        if let step = LockdownStep(rawValue: stepIndex) {
            return .lockdownFailed(step: step, errno: lockdownErrno)
        }
        return .exited(code: code)
    }

    /// The CPU time at or above which a SIGKILL is the CPU limit's: 85% of the limit.
    /// War story: the kernel checks RLIMIT_CPU against the tick-sampled user+system time,
    /// which under contention runs ahead of the precise runtime that wait4's rusage reports
    /// (seen here: killed at the 1 s limit with rusage saying 0.987 s on a loaded 2-core box,
    /// and 0.921 s with both cores busy with a fuzz run; 95% was the threshold until then).
    /// An outside SIGKILL (OOM killer) landing within the last 15% of the budget would be
    /// called a CPU limit: an error either way (`timedOut` instead of `workerDied`), never a
    /// verdict. A SIGKILL the supervisor sent is always `timedOut`.
    static func cpuLimitThreshold(_ limits: ResourceLimits) -> UInt64 {
        limits.cpuSeconds * 850_000
    }
}
