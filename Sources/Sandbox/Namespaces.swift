// Namespaces: who the worker is (user namespace, uid/gid maps) and what it can see (PID,
// mount, IPC, UTS, cgroup). The network namespace is not here: the spawner unshares it once and
// every worker inherits it (a fresh one per worker costs ~0.8 ms against ~0.25 ms here).
import CShims
#if canImport(Glibc)
import Glibc
#endif

enum Namespaces {
    /// Step `outsideIdentity`. A worker forked by a root spawner first becomes nobody
    /// (65534) in the initial user namespace, then creates its user namespace: inside it is
    /// root (with capabilities only over its own namespaces), outside it is an unprivileged
    /// uid owning no file. If every layer above failed, the attacker would still be nobody.
    static func dropOutsideIdentity(_ config: LockdownConfig, _ state: inout LockdownState) throws(LockdownError) {
        state.outsideUID = getuid()
        state.outsideGID = getgid()
        if geteuid() == 0, let uid = config.outsideUID, let gid = config.outsideGID {
            // Supplementary groups first: after setresuid we could not drop root's groups.
            guard setgroups(0, nil) == 0,
                  sb_setresgid(gid, gid, gid) == 0,
                  sb_setresuid(uid, uid, uid) == 0
            else { throw LockdownError(.outsideIdentity, errno: currentErrno) }
            state.outsideUID = uid
            state.outsideGID = gid
        }
        // War story: a uid change resets the "dumpable" flag to fs.suid_dumpable (0), which
        // makes /proc/self/* owned by global root; nobody then gets EACCES opening its own
        // uid_map. Dumpable again until the maps are written (idMaps turns it off).
        // Second war story: a credential change also clears PR_SET_PDEATHSIG, so it is armed
        // here, after the switch, not before: a worker must die with its spawner.
        guard sb_prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0,
              sb_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0) == 0
        else { throw LockdownError(.outsideIdentity, errno: currentErrno) }
    }

    /// Step `pidNamespace`: the spawner forked us as PID 1 of a new PID namespace (see
    /// Spawner.swift); check it rather than trust it. Being PID 1 has a consequence the outcome
    /// classifier knows about: signals with a default action sent by the kernel without force
    /// (SIGXCPU at RLIMIT_CPU's soft limit) are ignored by a namespace init, so a CPU limit ends
    /// in the hard limit's SIGKILL.
    static func checkPIDNamespace(_ config: LockdownConfig) throws(LockdownError) {
        if config.requirePIDNamespace && getpid() != 1 {
            throw LockdownError(.pidNamespace, errno: EINVAL)
        }
    }

    /// Step `userNamespace`.
    static func unshareUser() throws(LockdownError) {
        if sb_unshare(SB_CLONE_NEWUSER) != 0 { throw LockdownError(.userNamespace, errno: currentErrno) }
    }

    /// Step `idMaps`: inside 0 maps to the outside identity, one id each, nothing else. The
    /// process writes its own maps, so the kernel only allows mapping its own euid/egid, and
    /// the gid map only after setgroups is denied (otherwise an unprivileged user could drop a
    /// group used in a deny-ACL).
    /// - Parameter procFD: a descriptor of `/proc` to open the files through (a worker whose root
    ///   is already empty), or -1 to open them by path.
    static func writeIDMaps(_ state: LockdownState, procFD: Int32 = -1) throws(LockdownError) {
        let files: [(String, String)] = [
            ("self/setgroups", "deny"),
            ("self/uid_map", "0 \(state.outsideUID) 1\n"),
            ("self/gid_map", "0 \(state.outsideGID) 1\n"),
        ]
        for (path, text) in files {
            let fd = retryingOnEINTR {
                procFD >= 0 ? openat(procFD, path, O_WRONLY | O_CLOEXEC) : open("/proc/" + path, O_WRONLY | O_CLOEXEC)
            }
            if fd < 0 { throw LockdownError(.idMaps, errno: currentErrno) }
            let e = writeAll(fd, Array(text.utf8))
            close(fd)
            if e != 0 { throw LockdownError(.idMaps, errno: e) }
        }
        // Maps written: nothing outside needs to open our /proc files any more, and a
        // non-dumpable process cannot be ptrace-attached by other processes of the same uid.
        if sb_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 { throw LockdownError(.idMaps, errno: currentErrno) }
    }

    /// Step `mountNamespace`: a private copy of the mount table, recursively made private so
    /// that the tmpfs and pivot_root that follow never propagate to the host (and pivot_root
    /// requires the parent mounts not to be shared anyway).
    static func unshareMount() throws(LockdownError) {
        guard sb_unshare(SB_CLONE_NEWNS) == 0,
              mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0
        else { throw LockdownError(.mountNamespace, errno: currentErrno) }
    }

    /// Step `utsNamespace`: a private hostname, so the real one is not even readable.
    static func unshareUTS(hostname: String) throws(LockdownError) {
        if sb_unshare(SB_CLONE_NEWUTS) != 0 { throw LockdownError(.utsNamespace, errno: currentErrno) }
        let bytes = Array(hostname.utf8)
        if sethostname(bytes, bytes.count) != 0 { throw LockdownError(.utsNamespace, errno: currentErrno) }
    }

    /// Steps `ipcNamespace` and `cgroupNamespace`: a plain unshare each.
    static func unshare(_ flag: Int32, step: LockdownStep) throws(LockdownError) {
        if sb_unshare(flag) != 0 { throw LockdownError(step, errno: currentErrno) }
    }
}

/// What one step learns and a later one needs (the outside ids, read before the user
/// namespace hides them behind the overflow id).
struct LockdownState {
    var outsideUID: UInt32 = 0
    var outsideGID: UInt32 = 0
}
