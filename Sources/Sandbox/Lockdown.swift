// The worker lockdown: one ordered sequence of named steps, seccomp last.
//
// Threat model: after `lockDown` returns, assume the attacker runs arbitrary x86-64 code in
// this process (a JIT bug). Each step removes something that code could otherwise reach; see
// docs/security-model.md for what each layer stops and what it does not.
import CLockdown
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The steps of the lockdown, in the order they run. The raw value is part of the worker's
/// exit-code protocol (a worker whose lockdown fails exits with `100 + rawValue`).
public enum LockdownStep: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// setresgid/setresuid to an unprivileged outside identity (when started as root), then
    /// re-arm PR_SET_PDEATHSIG, which a credential change clears.
    case outsideIdentity = 0
    /// The worker is PID 1 of a fresh PID namespace (the spawner forks it into one).
    case pidNamespace
    /// unshare(CLONE_NEWUSER).
    case userNamespace
    /// setgroups deny, then uid_map and gid_map mapping inside 0 to the outside identity.
    case idMaps
    /// unshare(CLONE_NEWNS), and every mount made private so nothing propagates back.
    case mountNamespace
    /// unshare(SB_CLONE_NEWIPC): no System V IPC or POSIX message queues shared with anyone.
    case ipcNamespace
    /// unshare(CLONE_NEWUTS) and sethostname.
    case utsNamespace
    /// unshare(SB_CLONE_NEWCGROUP): the cgroup tree above the worker is hidden.
    case cgroupNamespace
    /// The job fd renumbered to `LockdownConfig.jobFD`; every other fd closed (close_range).
    case fileDescriptors
    /// An empty read-only tmpfs becomes `/` (pivot_root), the old root is detached.
    case rootFilesystem
    /// The environment is emptied.
    case environment
    /// Resource limits (see Rlimits.swift for the choice of each number).
    case resourceLimits
    /// Securebits locked, bounding and ambient sets cleared, all capabilities dropped (libcap).
    case capabilities
    /// PR_SET_NO_NEW_PRIVS.
    case noNewPrivileges
    /// Whatever the job needs before seccomp (the JIT's fault handler, guest reservation, code
    /// buffer).
    case prepareJob
    /// The seccomp allowlist (libseccomp, default action: kill the process). Always last.
    case seccomp

    public var description: String {
        switch self {
        case .outsideIdentity: "outside identity"
        case .pidNamespace: "PID namespace"
        case .userNamespace: "user namespace"
        case .idMaps: "uid/gid maps"
        case .mountNamespace: "mount namespace"
        case .ipcNamespace: "IPC namespace"
        case .utsNamespace: "UTS namespace"
        case .cgroupNamespace: "cgroup namespace"
        case .fileDescriptors: "file descriptors"
        case .rootFilesystem: "root filesystem (tmpfs + pivot_root)"
        case .environment: "environment"
        case .resourceLimits: "resource limits"
        case .capabilities: "capabilities"
        case .noNewPrivileges: "no_new_privs"
        case .prepareJob: "job preparation"
        case .seccomp: "seccomp filter"
        }
    }
}

