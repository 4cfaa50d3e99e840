// Messages from alcatrazd (server) to a node (client). Tag space 0x41...0x7f.

/// A message sent by the server. Tags: 0x41 hello, 0x42 versionMismatch,
/// 0x43 validationResult, 0x44 codeRegistered, 0x45 status, 0x46 requestFailed,
/// 0x7f protocolError.
public enum ServerMessage: Sendable, Equatable, ScaleCodable {
    /// 0x41: accepts the client's hello.
    case hello(ServerHello)
    /// 0x42: refuses the client's hello; the connection closes.
    case versionMismatch(VersionMismatch)
    /// 0x43: answers `ValidateCandidate`.
    case validationResult(ValidationResult)
    /// 0x44: answers `RegisterCode`.
    case codeRegistered(CodeRegistered)
    /// 0x45: answers `Status`.
    case status(StatusReport)
    /// 0x46: refuses a `RegisterCode` or `Status`.
    case requestFailed(RequestFailed)
    /// 0x7f: malformed input; the connection closes.
    case protocolError(ProtocolError)

    /// Tag bytes of the variants.
    public enum Tag {
        public static let hello: UInt8 = 0x41
        public static let versionMismatch: UInt8 = 0x42
        public static let validationResult: UInt8 = 0x43
        public static let codeRegistered: UInt8 = 0x44
        public static let status: UInt8 = 0x45
        public static let requestFailed: UInt8 = 0x46
        public static let protocolError: UInt8 = 0x7f
    }

    /// The request this message answers, if any.
    public var requestId: UInt64? {
        switch self {
        case .hello, .versionMismatch: return nil
        case let .validationResult(message): return message.requestId
        case let .codeRegistered(message): return message.requestId
        case let .status(message): return message.requestId
        case let .requestFailed(message): return message.requestId
        case let .protocolError(message): return message.requestId
        }
    }

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .hello(message):
            encoder.writeTag(Tag.hello)
            encoder.write(message)
        case let .versionMismatch(message):
            encoder.writeTag(Tag.versionMismatch)
            encoder.write(message)
        case let .validationResult(message):
            encoder.writeTag(Tag.validationResult)
            encoder.write(message)
        case let .codeRegistered(message):
            encoder.writeTag(Tag.codeRegistered)
            encoder.write(message)
        case let .status(message):
            encoder.writeTag(Tag.status)
            encoder.write(message)
        case let .requestFailed(message):
            encoder.writeTag(Tag.requestFailed)
            encoder.write(message)
        case let .protocolError(message):
            encoder.writeTag(Tag.protocolError)
            encoder.write(message)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("ServerMessage")
        switch tag {
        case Tag.hello: self = .hello(try decoder.read(ServerHello.self))
        case Tag.versionMismatch: self = .versionMismatch(try decoder.read(VersionMismatch.self))
        case Tag.validationResult: self = .validationResult(try decoder.read(ValidationResult.self))
        case Tag.codeRegistered: self = .codeRegistered(try decoder.read(CodeRegistered.self))
        case Tag.status: self = .status(try decoder.read(StatusReport.self))
        case Tag.requestFailed: self = .requestFailed(try decoder.read(RequestFailed.self))
        case Tag.protocolError: self = .protocolError(try decoder.read(ProtocolError.self))
        default: throw decoder.unknownTag(tag, "ServerMessage")
        }
    }
}

/// Limits the server enforces; a client should not send requests that exceed them.
public struct ServerLimits: Sendable, Equatable, ScaleCodable {
    /// Largest frame payload, both directions, after the handshake.
    public var maxFrameBytes: UInt32
    /// Largest code blob (inline or registered).
    public var maxBlobBytes: UInt32
    /// Largest input.
    public var maxInputBytes: UInt32
    /// Largest gas limit.
    public var maxGas: UInt64
    /// Requests that may wait in each priority queue before `overloaded` is answered.
    public var queueDepth: UInt32
    /// Requests that may await a response on one connection.
    public var maxInFlight: UInt32
    /// Worker processes (the parallelism of execution).
    public var workers: UInt32
    /// Code blobs the registry keeps before evicting the least recently used.
    public var maxRegisteredBlobs: UInt32

