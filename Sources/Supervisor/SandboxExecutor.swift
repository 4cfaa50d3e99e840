// The real executor: a pool of pre-forked, locked-down workers from the spawner, one job per
// worker. One thread (the pool thread) owns the spawner connection and every worker; it sleeps
// in poll(2) on the spawner's control socket, every worker's job socket and a socket that the
// scheduler rings when it hands over a job. The poll timeout is the nearest job deadline.
// The one exception to "the pool thread does everything": when an idle worker is there and the
// job is small, `execute` writes the job to it on the caller's thread (the event loop), and the
// pool thread adopts the busy worker when it next wakes. It is not woken for that: the worker's
// answer (or its end) wakes it, since every idle worker's socket is in its poll set, and should
// neither come before the job's deadline, a timer (timerfd) armed by `execute` does. That keeps
// the pool thread, and the replacement spawn it would start, off the CPU while the job runs
// (docs/benchmarks.md, "Daemon load").
//
// Per worker: spawn request (with the worker's end of a job socket made here) -> `spawned`
// (pidfd) -> ready byte (lockdown done)
// -> job frame written -> result frame read, or the worker's end classified from the kernel's
// report. A worker is never reused; a replacement is requested as soon as one is taken.
//
// Verdict classes never mix: only a result frame the worker wrote gives `valid`/`invalid`.
// A worker that dies, is killed (by us for the wall-clock timeout, by seccomp, by anyone) or
// breaks the protocol gives an `error(...)`.
import Foundation
import Logging
import Sandbox
import Synchronization
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

public final class SandboxExecutor: JobExecutor, Sendable {
    public let capacity: Int
    private let inbox = Mutex<[Submission]>([])
    /// Idle, locked-down workers, and jobs handed to them by `execute` on the caller's thread.
    /// The pool thread publishes workers here once they are ready; `execute` takes one and
    /// writes the job itself, saving the wake-up of the pool thread on the way to the worker.
    fileprivate let shared = Mutex<SharedWorkers>(SharedWorkers())

    struct SharedWorkers: Sendable {
        var idle: [WorkerHandle] = []
        /// Taken by `execute`, the job written (or being written) to the worker: the pool thread
        /// adopts them as busy before it looks at any worker's socket.
        var handedOff: [(worker: WorkerHandle, submission: Submission)] = []
        /// When `deadlineTimer` expires, .max when it is not armed (or its expiry was seen):
        /// a job handed off with an earlier deadline re-arms it.
        var timerArmedFor: UInt64 = .max
    }

    /// Wakes the pool thread at the deadline of a job handed off by `execute` (see above);
    /// nil without timerfd, and then `execute` wakes the pool thread for every hand-off.
    fileprivate let deadlineTimer = DeadlineTimer()

    /// Jobs whose frame is at most this big are written by `execute` directly (a Unix socket's
    /// buffer takes them at once, so the caller, an event loop, never blocks); bigger ones go
    /// through the pool thread.
    static let directWriteLimit = 64 * 1024
    /// A socket pair used as a self-pipe: the scheduler writes a byte to wake the pool thread out of poll(2).
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let ready = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// The daemon's nice and the background one of spare workers (Sandbox's Priority.swift);
    /// nil when off. Each worker is raised to `foreground` right before its job is written.
    fileprivate let nice: WorkerNice?
    private let raiseFailed = Atomic<Bool>(false)
    private let logger: Logger

    struct Submission: Sendable {
        var job: WorkerJob
        /// `job` as the frame written to the worker, encoded once by `execute`.
        var frame: [UInt8]
        var deadline: UInt64
        var completion: @Sendable (ExecutionResult) -> Void
    }

