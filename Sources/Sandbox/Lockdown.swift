// The worker lockdown: one ordered sequence of named steps, seccomp last.
//
// Threat model: after `lockDown` returns, assume the attacker runs arbitrary x86-64 code in
// this process (a JIT bug). Each step removes something that code could otherwise reach; see
// docs/security-model.md for what each layer stops and what it does not.
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
    /// Whatever the job needs mapped before seccomp (guest reservation, code area, sigaltstack).
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
    /// A descriptor of `/proc` kept by the spawner from before it left the host's filesystem;
    /// the `idMaps` step writes `self/uid_map` and friends through it. -1: use `/proc` by path.
    public var procFD: Int32 = -1
    /// The resource limits (budgets) of one worker.
    public var limits: ResourceLimits = ResourceLimits()
    /// Check that the process is PID 1 of its own PID namespace (the spawner arranges it).
    /// Off only for the self-check, which tests that feature separately.
    public var requirePIDNamespace: Bool = true
    /// The allowlist already compiled to BPF (`Seccomp.compile`, done once by the spawner);
    /// nil builds it with libseccomp in the worker.
    public var precompiledSeccompFilter: [UInt8]? = nil

    public init() {}
}

/// Runs the whole lockdown in order. On success the process holds exactly `config.jobFD`, runs
/// under the seccomp allowlist, and can only compute and talk on its job socket.
///
/// - Parameters:
///   - config: the numbers and names used by the steps.
///   - sourceJobFD: the job socket as inherited from the spawner; renumbered to `config.jobFD`.
///   - prepareJob: runs after every step but seccomp; maps what the job needs (guest address
///     space reservation, JIT code area, alternate signal stack). Returns 0 or an errno.
/// - Throws: `LockdownError` naming the failed step, its errno and a hint for the operator.
///   Nothing is undone on failure: the caller must exit (a half-locked worker is never used).
public func lockDown(
    _ config: LockdownConfig,
    sourceJobFD: Int32,
    prepareJob: () -> Int32 = { 0 }
) throws(LockdownError) {
    var state = LockdownState()
    for step in LockdownStep.allCases {
        try run(step, config, &state, sourceJobFD: sourceJobFD, prepareJob: prepareJob)
    }
}

/// Runs one step. Split out so that the self-check can run a single step (and its
/// prerequisites) in a throwaway child with exactly the production code.
func run(
    _ step: LockdownStep,
    _ config: LockdownConfig,
    _ state: inout LockdownState,
    sourceJobFD: Int32,
    prepareJob: () -> Int32
) throws(LockdownError) {
    switch step {
    case .outsideIdentity: try Namespaces.dropOutsideIdentity(config, &state)
    case .pidNamespace: try Namespaces.checkPIDNamespace(config)
    case .userNamespace: try Namespaces.unshareUser()
    case .idMaps: try Namespaces.writeIDMaps(state, procFD: config.procFD)
    case .mountNamespace: try Namespaces.unshareMount()
    case .ipcNamespace: try Namespaces.unshare(SB_CLONE_NEWIPC, step: .ipcNamespace)
    case .utsNamespace: try Namespaces.unshareUTS(hostname: config.hostname)
    case .cgroupNamespace: try Namespaces.unshare(SB_CLONE_NEWCGROUP, step: .cgroupNamespace)
    case .fileDescriptors: try FileDescriptors.renumberAndCloseOthers(from: sourceJobFD, to: config.jobFD)
    case .rootFilesystem:
        if config.rootPreparedBySpawner {
            try Mounts.verifyEmptyRoot()
        } else {
            try Mounts.pivotIntoEmptyRoot(mountpoint: config.newRootMountpoint)
        }
    case .environment:
        // The spawner is exec'd with an empty environment already (so no secret is even on
        // this stack); clearenv drops whatever the process set since.
        if clearenv() != 0 { throw LockdownError(.environment, errno: currentErrno) }
    case .resourceLimits: try Rlimits.apply(config.limits, jobFD: config.jobFD)
    case .capabilities: try Capabilities.dropAll()
    case .noNewPrivileges:
        if sb_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            throw LockdownError(.noNewPrivileges, errno: currentErrno)
        }
    case .prepareJob:
        let e = prepareJob()
        if e != 0 { throw LockdownError(.prepareJob, errno: e) }
    case .seccomp: try Seccomp.install(jobFD: config.jobFD, precompiled: config.precompiledSeccompFilter)
    }
}