    public init(maxFrameBytes: UInt32, maxBlobBytes: UInt32, maxInputBytes: UInt32,
                maxGas: UInt64, queueDepth: UInt32, maxInFlight: UInt32, workers: UInt32,
                maxRegisteredBlobs: UInt32) {
        self.maxFrameBytes = maxFrameBytes
        self.maxBlobBytes = maxBlobBytes
        self.maxInputBytes = maxInputBytes
        self.maxGas = maxGas
        self.queueDepth = queueDepth
        self.maxInFlight = maxInFlight
        self.workers = workers
        self.maxRegisteredBlobs = maxRegisteredBlobs
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(maxFrameBytes)
        encoder.write(maxBlobBytes)
        encoder.write(maxInputBytes)
        encoder.write(maxGas)
        encoder.write(queueDepth)
        encoder.write(maxInFlight)
        encoder.write(workers)
        encoder.write(maxRegisteredBlobs)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        maxFrameBytes = try decoder.read(UInt32.self, "ServerLimits.maxFrameBytes")
        maxBlobBytes = try decoder.read(UInt32.self, "ServerLimits.maxBlobBytes")
        maxInputBytes = try decoder.read(UInt32.self, "ServerLimits.maxInputBytes")
        maxGas = try decoder.read(UInt64.self, "ServerLimits.maxGas")
        queueDepth = try decoder.read(UInt32.self, "ServerLimits.queueDepth")
        maxInFlight = try decoder.read(UInt32.self, "ServerLimits.maxInFlight")
        workers = try decoder.read(UInt32.self, "ServerLimits.workers")
        maxRegisteredBlobs = try decoder.read(UInt32.self, "ServerLimits.maxRegisteredBlobs")
    }
}

/// Accepts the client's hello.
public struct ServerHello: Sendable, Equatable, ScaleCodable {
    /// The version both sides now speak; must stay the first field in every version.
    public var protocolVersion: UInt16
    /// Free-form server identification, e.g. `"alcatrazd/0.1.0"`.
    public var serverName: String
    /// What the server accepts from now on.
    public var limits: ServerLimits

    public init(protocolVersion: UInt16 = ProtocolVersion.current, serverName: String, limits: ServerLimits) {
        self.protocolVersion = protocolVersion
        self.serverName = serverName
        self.limits = limits
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(protocolVersion)
        encoder.writeString(serverName)
        encoder.write(limits)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        protocolVersion = try decoder.read(UInt16.self, "ServerHello.protocolVersion")
        serverName = try decoder.readString("ServerHello.serverName")
        limits = try decoder.read(ServerLimits.self)
    }
}

/// Refuses the client's hello; the server closes the connection after sending it.
/// Its encoding is the same in every protocol version.
public struct VersionMismatch: Sendable, Equatable, ScaleCodable {
    /// The version the client asked for.
    public var requested: UInt16
    /// Oldest version the server speaks.
    public var oldestSupported: UInt16
    /// Newest version the server speaks.
    public var newestSupported: UInt16

    public init(requested: UInt16, oldestSupported: UInt16, newestSupported: UInt16) {
        self.requested = requested
        self.oldestSupported = oldestSupported
        self.newestSupported = newestSupported
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requested)
        encoder.write(oldestSupported)
        encoder.write(newestSupported)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requested = try decoder.read(UInt16.self, "VersionMismatch.requested")
        oldestSupported = try decoder.read(UInt16.self, "VersionMismatch.oldestSupported")
        newestSupported = try decoder.read(UInt16.self, "VersionMismatch.newestSupported")
    }
}

/// The answer to `ValidateCandidate`.
public struct ValidationResult: Sendable, Equatable, ScaleCodable {
    /// The largest output a `valid` answer can carry in a frame of `maxFrameBytes`: the frame
    /// less every other field at its largest (the output's compact length prefix included).
    public static func maxOutputBytes(maxFrameBytes: UInt32) -> UInt64 {
        let empty = ServerMessage.validationResult(ValidationResult(
            requestId: .max, verdict: .valid(output: [], gasUsed: .max),
            timings: Timings(queuedMicros: .max, compileMicros: .max, executeMicros: .max)))
        let others = UInt64(empty.encode().count) + 8   // a compact length grows from 1 to at most 9 bytes
        return UInt64(maxFrameBytes) > others ? UInt64(maxFrameBytes) - others : 0
    }