    /// Starts the spawner and the pool thread, and waits until one worker has locked down.
    /// - Throws: `SupervisorError.sandbox` when the spawner cannot start or a worker cannot
    ///   lock down (with the kernel's reason and a hint).
    public init(executablePath: String, limits: Limits, metrics: DaemonMetrics?, logger: Logger,
                startupTimeoutSeconds: Double = 10) throws(SupervisorError) {
        capacity = Int(limits.workers)
        self.logger = logger
        let (nice, problem) = WorkerPriority.plan(increment: limits.backgroundNice)
        if let problem { logger.warning("\(problem)", metadata: ["event": "background_nice_off"]) }
        self.nice = nice
        let limits = { var l = limits; if nice == nil { l.backgroundNice = 0 }; return l }()
        var pipeFDs: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &pipeFDs) == 0 else {
            throw .sandbox("socketpair: \(errnoName(errno))")
        }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        let startup = StartupSignal()
        // War story: the spawner sets PR_SET_PDEATHSIG, and the kernel delivers it when the
        // *thread* that started it exits, not the process. Started from an async context (a
        // pool thread the runtime retires when idle), the spawner died some 0.4 s later. So it
        // is started here, by the pool thread, which lives exactly as long as the pool.
        let thread = Thread { [self] in
            let spawner: SpawnerClient
            do {
                spawner = try SpawnerClient(executablePath: executablePath, limits: limits.resourceLimits)
            } catch {
                startup.finish(error: "\(error)")
                stopped.signal()
                return
            }
            let loop = PoolLoop(executor: self, spawner: spawner, executablePath: executablePath, limits: limits,
                                metrics: metrics, logger: logger, startup: startup)
            loop.run()
            stopped.signal()
        }
        thread.name = "alcatraz-pool"
        thread.start()
        switch startup.wait(seconds: startupTimeoutSeconds) {
        case nil: break
        case let message?:
            shutdown()
            throw .sandbox(message)
        }
    }

    public var readyWorkers: Int { ready.load(ordering: .relaxed) }

    public func execute(_ job: WorkerJob, deadline: UInt64, completion: @escaping @Sendable (ExecutionResult) -> Void) {
        let frame = Frame.encode(WorkerMessage.job(job))
        let submission = Submission(job: job, frame: frame, deadline: deadline, completion: completion)
        if frame.count <= SandboxExecutor.directWriteLimit && !isStopping {
            // Registered as handed off before the write, so that the pool thread never takes the
            // worker's answer for the end of an idle worker.
            var mustWake = deadlineTimer == nil
            let worker = shared.withLock { s -> WorkerHandle? in
                guard !s.idle.isEmpty else { return nil }
                let w = s.idle.removeFirst()
                s.handedOff.append((w, submission))
                if deadline < s.timerArmedFor, let deadlineTimer {
                    if deadlineTimer.arm(at: deadline) { s.timerArmedFor = deadline } else { mustWake = true }
                }
                return w
            }
            if let worker {
                raise(worker)
                // A failed write means the worker is gone: the pool thread sees its socket closed
                // and its exit report, and answers with the worker's end (an error, not a verdict).
                _ = sendAllNoSignal(worker.jobFD, frame)
                if mustWake { wake() }
                return
            }
        }
        inbox.withLock { $0.append(submission) }
        wake()
    }

    public func shutdown() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        wake()
        stopped.wait()
    }

    /// Back to the daemon's priority for the job (see `nice`). A failure costs speed only.
    fileprivate func raise(_ worker: WorkerHandle) {
        guard let nice else { return }
        let (e, workerGone) = WorkerPriority.raise(pid: worker.pid, pidFD: worker.pidFD, to: nice)
        if e != 0 && e != ESRCH && !raiseFailed.exchange(true, ordering: .relaxed) {
            logger.warning("cannot raise a worker to the daemon's priority; jobs run at the background nice",
                           metadata: ["event": "raise_failed", "errno": "\(errnoName(e))"])
        }
        if workerGone {
            logger.warning("a worker ended before its job; its pid was reniced, possibly after reuse by another process",
                           metadata: ["event": "raise_after_exit", "worker": "\(worker.id)", "pid": "\(worker.pid)"])
        }
    }

    fileprivate func takeInbox() -> [Submission] { inbox.withLock { s in defer { s = [] }; return s } }
    fileprivate var isStopping: Bool { stopping.load(ordering: .relaxed) }
    fileprivate func setReady(_ n: Int) { ready.store(n, ordering: .relaxed) }
    fileprivate var wakeDescriptor: Int32 { wakeRead }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)  // EAGAIN when full: the loop is awake anyway
    }
}

