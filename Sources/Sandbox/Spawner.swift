// The spawner ("template") process: started once by the supervisor (posix_spawn of the
// worker executable, see SpawnerClient.swift), single-threaded, it forks one worker per
// request. fork() here is safe (no other thread can hold a lock in the child) and cheap
// (~0.2 ms), while the multi-threaded supervisor must never fork and keep running Swift.
//
// Exit statuses: only a parent can wait for a child, and the spawner is the workers' parent.
// It reaps them (SIGCHLD through a signalfd, wait4 with rusage) and reports (worker id, wait
// status, CPU time, max RSS) on the control socket. Considered and rejected: CLONE_PARENT
// (workers would become children of the supervisor, whose runtime and libraries may reap or
// ignore SIGCHLD behind our back, e.g. a Foundation Process or SIGCHLD=SIG_IGN), and waiting
// on pidfds (waitid(P_PIDFD) also only works for one's own children). The supervisor gets a
// pidfd for each worker anyway, to kill it for a wall-clock timeout without pid-reuse races.
import CLockdown
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// What a worker executable runs: `warmUp` once in the spawner before the first fork (what it
/// leaves in memory, every worker inherits), `prepare` after every lockdown step but seccomp,
/// `main` after seccomp, with the job socket's fixed number. `main`'s result is the exit code.
public struct WorkerProgram {
    public var warmUp: () -> Void
    public var prepare: () -> Int32
    public var main: (_ jobFD: Int32) -> Int32

    public init(warmUp: @escaping () -> Void = {}, prepare: @escaping () -> Int32 = { 0 },
                main: @escaping (_ jobFD: Int32) -> Int32) {
        self.warmUp = warmUp
        self.prepare = prepare
        self.main = main
    }
}

public enum Spawner {
    /// The descriptor the spawner finds its control socket on (SpawnerClient puts it there).
    public static let controlFD: Int32 = 3

