// The real executor: a pool of pre-forked, locked-down workers from the spawner, one job per
// worker. One thread (the pool thread) owns the spawner connection: it sleeps in poll(2) on the
// spawner's control socket, the sockets of workers still locking down, a socket that the
// scheduler rings when it hands over a job, and a timerfd; the poll timeout is the nearest job
// deadline. Each ready worker's job socket is also a NIO channel on an event loop, whose
// handler reads the worker's answer. When an idle worker is there and the job is small,
// `execute` writes the job to it on the caller's thread (the event loop), so a request's
// path is event loop -> worker -> event loop, without the pool thread or the replacement spawn
// it requests on the CPU in between (docs/architecture.md, "Threads"; docs/benchmarks.md,
// "Daemon load").
//
// Per worker: spawn request (with the worker's end of a job socket made here) -> `spawned`
// (pidfd) -> ready byte (lockdown done)
// (its answer channel made, the worker idle) -> job frame written -> result frame read, or
// the worker's end classified from the kernel's report. A worker is never reused; a
// replacement is requested when the pool thread next wakes (at the latest, the used worker's
// exit report).
//
// Verdict classes never mix: only a result frame the worker wrote gives `valid`/`invalid`.
// A worker that dies, is killed (by us for the wall-clock timeout, by seccomp, by anyone) or
// breaks the protocol gives an `error(...)`.
import Foundation
import Logging
import NIOCore
import NIOPosix
import Sandbox
import Synchronization
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

public final class SandboxExecutor: JobExecutor, Sendable {
    public let capacity: Int
    /// Jobs for the pool thread (no idle worker at `execute`, or a big frame); `closed` once
    /// the pool has stopped, when a late submission is answered `shuttingDown` at once.
    private let inbox = Mutex<(items: [Submission], closed: Bool)>(([], false))
    /// Idle workers and the jobs in flight, shared by the pool thread, `execute` (on the
    /// caller's thread) and the event loop that reads the workers' answers.
    fileprivate let shared = Mutex<SharedWorkers>(SharedWorkers())

    struct SharedWorkers: Sendable {
        /// Ready workers without a job, each watched by its `WorkerAnswerHandler`.
        var idle: [WorkerHandle] = []
        /// Every job written (or being written) to a worker and not answered yet, by worker id.
        /// Whoever removes a job here answers it: the event loop (the result, or the socket's
        /// end once the exit report is in), the pool thread (the exit report once the socket
        /// has ended, the deadline, the spawner's death, shutdown). So every job is answered
        /// exactly once.
        var jobs: [UInt32: ActiveJob] = [:]
        /// Workers the event loop found breaking the job protocol: the pool thread kills them
        /// (it owns the spawner connection, which keeps the record of supervisor kills).
        var toKill: [WorkerHandle] = []
        /// When `deadlineTimer` expires, .max when it is not armed (or its expiry was seen):
        /// a job with an earlier deadline re-arms it.
        var timerArmedFor: UInt64 = .max
        /// Set when the pool stops: no job is registered after that.
        var stopped = false
    }

    /// A job in flight on `worker`. A worker that ends without a result is classified from the
    /// spawner's exit report, once its socket has ended too (so a result written just before
    /// the exit is never missed): the second of the two events completes the job.
    struct ActiveJob: Sendable {
        var worker: WorkerHandle
        var submission: Submission
        var socketClosed = false
        var report: WorkerExitReport?
        /// When the pool thread killed the worker at the job's deadline. The job stays in the
        /// table until the worker's end is known: a result it wrote before the kill still
        /// wins; otherwise the answer is `timedOut`.
        var killedAt: UInt64?

        /// When the pool thread acts on this job: at its deadline it kills the worker; a
        /// second later, it answers `timedOut` whatever has been seen (a backstop that should
        /// never be needed). A worker whose exit report is in, whose socket is still being
        /// read, also gets that second.
        var expiry: UInt64 {
            if let killedAt { return killedAt &+ 1_000_000_000 }
            return report == nil ? submission.deadline : submission.deadline &+ 1_000_000_000
        }
    }