/// Everything the lockdown needs to know, decided by the spawner from its command line.
public struct LockdownConfig: Sendable, Equatable {
    /// The fixed number the job socket gets in every worker. 3: the first number after the
    /// standard streams, which the worker closes.
    public var jobFD: Int32 = 3
    /// The hostname inside the worker's UTS namespace.
    public var hostname: String = "alcatraz"
    /// The outside identity a root-started worker drops to before creating its user namespace,
    /// so that inside-root maps to this unprivileged uid/gid (65534, "nobody"). nil keeps the
    /// current identity (a spawner that is not root maps inside-0 to itself).
    public var outsideUID: UInt32? = 65534
    public var outsideGID: UInt32? = 65534
    /// An existing directory the new root tmpfs is mounted on, in the worker's private mount
    /// namespace only (the host never sees it). It must not be the root itself.
    public var newRootMountpoint: String = "/tmp"
    /// Set by the spawner once it has pivoted itself into an empty read-only root (which every
    /// worker it forks inherits): the `rootFilesystem` step then only verifies that root, since
    /// each worker's private mount namespace is a copy of it. Saves a mount, a pivot_root and
    /// the detach of the host's whole mount tree per worker.
    public var rootPreparedBySpawner: Bool = false
    /// Set by a spawner that forks each worker with all its namespaces at once
    /// (`sb_fork_into_namespaces(SB_WORKER_CLONE_FLAGS)`, one clone as the benchmark floor does,
    /// instead of an unshare per namespace in the worker). Only without an identity drop: the
    /// spawner must already be the identity the workers' maps point to.
    public var namespacesCreatedAtFork: Bool = false
    /// A descriptor of `/proc` kept by the spawner from before it left the host's filesystem;
    /// the `idMaps` step writes `self/uid_map` and friends through it. -1: use `/proc` by path.
    public var procFD: Int32 = -1
    /// The resource limits (budgets) of one worker.
    public var limits: ResourceLimits = ResourceLimits()
    /// Set by a spawner that runs spare workers at a background priority (Priority.swift): the
    /// nice value a worker returns to once its answer is written (its allowlist takes exactly
    /// that `setpriority`), and the RLIMIT_NICE it keeps so that the supervisor may raise it
    /// back to the daemon's nice for its job (0 when the supervisor does that by capability).
    public var backgroundNice: Int32? = nil
    public var niceRlimit: UInt64 = 0
    /// Check that the process is PID 1 of its own PID namespace (the spawner arranges it).
    /// Off only for the self-check, which tests that feature separately.
    public var requirePIDNamespace: Bool = true

    public init() {}
}

/// A `LockdownConfig` compiled for the C steps (Sources/CLockdown): every string, the rlimit
/// table and the seccomp program prepared once, so that a forked worker runs the whole lockdown
/// without allocating or touching Swift objects (each page it writes after fork is a
/// copy-on-write fault; see CLockdown/include/lockdown.h). The spawner builds one plan at start
/// and every worker uses it.
public final class LockdownPlan: @unchecked Sendable {
    // @unchecked: immutable after init; the pointers are owned here and freed in deinit.
    public let config: LockdownConfig
    let raw: UnsafeMutablePointer<sb_lockdown_plan>
    private let strings: [UnsafeMutablePointer<CChar>]
    private let program: UnsafeMutableRawPointer?

