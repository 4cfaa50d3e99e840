// The supervisor's side of the spawner: start it, ask for workers, learn how they ended, kill
// them on a wall-clock timeout. Blocking calls on one control socket; the supervisor can also
// watch `controlFD` in its event loop and call `receiveEvent()` when it is readable.
// Not thread-safe: one owner (the supervisor's pool actor/loop) drives it.
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// A failure of the spawner connection itself (not of a worker: that is a `WorkerOutcome`).
public enum SpawnerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// socketpair/posix_spawn of the spawner failed.
    case startFailed(errno: Int32, hint: String)
    /// The spawner could not create a worker (fork, socketpair or unshare(CLONE_NEWPID)).
    case spawnFailed(errno: Int32)
    /// The control socket failed or the spawner hung up.
    case controlSocket(errno: Int32)
    /// The spawner sent something that is not in the protocol.
    case protocolError(String)
    /// The worker reported a failed lockdown instead of "ready".
    case lockdownFailed(step: LockdownStep, errno: Int32)

    public var description: String {
        switch self {
        case let .startFailed(e, hint): "cannot start the spawner: \(errnoName(e)). Hint: \(hint)"
        case let .spawnFailed(e): "the spawner could not create a worker: \(errnoName(e))"
        case let .controlSocket(e): "spawner control socket: \(errnoName(e))"
        case let .protocolError(m): "spawner protocol error: \(m)"
        case let .lockdownFailed(step, e): LockdownError(step, errno: e).description
        }
    }
}

/// One worker: its id, its pid (in the supervisor's PID namespace), the supervisor's end of its
/// job socket and a pidfd to kill it with. Closes both descriptors when released.
public final class WorkerHandle: @unchecked Sendable {
    public let id: UInt32
    public let pid: Int32
    /// The supervisor's end of the job socket (SOCK_STREAM, close-on-exec).
    public let jobFD: Int32
    /// A pidfd of the worker, or -1 if the kernel has no pidfd_open (Linux < 5.3).
    public let pidFD: Int32

    init(id: UInt32, pid: Int32, jobFD: Int32, pidFD: Int32) {
        self.id = id
        self.pid = pid
        self.jobFD = jobFD
        self.pidFD = pidFD
    }

    deinit {
        close(jobFD)
        if pidFD >= 0 { close(pidFD) }
    }
}

/// Events the spawner sends.
public enum SpawnerEvent: Sendable {
    case spawned(WorkerHandle)
    case spawnFailed(errno: Int32)
    case exited(WorkerExitReport)
}

public final class SpawnerClient {
    /// The supervisor's end of the control socket (SOCK_SEQPACKET, close-on-exec).
    public let controlFD: Int32
    /// The spawner's pid (a child of this process; `shutdown()` reaps it).
    public let spawnerPID: pid_t
    /// The limits the spawner applies to every worker.
    public let limits: ResourceLimits
    private var exits: [UInt32: WorkerExitReport] = [:]
    private var spawned: [SpawnerEvent] = []
    /// Our ends of the job sockets of requests not answered yet, in request order (the spawner
    /// answers in order on the SEQPACKET socket).
    private var pendingJobFDs: [Int32] = []
    private var killed: Set<UInt32> = []
    private var isShutDown = false

