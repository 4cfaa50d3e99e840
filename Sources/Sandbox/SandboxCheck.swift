// The kernel self-check behind `alcatraz check-sandbox`: every feature the lockdown needs is
// tried in a throwaway child, with the production step functions (not a re-implementation),
// and reported as ok or as the exact failure: step, errno, and what the operator can do.
import CLockdown
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The kernel features the sandbox depends on.
public enum SandboxFeature: String, CaseIterable, Sendable {
    case userNamespace = "user namespace"
    case mountNamespace = "mount namespace"
    case pidNamespace = "PID namespace"
    case ipcNamespace = "IPC namespace"
    case utsNamespace = "UTS namespace"
    case cgroupNamespace = "cgroup namespace"
    case networkNamespace = "network namespace"
    case pivotRoot = "pivot_root to tmpfs"
    case seccompFilter = "seccomp filter (allowlist)"
    case capabilityDrop = "capability drop (libcap)"
    case noNewPrivs = "no_new_privs"
    case resourceLimits = "rlimits"
    case closeRange = "close_range"
}

/// The result for one feature.
public struct FeatureCheck: Sendable, Equatable {
    public var feature: SandboxFeature
    /// nil when the feature works; otherwise the failing step and its errno.
    public var failure: LockdownError?
    public var ok: Bool { failure == nil }
}

public enum SandboxCheck {
    /// Tries every feature, each in its own child process. Call it from a single-threaded
    /// process (the CLI runs `alcatraz-worker check-sandbox`): the children run Swift code
    /// after fork.
    public static func run(config: LockdownConfig = LockdownConfig()) -> [FeatureCheck] {
        SandboxFeature.allCases.map { FeatureCheck(feature: $0, failure: check($0, config)) }
    }

    /// The table `alcatraz check-sandbox` prints.
    public static func table(_ results: [FeatureCheck]) -> String {
        var out = ""
        for r in results {
            let name = r.feature.rawValue + String(repeating: " ", count: max(0, 28 - r.feature.rawValue.count))
            if let f = r.failure {
                out += "\(name) FAILED at '\(f.step)': \(errnoName(f.errno)) (\(f.errno))\n"
                out += "    hint: \(f.hint)\n"
            } else {
                out += "\(name) ok\n"
            }
        }
        return out
    }

    /// 0 when this kernel can back memory with huge pages on request (MADV_COLLAPSE, what the
    /// spawner uses for its code), else the errno (EINVAL: Linux < 6.1).
    public static var hugePagesAvailable: Int32 { sb_huge_pages_available() }

    /// Kernel features that make workers cheaper but are not required; one line each, after
    /// the table. They never make the check fail.
    public static func optionalFeatures() -> String {
        var out = "optional (faster when present, never required):\n"
        let mdwe = Seccomp.hasMemoryDenyWriteExecute
        out += "memory-deny-write-execute    " + (mdwe ? "ok" : "absent (Linux < 6.3): each job seals executable memory with a second seccomp filter instead, ~50 µs") + "\n"
        let huge = hugePagesAvailable
        out += "huge pages for worker code   " + (huge == 0 ? "ok"
            : huge == EINVAL ? "absent (Linux < 6.1, no MADV_COLLAPSE): workers fault on every code page they run, so spawns cost more"
            : "none free now (\(errnoName(huge))): the spawner keeps its code in 4 KiB pages if this persists at its start") + "\n"
        return out
    }