    /// - Throws: `LockdownError(.seccomp, …)` if the allowlist cannot be compiled,
    ///   `.resourceLimits` if the table is too long.
    public init(_ config: LockdownConfig) throws(LockdownError) {
        self.config = config
        let filter = try Seccomp.compile(jobFD: config.jobFD, backgroundNice: config.backgroundNice)
        let table = Rlimits.table(config.limits, jobFD: config.jobFD, niceRlimit: config.niceRlimit)
        guard table.count <= Int(SB_MAX_RLIMITS) else { throw LockdownError(.resourceLimits, errno: E2BIG) }
        // Last thing that can fail, so nothing allocated below leaks on a throw.
        guard let caps = sb_empty_capabilities() else {
            throw LockdownError(.capabilities, errno: currentErrno)
        }
        let hostname = strdup(config.hostname)!
        let mountpoint = strdup(config.newRootMountpoint)!
        strings = [hostname, mountpoint]
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(1, filter.count), alignment: 8)
        // SAFETY: `copy` holds at least filter.count bytes.
        filter.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: $0.count) } }
        program = copy
        var plan = sb_lockdown_plan()
        plan.job_fd = config.jobFD
        plan.drop_identity = config.outsideUID != nil && config.outsideGID != nil ? 1 : 0
        plan.outside_uid = config.outsideUID ?? 0
        plan.outside_gid = config.outsideGID ?? 0
        plan.require_pid1 = config.requirePIDNamespace ? 1 : 0
        plan.proc_fd = config.procFD
        plan.root_prepared = config.rootPreparedBySpawner ? 1 : 0
        if config.namespacesCreatedAtFork {
            guard plan.drop_identity == 0 else { throw LockdownError(.userNamespace, errno: EINVAL) }
            plan.namespaces_cloned = 1
            plan.outside_uid = getuid()
            plan.outside_gid = getgid()
        }
        plan.new_root_mountpoint = UnsafePointer(mountpoint)
        plan.hostname = UnsafePointer(hostname)
        plan.rlimit_count = Int32(table.count)
        withUnsafeMutableBytes(of: &plan.rlimits) { buffer in
            let entries = buffer.bindMemory(to: sb_rlimit_entry.self)
            for (i, entry) in table.enumerated() {
                entries[i] = sb_rlimit_entry(resource: entry.resource, value: entry.value)
            }
        }
        plan.securebits = Capabilities.lockedSecurebits
        plan.empty_capabilities = caps
        plan.seccomp_program = UnsafeRawPointer(copy)
        plan.seccomp_program_length = filter.count
        raw = .allocate(capacity: 1)
        raw.initialize(to: plan)
    }

    deinit {
        sb_free_capabilities(raw.pointee.empty_capabilities)
        raw.deallocate()
        program?.deallocate()
        for p in strings { free(p) }
    }
}

/// Runs the whole lockdown in order. On success the process holds exactly `config.jobFD`, runs
/// under the seccomp allowlist, and can only compute and talk on its job socket.
///
/// - Parameters:
///   - plan: the configuration, compiled before the fork (`LockdownPlan`).
///   - sourceJobFD: the job socket as inherited from the spawner; renumbered to `config.jobFD`.
///   - prepareJob: runs after every step but seccomp; sets up what the job needs (the JIT's
///     fault handler, guest address space reservation, JIT code buffer). Returns 0 or an errno.
///   - stamps: nil, or room for one CLOCK_MONOTONIC stamp per step (the spawner's step-timing
///     mode): stamps[step] is taken right after that step.
/// - Throws: `LockdownError` naming the failed step, its errno and a hint for the operator.
///   Nothing is undone on failure: the caller must exit (a half-locked worker is never used).
public func lockDown(
    _ plan: LockdownPlan,
    sourceJobFD: Int32,
    prepareJob: () -> Int32 = { 0 },
    stamps: UnsafeMutablePointer<UInt64>? = nil
) throws(LockdownError) {
    var state = sb_lockdown_state()
    var failed: Int32 = 0
    var e = sb_lockdown_run(plan.raw, LockdownStep.outsideIdentity.rawValue, LockdownStep.noNewPrivileges.rawValue,
                            sourceJobFD, &state, &failed, stamps)
    if e != 0 { throw LockdownError(LockdownStep(rawValue: failed) ?? .prepareJob, errno: e) }
    e = prepareJob()
    if e != 0 { throw LockdownError(.prepareJob, errno: e) }
    stamps?[Int(LockdownStep.prepareJob.rawValue)] = StepTiming.now()
    e = sb_lockdown_run(plan.raw, LockdownStep.seccomp.rawValue, LockdownStep.seccomp.rawValue,
                        sourceJobFD, &state, &failed, stamps)
    if e != 0 { throw LockdownError(.seccomp, errno: e) }
}

/// Runs one step (prepareJob's is the caller's: it does nothing here). Split out so that the
/// self-check can run a single step (and its prerequisites) in a throwaway child with exactly
/// the production code.
func run(_ step: LockdownStep, _ plan: LockdownPlan, _ state: inout sb_lockdown_state, sourceJobFD: Int32)
    throws(LockdownError)
{
    let e = sb_lockdown_step(plan.raw, step.rawValue, sourceJobFD, &state)
    if e != 0 { throw LockdownError(step, errno: e) }
}
