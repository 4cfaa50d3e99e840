// One error enum for the lockdown: one case per step, each carrying the errno of the failing
// system call and a hint the operator can act on (Firecracker style).
#if canImport(Glibc)
import Glibc
#endif

/// A lockdown step failed. The worker that sees it must exit; the supervisor shows it as is.
public enum LockdownError: Error, Equatable, Sendable, CustomStringConvertible {
    case outsideIdentity(errno: Int32, hint: String)
    case pidNamespace(errno: Int32, hint: String)
    case userNamespace(errno: Int32, hint: String)
    case idMaps(errno: Int32, hint: String)
    case mountNamespace(errno: Int32, hint: String)
    case ipcNamespace(errno: Int32, hint: String)
    case utsNamespace(errno: Int32, hint: String)
    case cgroupNamespace(errno: Int32, hint: String)
    case fileDescriptors(errno: Int32, hint: String)
    case rootFilesystem(errno: Int32, hint: String)
    case environment(errno: Int32, hint: String)
    case resourceLimits(errno: Int32, hint: String)
    case capabilities(errno: Int32, hint: String)
    case noNewPrivileges(errno: Int32, hint: String)
    case prepareJob(errno: Int32, hint: String)
    case seccomp(errno: Int32, hint: String)

    /// Builds the case of `step` with the hint for (`step`, `errno`).
    public init(_ step: LockdownStep, errno: Int32) {
        let hint = LockdownError.hint(for: step, errno: errno)
        switch step {
        case .outsideIdentity: self = .outsideIdentity(errno: errno, hint: hint)
        case .pidNamespace: self = .pidNamespace(errno: errno, hint: hint)
        case .userNamespace: self = .userNamespace(errno: errno, hint: hint)
        case .idMaps: self = .idMaps(errno: errno, hint: hint)
        case .mountNamespace: self = .mountNamespace(errno: errno, hint: hint)
        case .ipcNamespace: self = .ipcNamespace(errno: errno, hint: hint)
        case .utsNamespace: self = .utsNamespace(errno: errno, hint: hint)
        case .cgroupNamespace: self = .cgroupNamespace(errno: errno, hint: hint)
        case .fileDescriptors: self = .fileDescriptors(errno: errno, hint: hint)
        case .rootFilesystem: self = .rootFilesystem(errno: errno, hint: hint)
        case .environment: self = .environment(errno: errno, hint: hint)
        case .resourceLimits: self = .resourceLimits(errno: errno, hint: hint)
        case .capabilities: self = .capabilities(errno: errno, hint: hint)
        case .noNewPrivileges: self = .noNewPrivileges(errno: errno, hint: hint)
        case .prepareJob: self = .prepareJob(errno: errno, hint: hint)
        case .seccomp: self = .seccomp(errno: errno, hint: hint)
        }
    }

    public var step: LockdownStep { parts.step }
    public var errno: Int32 { parts.errno }
    public var hint: String { parts.hint }

    private var parts: (step: LockdownStep, errno: Int32, hint: String) {
        switch self {
        case let .outsideIdentity(e, h): (.outsideIdentity, e, h)
        case let .pidNamespace(e, h): (.pidNamespace, e, h)
        case let .userNamespace(e, h): (.userNamespace, e, h)
        case let .idMaps(e, h): (.idMaps, e, h)
        case let .mountNamespace(e, h): (.mountNamespace, e, h)
        case let .ipcNamespace(e, h): (.ipcNamespace, e, h)
        case let .utsNamespace(e, h): (.utsNamespace, e, h)
        case let .cgroupNamespace(e, h): (.cgroupNamespace, e, h)
        case let .fileDescriptors(e, h): (.fileDescriptors, e, h)
        case let .rootFilesystem(e, h): (.rootFilesystem, e, h)
        case let .environment(e, h): (.environment, e, h)
        case let .resourceLimits(e, h): (.resourceLimits, e, h)
        case let .capabilities(e, h): (.capabilities, e, h)
        case let .noNewPrivileges(e, h): (.noNewPrivileges, e, h)
        case let .prepareJob(e, h): (.prepareJob, e, h)
        case let .seccomp(e, h): (.seccomp, e, h)
        }
    }

    public var description: String {
        "lockdown step '\(step)' failed: \(errnoName(errno)) (\(errno)). Hint: \(hint)"
    }

    /// Docker's default seccomp profile refuses unshare/clone of namespaces, mount and
    /// pivot_root with EPERM; the same advice applies to every namespace step.
    static let containerAdvice =
        "inside Docker/Podman run with --security-opt seccomp=unconfined (the default profile " +
        "refuses namespace creation), or --privileged; in Kubernetes allow it in the pod's securityContext"

