// Every budget the daemon enforces, in one place, with its default and its reason. Read from the
// `[limits]` table of the config file (Config/alcatraz.toml documents each key; the TOML key is
// the snake_case form of the property name, see `Limits.keys`).
import Sandbox
import WireProtocol

/// Which execution engine workers use.
public typealias ExecutionEngine = Engine

public struct Limits: Sendable, Equatable {
    /// Largest frame payload after the handshake, both directions (`max_frame_bytes`). Must hold
    /// the largest blob plus the largest input plus a few bytes of message.
    public var maxFrameBytes: UInt32 = 16 << 20
    /// Largest code blob, inline or registered (`max_blob_bytes`).
    public var maxBlobBytes: UInt32 = 4 << 20
    /// Largest program input (`max_input_bytes`).
    public var maxInputBytes: UInt32 = 1 << 20
    /// Largest gas limit a request may ask for (`max_gas`).
    public var maxGas: UInt64 = 10_000_000_000
    /// Guest memory a program may map, bytes (`max_guest_memory_bytes`); passed to the worker.
    public var maxGuestMemoryBytes: UInt64 = 256 << 20
    /// Guest stack size, bytes (`max_stack_bytes`); passed to the worker.
    public var maxStackBytes: UInt64 = 1 << 20
    /// Wall-clock time one job may run before its worker is killed and the answer is
    /// `error(timedOut)` (`job_timeout_millis`). Gas is the deterministic limit; this one only
    /// protects the daemon, so it is generous.
    public var jobTimeoutMillis: UInt64 = 5_000
    /// CPU seconds a worker may use (RLIMIT_CPU, `worker_cpu_seconds`): a second line of defence
    /// behind the wall-clock timeout.
    public var workerCPUSeconds: UInt64 = 10
    /// Private writable memory of one worker process, bytes (RLIMIT_DATA,
    /// `worker_memory_bytes`): guest pages, JIT buffers and the worker's own heap. Must cover
    /// the largest job the other limits admit (`workerMemoryNeeded`).
    public var workerMemoryBytes: UInt64 = 1 << 30
    /// Worker processes running jobs at once: the execution parallelism (`workers`).
    public var workers: UInt32 = 2
    /// How much nicer than the daemon spare workers are forked and locked down, and used ones
    /// torn down (`background_nice`, 0 to 19; 0: all at the daemon's priority). A worker runs
    /// its job at the daemon's own priority. See Sandbox's Priority.swift.
    public var backgroundNice: UInt64 = 10
    /// Requests that may wait per priority before new ones are answered `overloaded`
    /// (`queue_depth`).
    public var queueDepth: UInt32 = 256
    /// Unanswered requests allowed per connection (`max_in_flight`).
    public var maxInFlight: UInt32 = 256
    /// Registered blobs kept before least-recently-used eviction (`max_registered_blobs`).
    public var maxRegisteredBlobs: UInt32 = 1024
    /// Total bytes of registered blobs kept before eviction (`max_registered_bytes`).
    public var maxRegisteredBytes: UInt64 = 256 << 20
    /// Engine the workers run programs with (`engine`: "jit" or "interpreter").
    public var engine: ExecutionEngine = .jit

    public init() {}

    /// The limits announced to clients in `ServerHello`.
    public var serverLimits: ServerLimits {
        ServerLimits(maxFrameBytes: maxFrameBytes, maxBlobBytes: maxBlobBytes, maxInputBytes: maxInputBytes,
                     maxGas: maxGas, queueDepth: queueDepth, maxInFlight: maxInFlight, workers: workers,
                     maxRegisteredBlobs: maxRegisteredBlobs)
    }

    /// The per-job limits sent to the worker.
    public var workerLimits: WorkerLimits {
        WorkerLimits(maxGuestMemoryBytes: maxGuestMemoryBytes, maxStackBytes: maxStackBytes, engine: engine,
                     maxOutputBytes: ValidationResult.maxOutputBytes(maxFrameBytes: maxFrameBytes))
    }