    /// Runs the spawner in this process; returns only when the supervisor hangs up.
    /// - Parameters:
    ///   - arguments: the words after the mode on the command line (`ResourceLimits.arguments`).
    ///   - program: what each worker runs once locked down.
    /// - Returns: the process exit code.
    public static func run(arguments: [String], program: WorkerProgram) -> Int32 {
        var config = LockdownConfig()
        config.limits = ResourceLimits(arguments: arguments)
        // Before the identity drop, which would take the capability this decision looks at.
        (config.backgroundNice, config.niceRlimit) = WorkerPriority.enterBackground(increment: config.limits.backgroundNice)
        if let e = prepareSpawner(&config) {
            report("spawner setup failed: \(errnoName(e.errno)): \(e.hint)")
            return 2
        }
        // Every signal disposition back to default, once, here rather than in every worker
        // (62 sigaction calls each): the Swift runtime's crash handlers must not run in a worker
        // (see sb_reset_signals). Workers inherit the dispositions; SIGPIPE stays ignored.
        _ = sb_reset_signals()
        signal(SIGPIPE, SIG_IGN)
        // After the reset: a handler the warm-up installs (the JIT's) then sits on default
        // dispositions, as a worker's own preparation would leave it.
        program.warmUp()
        // Workers fork from here: give them the code without a page fault per 4 KiB page
        // (see sb_move_text_to_huge_pages). Best effort: without huge pages nothing changes.
        let moved = sb_move_text_to_huge_pages()
        if moved < 0 {
            report("code not moved into huge pages (\(errnoName(Int32(-moved)))): workers will fault on each code page; see check-sandbox")
        }
        if let e = leaveHostFilesystem(&config) {
            report("spawner setup failed: \(e)")
            return 2
        }
        let signals = sb_sigchld_signalfd()
        guard signals >= 0 else {
            report("spawner setup failed: \(errnoName(currentErrno))")
            return 2
        }
        // The whole configuration compiled once (strings, rlimit table, the seccomp allowlist as
        // BPF): each worker runs the lockdown from it without allocating (LockdownPlan).
        let plan: LockdownPlan
        do throws(LockdownError) {
            plan = try LockdownPlan(config)
        } catch {
            report("cannot prepare the lockdown: \(error)")
            return 2
        }
        var state = SpawnerState(plan: plan, program: program)
        if arguments.contains("step-timing") {
            state.timing = StepTiming()
            if state.timing == nil { report("step timing: mmap failed") }
        }
        var fds = [pollfd(fd: controlFD, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        while true {
            let n = retryingOnEINTR { poll(&fds, nfds_t(fds.count), -1) }
            if n < 0 { report("poll: \(errnoName(currentErrno))"); break }
            if fds[1].revents != 0 { drainSignalfd(signals); state.reapAndReport() }
            if fds[0].revents != 0 {
                guard state.serveOneRequest() else { break }
            }
        }
        // The supervisor hung up: no one will ever use or wait for the workers.
        for pid in state.live.keys { kill(pid, SIGKILL) }
        if let timing = state.timing { _ = writeAll(2, Array(timing.report().utf8)) }
        return 0
    }

    /// Spawner-wide setup: only its control socket (and stdio for diagnostics) stays open; it
    /// dies with the supervisor; it enters the one network namespace every worker shares.
    static func prepareSpawner(_ config: inout LockdownConfig) -> LockdownError? {
        if fcntl(controlFD, F_GETFD) < 0 { return LockdownError(.fileDescriptors, errno: currentErrno) }
        if sb_close_range(UInt32(controlFD + 1), UInt32.max, 0) != 0 {
            return LockdownError(.fileDescriptors, errno: currentErrno)
        }
        if sb_prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0) != 0 || getppid() == 1 {
            return LockdownError(.outsideIdentity, errno: ESRCH)
        }
        signal(SIGPIPE, SIG_IGN)
        return enterNetworkNamespace(&config)
    }

    /// An empty network namespace (only a loopback interface, down) for all workers, inside a
    /// user namespace of the spawner's own. A root spawner first becomes the unprivileged outside
    /// identity (65534): its user namespace maps inside-0 to nobody, so the spawner itself holds
    /// no privilege on the host, and its workers, nested one user namespace further, are nobody
    /// on the host without changing credentials each (a setresuid/setresgid/setgroups per worker
    /// cost ~45 µs of the fork-to-ready time here). An unprivileged spawner maps its own ids.
    static func enterNetworkNamespace(_ config: inout LockdownConfig) -> LockdownError? {
        var (uid, gid) = (getuid(), getgid())
        if geteuid() == 0, let outsideUID = config.outsideUID, let outsideGID = config.outsideGID {
            let e = sb_become(outsideUID, outsideGID)
            if e != 0 { return LockdownError(.outsideIdentity, errno: e) }
            // The death signal was re-armed after the switch; the supervisor may have died before.
            if getppid() == 1 { return LockdownError(.outsideIdentity, errno: ESRCH) }
            (uid, gid) = (outsideUID, outsideGID)
        }
        if sb_unshare(SB_CLONE_NEWUSER | SB_CLONE_NEWNET) != 0 {
            return LockdownError(.userNamespace, errno: currentErrno)
        }
        let e = sb_write_id_maps(-1, uid, gid)
        if e != 0 { return LockdownError(.idMaps, errno: e) }
        // Not dumpable: no other process of the same uid (nobody) may ptrace the spawner.
        // Each worker turns it on for itself until its own maps are written.
        if sb_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 { return LockdownError(.idMaps, errno: currentErrno) }
        config.outsideUID = nil
        config.outsideGID = nil
        return nil
    }

    /// The spawner needs nothing from the filesystem once it runs: it moves itself into a mount
    /// namespace whose root is an empty read-only tmpfs, as every worker would anyway. Workers
    /// then inherit that root (their own mount namespaces copy a one-entry mount table instead
    /// of the host's), and the spawner itself, should it ever be attacked, sees no files either.
    /// It keeps one descriptor of /proc, for the workers' uid/gid maps.
    static func leaveHostFilesystem(_ config: inout LockdownConfig) -> LockdownError? {
        let proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if proc < 0 { return LockdownError(.idMaps, errno: currentErrno) }
        var e = sb_unshare_mount_private()
        if e != 0 { close(proc); return LockdownError(.mountNamespace, errno: e) }
        e = sb_pivot_into_empty_root(config.newRootMountpoint)
        if e != 0 { close(proc); return LockdownError(.rootFilesystem, errno: e) }
        config.procFD = proc
        config.rootPreparedBySpawner = true
        // The spawner is its workers' outside identity now (enterNetworkNamespace), so each
        // worker can be forked with all of its namespaces in one clone.
        config.namespacesCreatedAtFork = config.outsideUID == nil
        return nil
    }

    static func drainSignalfd(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 128 * 8)
        // SAFETY: read writes at most `count` bytes into the buffer, inside the closure.
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress!, $0.count) }) > 0 {}
    }

    static func report(_ message: String) {
        _ = writeAll(2, Array("alcatraz spawner: \(message)\n".utf8))
    }
}

/// The spawner's bookkeeping: live workers by pid, and the next worker id.
struct SpawnerState {
    let plan: LockdownPlan
    var config: LockdownConfig { plan.config }
    let program: WorkerProgram
    var live: [pid_t: UInt32] = [:]
    var nextID: UInt32 = 1
    /// Set in the step-timing mode only (see StepTiming.swift).
    var timing: StepTiming? = nil

