// Framing: every message travels as a 4-byte little-endian payload length followed by the
// payload (a SCALE-encoded message, whose first byte is the message tag).
//
// The receiver checks the announced length against its maximum as soon as the 4 header bytes
// are in, before it keeps a single payload byte, so a hostile peer cannot make it buffer more
// than the maximum (a header of ff ff ff ff is rejected at once).

/// Encoding of frames.
public enum Frame {
    /// Size of the length header in bytes.
    public static let headerSize = 4

    /// Largest payload the 4-byte header can describe.
    public static let largestPossiblePayload = Int(UInt32.max)

    /// The frame carrying `payload`: its length as u32 little-endian, then the payload.
    public static func encode(payload: some Collection<UInt8>) -> [UInt8] {
        precondition(payload.count <= largestPossiblePayload, "payload too large for a frame")
        var out: [UInt8] = []
        out.reserveCapacity(headerSize + payload.count)
        appendHeader(UInt32(payload.count), to: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// The frame carrying the SCALE encoding of `message`.
    public static func encode(_ message: some ScaleCodable) -> [UInt8] {
        var encoder = ScaleEncoder(reservingCapacity: 128)
        encoder.write(UInt32(0))  // patched below
        message.encode(to: &encoder)
        var out = encoder.bytes
        let length = out.count - headerSize
        precondition(length <= largestPossiblePayload, "payload too large for a frame")
        for index in 0..<headerSize {
            out[index] = UInt8(truncatingIfNeeded: UInt32(length) >> (8 * index))
        }
        return out
    }

    private static func appendHeader(_ length: UInt32, to out: inout [UInt8]) {
        for index in 0..<headerSize {
            out.append(UInt8(truncatingIfNeeded: length >> (8 * index)))
        }
    }
}

/// Incremental frame reader: feed it bytes as they arrive from the socket, take complete
/// payloads out.
///
/// A header announcing an empty payload or one larger than `maximumPayload` makes `feed`
/// throw before any payload byte is stored. Frames completed before the bad header stay
/// available from `nextFrame()`. After an error the decoder is failed for good: every later
/// `feed` rethrows the same error (the connection is to be closed).
public struct FrameDecoder: Sendable {
    /// Largest accepted payload length, in bytes (the 4 header bytes are not counted).
    public var maximumPayload: UInt32

    private static let initialReservation = 64 * 1024
    private var header: [UInt8] = []
    private var payload: [UInt8] = []
    private var expected: Int? = nil
    private var ready: [[UInt8]] = []
    private var readyHead = 0
    /// The error that failed the decoder, if any.
    public private(set) var failure: WireError? = nil

    /// Creates a decoder accepting payloads of 1 to `maximumPayload` bytes.
    ///
    /// The maximum may be raised or lowered later (e.g. after the handshake); a frame whose
    /// header has already been checked is not checked again.
    public init(maximumPayload: UInt32) {
        self.maximumPayload = maximumPayload
        header.reserveCapacity(Frame.headerSize)
    }

    /// Bytes held for the frame in progress (header and payload so far).
    public var bufferedByteCount: Int { header.count + payload.count }

    /// Number of complete frames waiting in `nextFrame()`.
    public var readyCount: Int { ready.count - readyHead }

    /// True when no partial frame is held (a clean place for the peer to stop).
    public var isAtFrameBoundary: Bool { header.isEmpty && expected == nil }

    /// Consumes `bytes`, queueing every frame they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(WireError) {
        if let failure { throw failure }
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if let length = expected {
                let wanted = length - payload.count
                let end = bytes.index(index, offsetBy: wanted, limitedBy: bytes.endIndex) ?? bytes.endIndex
                payload.append(contentsOf: bytes[index..<end])
                index = end
                if payload.count == length {
                    completeFrame()
                }
            } else {
                header.append(bytes[index])
                index = bytes.index(after: index)
                if header.count == Frame.headerSize {
                    try acceptHeader()
                }
            }
        }
    }

    private mutating func acceptHeader() throws(WireError) {
        let length = UInt32(header[0]) | UInt32(header[1]) << 8
            | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
        header.removeAll(keepingCapacity: true)
        if length == 0 {
            failure = .emptyFrame
        } else if length > maximumPayload {
            failure = .frameTooLarge(length: length, maximum: maximumPayload)
        }
        if let failure { throw failure }
        expected = Int(length)
        // Grow with the data actually received rather than trusting the header for memory:
        // many idle connections each announcing a maximal frame must not pin that much each.
        payload = []
        payload.reserveCapacity(min(Int(length), Self.initialReservation))
    }

    private mutating func completeFrame() {
        ready.append(payload)
        payload = []
        expected = nil
    }

    /// Takes the oldest complete payload, or nil if none is ready.
    public mutating func nextFrame() -> [UInt8]? {
        guard readyHead < ready.count else { return nil }
        let frame = ready[readyHead]
        ready[readyHead] = []
        readyHead += 1
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        }
        return frame
    }
}