    /// Runs `feature`'s attempt in a child; returns its failure, or nil.
    static func check(_ feature: SandboxFeature, _ config: LockdownConfig) -> LockdownError? {
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { return LockdownError(.fileDescriptors, errno: currentErrno) }
        let pid = sb_fork()
        if pid == 0 {
            close(pipeFDs[0])
            let failure = attempt(feature, config, reportFD: pipeFDs[1])
            var record: [UInt8] = [failure == nil ? 1 : 0, UInt8(truncatingIfNeeded: failure?.step.rawValue ?? 0)]
            record.appendLE(failure?.errno ?? 0)
            _ = writeAll(pipeFDs[1], record)
            exitImmediately(0)
        }
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        if pid < 0 { return LockdownError(.pidNamespace, errno: currentErrno) }
        let record = readExactly(pipeFDs[0], 6)
        var status: Int32 = 0
        _ = retryingOnEINTR { waitpid(pid, &status, 0) }
        guard let record else {
            // The child died before reporting: a seccomp kill (SIGSYS) during the check means
            // the filter loaded but killed a call the check itself needs.
            return LockdownError(feature == .seccompFilter ? .seccomp : .prepareJob, errno: EIO)
        }
        if record[0] == 1 { return nil }
        return LockdownError(LockdownStep(rawValue: Int32(record[1])) ?? .prepareJob, errno: record.readLE(Int32.self, at: 2))
    }

    /// In the child: the prerequisites and the feature itself, with the production steps.
    static func attempt(_ feature: SandboxFeature, _ config: LockdownConfig, reportFD: Int32) -> LockdownError? {
        var state = sb_lockdown_state()
        var config = config
        config.requirePIDNamespace = false
        let plan: LockdownPlan
        do throws(LockdownError) { plan = try LockdownPlan(config) } catch { return error }
        func steps(_ list: [LockdownStep]) throws(LockdownError) {
            for step in list { try Sandbox.run(step, plan, &state, sourceJobFD: reportFD) }
        }
        let user: [LockdownStep] = [.outsideIdentity, .userNamespace, .idMaps]
        do throws(LockdownError) {
            switch feature {
            case .userNamespace: try steps(user)
            case .mountNamespace: try steps(user + [.mountNamespace])
            case .ipcNamespace: try steps(user + [.ipcNamespace])
            case .utsNamespace: try steps(user + [.utsNamespace])
            case .cgroupNamespace: try steps(user + [.cgroupNamespace])
            case .pivotRoot: try steps(user + [.mountNamespace, .rootFilesystem])
            case .capabilityDrop: try steps(user + [.capabilities])
            case .noNewPrivs: try steps([.noNewPrivileges])
            case .closeRange:
                if sb_close_range(UInt32(reportFD + 1), UInt32.max, 0) != 0 {
                    throw LockdownError(.fileDescriptors, errno: currentErrno)
                }
            case .resourceLimits: try steps([.resourceLimits])
            case .seccompFilter:
                // The real allowlist, with the report pipe standing in for the job socket:
                // the report write below is then exactly a worker's result write.
                var withReportFD = config
                withReportFD.jobFD = reportFD
                let sealed = try LockdownPlan(withReportFD)
                try Sandbox.run(.noNewPrivileges, sealed, &state, sourceJobFD: reportFD)
                try Sandbox.run(.seccomp, sealed, &state, sourceJobFD: reportFD)
            case .networkNamespace:
                if let e = Spawner.enterNetworkNamespace(&config) { throw e }
            case .pidNamespace:
                try pidNamespaceAttempt(plan, &state, reportFD: reportFD)
            }
        } catch {
            return error
        }
        return nil
    }

    /// What the spawner does per worker: unshare(CLONE_NEWPID) (inside a user namespace when
    /// not root), fork, and the child must be PID 1.
    static func pidNamespaceAttempt(_ plan: LockdownPlan, _ state: inout sb_lockdown_state, reportFD: Int32) throws(LockdownError) {
        if geteuid() != 0 {
            for step: LockdownStep in [.outsideIdentity, .userNamespace, .idMaps] {
                try Sandbox.run(step, plan, &state, sourceJobFD: reportFD)
            }
        }
        if sb_unshare(SB_CLONE_NEWPID) != 0 { throw LockdownError(.pidNamespace, errno: currentErrno) }
        let pid = sb_fork()
        if pid == 0 { exitImmediately(getpid() == 1 ? 0 : 1) }
        if pid < 0 { throw LockdownError(.pidNamespace, errno: currentErrno) }
        var status: Int32 = 0
        _ = retryingOnEINTR { waitpid(pid, &status, 0) }
        if status != 0 { throw LockdownError(.pidNamespace, errno: EINVAL) }
    }
}