    /// Reads one request; returns false when the supervisor hung up.
    mutating func serveOneRequest() -> Bool {
        var buffer = [UInt8](repeating: 0, count: ControlMessage.size)
        var fds: [Int32] = [-1, -1, -1, -1]
        var nfds: Int32 = 0
        // SAFETY: recvmsg writes at most `count` bytes and at most 4 fds into arrays of that size.
        let n = retryingOnEINTR {
            buffer.withUnsafeMutableBytes { sb_recv_with_fds(Spawner.controlFD, $0.baseAddress, $0.count, &fds, 4, &nfds) }
        }
        // A request carries exactly one descriptor: the worker's end of its job socket.
        let jobFD = nfds >= 1 ? fds[0] : -1
        for i in 1..<max(1, Int(nfds)) { close(fds[i]) }
        if n <= 0 {
            if jobFD >= 0 { close(jobFD) }
            return false
        }
        guard ControlMessage(bytes: Array(buffer[0..<n])) == .spawnRequest else {
            if jobFD >= 0 { close(jobFD) }
            Spawner.report("unexpected control record ignored")
            return true
        }
        guard jobFD >= 0 else {
            send(.spawnFailed(errno: EBADF), fds: [])
            return true
        }
        timing?.stamp(nextID, 0)
        spawnWorker(jobFD: jobFD)
        return true
    }

    /// Forks a worker on `jobFD` (the worker's end of the job socket the supervisor made and
    /// sent with the request: the supervisor already holds the other end, so it can wait for
    /// "ready" without first waiting for this spawner's answer). Closes `jobFD` here.
    mutating func spawnWorker(jobFD: Int32) {
        // The child is PID 1 of a new PID namespace. War story: the first version used
        // unshare(CLONE_NEWPID) + fork + setns back to the spawner's own PID namespace (a second
        // unshare fails with EINVAL while the first is pending), but that setns needs
        // CAP_SYS_ADMIN over the *initial* PID namespace, which an unprivileged spawner (the
        // systemd unit runs as user alcatraz) does not have. clone(CLONE_NEWPID) with fork
        // semantics needs no way back. Since the spawner is its workers' outside identity
        // (enterNetworkNamespace), the same clone creates the user, mount, IPC, UTS and cgroup
        // namespaces too (one system call, like the benchmark floor, instead of an unshare per
        // namespace in the worker); the steps of the lockdown then do only what follows each.
        timing?.stamp(nextID, 1)
        let pid = config.namespacesCreatedAtFork
            ? sb_fork_into_namespaces(SB_WORKER_CLONE_FLAGS) : sb_fork_into_namespaces(SB_CLONE_NEWPID)
        if pid == 0 { runWorker(jobFD: jobFD) }
        let forkErrno = currentErrno
        timing?.stamp(nextID, 2)
        close(jobFD)
        guard pid > 0 else {
            return send(.spawnFailed(errno: forkErrno), fds: [])
        }
        let id = nextID
        nextID &+= 1
        live[pid] = id
        let pidfd = sb_pidfd_open(pid, 0)
        send(.spawned(workerID: id, pid: pid), fds: pidfd >= 0 ? [pidfd] : [])
        timing?.stamp(id, 3)
        if pidfd >= 0 { close(pidfd) }
    }

    /// In the child: lock down, say ready, run the program, exit. Never returns.
    func runWorker(jobFD: Int32) -> Never {
        // Dispositions were reset once in the spawner (see Spawner.run); only the mask and the
        // alternate stack remain to clear (the spawner blocks SIGCHLD for its signalfd).
        let id = nextID
        timing?.stamp(id, StepTiming.childStart)
        _ = sb_unblock_signals()
        do throws(LockdownError) {
            try lockDown(plan, sourceJobFD: jobFD, prepareJob: program.prepare,
                         stamps: timing.map { $0.slot(id) + StepTiming.firstStep })
        } catch {
            // Which number the job socket has depends on how far the lockdown got.
            let fd = error.step.rawValue > LockdownStep.fileDescriptors.rawValue ? config.jobFD : jobFD
            _ = writeAll(fd, WorkerHello.failureRecord(error))
            exitImmediately(WorkerExitCode.lockdownFailedBase + error.step.rawValue)
        }
        timing?.stamp(id, StepTiming.readyIndex)
        _ = writeAll(config.jobFD, [WorkerHello.ready])
        exitImmediately(program.main(config.jobFD))
    }

    mutating func reapAndReport() {
        while true {
            var status: Int32 = 0
            var usage = rusage()
            let pid = retryingOnEINTR { wait4(-1, &status, WNOHANG, &usage) }
            if pid <= 0 { return }
            guard let id = live.removeValue(forKey: pid) else { continue }
            timing?.collect(id)
            let cpu = UInt64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000
                + UInt64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
            send(.exited(WorkerExitReport(workerID: id, pid: pid, waitStatus: status,
                                          cpuMicroseconds: cpu, maxRSSKiB: UInt64(usage.ru_maxrss))), fds: [])
        }
    }

    func send(_ message: ControlMessage, fds: [Int32]) {
        let bytes = message.bytes
        // SAFETY: sendmsg reads `count` bytes and `fds.count` descriptors, both in bounds.
        let n = retryingOnEINTR {
            bytes.withUnsafeBytes { sb_send_with_fds(Spawner.controlFD, $0.baseAddress, $0.count, fds, Int32(fds.count)) }
        }
        if n < 0 { Spawner.report("control send: \(errnoName(currentErrno))") }
    }
}
