// The answer to a `Status` request: a snapshot of the daemon's load and counters.

/// One count per priority.
public struct PriorityCounts: Sendable, Equatable, ScaleCodable {
    public var backing: UInt32
    public var approval: UInt32
    public var dispute: UInt32

    public init(backing: UInt32, approval: UInt32, dispute: UInt32) {
        self.backing = backing
        self.approval = approval
        self.dispute = dispute
    }

    /// The count for `priority`.
    public subscript(priority: Priority) -> UInt32 {
        get {
            switch priority {
            case .backing: return backing
            case .approval: return approval
            case .dispute: return dispute
            }
        }
        set {
            switch priority {
            case .backing: backing = newValue
            case .approval: approval = newValue
            case .dispute: dispute = newValue
            }
        }
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(backing)
        encoder.write(approval)
        encoder.write(dispute)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        backing = try decoder.read(UInt32.self, "PriorityCounts.backing")
        approval = try decoder.read(UInt32.self, "PriorityCounts.approval")
        dispute = try decoder.read(UInt32.self, "PriorityCounts.dispute")
    }
}

/// Verdicts given since the daemon started, by kind.
public struct VerdictCounts: Sendable, Equatable, ScaleCodable {
    public var valid: UInt64
    public var invalid: UInt64
    public var error: UInt64

    public init(valid: UInt64, invalid: UInt64, error: UInt64) {
        self.valid = valid
        self.invalid = invalid
        self.error = error
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(valid)
        encoder.write(invalid)
        encoder.write(error)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        valid = try decoder.read(UInt64.self, "VerdictCounts.valid")
        invalid = try decoder.read(UInt64.self, "VerdictCounts.invalid")
        error = try decoder.read(UInt64.self, "VerdictCounts.error")
    }
}

/// The answer to `StatusRequest`.
public struct StatusReport: Sendable, Equatable, ScaleCodable {
    public var requestId: UInt64
    /// Daemon software version, e.g. `"0.1.0"` (the protocol version is in the hellos).
    public var serverVersion: String
    /// Milliseconds since the daemon started.
    public var uptimeMillis: UInt64
    /// Requests waiting in each priority queue.
    public var queued: PriorityCounts
    /// Idle workers.
    public var workersReady: UInt32
    /// Workers running a job.
    public var workersBusy: UInt32
    /// Verdicts given since start.
    public var verdicts: VerdictCounts
    /// Code blobs currently registered (cached).
    public var cacheEntries: UInt32

    public init(requestId: UInt64, serverVersion: String, uptimeMillis: UInt64,
                queued: PriorityCounts, workersReady: UInt32, workersBusy: UInt32,
                verdicts: VerdictCounts, cacheEntries: UInt32) {
        self.requestId = requestId
        self.serverVersion = serverVersion
        self.uptimeMillis = uptimeMillis
        self.queued = queued
        self.workersReady = workersReady
        self.workersBusy = workersBusy
        self.verdicts = verdicts
        self.cacheEntries = cacheEntries
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
        encoder.writeString(serverVersion)
        encoder.write(uptimeMillis)
        encoder.write(queued)
        encoder.write(workersReady)
        encoder.write(workersBusy)
        encoder.write(verdicts)
        encoder.write(cacheEntries)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "StatusReport.requestId")
        serverVersion = try decoder.readString("StatusReport.serverVersion")
        uptimeMillis = try decoder.read(UInt64.self, "StatusReport.uptimeMillis")
        queued = try decoder.read(PriorityCounts.self)
        workersReady = try decoder.read(UInt32.self, "StatusReport.workersReady")
        workersBusy = try decoder.read(UInt32.self, "StatusReport.workersBusy")
        verdicts = try decoder.read(VerdictCounts.self)
        cacheEntries = try decoder.read(UInt32.self, "StatusReport.cacheEntries")
    }
}
