// The scheduler: admits validation jobs into the bounded priority queue and hands them to the
// executor, never more at once than the executor's capacity. Every admitted job is answered
// exactly once: by the executor's result, by `timedOut` if its deadline passed while it waited,
// or by `shuttingDown` when the daemon drains. State lives behind one lock; callbacks (the
// executor, the answers) are always invoked outside it.
import Synchronization
import WireProtocol

/// Monotonic nanoseconds (CLOCK_MONOTONIC).
public enum Monotonic {
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// What an executor reports for one job.
public struct ExecutionResult: Sendable, Equatable {
    public var verdict: Verdict
    public var compileMicros: UInt64
    public var executeMicros: UInt64

    public init(verdict: Verdict, compileMicros: UInt64 = 0, executeMicros: UInt64 = 0) {
        self.verdict = verdict
        self.compileMicros = compileMicros
        self.executeMicros = executeMicros
    }
}

/// Runs jobs, one per worker. The real one is `SandboxExecutor`; tests inject fakes.
public protocol JobExecutor: AnyObject, Sendable {
    /// Jobs run at once; the scheduler never hands over more than this.
    var capacity: Int { get }
    /// Workers locked down and waiting for a job (for `StatusReport`).
    var readyWorkers: Int { get }
    /// Runs `job`, killing it at `deadline` (monotonic ns). Calls `completion` exactly once,
    /// from any thread.
    func execute(_ job: WorkerJob, deadline: UInt64, completion: @escaping @Sendable (ExecutionResult) -> Void)
    /// Stops the workers; called once every job has completed.
    func shutdown()
}

/// One admitted validation request.
public struct PendingJob: Sendable {
    public var requestId: UInt64
    public var blob: [UInt8]
    public var input: [UInt8]
    public var gasLimit: UInt64
    public var priority: Priority
    /// Monotonic ns when the request was read.
    public var receivedAt: UInt64
    /// Monotonic ns after which the answer is `timedOut`, from the request's deadlineMillis.
    public var deadline: UInt64?
    /// Delivers the answer; called exactly once.
    public var respond: @Sendable (ValidationResult) -> Void

    public init(requestId: UInt64, blob: [UInt8], input: [UInt8], gasLimit: UInt64, priority: Priority,
                receivedAt: UInt64, deadline: UInt64?, respond: @escaping @Sendable (ValidationResult) -> Void) {
        self.requestId = requestId
        self.blob = blob
        self.input = input
        self.gasLimit = gasLimit
        self.priority = priority
        self.receivedAt = receivedAt
        self.deadline = deadline
        self.respond = respond
    }
}

public enum Admission: Sendable, Equatable {
    case accepted
    case overloaded
    case shuttingDown
}

public final class Scheduler: Sendable {
    private struct State {
        var queue: JobQueue<PendingJob>
        var running = 0
        var nextJobId: UInt64 = 1
        var draining = false
        var onIdle: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>
    private let executor: any JobExecutor
    private let limits: Limits
    /// Sent with every job; computed once (its output limit encodes a sample answer).
    private let workerLimits: WorkerLimits
    private let observer: SchedulerObserver

    public init(executor: any JobExecutor, limits: Limits, weights: SchedulerWeights, observer: SchedulerObserver = .none) {
        self.executor = executor
        self.limits = limits
        workerLimits = limits.workerLimits
        self.observer = observer
        state = Mutex(State(queue: JobQueue(depth: Int(limits.queueDepth), weights: weights)))
    }

    /// Requests waiting per priority.
    public var queued: PriorityCounts {
        state.withLock { s in
            PriorityCounts(backing: UInt32(s.queue.count(.backing)), approval: UInt32(s.queue.count(.approval)),
                           dispute: UInt32(s.queue.count(.dispute)))
        }
    }

    /// Jobs handed to the executor and not finished.
    public var running: Int { state.withLock { $0.running } }

    public var readyWorkers: Int { executor.readyWorkers }