    /// Starts the spawner: posix_spawn of `executablePath` with `arguments`, the limits, an
    /// empty environment, and the control socket as descriptor 3 (and stdio inherited for
    /// its diagnostics). Safe from a multi-threaded process: posix_spawn runs no Swift code in
    /// the child.
    /// - Parameters:
    ///   - executablePath: a worker executable (alcatraz-worker, or the test harness).
    ///   - arguments: the mode words before the limits, `["spawner"]` for both executables.
    ///   - limits: applied by the spawner to every worker.
    /// - Throws: `SpawnerError.startFailed`.
    public init(executablePath: String, arguments: [String] = ["spawner"], limits: ResourceLimits = ResourceLimits())
        throws(SpawnerError)
    {
        var pair: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &pair) == 0 else {
            throw .startFailed(errno: currentErrno, hint: "socketpair(AF_UNIX, SOCK_SEQPACKET) failed")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copy; glibc (2.29+) also clears it if the numbers
        // happen to be equal.
        posix_spawn_file_actions_adddup2(&actions, pair[1], Spawner.controlFD)
        let argv = [executablePath] + arguments + limits.arguments
        // SAFETY: NUL-terminated copies owned here, freed after posix_spawn has copied them
        // into the child (posix_spawn returns after the exec or its failure).
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var cEnv: [UnsafeMutablePointer<CChar>?] = [nil]  // an empty environment
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executablePath, &actions, nil, &cArgs, &cEnv)
        close(pair[1])
        guard rc == 0 else {
            close(pair[0])
            throw .startFailed(errno: rc, hint: "cannot execute \(executablePath)")
        }
        controlFD = pair[0]
        spawnerPID = pid
        self.limits = limits
    }

    deinit { shutdown() }

    /// Asks for one worker and returns its handle once the spawner has forked it. The worker
    /// may still be locking down: use `waitUntilReady` before relying on it.
    /// - Throws: `SpawnerError.spawnFailed` or a control-socket error.
    public func requestWorker() throws(SpawnerError) -> WorkerHandle {
        try sendSpawnRequest()
        return try nextSpawned()
    }

    /// Asks for one worker and returns it locked down and ready. Faster than `requestWorker`
    /// followed by `waitUntilReady`: the job socket is made here and sent with the request, so
    /// this waits for the worker's "ready" on it at once, and reads the spawner's answer (sent
    /// while the worker locks down) afterwards, without waiting for it on the way. For the
    /// blocking style of use: not while requests sent with `sendSpawnRequest` are unanswered
    /// (answers come in request order, and this takes the next one as its own).
    /// - Throws: `SpawnerError.spawnFailed`, `.lockdownFailed`, or a protocol or control-socket
    ///   error.
    public func requestReadyWorker() throws(SpawnerError) -> WorkerHandle {
        guard pendingJobFDs.isEmpty else {
            throw .protocolError("requestReadyWorker while \(pendingJobFDs.count) spawn requests are unanswered")
        }
        try sendSpawnRequest()
        let jobFD = pendingJobFDs.last!
        let hello = readHello(jobFD)
        let handle = try nextSpawned()
        switch hello {
        case .ready: return handle
        case let .lockdownFailed(step, e): throw .lockdownFailed(step: step, errno: e)
        case let .other(message): throw .protocolError("worker \(handle.id) \(message)")
        }
    }

    /// The next `.spawned` answer (remembering exits that arrive before it).
    private func nextSpawned() throws(SpawnerError) -> WorkerHandle {
        while true {
            if !spawned.isEmpty {
                switch spawned.removeFirst() {
                case let .spawned(handle): return handle
                case let .spawnFailed(e): throw .spawnFailed(errno: e)
                case .exited: continue
                }
            }
            switch try receiveEvent() {
            case let .spawned(handle): return handle
            case let .spawnFailed(e): throw .spawnFailed(errno: e)
            case let .exited(report): exits[report.workerID] = report
            }
        }
    }

    /// Sends a spawn request without waiting for the answer, which arrives from `receiveEvent()`
    /// as `.spawned` or `.spawnFailed`. For an owner that runs its own event loop on `controlFD`
    /// (the daemon's pool) and so never calls the blocking methods above. The request carries
    /// the worker's end of a new job socket; this client keeps the other end for the answer.
    /// - Throws: a control-socket error.
    public func sendSpawnRequest() throws(SpawnerError) {
        var pair: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &pair) == 0 else { throw .spawnFailed(errno: currentErrno) }
        do throws(SpawnerError) {
            try send(.spawnRequest, fds: [pair[1]])
        } catch {
            close(pair[0]); close(pair[1])
            throw error
        }
        close(pair[1])
        pendingJobFDs.append(pair[0])
    }

    /// Blocks until the worker has finished its lockdown (it writes one byte on its job socket).
    /// - Throws: `SpawnerError.lockdownFailed` with the worker's step and errno, or
    ///   `.protocolError` if the socket closed first.
    public func waitUntilReady(_ worker: WorkerHandle) throws(SpawnerError) {
        switch readHello(worker.jobFD) {
        case .ready: return
        case let .lockdownFailed(step, e): throw .lockdownFailed(step: step, errno: e)
        case let .other(message): throw .protocolError("worker \(worker.id) \(message)")
        }
    }

    private enum Hello { case ready, lockdownFailed(LockdownStep, Int32), other(String) }

    /// Reads the worker's first message: ready, or where its lockdown failed.
    private func readHello(_ fd: Int32) -> Hello {
        guard let first = readExactly(fd, 1) else { return .other("closed its job socket before being ready") }
        if first[0] == WorkerHello.ready { return .ready }
        if first[0] == WorkerHello.lockdownFailed, let rest = readExactly(fd, 5),
           let step = LockdownStep(rawValue: Int32(rest[0])) {
            return .lockdownFailed(step, rest.readLE(Int32.self, at: 1))
        }
        return .other("sent \(first[0]) instead of ready")
    }

    /// Kills the worker (SIGKILL through its pidfd, so a recycled pid is never hit) and, with
    /// `remember`, notes that the supervisor did it, so that `waitForOutcome` classifies its
    /// end as `.timedOut`. A caller that never calls `waitForOutcome`/`waitForExit` for the
    /// worker (the daemon's pool classifies exits itself) passes `remember: false`, or the note
    /// would stay forever.
    /// - Returns: 0, or the errno (ESRCH when it had already ended: then it is not marked).
    @discardableResult
    public func kill(_ worker: WorkerHandle, remember: Bool = true) -> Int32 {
        let rc = worker.pidFD >= 0 ? sb_pidfd_send_signal(worker.pidFD, SIGKILL) : Glibc.kill(worker.pid, SIGKILL)
        if rc != 0 { return currentErrno }
        if remember { killed.insert(worker.id) }
        return 0
    }

    /// Blocks until the spawner reports the worker's end, and classifies it.
    public func waitForOutcome(_ worker: WorkerHandle) throws(SpawnerError) -> WorkerOutcome {
        try waitForExit(worker).outcome
    }

    /// Like `waitForOutcome`, with the kernel's report too (CPU time, max RSS: for metrics).
    public func waitForExit(_ worker: WorkerHandle) throws(SpawnerError) -> (outcome: WorkerOutcome, report: WorkerExitReport) {
        while exits[worker.id] == nil {
            switch try receiveEvent() {
            case let .exited(report): exits[report.workerID] = report
            case let other: spawned.append(other)
            }
        }
        let report = exits.removeValue(forKey: worker.id)!
        let outcome = WorkerOutcome.classify(report, limits: limits, killedBySupervisor: killed.remove(worker.id) != nil,
                                             lockdownErrno: lockdownErrno(worker, report))
        return (outcome, report)
    }

    /// Reads one event from the control socket (blocking). For an event loop: call it when
    /// `controlFD` is readable. Exits are also returned here; the caller classifies them
    /// with `WorkerOutcome.classify` (and must then track its own kills).
    public func receiveEvent() throws(SpawnerError) -> SpawnerEvent {
        var buffer = [UInt8](repeating: 0, count: ControlMessage.size + 1)
        var fds: [Int32] = [-1, -1, -1, -1]
        var nfds: Int32 = 0
        // SAFETY: recvmsg writes at most `count` bytes and at most 4 fds into arrays of that size.
        let n = retryingOnEINTR {
            buffer.withUnsafeMutableBytes { sb_recv_with_fds(controlFD, $0.baseAddress, $0.count, &fds, 4, &nfds) }
        }
        if n < 0 { throw .controlSocket(errno: currentErrno) }
        if n == 0 { throw .controlSocket(errno: EPIPE) }
        let received = Array(fds[0..<Int(nfds)])
        guard let message = ControlMessage(bytes: Array(buffer[0..<n])) else {
            for fd in received { close(fd) }
            throw .protocolError("malformed control record of \(n) bytes")
        }
        switch message {
        case let .spawned(id, pid):
            guard !pendingJobFDs.isEmpty else {
                for fd in received { close(fd) }
                throw .protocolError("spawned without a request")
            }
            for fd in received.dropFirst() { close(fd) }
            return .spawned(WorkerHandle(id: id, pid: pid, jobFD: pendingJobFDs.removeFirst(),
                                         pidFD: received.first ?? -1))
        case let .spawnFailed(e):
            for fd in received { close(fd) }
            if !pendingJobFDs.isEmpty { close(pendingJobFDs.removeFirst()) }
            return .spawnFailed(errno: e)
        case let .exited(report):
            for fd in received { close(fd) }
            return .exited(report)
        case .spawnRequest:
            for fd in received { close(fd) }
            throw .protocolError("the spawner sent a spawn request")
        }
    }

    /// Hangs up: the spawner kills the workers it still has, exits, and is reaped here.
    public func shutdown() {
        if isShutDown { return }
        isShutDown = true
        for fd in pendingJobFDs { close(fd) }
        pendingJobFDs.removeAll()
        close(controlFD)
        var status: Int32 = 0
        _ = retryingOnEINTR { waitpid(spawnerPID, &status, 0) }
    }

    private func send(_ message: ControlMessage, fds: [Int32] = []) throws(SpawnerError) {
        let bytes = message.bytes
        // SAFETY: sendmsg reads `count` bytes of a live array and `fds.count` descriptors.
        let n = retryingOnEINTR {
            bytes.withUnsafeBytes { raw in
                fds.withUnsafeBufferPointer { sb_send_with_fds(controlFD, raw.baseAddress, raw.count, $0.baseAddress, Int32(fds.count)) }
            }
        }
        if n < 0 { throw .controlSocket(errno: currentErrno) }
    }

    /// The errno of a lockdown failure record still unread on the job socket, if any.
    private func lockdownErrno(_ worker: WorkerHandle, _ report: WorkerExitReport) -> Int32? {
        guard let code = report.exitCode, LockdownStep(rawValue: code - WorkerExitCode.lockdownFailedBase) != nil
        else { return nil }
        var record = [UInt8](repeating: 0, count: 6)
        // SAFETY: recv writes at most 6 bytes into a 6-byte buffer.
        let n = record.withUnsafeMutableBytes { recv(worker.jobFD, $0.baseAddress, 6, Int32(MSG_DONTWAIT)) }
        guard n == 6, record[0] == WorkerHello.lockdownFailed else { return nil }
        return record.readLE(Int32.self, at: 2)
    }
}