    /// Of the `ValidateCandidate`.
    public var requestId: UInt64
    public var verdict: Verdict
    /// Where the time went (all zero if no worker was involved).
    public var timings: Timings

    public init(requestId: UInt64, verdict: Verdict, timings: Timings) {
        self.requestId = requestId
        self.verdict = verdict
        self.timings = timings
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
        encoder.write(verdict)
        encoder.write(timings)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "ValidationResult.requestId")
        verdict = try decoder.read(Verdict.self)
        timings = try decoder.read(Timings.self)
    }
}

/// The answer to `RegisterCode`: the BLAKE2b-256 hash under which the blob is now known.
public struct CodeRegistered: Sendable, Equatable, ScaleCodable {
    /// Of the `RegisterCode`.
    public var requestId: UInt64
    /// BLAKE2b-256 of the registered blob.
    public var hash: BlobHash

    public init(requestId: UInt64, hash: BlobHash) {
        self.requestId = requestId
        self.hash = hash
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
        encoder.write(hash)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "CodeRegistered.requestId")
        hash = try decoder.read(BlobHash.self)
    }
}

/// A well-formed request the server will not serve (`RegisterCode` or `Status`; a
/// `ValidateCandidate` is always answered by a `ValidationResult`, possibly with an error
/// verdict).
public struct RequestFailed: Sendable, Equatable, ScaleCodable {
    /// Of the refused request.
    public var requestId: UInt64
    /// Why it was refused.
    public var error: ServiceError

    public init(requestId: UInt64, error: ServiceError) {
        self.requestId = requestId
        self.error = error
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
        encoder.write(error)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "RequestFailed.requestId")
        error = try decoder.read(ServiceError.self)
    }
}

/// Classes of malformed input reported in a `ProtocolError`. Encoded as a one-byte enum.
public enum ProtocolErrorCode: UInt8, Sendable, Equatable, CaseIterable, ScaleCodable {
    /// A frame header announcing a zero-length payload.
    case badLength = 0
    /// A frame header announcing more than the maximum frame size.
    case frameTooLarge = 1
    /// An unknown message tag or enum variant.
    case unknownTag = 2
    /// The payload ended inside a field (or a length prefix exceeds what is left).
    case truncated = 3
    /// Bytes left over after a complete message.
    case trailingBytes = 4
    /// A field with a forbidden value: non-canonical compact, bad bool or Option byte,
    /// invalid UTF-8.
    case invalidValue = 5
    /// A well-formed message at the wrong time: anything before `ClientHello`, a second
    /// hello, a server message sent by a client.
    case unexpectedMessage = 6
    /// A request id already in flight on this connection.
    case duplicateRequestId = 7

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeTag(rawValue)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("ProtocolErrorCode")
        guard let value = ProtocolErrorCode(rawValue: tag) else {
            throw decoder.unknownTag(tag, "ProtocolErrorCode")
        }
        self = value
    }
}

/// The error frame: the peer sent something malformed; the server closes the connection
/// right after sending it.
public struct ProtocolError: Sendable, Equatable, ScaleCodable {
    /// The id of the offending request, when it could be read.
    public var requestId: UInt64?
    /// The class of the failure.
    public var code: ProtocolErrorCode
    /// Human-readable detail (what failed and at which offset).
    public var message: String

    public init(requestId: UInt64?, code: ProtocolErrorCode, message: String) {
        self.requestId = requestId
        self.code = code
        self.message = message
    }

    /// The error frame describing a decoding failure of a client payload.
    public init(_ error: WireError, payload: [UInt8]? = nil) {
        self.init(requestId: payload.flatMap { ClientMessage.peekRequestId($0) },
                  code: error.protocolErrorCode, message: error.description)
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeOption(requestId)
        encoder.write(code)
        encoder.writeString(message)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.readOptionalU64("ProtocolError.requestId")
        code = try decoder.read(ProtocolErrorCode.self)
        message = try decoder.readString("ProtocolError.message")
    }
}