    /// Wakes the pool thread at the deadline of a job it has not seen yet (see above); nil
    /// without timerfd, and then `execute` wakes the pool thread for every hand-off.
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
    fileprivate let logger: Logger
    fileprivate let metrics: DaemonMetrics?
    fileprivate let limits: Limits
    /// The event loops that read the workers' answers.
    fileprivate let eventLoops: any EventLoopGroup

    struct Submission: Sendable {
        var job: WorkerJob
        /// `job` as the frame written to the worker, encoded once by `execute`.
        var frame: [UInt8]
        var deadline: UInt64
        var completion: @Sendable (ExecutionResult) -> Void
    }

    /// Starts the spawner and the pool thread, and waits until one worker has locked down.
    /// - Parameter eventLoops: where each worker's answer is read (a NIO channel per worker).
    /// - Throws: `SupervisorError.sandbox` when the spawner cannot start or a worker cannot
    ///   lock down (with the kernel's reason and a hint).
    public init(executablePath: String, limits: Limits, metrics: DaemonMetrics?, logger: Logger,
                eventLoops: any EventLoopGroup, startupTimeoutSeconds: Double = 10) throws(SupervisorError) {
        capacity = Int(limits.workers)
        self.logger = logger
        self.metrics = metrics
        self.eventLoops = eventLoops
        let (nice, problem) = WorkerPriority.plan(increment: limits.backgroundNice)
        if let problem { logger.warning("\(problem)", metadata: ["event": "background_nice_off"]) }
        self.nice = nice
        let limits = { var l = limits; if nice == nil { l.backgroundNice = 0 }; return l }()
        self.limits = limits
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
                inbox.withLock { $0.closed = true }
                shared.withLock { $0.stopped = true }
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
            // Registered as a job in flight before the write, so that its answer always finds it.
            var mustWake = deadlineTimer == nil
            let worker = shared.withLock { s -> WorkerHandle? in
                guard !s.stopped, !s.idle.isEmpty else { return nil }
                let w = s.idle.removeFirst()
                s.jobs[w.id] = ActiveJob(worker: w, submission: submission)
                if deadline < s.timerArmedFor, let deadlineTimer {
                    if deadlineTimer.arm(at: deadline) { s.timerArmedFor = deadline } else { mustWake = true }
                }
                return w
            }
            if let worker {
                raise(worker)
                // A failed write means the worker is gone: its socket's end and its exit report
                // answer the job with the worker's end (an error, not a verdict).
                _ = sendAllNoSignal(worker.jobFD, frame)
                if mustWake { wake() }
                return
            }
        }
        let accepted = inbox.withLock { s -> Bool in
            if s.closed { return false }
            s.items.append(submission)
            return true
        }
        guard accepted else { return completion(ExecutionResult(verdict: .error(.shuttingDown))) }
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

    /// The inbox's submissions; with `close`, later ones are refused (answered `shuttingDown`).
    fileprivate func takeInbox(close: Bool = false) -> [Submission] {
        inbox.withLock { s in
            defer { s.items = [] }
            if close { s.closed = true }
            return s.items
        }
    }
    fileprivate var isStopping: Bool { stopping.load(ordering: .relaxed) }
    fileprivate func setReady(_ n: Int) { ready.store(n, ordering: .relaxed) }
    fileprivate var wakeDescriptor: Int32 { wakeRead }

    fileprivate func wake() {
        var one: UInt8 = 1
        _ = write(wakeWrite, &one, 1)  // EAGAIN when full: the loop is awake anyway
    }

    // MARK: The answer path (on an event loop)

