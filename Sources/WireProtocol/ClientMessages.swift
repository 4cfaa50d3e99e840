// Messages from a node (client) to alcatrazd (server). Tag space 0x01...0x3f.

/// A message sent by a client. Tags: 0x01 hello, 0x02 validateCandidate, 0x03 registerCode,
/// 0x04 status.
public enum ClientMessage: Sendable, Equatable, ScaleCodable {
    /// 0x01: opens the connection.
    case hello(ClientHello)
    /// 0x02: run a program, answered by `ServerMessage.validationResult`.
    case validateCandidate(ValidateCandidate)
    /// 0x03: store a blob, answered by `codeRegistered` or `requestFailed`.
    case registerCode(RegisterCode)
    /// 0x04: ask for a `StatusReport`, answered by `status` or `requestFailed`.
    case status(StatusRequest)

    /// Tag bytes of the variants.
    public enum Tag {
        public static let hello: UInt8 = 0x01
        public static let validateCandidate: UInt8 = 0x02
        public static let registerCode: UInt8 = 0x03
        public static let status: UInt8 = 0x04
    }

    /// The request id, for every message but `hello`.
    public var requestId: UInt64? {
        switch self {
        case .hello: return nil
        case let .validateCandidate(message): return message.requestId
        case let .registerCode(message): return message.requestId
        case let .status(message): return message.requestId
        }
    }

    /// Best-effort request id of a payload that failed to decode, for the `ProtocolError`
    /// reply: every request puts its u64 id right after the tag.
    public static func peekRequestId(_ payload: some Collection<UInt8>) -> UInt64? {
        guard let tag = payload.first,
              tag == Tag.validateCandidate || tag == Tag.registerCode || tag == Tag.status,
              payload.count >= 9
        else { return nil }
        var id: UInt64 = 0
        for (index, byte) in payload.dropFirst().prefix(8).enumerated() {
            id |= UInt64(byte) << (8 * index)
        }
        return id
    }

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .hello(message):
            encoder.writeTag(Tag.hello)
            encoder.write(message)
        case let .validateCandidate(message):
            encoder.writeTag(Tag.validateCandidate)
            encoder.write(message)
        case let .registerCode(message):
            encoder.writeTag(Tag.registerCode)
            encoder.write(message)
        case let .status(message):
            encoder.writeTag(Tag.status)
            encoder.write(message)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("ClientMessage")
        switch tag {
        case Tag.hello: self = .hello(try decoder.read(ClientHello.self))
        case Tag.validateCandidate: self = .validateCandidate(try decoder.read(ValidateCandidate.self))
        case Tag.registerCode: self = .registerCode(try decoder.read(RegisterCode.self))
        case Tag.status: self = .status(try decoder.read(StatusRequest.self))
        default: throw decoder.unknownTag(tag, "ClientMessage")
        }
    }
}

/// First message of a connection: the protocol version the client speaks and a name for logs.
public struct ClientHello: Sendable, Equatable, ScaleCodable {
    /// Must stay the first field in every protocol version (see docs/protocol.md).
    public var protocolVersion: UInt16
    /// Free-form client identification, e.g. `"polkadot/1.17"`.
    public var clientName: String

    public init(protocolVersion: UInt16 = ProtocolVersion.current, clientName: String) {
        self.protocolVersion = protocolVersion
        self.clientName = clientName
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(protocolVersion)
        encoder.writeString(clientName)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        protocolVersion = try decoder.read(UInt16.self, "ClientHello.protocolVersion")
        clientName = try decoder.readString("ClientHello.clientName")
    }
}

/// The code to run: the blob itself, or the hash of a blob registered earlier.
///
/// Tags: 0x00 inline, 0x01 hash.
public enum CodeSource: Sendable, Equatable, ScaleCodable {
    /// The program blob itself.
    case inline([UInt8])
    /// The BLAKE2b-256 hash of a blob registered with `RegisterCode`.
    case hash(BlobHash)

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .inline(code):
            encoder.writeTag(0)
            encoder.writeByteVector(code)
        case let .hash(hash):
            encoder.writeTag(1)
            encoder.write(hash)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("CodeSource")
        switch tag {
        case 0: self = .inline(try decoder.readByteVector("CodeSource.inline"))
        case 1: self = .hash(try decoder.read(BlobHash.self))
        default: throw decoder.unknownTag(tag, "CodeSource")
        }
    }
}

/// Run a program on an input and answer with a `ValidationResult`.
public struct ValidateCandidate: Sendable, Equatable, ScaleCodable {
    /// Chosen by the client, unique among its requests in flight; echoed in the answer.
    public var requestId: UInt64
    /// The program to run.
    public var code: CodeSource
    /// The program's input.
    public var input: [UInt8]
    /// Gas available to the run.
    public var gasLimit: UInt64
    /// Scheduling class of the request.
    public var priority: Priority
    /// Milliseconds from the moment the server reads the request; nil for no deadline.
    public var deadlineMillis: UInt64?

    public init(requestId: UInt64, code: CodeSource, input: [UInt8], gasLimit: UInt64,
                priority: Priority, deadlineMillis: UInt64? = nil) {
        self.requestId = requestId
        self.code = code
        self.input = input
        self.gasLimit = gasLimit
        self.priority = priority
        self.deadlineMillis = deadlineMillis
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
        encoder.write(code)
        encoder.writeByteVector(input)
        encoder.write(gasLimit)
        encoder.write(priority)
        encoder.writeOption(deadlineMillis)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "ValidateCandidate.requestId")
        code = try decoder.read(CodeSource.self)
        input = try decoder.readByteVector("ValidateCandidate.input")
        gasLimit = try decoder.read(UInt64.self, "ValidateCandidate.gasLimit")
        priority = try decoder.read(Priority.self)
        deadlineMillis = try decoder.readOptionalU64("ValidateCandidate.deadlineMillis")
    }
}

/// Store a code blob for later `CodeSource.hash` use; answered by `CodeRegistered`.
public struct RegisterCode: Sendable, Equatable, ScaleCodable {
    /// Echoed in the answer.
    public var requestId: UInt64
    /// The program blob.
    public var code: [UInt8]

    public init(requestId: UInt64, code: [UInt8]) {
        self.requestId = requestId
        self.code = code
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
        encoder.writeByteVector(code)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "RegisterCode.requestId")
        code = try decoder.readByteVector("RegisterCode.code")
    }
}

/// Ask for a `StatusReport`.
public struct StatusRequest: Sendable, Equatable, ScaleCodable {
    /// Echoed in the answer.
    public var requestId: UInt64

    public init(requestId: UInt64) {
        self.requestId = requestId
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(requestId)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        requestId = try decoder.read(UInt64.self, "StatusRequest.requestId")
    }
}
