// Module WireProtocol: the SCALE codec, frames and messages shared by the daemon (alcatrazd),
// its workers and clients. No Foundation, no dependencies. The normative description of the
// bytes is docs/protocol.md; the golden vectors in Tests/WireProtocolTests keep the two in step.

/// Protocol-wide constants.
public enum ProtocolVersion {
    /// The protocol version this module speaks.
    public static let current: UInt16 = 1

    /// Oldest version this module can speak (a server accepts `oldestSupported...current`).
    public static let oldestSupported: UInt16 = 1

    /// Largest payload either side accepts before the handshake has completed. Hellos are
    /// small; after `ServerHello` both sides use `ServerLimits.maxFrameBytes`.
    public static let handshakeMaxFrame: UInt32 = 64 * 1024
}

/// A 32-byte BLAKE2b-256 digest naming a code blob.
public struct BlobHash: Hashable, Sendable, ScaleCodable, CustomStringConvertible {
    /// Size of the digest in bytes.
    public static let size = 32

    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps exactly 32 bytes; nil for any other count.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.size else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 hex digits; nil if malformed.
    public init?(hex: String) {
        guard let bytes = parseHex(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The BLAKE2b-256 digest of `blob`.
    public static func of(_ blob: some Collection<UInt8>) -> BlobHash {
        BlobHash(unchecked: Blake2b.hash(blob, digestLength: size))
    }

    private init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Lowercase hex of the digest.
    public var description: String { hexString(bytes) }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeRaw(bytes)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        self.init(unchecked: try decoder.readRaw(Self.size, "BlobHash"))
    }
}

/// Why a candidate is being validated; the daemon serves disputes first, then approvals, then
/// backing. Encoded as a one-byte enum.
public enum Priority: UInt8, Sendable, Equatable, CaseIterable, ScaleCodable {
    /// Backing a candidate.
    case backing = 0
    /// Approval checking.
    case approval = 1
    /// Dispute resolution (served first).
    case dispute = 2

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeTag(rawValue)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("Priority")
        guard let value = Priority(rawValue: tag) else { throw decoder.unknownTag(tag, "Priority") }
        self = value
    }
}

/// Where the time of one request went, in microseconds.
public struct Timings: Sendable, Equatable, ScaleCodable {
    /// From reading the request to a worker starting it.
    public var queuedMicros: UInt64
    /// Decoding and compiling (or preparing) the code.
    public var compileMicros: UInt64
    /// Running the guest.
    public var executeMicros: UInt64

    public init(queuedMicros: UInt64, compileMicros: UInt64, executeMicros: UInt64) {
        self.queuedMicros = queuedMicros
        self.compileMicros = compileMicros
        self.executeMicros = executeMicros
    }

    /// All zero (for requests that never reached a worker).
    public static let zero = Timings(queuedMicros: 0, compileMicros: 0, executeMicros: 0)

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(queuedMicros)
        encoder.write(compileMicros)
        encoder.write(executeMicros)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        queuedMicros = try decoder.read(UInt64.self, "Timings.queuedMicros")
        compileMicros = try decoder.read(UInt64.self, "Timings.compileMicros")
        executeMicros = try decoder.read(UInt64.self, "Timings.executeMicros")
    }
}