    /// Makes `worker`'s socket a NIO channel whose handler reads its answer, and publishes the
    /// worker as idle. Called by the pool thread when the worker turns ready, so the channel's
    /// set-up is never on a request's path. The channel has its own descriptor (a duplicate):
    /// the pool thread and `execute` keep writing jobs on `worker.jobFD`.
    fileprivate func watch(_ worker: WorkerHandle) -> Bool {
        let fd = fcntl(worker.jobFD, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else {
            logger.error("cannot watch a worker", metadata: ["event": "worker_watch_failed", "errno": "\(errnoName(errno))"])
            return false
        }
        shared.withLock { $0.idle.append(worker) }
        // A result carries at most `maxOutputBytes` of output (the worker answers `limitExceeded`
        // beyond) plus its own fields: registers, gas and timings, well under 4 KiB.
        let maximumPayload = UInt32(clamping: UInt64(limits.maxFrameBytes) + 4096)
        let channel = ClientBootstrap(group: eventLoops)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        WorkerAnswerHandler(executor: self, worker: worker, maximumPayload: maximumPayload))
                }
            }
            .withConnectedSocket(fd)
        channel.whenFailure { [self] error in
            // NIO closes the descriptor. Without a watcher the worker cannot be used.
            logger.error("cannot watch a worker", metadata: ["event": "worker_watch_failed", "error": "\(error)"])
            workerBroken(worker, "its answer channel failed: \(error)")
        }
        return true
    }

    /// The job in flight on `worker`, taken out of the table. Matched by identity, not by id:
    /// a restarted spawner numbers its workers from 1 again, and a channel of a worker of the
    /// old spawner must never act on a new worker's job.
    fileprivate static func takeJob(_ s: inout SharedWorkers, _ worker: WorkerHandle) -> ActiveJob? {
        guard let job = s.jobs[worker.id], job.worker === worker else { return nil }
        s.jobs[worker.id] = nil
        return job
    }

    /// Takes `worker` out of the idle list; false when it is not there (by identity).
    private static func takeIdle(_ s: inout SharedWorkers, _ worker: WorkerHandle) -> Bool {
        guard let i = s.idle.firstIndex(where: { $0 === worker }) else { return false }
        s.idle.remove(at: i)
        return true
    }

    /// A complete frame from `worker`: the answer to its job, or a broken protocol.
    fileprivate func workerAnswered(_ worker: WorkerHandle, _ payload: [UInt8]) {
        guard let job = shared.withLock({ SandboxExecutor.takeJob(&$0, worker) }) else {
            // No job in flight: an idle worker wrote before its job, or the job was already
            // answered.
            workerBroken(worker, "it wrote before its job")
            return
        }
        let message: String
        do throws(WireError) {
            if case let .result(result) = try WorkerMessage.decode(payload) {
                if result.jobId == job.submission.job.jobId {
                    complete(job, result.outcome.verdict, compileNanos: result.compileNanos, executeNanos: result.executeNanos)
                    return
                }
                message = "result for job \(result.jobId), expected \(job.submission.job.jobId)"
            } else {
                message = "a job message from the worker"
            }
        } catch {
            message = "\(error)"
        }
        protocolBroken(job, message)
    }

    /// `worker` broke the job protocol (a bad frame, or a frame while idle): its job gets an
    /// error, and the pool thread kills it.
    fileprivate func workerBroken(_ worker: WorkerHandle, _ message: String) {
        let (job, wasIdle) = shared.withLock { s -> (ActiveJob?, Bool) in
            if let job = SandboxExecutor.takeJob(&s, worker) { return (job, false) }
            guard SandboxExecutor.takeIdle(&s, worker) else { return (nil, false) }
            s.toKill.append(worker)
            return (nil, true)
        }
        if let job { return protocolBroken(job, message) }
        if wasIdle {
            logger.warning("idle worker lost", metadata: ["event": "worker_lost", "worker": "\(worker.id)", "detail": "\(message)"])
            wake()
        }
    }

    private func protocolBroken(_ job: ActiveJob, _ message: String) {
        shared.withLock { $0.toKill.append(job.worker) }
        wake()
        metrics?.recordKill("protocol")
        logger.error("worker broke the job protocol", metadata: ["event": "worker_protocol", "detail": "\(message)"])
        complete(job, .error(.internal(message: "worker protocol: \(message)")))
    }

    /// `worker`'s socket ended (on its event loop). A job in flight is answered from the exit
    /// report, now if it is in, else when it comes; an idle worker is lost.
    fileprivate func workerSocketClosed(_ worker: WorkerHandle) {
        enum Found { case none, job(ActiveJob, WorkerExitReport), idle }
        let found = shared.withLock { s -> Found in
            if var job = s.jobs[worker.id], job.worker === worker {
                if let report = job.report {
                    s.jobs[worker.id] = nil
                    return .job(job, report)
                }
                job.socketClosed = true
                s.jobs[worker.id] = job
                return .none
            }
            return SandboxExecutor.takeIdle(&s, worker) ? .idle : .none
        }
        switch found {
        case .none: break
        case let .job(job, report): classifyAndComplete(job, report)
        case .idle:
            // Its exit report follows; the pool thread replaces it.
            logger.warning("idle worker lost", metadata: ["event": "worker_lost", "worker": "\(worker.id)"])
            wake()
        }
    }

    fileprivate func complete(_ job: ActiveJob, _ verdict: Verdict, compileNanos: UInt64 = 0, executeNanos: UInt64 = 0) {
        job.submission.completion(ExecutionResult(verdict: verdict, compileMicros: compileNanos / 1000,
                                                  executeMicros: executeNanos / 1000))
    }

    /// Answers a job whose worker ended without a result, from the kernel's report of its end.
    fileprivate func classifyAndComplete(_ job: ActiveJob, _ report: WorkerExitReport) {
        let outcome = WorkerOutcome.classify(report, limits: limits.resourceLimits, killedBySupervisor: job.killedAt != nil)
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
        if job.killedAt == nil {  // a timeout was logged when the worker was killed
            logger.warning("worker ended without a result", metadata: ["event": "worker_died", "worker": "\(report.workerID)",
                                                                       "outcome": "\(outcome)", "job": "\(job.submission.job.jobId)"])
        }
        complete(job, verdict)
    }
}

