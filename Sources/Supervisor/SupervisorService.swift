// What every connection shares: limits, the code cache, the scheduler, counters, the logger,
// and the registry of open connections (closed, once answered, when the daemon drains).
import Logging
import NIOCore
import Synchronization
import WireProtocol

public final class SupervisorService: Sendable {
    public static let version = "0.1.0"

    public let limits: Limits
    public let cache: CodeCache
    public let scheduler: Scheduler
    public let tally = VerdictTally()
    public let metrics: DaemonMetrics?
    public let logger: Logger
    public let serverName = "alcatrazd/\(SupervisorService.version)"
    let connections = ConnectionRegistry()
    private let startedAt = Monotonic.now()
    private let draining = Atomic<Bool>(false)

    public init(limits: Limits, scheduler: Scheduler, metrics: DaemonMetrics?, logger: Logger) {
        self.limits = limits
        self.scheduler = scheduler
        self.metrics = metrics
        self.logger = logger
        cache = CodeCache(maxEntries: Int(limits.maxRegisteredBlobs), maxBytes: limits.maxRegisteredBytes)
    }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Stops admitting work (new validations are answered `shuttingDown`).
    func beginDraining() { draining.store(true, ordering: .relaxed) }

    /// A request's size, input and gas against the limits.
    func checkLimits(_ request: ValidateCandidate) -> ServiceError? {
        if case let .inline(code) = request.code, code.count > Int(limits.maxBlobBytes) {
            return .limitExceeded(limit: .blobBytes, requested: UInt64(code.count), maximum: UInt64(limits.maxBlobBytes))
        }
        if request.input.count > Int(limits.maxInputBytes) {
            return .limitExceeded(limit: .inputBytes, requested: UInt64(request.input.count), maximum: UInt64(limits.maxInputBytes))
        }
        if request.gasLimit > limits.maxGas {
            return .limitExceeded(limit: .gas, requested: request.gasLimit, maximum: limits.maxGas)
        }
        return nil
    }

    /// Counts an answered validation (status totals, Prometheus, latency).
    func recordVerdict(_ verdict: Verdict, receivedAt: UInt64) {
        tally.record(verdict)
        metrics?.recordVerdict(verdict, latencyNanos: Monotonic.now() - receivedAt)
        if case let .error(error) = verdict {
            switch error {
            case .overloaded, .shuttingDown, .limitExceeded, .unknownCode: break
            default: logger.notice("no verdict", metadata: ["event": "verdict_error", "error": "\(error)"])
            }
        }
    }

    public func statusReport(requestId: UInt64) -> StatusReport {
        StatusReport(requestId: requestId, serverVersion: Self.version,
                     uptimeMillis: (Monotonic.now() - startedAt) / 1_000_000, queued: scheduler.queued,
                     workersReady: UInt32(clamping: scheduler.readyWorkers), workersBusy: UInt32(clamping: scheduler.running),
                     verdicts: tally.snapshot, cacheEntries: UInt32(clamping: cache.count))
    }
}

/// Open client connections, so that shutdown can close them after their last answer.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[UInt64: any Channel]>([:])
    private let nextID = Atomic<UInt64>(1)

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func add(_ id: UInt64, channel: any Channel) { channels.withLock { $0[id] = channel } }

    func remove(_ id: UInt64) { channels.withLock { $0[id] = nil } }

    var count: Int { channels.withLock { $0.count } }

    /// Flushes what each connection has been given (on its event loop, after the answers
    /// already queued there), then closes it.
    func closeAllAfterFlush() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.eventLoop.execute {
                channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }
}