    static let userNamespaceAdvice =
        "user namespaces are unavailable: check sysctl user.max_user_namespaces (must be > 0; " +
        "ENOSPC when 0 or exhausted), kernel.unprivileged_userns_clone=1 (Debian/Ubuntu kernels), " +
        "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 23.10+ AppArmor); " + containerAdvice

    /// The operator hint for a failure of `step` with `errno`.
    public static func hint(for step: LockdownStep, errno e: Int32) -> String {
        switch (step, e) {
        case (.outsideIdentity, EPERM):
            return "cannot switch to the unprivileged outside uid/gid: start the spawner as root, or set outsideUID/outsideGID to nil"
        case (.outsideIdentity, _):
            return "setresuid/setresgid or prctl(PR_SET_PDEATHSIG) failed"
        case (.pidNamespace, _):
            return "the worker is not PID 1 of its own PID namespace: it must be forked by the spawner, " +
                "which needs CAP_SYS_ADMIN (root) or a user namespace for unshare(CLONE_NEWPID); " + containerAdvice
        case (.userNamespace, _):
            return userNamespaceAdvice
        case (.idMaps, _):
            return "writing /proc/self/{setgroups,uid_map,gid_map} failed: /proc must be mounted and the " +
                "outside uid/gid must be the worker's own (AppArmor may refuse it: " +
                "kernel.apparmor_restrict_unprivileged_userns=0)"
        case (.mountNamespace, _), (.ipcNamespace, _), (.utsNamespace, _), (.cgroupNamespace, _):
            return (e == EINVAL ? "the kernel lacks this namespace type (CONFIG_*_NS); " : "") + containerAdvice
        case (.fileDescriptors, ENOSYS):
            return "close_range(2) needs Linux 5.9 or later"
        case (.fileDescriptors, _):
            return "dup2/close_range of the job socket failed; is the inherited job fd valid?"
        case (.rootFilesystem, EINVAL):
            return "pivot_root refused: the current root may be the initramfs rootfs (boot with a real " +
                "root filesystem, or run inside a container whose root was pivoted), or the mountpoint " +
                "is the root itself"
        case (.rootFilesystem, ENOENT):
            return "the new-root mountpoint does not exist on this host; set LockdownConfig.newRootMountpoint"
        case (.rootFilesystem, _):
            return "mounting the empty tmpfs or pivot_root failed; " + containerAdvice
        case (.environment, _):
            return "clearenv failed"
        case (.resourceLimits, EPERM):
            return "a limit above the current hard limit was requested: lower the budget or raise the " +
                "supervisor's hard limits (ulimit -H, systemd LimitAS=/LimitDATA=/LimitCPU=)"
        case (.resourceLimits, _):
            return "setrlimit failed"
        case (.capabilities, _):
            return "dropping capabilities or locking securebits failed (needs CAP_SETPCAP inside the user namespace)"
        case (.noNewPrivileges, _):
            return "prctl(PR_SET_NO_NEW_PRIVS) failed (Linux 3.5 or later)"
        case (.prepareJob, ENOMEM):
            return "mapping the job's memory failed: the address-space limit is below the guest reservation; raise ResourceLimits.guestReservationBytes/addressSpaceSlackBytes"
        case (.prepareJob, _):
            return "mapping the job's memory before seccomp failed"
        case (.seccomp, EINVAL):
            return "the kernel refused the filter: it needs CONFIG_SECCOMP_FILTER and SECCOMP_RET_KILL_PROCESS (Linux 4.14)"
        case (.seccomp, EACCES):
            return "seccomp needs no_new_privs or CAP_SYS_ADMIN"
        case (.seccomp, _):
            return "building or loading the libseccomp filter failed (libseccomp 2.4 or later)"
        }
    }
}

/// The symbolic name of an errno value, for messages (strerror would need locale files).
public func errnoName(_ e: Int32) -> String {
    switch e {
    case EPERM: "EPERM"
    case ENOENT: "ENOENT"
    case ESRCH: "ESRCH"
    case EINTR: "EINTR"
    case EIO: "EIO"
    case EBADF: "EBADF"
    case EAGAIN: "EAGAIN"
    case ENOMEM: "ENOMEM"
    case EACCES: "EACCES"
    case EFAULT: "EFAULT"
    case EBUSY: "EBUSY"
    case EEXIST: "EEXIST"
    case ENOTDIR: "ENOTDIR"
    case EINVAL: "EINVAL"
    case EMFILE: "EMFILE"
    case ENOSPC: "ENOSPC"
    case EROFS: "EROFS"
    case EPIPE: "EPIPE"
    case ENOSYS: "ENOSYS"
    case EUSERS: "EUSERS"
    case EOPNOTSUPP: "EOPNOTSUPP"
    default: "errno \(e)"
    }
}
