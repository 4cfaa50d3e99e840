// Verdicts and service errors.
//
// Only `Verdict.invalid` is a judgement on the candidate: it is deterministic, so every
// honest executor reaches the same one. `Verdict.error` says the daemon could not reach a
// judgement (time, resources, its own faults); the node may retry it.

/// The outcome of a `ValidateCandidate` request.
///
/// Tags: 0x00 valid, 0x01 invalid, 0x02 error.
public enum Verdict: Sendable, Equatable, ScaleCodable {
    /// The program halted normally.
    case valid(output: [UInt8], gasUsed: UInt64)
    /// The program is deterministically invalid.
    case invalid(InvalidReason)
    /// No judgement was reached; the request may be retried.
    case error(ServiceError)

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .valid(output, gasUsed):
            encoder.writeTag(0)
            encoder.writeByteVector(output)
            encoder.write(gasUsed)
        case let .invalid(reason):
            encoder.writeTag(1)
            encoder.write(reason)
        case let .error(error):
            encoder.writeTag(2)
            encoder.write(error)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("Verdict")
        switch tag {
        case 0:
            let output = try decoder.readByteVector("Verdict.valid.output")
            let gasUsed = try decoder.read(UInt64.self, "Verdict.valid.gasUsed")
            self = .valid(output: output, gasUsed: gasUsed)
        case 1: self = .invalid(try decoder.read(InvalidReason.self))
        case 2: self = .error(try decoder.read(ServiceError.self))
        default: throw decoder.unknownTag(tag, "Verdict")
        }
    }
}

/// Why a candidate is invalid. Every case is deterministic.
///
/// Tags: 0x00 panic, 0x01 outOfGas, 0x02 pageFault, 0x03 badCode.
public enum InvalidReason: Sendable, Equatable, ScaleCodable {
    /// The program trapped (or jumped badly) at program counter `pc`.
    case panic(pc: UInt32)
    /// The gas limit ran out.
    case outOfGas
    /// The program touched an inaccessible page at `address`.
    case pageFault(address: UInt32)
    /// The code blob is malformed.
    case badCode(message: String)

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .panic(pc):
            encoder.writeTag(0)
            encoder.write(pc)
        case .outOfGas:
            encoder.writeTag(1)
        case let .pageFault(address):
            encoder.writeTag(2)
            encoder.write(address)
        case let .badCode(message):
            encoder.writeTag(3)
            encoder.writeString(message)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("InvalidReason")
        switch tag {
        case 0: self = .panic(pc: try decoder.read(UInt32.self, "InvalidReason.panic.pc"))
        case 1: self = .outOfGas
        case 2: self = .pageFault(address: try decoder.read(UInt32.self, "InvalidReason.pageFault.address"))
        case 3: self = .badCode(message: try decoder.readString("InvalidReason.badCode.message"))
        default: throw decoder.unknownTag(tag, "InvalidReason")
        }
    }
}

/// A server-side reason for not reaching a verdict (or not serving a request). Retryable:
/// none of these says anything about the candidate.
///
/// Tags: 0x00 timedOut, 0x01 workerDied, 0x02 sandboxFailure, 0x03 overloaded,
/// 0x04 shuttingDown, 0x05 internal, 0x06 unknownCode, 0x07 limitExceeded.
public enum ServiceError: Sendable, Equatable, ScaleCodable {
    /// The deadline passed before the run finished (wall-clock; gas is the deterministic limit).
    case timedOut
    /// The worker process was killed by `signal`.
    case workerDied(signal: UInt32)
    /// The sandbox could not be set up or was breached.
    case sandboxFailure(message: String)
    /// The queue for this priority is full.
    case overloaded
    /// The daemon is draining and accepts no more work.
    case shuttingDown
    /// A bug or unexpected condition in the daemon.
    case `internal`(message: String)
    /// The request named code by a hash the daemon does not hold (never registered, or
    /// evicted); register it again or send it inline.
    case unknownCode(BlobHash)
    /// The request exceeds one of the limits announced in `ServerHello`, or the program one of
    /// the daemon's memory caps (`LimitKind.stackBytes`, `.guestMemoryBytes`).
    case limitExceeded(limit: LimitKind, requested: UInt64, maximum: UInt64)

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case .timedOut:
            encoder.writeTag(0)
        case let .workerDied(signal):
            encoder.writeTag(1)
            encoder.write(signal)
        case let .sandboxFailure(message):
            encoder.writeTag(2)
            encoder.writeString(message)
        case .overloaded:
            encoder.writeTag(3)
        case .shuttingDown:
            encoder.writeTag(4)
        case let .internal(message):
            encoder.writeTag(5)
            encoder.writeString(message)
        case let .unknownCode(hash):
            encoder.writeTag(6)
            encoder.write(hash)
        case let .limitExceeded(limit, requested, maximum):
            encoder.writeTag(7)
            encoder.write(limit)
            encoder.write(requested)
            encoder.write(maximum)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("ServiceError")
        switch tag {
        case 0: self = .timedOut
        case 1: self = .workerDied(signal: try decoder.read(UInt32.self, "ServiceError.workerDied.signal"))
        case 2: self = .sandboxFailure(message: try decoder.readString("ServiceError.sandboxFailure.message"))
        case 3: self = .overloaded
        case 4: self = .shuttingDown
        case 5: self = .internal(message: try decoder.readString("ServiceError.internal.message"))
        case 6: self = .unknownCode(try decoder.read(BlobHash.self))
        case 7:
            let limit = try decoder.read(LimitKind.self)
            let requested = try decoder.read(UInt64.self, "ServiceError.limitExceeded.requested")
            let maximum = try decoder.read(UInt64.self, "ServiceError.limitExceeded.maximum")
            self = .limitExceeded(limit: limit, requested: requested, maximum: maximum)
        default: throw decoder.unknownTag(tag, "ServiceError")
        }
    }
}

/// Which announced limit a request broke. Encoded as a one-byte enum.
public enum LimitKind: UInt8, Sendable, Equatable, CaseIterable, ScaleCodable {
    /// `ServerLimits.maxBlobBytes` (code size).
    case blobBytes = 0
    /// `ServerLimits.maxInputBytes`.
    case inputBytes = 1
    /// `ServerLimits.maxGas`.
    case gas = 2
    /// `ServerLimits.maxInFlight` (requests awaiting a response on this connection).
    case inFlight = 3
    /// The daemon's `max_stack_bytes`: the program declares a larger stack. Not announced in
    /// `ServerHello`; `maximum` carries it.
    case stackBytes = 4
    /// The daemon's `max_guest_memory_bytes`: the program declares more memory than that
    /// (`requested` = its data, heap and stack, rounded up to pages), or its `sbrk` would take it
    /// past that during the run. Not announced in `ServerHello`; `maximum` carries it.
    case guestMemoryBytes = 5
    /// The program halted with more output than one answer frame can carry (`ServerLimits.
    /// maxFrameBytes` less the answer's other fields, `ValidationResult.maxOutputBytes`).
    case outputBytes = 6

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeTag(rawValue)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("LimitKind")
        guard let value = LimitKind(rawValue: tag) else { throw decoder.unknownTag(tag, "LimitKind") }
        self = value
    }
}