/// Startup handshake between the pool thread and `SandboxExecutor.init`.
final class StartupSignal: Sendable {
    private let result = Mutex<(done: Bool, error: String?)>((false, nil))
    private let semaphore = DispatchSemaphore(value: 0)

    func finish(error: String?) {
        let first = result.withLock { r -> Bool in
            if r.done { return false }
            r = (true, error)
            return true
        }
        if first { semaphore.signal() }
    }

    /// nil when a worker became ready, else the reason.
    func wait(seconds: Double) -> String? {
        if semaphore.wait(timeout: .now() + seconds) == .timedOut {
            finish(error: "no worker became ready within \(seconds) s")
            return result.withLock { $0.error }
        }
        return result.withLock { $0.error }
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

public enum SupervisorError: Error, CustomStringConvertible {
    case sandbox(String)
    case bind(String)
    case config(ConfigError)

    public var description: String {
        switch self {
        case let .sandbox(m): "sandbox: \(m)"
        case let .bind(m): "socket: \(m)"
        case let .config(e): "\(e)"
        }
    }
}

/// Everything the pool thread owns. Never touched from another thread.
private final class PoolLoop {
    struct Busy {
        var worker: WorkerHandle
        var submission: SandboxExecutor.Submission
        var decoder: FrameDecoder
    }

    unowned let executor: SandboxExecutor
    var spawner: SpawnerClient
    let executablePath: String
    let limits: Limits
    let metrics: DaemonMetrics?
    var logger: Logger
    let startup: StartupSignal

    var spawnsRequested = 0
    var starting: [UInt32: WorkerHandle] = [:]
    var busy: [UInt32: Busy] = [:]
    /// Job socket closed without a result: the exit report decides the error.
    var awaitingExit: [UInt32: Busy] = [:]
    /// Already answered (result, or timed out); their exit reports are only logged.
    var answered: [UInt32: String] = [:]
    var pending = FIFO<SandboxExecutor.Submission>()
    var spawnBackoffUntil: UInt64 = 0
    var spawnerAlive = true
    /// Receive buffer for job sockets, reused (results are small; big ones take several reads).
    var receiveBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(executor: SandboxExecutor, spawner: SpawnerClient, executablePath: String, limits: Limits,
         metrics: DaemonMetrics?, logger: Logger, startup: StartupSignal) {
        self.executor = executor
        self.spawner = spawner
        self.executablePath = executablePath
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        self.startup = startup
    }

    /// Idle workers (shared with `SandboxExecutor.execute`).
    var idleCount: Int { executor.shared.withLock { $0.idle.count } }

    func clearIdle() { executor.shared.withLock { $0.idle.removeAll() } }

    /// Adopts the jobs `execute` wrote to idle workers on its own thread: they are busy now.
    /// A job handed to a worker just as the spawner died (the worker dies with it, and no exit
    /// report will come) is answered as a sandbox failure at once.
    /// - Parameter timerExpired: the deadline timer fired: it is disarmed from now on, in the
    ///   same critical section that takes the hand-offs it covered.
    /// - Returns: the idle workers, read in the same critical section: every worker is then
    ///   either adopted here or idle in what is returned, and `pollOnce` polls both (a worker
    ///   `execute` takes later is taken from that idle set, whose sockets are polled).
    @discardableResult
    func absorbHandoffs(timerExpired: Bool = false) -> [WorkerHandle] {
        let (handed, idle) = executor.shared.withLock { s in
            defer { s.handedOff.removeAll() }
            if timerExpired { s.timerArmedFor = .max }
            return (s.handedOff, s.idle)
        }
        for h in handed {
            guard spawnerAlive else {
                h.submission.completion(ExecutionResult(verdict: .error(.sandboxFailure(message: "the spawner died"))))
                continue
            }
            busy[h.worker.id] = Busy(worker: h.worker, submission: h.submission,
                                     decoder: FrameDecoder(maximumPayload: limits.maxFrameBytes))
        }
        return idle
    }

    /// Takes the idle worker `id` out of the shared list; false when `execute` took it first.
    func removeIdle(_ id: UInt32) -> Bool {
        executor.shared.withLock { s in
            guard let i = s.idle.firstIndex(where: { $0.id == id }) else { return false }
            s.idle.remove(at: i)
            return true
        }
    }

    func run() {
        while !executor.isStopping {
            // Hand-offs are adopted in `pollOnce`, before the poll set is built and after the poll.
            for submission in executor.takeInbox() { pending.push(submission) }
            replenish()
            dispatch()
            executor.setReady(idleCount)
            pollOnce()
        }
        absorbHandoffs()
        for submission in executor.takeInbox() { pending.push(submission) }
        while let submission = pending.pop() { submission.completion(ExecutionResult(verdict: .error(.shuttingDown))) }
        for (_, job) in busy { job.submission.completion(ExecutionResult(verdict: .error(.shuttingDown))) }
        for (_, job) in awaitingExit { job.submission.completion(ExecutionResult(verdict: .error(.shuttingDown))) }
        busy = [:]
        awaitingExit = [:]
        clearIdle()
        starting = [:]
        spawner.shutdown()
        executor.setReady(0)
    }

    // MARK: Spawning

    func replenish() {
        guard Monotonic.now() >= spawnBackoffUntil else { return }
        if !spawnerAlive { restartSpawner() }
        guard spawnerAlive else { return }
        while idleCount + starting.count + spawnsRequested < executor.capacity {
            do {
                try spawner.sendSpawnRequest()
                spawnsRequested += 1
            } catch {
                spawnerDied("\(error)")
                return
            }
        }
    }

    /// A new spawner after the old one died (its workers died with it: PDEATHSIG).
    func restartSpawner() {
        spawner.shutdown()
        do {
            spawner = try SpawnerClient(executablePath: executablePath, limits: limits.resourceLimits)
            spawnerAlive = true
            spawnsRequested = 0
            starting = [:]
            clearIdle()
            answered = [:]  // their exit reports died with the old spawner
            logger.notice("spawner restarted", metadata: ["event": "spawner_restarted"])
        } catch {
            spawnBackoffUntil = Monotonic.now() + 1_000_000_000
            logger.error("cannot restart the spawner", metadata: ["event": "spawner_restart_failed", "error": "\(error)"])
        }
    }

    func spawnerDied(_ reason: String) {
        logger.critical("the spawner is gone; failing every job", metadata: ["event": "spawner_died", "reason": "\(reason)"])
        spawnerAlive = false
        spawnBackoffUntil = Monotonic.now() + 200_000_000
        startup.finish(error: "the spawner died: \(reason)")
        let message = "the spawner died: \(reason)"
        clearIdle()
        absorbHandoffs()
        for (_, job) in busy { job.submission.completion(ExecutionResult(verdict: .error(.sandboxFailure(message: message)))) }
        for (_, job) in awaitingExit { job.submission.completion(ExecutionResult(verdict: .error(.sandboxFailure(message: message)))) }
        busy = [:]
        awaitingExit = [:]
        // The spawner's death kills its workers (PDEATHSIG): never hand a job to one of them.
        starting = [:]
        spawnsRequested = 0
        while let s = pending.pop() { s.completion(ExecutionResult(verdict: .error(.sandboxFailure(message: message)))) }
    }

    /// A worker could not be created or locked down: back off, and fail the oldest waiting job
    /// so that nothing waits forever on a sandbox that cannot start.
    func workerFailed(_ message: String) {
        logger.error("worker failed to start", metadata: ["event": "worker_start_failed", "reason": "\(message)"])
        startup.finish(error: message)
        spawnBackoffUntil = Monotonic.now() + 100_000_000
        if idleCount == 0, let s = pending.pop() {
            s.completion(ExecutionResult(verdict: .error(.sandboxFailure(message: message))))
        }
    }

    // MARK: Jobs

    func dispatch() {
        while !pending.isEmpty,
              let worker = executor.shared.withLock({ s -> WorkerHandle? in s.idle.isEmpty ? nil : s.idle.removeFirst() }) {
            let submission = pending.pop()!
            let frame = submission.frame
            executor.raise(worker)
            if sendAllNoSignal(worker.jobFD, frame) {
                busy[worker.id] = Busy(worker: worker, submission: submission,
                                       decoder: FrameDecoder(maximumPayload: limits.maxFrameBytes))
            } else {
                // The idle worker is gone (its exit report will be logged); try the next one.
                logger.warning("idle worker lost before its job", metadata: ["event": "worker_lost", "worker": "\(worker.id)"])
                answered[worker.id] = "lost before its job"
                var requeue = FIFO<SandboxExecutor.Submission>()
                requeue.push(submission)
                while let s = pending.pop() { requeue.push(s) }
                pending = requeue
            }
        }
    }

    func complete(_ busy: Busy, _ verdict: Verdict, compileNanos: UInt64 = 0, executeNanos: UInt64 = 0) {
        busy.submission.completion(ExecutionResult(verdict: verdict, compileMicros: compileNanos / 1000,
                                                   executeMicros: executeNanos / 1000))
    }

    // MARK: The poll loop

    func pollOnce() {
        // Fixed slots: 0 the wake socket, 1 the deadline timer (-1: ignored by poll), 2 the spawner.
        var fds: [pollfd] = [pollfd(fd: executor.wakeDescriptor, events: Int16(POLLIN), revents: 0),
                             pollfd(fd: executor.deadlineTimer?.descriptor ?? -1, events: Int16(POLLIN), revents: 0)]
        if spawnerAlive { fds.append(pollfd(fd: spawner.controlFD, events: Int16(POLLIN), revents: 0)) }
        var owners: [(kind: UInt8, id: UInt32)] = []
        for (id, w) in starting { fds.append(pollfd(fd: w.jobFD, events: Int16(POLLIN), revents: 0)); owners.append((0, id)) }
        // Hand-offs made since the loop's top are adopted (busy, below) in the same critical
        // section that reads the idle set: the pool thread is not woken for a hand-off, so a
        // worker that is in neither set here would have its answer go unnoticed.
        for w in absorbHandoffs() {
            fds.append(pollfd(fd: w.jobFD, events: Int16(POLLIN), revents: 0)); owners.append((1, w.id))
        }
        for (id, b) in busy { fds.append(pollfd(fd: b.worker.jobFD, events: Int16(POLLIN), revents: 0)); owners.append((2, id)) }
        let fixed = spawnerAlive ? 3 : 2

        let now = Monotonic.now()
        var nearest = UInt64.max
        for (_, b) in busy { nearest = min(nearest, b.submission.deadline) }
        for (_, b) in awaitingExit { nearest = min(nearest, b.submission.deadline) }
        if pending.count > 0 { nearest = min(nearest, now + 10_000_000) }  // re-check pending deadlines
        if spawnBackoffUntil > now { nearest = min(nearest, spawnBackoffUntil) }
        let timeout: Int32 = nearest == .max ? -1 : Int32(clamping: (nearest > now ? nearest - now : 0) / 1_000_000 + 1)
        let n = poll(&fds, nfds_t(fds.count), timeout)
        if n < 0 && errno != EINTR {
            logger.critical("poll failed", metadata: ["event": "poll_failed", "errno": "\(errno)"])
        }
        if fds[0].revents != 0 {
            var sink = [UInt8](repeating: 0, count: 256)
            while read(executor.wakeDescriptor, &sink, sink.count) > 0 {}
        }
        let timerExpired = fds[1].revents != 0
        if timerExpired { executor.deadlineTimer?.drain() }
        // Jobs written to idle workers while this thread slept: before any worker's socket is
        // read, so that an answer is never taken for an idle worker's end.
        absorbHandoffs(timerExpired: timerExpired)
        if spawnerAlive && fds[2].revents != 0 { controlEvent() }
        for (index, owner) in owners.enumerated() where fds[fixed + index].revents != 0 {
            switch owner.kind {
            case 0: startingReadable(owner.id)
            case 1: readyReadable(owner.id)
            default: busyReadable(owner.id)
            }
        }
        expireDeadlines()
    }

    func controlEvent() {
        let event: SpawnerEvent
        do {
            event = try spawner.receiveEvent()
        } catch {
            spawnerDied("\(error)")
            return
        }
        switch event {
        case let .spawned(worker):
            spawnsRequested -= 1
            starting[worker.id] = worker
            metrics?.recordSpawn()
        case let .spawnFailed(e):
            spawnsRequested -= 1
            workerFailed("the spawner could not create a worker: \(errnoName(e))")
        case let .exited(report):
            workerExited(report)
        }
    }

    func startingReadable(_ id: UInt32) {
        guard let worker = starting.removeValue(forKey: id) else { return }
        var byte: UInt8 = 0
        let n = recv(worker.jobFD, &byte, 1, Int32(MSG_DONTWAIT))
        if n < 0 && (errno == EAGAIN || errno == EINTR) {
            starting[id] = worker  // a spurious wake-up
            return
        }
        if n == 1 && byte == 0x52 {  // 'R': lockdown complete (Sandbox's WorkerHello.ready)
            executor.shared.withLock { $0.idle.append(worker) }
            startup.finish(error: nil)
            return
        }
        answered[id] = "lockdown failed"
        workerFailed(n == 1 && byte == 0xEE ? "a worker's lockdown failed (see the exit report)" :
            "a worker closed its job socket before being ready")
    }

    func readyReadable(_ id: UInt32) {
        if busy[id] != nil { return busyReadable(id) }   // handed a job since the poll began
        guard removeIdle(id) else {
            // `execute` took it after this iteration's handoffs were adopted.
            absorbHandoffs()
            if busy[id] != nil { busyReadable(id) }
            return
        }
        answered[id] = "idle worker ended or wrote before a job"
        logger.warning("idle worker lost", metadata: ["event": "worker_lost", "worker": "\(id)"])
    }

    func busyReadable(_ id: UInt32) {
        guard var job = busy[id] else { return }
        switch readResult(&job) {
        case .none:
            busy[id] = job
        case let .result(result)?:
            busy[id] = nil
            answered[id] = "answered"
            complete(job, result.outcome.verdict, compileNanos: result.compileNanos, executeNanos: result.executeNanos)
        case let .broken(message)?:
            busy[id] = nil
            spawner.kill(job.worker)
            answered[id] = "killed: protocol"
            metrics?.recordKill("protocol")
            logger.error("worker broke the job protocol", metadata: ["event": "worker_protocol", "detail": "\(message)"])
            complete(job, .error(.internal(message: "worker protocol: \(message)")))
        case .closed?:
            busy[id] = nil
            awaitingExit[id] = job
        }
    }

    enum ReadOutcome { case result(WorkerResult), broken(String), closed }

    /// Reads what the job socket holds without blocking: nil when the result is not complete yet.
    func readResult(_ job: inout Busy) -> ReadOutcome? {
        while true {
            let n = receiveBuffer.withUnsafeMutableBytes { recv(job.worker.jobFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { return .closed }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                return .closed
            }
            do throws(WireError) {
                try job.decoder.feed(receiveBuffer[0..<n])
            } catch {
                return .broken("\(error)")
            }
            if let payload = job.decoder.nextFrame() {
                do throws(WireError) {
                    guard case let .result(result) = try WorkerMessage.decode(payload) else {
                        return .broken("a job message from the worker")
                    }
                    guard result.jobId == job.submission.job.jobId else {
                        return .broken("result for job \(result.jobId), expected \(job.submission.job.jobId)")
                    }
                    return .result(result)
                } catch {
                    return .broken("\(error)")
                }
            }
        }
    }

    func workerExited(_ report: WorkerExitReport) {
        let id = report.workerID
        if var job = busy.removeValue(forKey: id) {
            // The result may still sit in the socket buffer: the exit report can overtake it.
            if case let .result(result)? = readResult(&job) {
                answered[id] = "answered"
                complete(job, result.outcome.verdict, compileNanos: result.compileNanos, executeNanos: result.executeNanos)
                return
            }
            classifyAndComplete(job, report)
        } else if let job = awaitingExit.removeValue(forKey: id) {
            classifyAndComplete(job, report)
        } else if let note = answered.removeValue(forKey: id) {
            if report.terminatingSignal != nil || report.exitCode != 0 {
                let outcome = WorkerOutcome.classify(report, limits: limits.resourceLimits, killedBySupervisor: note == "killed: timeout")
                if note == "lockdown failed" {
                    logger.error("worker lockdown failed", metadata: ["event": "lockdown_failed", "outcome": "\(outcome)"])
                    startup.finish(error: "worker lockdown failed: \(outcome)")
                } else if note == "answered" {
                    logger.debug("worker ended abnormally after answering", metadata: ["event": "worker_exit", "outcome": "\(outcome)"])
                }
            }
        } else if starting.removeValue(forKey: id) == nil && !removeIdle(id) {
            // Neither starting nor idle: `execute` handed it a job after this iteration's
            // handoffs were adopted. Adopt it now and let the report decide that job.
            absorbHandoffs()
            if let job = busy.removeValue(forKey: id) { classifyAndComplete(job, report) }
        } else {
            logger.warning("idle worker exited", metadata: ["event": "worker_lost", "worker": "\(id)", "status": "\(report.waitStatus)"])
        }
    }

    func classifyAndComplete(_ job: Busy, _ report: WorkerExitReport) {
        let outcome = WorkerOutcome.classify(report, limits: limits.resourceLimits, killedBySupervisor: false)
        let verdict: Verdict
        switch outcome {
        case .timedOut:
            verdict = .error(.timedOut)
        case let .seccompViolation(call):
            metrics?.recordKill("seccomp")
            verdict = .error(.sandboxFailure(message: "seccomp violation\(call.map { ": system call \($0)" } ?? "")"))
        case .cpuLimit:
            metrics?.recordKill("cpu_limit")
            verdict = .error(.timedOut)
        case .memoryLimit:
            metrics?.recordKill("memory_limit")
            verdict = .error(.internal(message: "the worker exceeded its memory budget"))
        case let .killedBySignal(signal):
            metrics?.recordKill("signal")
            verdict = .error(.workerDied(signal: UInt32(bitPattern: signal)))
        case let .exited(code):
            verdict = .error(.internal(message: "the worker exited with code \(code) without a result"))
        case let .lockdownFailed(step, _):
            verdict = .error(.sandboxFailure(message: "lockdown failed at \(step)"))
        case let .protocolError(message):
            verdict = .error(.internal(message: message))
        }
        logger.warning("worker ended without a result", metadata: ["event": "worker_died", "worker": "\(report.workerID)",
                                                                   "outcome": "\(outcome)", "job": "\(job.submission.job.jobId)"])
        complete(job, verdict)
    }

    func expireDeadlines() {
        let now = Monotonic.now()
        for (id, expired) in busy where expired.submission.deadline <= now {
            busy[id] = nil
            var job = expired
            // An answer that arrived before this check is served, not thrown away.
            if case let .result(result)? = readResult(&job) {
                answered[id] = "answered"
                complete(job, result.outcome.verdict, compileNanos: result.compileNanos, executeNanos: result.executeNanos)
                continue
            }
            spawner.kill(job.worker)
            answered[id] = "killed: timeout"
            metrics?.recordKill("timeout")
            logger.notice("job timed out; worker killed", metadata: ["event": "job_timeout", "worker": "\(id)",
                                                                     "job": "\(job.submission.job.jobId)"])
            complete(job, .error(.timedOut))
        }
        // A worker that closed its socket is answered from its exit report; should that never
        // come, the deadline still answers it.
        for (id, job) in awaitingExit where job.submission.deadline <= now {
            awaitingExit[id] = nil
            answered[id] = "killed: timeout"
            complete(job, .error(.timedOut))
        }
        if pending.count > 0 {
            var keep = FIFO<SandboxExecutor.Submission>()
            while let s = pending.pop() {
                if s.deadline <= now { s.completion(ExecutionResult(verdict: .error(.timedOut))) } else { keep.push(s) }
            }
            pending = keep
        }
    }
}

/// Writes all of `bytes` to a (blocking) job socket, without SIGPIPE; false if the peer is gone.
func sendAllNoSignal(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += n
    }
    return true
}