    /// The process limits the spawner applies to every worker.
    public var resourceLimits: ResourceLimits {
        var limits = ResourceLimits()
        limits.memoryBudgetBytes = workerMemoryBytes
        limits.cpuSeconds = workerCPUSeconds
        limits.backgroundNice = backgroundNice
        return limits
    }

    /// Checks the relations between limits; returns the offending key and why.
    public func problems() -> [(key: String, message: String)] {
        var out: [(String, String)] = []
        if workers == 0 { out.append(("workers", "must be at least 1")) }
        if workers > 256 { out.append(("workers", "must be at most 256")) }
        if backgroundNice > 19 { out.append(("background_nice", "must be 0 to 19")) }
        if queueDepth == 0 { out.append(("queue_depth", "must be at least 1")) }
        if maxInFlight == 0 { out.append(("max_in_flight", "must be at least 1")) }
        if jobTimeoutMillis == 0 || jobTimeoutMillis > 86_400_000 {
            out.append(("job_timeout_millis", "must be 1 to 86400000 (a day)"))
        }
        if workerCPUSeconds == 0 || workerCPUSeconds > 86_400 { out.append(("worker_cpu_seconds", "must be 1 to 86400")) }
        if maxBlobBytes == 0 { out.append(("max_blob_bytes", "must be at least 1")) }
        if maxInputBytes > 1 << 24 { out.append(("max_input_bytes", "must be at most 16777216 (the GP's input limit)")) }
        if maxFrameBytes < ProtocolVersion.handshakeMaxFrame {
            out.append(("max_frame_bytes", "must be at least \(ProtocolVersion.handshakeMaxFrame) (the handshake maximum)"))
        }
        let needed = UInt64(maxBlobBytes) + UInt64(maxInputBytes) + 64
        if UInt64(maxFrameBytes) < needed {
            out.append(("max_frame_bytes", "must hold max_blob_bytes + max_input_bytes + 64 = \(needed) bytes"))
        }
        if maxRegisteredBytes < UInt64(maxBlobBytes) {
            out.append(("max_registered_bytes", "must be at least max_blob_bytes (\(maxBlobBytes))"))
        }
        let request = UInt64(maxBlobBytes) + UInt64(maxInputBytes) + 4096
        if request > UInt64(WorkerMessage.maximumRequestBytes) {
            out.append(("max_blob_bytes", "max_blob_bytes + max_input_bytes + 4096 = \(request) must fit a worker's request (\(WorkerMessage.maximumRequestBytes) bytes)"))
        }
        if maxRegisteredBlobs == 0 { out.append(("max_registered_blobs", "must be at least 1")) }
        if maxStackBytes < 4096 { out.append(("max_stack_bytes", "must be at least 4096 (one page)")) }
        if maxGuestMemoryBytes < 65536 { out.append(("max_guest_memory_bytes", "must be at least 65536")) }
        if workerMemoryBytes < workerMemoryNeeded {
            out.append(("worker_memory_bytes",
                        "must be at least 16 MiB + max_guest_memory_bytes + 2 × max_input_bytes + 128 × max_blob_bytes "
                        + "= \(workerMemoryNeeded) bytes, what a worker may need to compile and run the largest program "
                        + "(docs/operations.md, \"Worker memory\"); lower those limits or raise this one"))
        }
        return out
    }

    /// The memory budget a worker needs for the largest job these limits admit
    /// (`WorkerLimits.memoryNeeded`): with the defaults, 786 MiB of the 1 GiB.
    public var workerMemoryNeeded: UInt64 {
        WorkerLimits.memoryNeeded(maxBlobBytes: UInt64(maxBlobBytes), maxInputBytes: UInt64(maxInputBytes),
                                  maxGuestMemoryBytes: maxGuestMemoryBytes)
    }
}
