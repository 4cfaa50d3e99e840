// Prometheus metrics through swift-metrics: every metric object is made once here, so the hot
// path only increments. Served as text by `MetricsEndpoint` on a localhost HTTP address.
import CoreMetrics
import Prometheus
import Synchronization
import WireProtocol

public final class DaemonMetrics: Sendable {
    /// The registry the endpoint renders.
    public let registry: PrometheusCollectorRegistry
    private let verdictCounters: [String: CoreMetrics.Counter]
    private let queueGauges: [CoreMetrics.Gauge]
    private let latency: CoreMetrics.Timer
    private let spawns: CoreMetrics.Counter
    private let kills: [String: CoreMetrics.Counter]
    private let connections: CoreMetrics.Counter
    private let protocolErrors: CoreMetrics.Counter

    /// Labels of `alcatraz_verdicts_total{verdict, reason}`.
    static let verdictLabels: [(verdict: String, reason: String)] = [
        ("valid", "halt"),
        ("invalid", "panic"), ("invalid", "out_of_gas"), ("invalid", "page_fault"), ("invalid", "bad_code"),
        ("error", "timed_out"), ("error", "worker_died"), ("error", "sandbox_failure"), ("error", "overloaded"),
        ("error", "shutting_down"), ("error", "internal"), ("error", "unknown_code"), ("error", "limit_exceeded"),
    ]

    /// Reasons of `alcatraz_sandbox_kills_total{reason}`.
    public static let killReasons = ["timeout", "seccomp", "signal", "cpu_limit", "memory_limit", "protocol"]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["alcatraz_request_duration_seconds"] = [
            .microseconds(100), .microseconds(200), .microseconds(300), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(3), .milliseconds(5), .milliseconds(10), .milliseconds(50),
            .milliseconds(250), .seconds(1), .seconds(5),
        ]
        var counters: [String: CoreMetrics.Counter] = [:]
        for (verdict, reason) in Self.verdictLabels {
            counters["\(verdict)/\(reason)"] = Counter(label: "alcatraz_verdicts_total",
                                                       dimensions: [("verdict", verdict), ("reason", reason)], factory: factory)
        }
        verdictCounters = counters
        queueGauges = Priority.allCases.map {
            Gauge(label: "alcatraz_queue_depth", dimensions: [("priority", "\($0)")], factory: factory)
        }
        latency = Timer(label: "alcatraz_request_duration_seconds", dimensions: [], factory: factory)
        spawns = Counter(label: "alcatraz_worker_spawns_total", dimensions: [], factory: factory)
        var killCounters: [String: CoreMetrics.Counter] = [:]
        for reason in Self.killReasons {
            killCounters[reason] = Counter(label: "alcatraz_sandbox_kills_total", dimensions: [("reason", reason)], factory: factory)
        }
        kills = killCounters
        connections = Counter(label: "alcatraz_connections_total", dimensions: [], factory: factory)
        protocolErrors = Counter(label: "alcatraz_protocol_errors_total", dimensions: [], factory: factory)
    }

    /// Counts one answered validation and its latency (read to answer).
    public func recordVerdict(_ verdict: Verdict, latencyNanos: UInt64) {
        let (v, r) = Self.labels(verdict)
        verdictCounters["\(v)/\(r)"]?.increment()
        latency.recordNanoseconds(Int64(clamping: latencyNanos))
    }

    public func recordQueue(_ counts: PriorityCounts) {
        for priority in Priority.allCases {
            queueGauges[Int(priority.rawValue)].record(Int64(counts[priority]))
        }
    }

    public func recordSpawn() { spawns.increment() }

    /// Counts a worker the sandbox or the supervisor killed (`reason` from `killReasons`).
    public func recordKill(_ reason: String) { kills[reason]?.increment() }

    public func recordConnection() { connections.increment() }

    public func recordProtocolError() { protocolErrors.increment() }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] { registry.emitToBuffer() }

    static func labels(_ verdict: Verdict) -> (String, String) {
        switch verdict {
        case .valid: ("valid", "halt")
        case let .invalid(reason):
            switch reason {
            case .panic: ("invalid", "panic")
            case .outOfGas: ("invalid", "out_of_gas")
            case .pageFault: ("invalid", "page_fault")
            case .badCode: ("invalid", "bad_code")
            }
        case let .error(error):
            switch error {
            case .timedOut: ("error", "timed_out")
            case .workerDied: ("error", "worker_died")
            case .sandboxFailure: ("error", "sandbox_failure")
            case .overloaded: ("error", "overloaded")
            case .shuttingDown: ("error", "shutting_down")
            case .internal: ("error", "internal")
            case .unknownCode: ("error", "unknown_code")
            case .limitExceeded: ("error", "limit_exceeded")
            }
        }
    }
}

/// Verdict totals for `StatusReport`.
public final class VerdictTally: Sendable {
    private let counts = Mutex(VerdictCounts(valid: 0, invalid: 0, error: 0))

    public init() {}

    public func record(_ verdict: Verdict) {
        counts.withLock { c in
            switch verdict {
            case .valid: c.valid += 1
            case .invalid: c.invalid += 1
            case .error: c.error += 1
            }
        }
    }

    public var snapshot: VerdictCounts { counts.withLock { $0 } }
}