/// Reads one worker's answer on an event loop: the worker's job socket as a NIO channel, made
/// when the worker turns ready. The answer thus wakes the event loop that sends it to the
/// client, and nothing else (docs/architecture.md, "Threads").
private final class WorkerAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let executor: SandboxExecutor
    let worker: WorkerHandle
    var decoder: FrameDecoder
    var done = false

    init(executor: SandboxExecutor, worker: WorkerHandle, maximumPayload: UInt32) {
        self.executor = executor
        self.worker = worker
        decoder = FrameDecoder(maximumPayload: maximumPayload)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        do throws(WireError) {
            try decoder.feed(ArraySlice(buffer.readableBytesView))
        } catch {
            done = true
            executor.workerBroken(worker, "\(error)")
            context.close(promise: nil)
            return
        }
        guard let payload = decoder.nextFrame() else { return }
        done = true
        executor.workerAnswered(worker, payload)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            executor.workerSocketClosed(worker)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
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
    unowned let executor: SandboxExecutor
    var spawner: SpawnerClient
    let executablePath: String
    let limits: Limits
    let metrics: DaemonMetrics?
    var logger: Logger
    let startup: StartupSignal

    var spawnsRequested = 0
    var starting: [UInt32: WorkerHandle] = [:]
    /// Workers this thread ended or gave up on (timed out, killed, failed); their exit reports
    /// are only logged.
    var answered: [UInt32: String] = [:]
    var pending = FIFO<SandboxExecutor.Submission>()
    var spawnBackoffUntil: UInt64 = 0
    var spawnerAlive = true

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

    /// Takes every job in flight out of the shared table (each then answered by the caller).
    func takeAllJobs(stop: Bool = false) -> [SandboxExecutor.ActiveJob] {
        executor.shared.withLock { s in
            defer { s.jobs = [:] }
            if stop { s.stopped = true }
            return Array(s.jobs.values)
        }
    }

    func run() {
        while !executor.isStopping {
            for submission in executor.takeInbox() { pending.push(submission) }
            killBroken()
            replenish()
            dispatch()
            executor.setReady(idleCount)
            pollOnce()
        }
        for submission in executor.takeInbox(close: true) { pending.push(submission) }
        while let submission = pending.pop() { submission.completion(ExecutionResult(verdict: .error(.shuttingDown))) }
        for job in takeAllJobs(stop: true) { job.submission.completion(ExecutionResult(verdict: .error(.shuttingDown))) }
        clearIdle()
        starting = [:]
        spawner.shutdown()
        executor.setReady(0)
    }

    /// Kills the workers the event loop found breaking the protocol.
    func killBroken() {
        let broken = executor.shared.withLock { s in defer { s.toKill = [] }; return s.toKill }
        for worker in broken where spawner.kill(worker, remember: false) == 0 {
            answered[worker.id] = "killed: protocol"
        }
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
        // The spawner's death kills its workers (PDEATHSIG), and no exit report will come:
        // never hand a job to one of them, and answer the jobs they had.
        clearIdle()
        for job in takeAllJobs() { job.submission.completion(ExecutionResult(verdict: .error(.sandboxFailure(message: message)))) }
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
        while !pending.isEmpty {
            // The job is registered in flight in the same critical section that takes the worker.
            let taken = executor.shared.withLock { s -> (WorkerHandle, SandboxExecutor.Submission)? in
                guard !s.idle.isEmpty else { return nil }
                let w = s.idle.removeFirst()
                let submission = pending.pop()!
                s.jobs[w.id] = SandboxExecutor.ActiveJob(worker: w, submission: submission)
                return (w, submission)
            }
            guard let (worker, submission) = taken else { return }
            executor.raise(worker)
            if !sendAllNoSignal(worker.jobFD, submission.frame) {
                // The idle worker is gone (its exit report will be logged); the job goes back to
                // the front of the queue, unless its socket's end and report already answered it.
                guard executor.shared.withLock({ SandboxExecutor.takeJob(&$0, worker) }) != nil else { continue }
                logger.warning("idle worker lost before its job", metadata: ["event": "worker_lost", "worker": "\(worker.id)"])
                answered[worker.id] = "lost before its job"
                var requeue = FIFO<SandboxExecutor.Submission>()
                requeue.push(submission)
                while let s = pending.pop() { requeue.push(s) }
                pending = requeue
            }
        }
    }

    // MARK: The poll loop

    func pollOnce() {
        // Fixed slots: 0 the wake socket, 1 the deadline timer (-1: ignored by poll), 2 the spawner.
        // Workers' answers are read on the event loop (`WorkerAnswerHandler`), not here.
        var fds: [pollfd] = [pollfd(fd: executor.wakeDescriptor, events: Int16(POLLIN), revents: 0),
                             pollfd(fd: executor.deadlineTimer?.descriptor ?? -1, events: Int16(POLLIN), revents: 0)]
        if spawnerAlive { fds.append(pollfd(fd: spawner.controlFD, events: Int16(POLLIN), revents: 0)) }
        var owners: [UInt32] = []
        for (id, w) in starting { fds.append(pollfd(fd: w.jobFD, events: Int16(POLLIN), revents: 0)); owners.append(id) }
        let fixed = spawnerAlive ? 3 : 2

        let now = Monotonic.now()
        // The deadlines of the jobs in flight. A job registered after this arms the deadline
        // timer itself when its deadline is earlier than the one the timer is armed for.
        var nearest = executor.shared.withLock { s in
            s.jobs.values.reduce(UInt64.max) { min($0, $1.expiry) }
        }
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
        if fds[1].revents != 0 {
            // Disarmed from now on: the next job with a deadline arms it again.
            executor.deadlineTimer?.drain()
            executor.shared.withLock { $0.timerArmedFor = .max }
        }
        if spawnerAlive && fds[2].revents != 0 { controlEvent() }
        for (index, id) in owners.enumerated() where fds[fixed + index].revents != 0 {
            startingReadable(id)
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
            if executor.watch(worker) {
                startup.finish(error: nil)
            } else {
                _ = spawner.kill(worker, remember: false)
                answered[id] = "killed: not watched"
            }
            return
        }
        answered[id] = "lockdown failed"
        workerFailed(n == 1 && byte == 0xEE ? "a worker's lockdown failed (see the exit report)" :
            "a worker closed its job socket before being ready")
    }

    func workerExited(_ report: WorkerExitReport) {
        let id = report.workerID
        enum Found { case job(SandboxExecutor.ActiveJob), waiting, idle, none }
        let found = executor.shared.withLock { s -> Found in
            if var job = s.jobs[id] {
                // A result written just before the exit may still be unread: the job is
                // answered when the socket has ended too (`workerSocketClosed`).
                guard job.socketClosed else {
                    job.report = report
                    s.jobs[id] = job
                    return .waiting
                }
                s.jobs[id] = nil
                return .job(job)
            }
            guard let i = s.idle.firstIndex(where: { $0.id == id }) else { return .none }
            s.idle.remove(at: i)
            return .idle
        }
        switch found {
        case let .job(job): executor.classifyAndComplete(job, report)
        case .waiting: break
        case .idle:
            logger.warning("idle worker exited", metadata: ["event": "worker_lost", "worker": "\(id)", "status": "\(report.waitStatus)"])
        case .none:
            if starting.removeValue(forKey: id) != nil {
                // Its end was reported before its socket was read: a failed lockdown, or a kill.
                let outcome = WorkerOutcome.classify(report, limits: limits.resourceLimits, killedBySupervisor: false)
                workerFailed("a worker ended before it was ready: \(outcome)")
                return
            }
            let note = answered.removeValue(forKey: id) ?? "answered"
            if report.terminatingSignal != nil || report.exitCode != 0 {
                let outcome = WorkerOutcome.classify(report, limits: limits.resourceLimits, killedBySupervisor: note.hasPrefix("killed"))
                if note == "lockdown failed" {
                    logger.error("worker lockdown failed", metadata: ["event": "lockdown_failed", "outcome": "\(outcome)"])
                    startup.finish(error: "worker lockdown failed: \(outcome)")
                } else if note == "answered" {
                    logger.debug("worker ended abnormally after answering", metadata: ["event": "worker_exit", "outcome": "\(outcome)"])
                }
            }
        }
    }

    func expireDeadlines() {
        let now = Monotonic.now()
        // At its deadline a job's worker is killed, and the job stays in flight until the
        // worker's end is known (see `ActiveJob.killedAt`); past its expiry, it is answered.
        let (toKill, expired) = executor.shared.withLock { s -> ([WorkerHandle], [SandboxExecutor.ActiveJob]) in
            var kill: [WorkerHandle] = [], out: [SandboxExecutor.ActiveJob] = []
            for (id, job) in s.jobs where job.expiry <= now {
                if job.killedAt == nil && job.report == nil {
                    s.jobs[id]!.killedAt = now
                    kill.append(job.worker)
                } else {
                    s.jobs[id] = nil
                    out.append(job)
                }
            }
            return (kill, out)
        }
        for worker in toKill {
            _ = spawner.kill(worker, remember: false)
            metrics?.recordKill("timeout")
            logger.notice("job timed out; worker killed", metadata: ["event": "job_timeout", "worker": "\(worker.id)"])
        }
        for job in expired {
            logger.warning("job answered timed out without its worker's end", metadata: ["event": "job_timeout_backstop",
                                                                                        "worker": "\(job.worker.id)"])
            executor.complete(job, .error(.timedOut))
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

/// Writes all of `bytes` to a job socket, without SIGPIPE; false if the peer is gone. The socket
/// is non-blocking once its answer channel exists (NIO sets the flag on the shared file
/// description): a full buffer is waited out in poll(2), as a blocking send would.
func sendAllNoSignal(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        if n < 0 {
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, -1)
                continue
            }
            return false
        }
        offset += n
    }
    return true
}