    /// Admits a job, or says why not (the caller answers `overloaded` / `shuttingDown`).
    public func submit(_ job: PendingJob) -> Admission {
        let admission: Admission
        var toStart: [(PendingJob, UInt64)] = []
        admission = state.withLock { s -> Admission in
            if s.draining { return .shuttingDown }
            guard s.queue.push(job, priority: job.priority) else { return .overloaded }
            toStart = Self.takeStartable(&s, capacity: executor.capacity)
            return .accepted
        }
        // The job first, the metrics after: a worker may be waiting for it.
        start(toStart)
        observer.queueChanged(queued)
        return admission
    }

    /// Pops what may start now, counting it as running; assigns job ids.
    private static func takeStartable(_ s: inout State, capacity: Int) -> [(PendingJob, UInt64)] {
        var out: [(PendingJob, UInt64)] = []
        while s.running < capacity, let job = s.queue.pop() {
            s.running += 1
            out.append((job, s.nextJobId))
            s.nextJobId += 1
        }
        return out
    }

    private func start(_ jobs: [(PendingJob, UInt64)]) {
        var work = jobs
        var next = 0
        while next < work.count {
            let (job, jobId) = work[next]
            next += 1
            let now = Monotonic.now()
            let queuedMicros = (now - min(now, job.receivedAt)) / 1000
            if let deadline = job.deadline, deadline <= now {
                // The deadline passed while the job waited: no worker is spent on it. What its slot
                // lets start joins this loop (a long run of expired jobs must not recurse).
                deliver(job, ExecutionResult(verdict: .error(.timedOut)), queuedMicros: queuedMicros)
                let (more, idle) = release()
                work += more
                idle?()
                continue
            }
            var deadline = now + limits.jobTimeoutMillis * 1_000_000
            if let requested = job.deadline { deadline = min(deadline, requested) }
            let workerJob = WorkerJob(jobId: jobId, blob: job.blob, input: job.input, gasLimit: job.gasLimit,
                                      limits: workerLimits)
            executor.execute(workerJob, deadline: deadline) { [self] result in
                deliver(job, result, queuedMicros: queuedMicros)
                finished()
            }
        }
    }

    private func deliver(_ job: PendingJob, _ result: ExecutionResult, queuedMicros: UInt64) {
        let timings = Timings(queuedMicros: queuedMicros, compileMicros: result.compileMicros,
                              executeMicros: result.executeMicros)
        job.respond(ValidationResult(requestId: job.requestId, verdict: result.verdict, timings: timings))
    }

    private func finished() {
        let (toStart, idle) = release()
        start(toStart)
        observer.queueChanged(queued)
        idle?()
    }

    /// A job is over: frees its slot. Returns what may start now (counted as running), and the
    /// drain's `onIdle` if this was the last job.
    private func release() -> (toStart: [(PendingJob, UInt64)], idle: (@Sendable () -> Void)?) {
        var idle: (@Sendable () -> Void)?
        let toStart = state.withLock { s -> [(PendingJob, UInt64)] in
            s.running -= 1
            let out = Self.takeStartable(&s, capacity: executor.capacity)
            if s.draining && s.running == 0 && out.isEmpty {
                idle = s.onIdle
                s.onIdle = nil
            }
            return out
        }
        return (toStart, idle)
    }

    /// Stops admitting; answers every queued job `shuttingDown`; calls `onIdle` once the jobs
    /// already running have been answered (at once if none is).
    public func drain(onIdle: @escaping @Sendable () -> Void) {
        var callNow = false
        let dropped = state.withLock { s -> [PendingJob] in
            s.draining = true
            let jobs = s.queue.removeAll()
            if s.running == 0 { callNow = true } else { s.onIdle = onIdle }
            return jobs
        }
        for job in dropped {
            let now = Monotonic.now()
            deliver(job, ExecutionResult(verdict: .error(.shuttingDown)), queuedMicros: (now - min(now, job.receivedAt)) / 1000)
        }
        observer.queueChanged(queued)
        if callNow { onIdle() }
    }
}

/// Hooks for metrics (kept out of the scheduler's logic).
public struct SchedulerObserver: Sendable {
    public var queueChanged: @Sendable (PriorityCounts) -> Void

    public init(queueChanged: @escaping @Sendable (PriorityCounts) -> Void) {
        self.queueChanged = queueChanged
    }

    public static let none = SchedulerObserver(queueChanged: { _ in })
}
