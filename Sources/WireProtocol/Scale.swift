// SCALE codec (the encoding of parity-scale-codec), restricted to what the protocol uses:
//
//   fixed-width integers   little-endian, 1/2/4/8 bytes
//   bool                   one byte, 0x00 or 0x01 (anything else is rejected)
//   compact integer        2-bit mode in the low bits of the first byte:
//                            0b00  single byte,  value < 2^6,   value << 2
//                            0b01  two bytes,    value < 2^14,  (value << 2 | 1) as u16 LE
//                            0b10  four bytes,   value < 2^30,  (value << 2 | 2) as u32 LE
//                            0b11  big integer,  first byte (n - 4) << 2 | 3, then n bytes LE
//                          decoding accepts only the shortest form (as parity-scale-codec does)
//   Option<T>              0x00, or 0x01 followed by T
//   Vec<T>                 compact element count, then the elements
//   String                 Vec<u8> holding UTF-8
//   [u8; N]                the N bytes, no prefix
//   enum                   one tag byte (the variant index), then the variant's fields

/// A value with a SCALE encoding.
///
/// `encode(to:)` appends the encoding; `init(from:)` reads exactly one value and leaves the
/// decoder positioned after it.
public protocol ScaleCodable: Sendable {
    /// Appends the SCALE encoding of `self`.
    func encode(to encoder: inout ScaleEncoder)
    /// Reads one value, throwing a `WireError` that names the failed field and its offset.
    init(from decoder: inout ScaleDecoder) throws(WireError)
}

extension ScaleCodable {
    /// The SCALE encoding of `self`.
    public func encode() -> [UInt8] {
        var encoder = ScaleEncoder()
        encode(to: &encoder)
        return encoder.bytes
    }

    /// Decodes a value that must occupy all of `bytes`; leftover bytes are an error.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(WireError) -> Self {
        var decoder = ScaleDecoder(bytes)
        let value = try Self(from: &decoder)
        try decoder.finish(String(describing: Self.self))
        return value
    }

    /// Decodes a value that must occupy all of `bytes`; leftover bytes are an error.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Self {
        try decode(bytes[...])
    }
}

// MARK: - Encoder

/// Appends SCALE encodings to a byte array.
public struct ScaleEncoder: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty encoder.
    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends a fixed-width integer, little-endian, using all of its bytes.
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<(T.bitWidth / 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    /// Appends an enum tag byte.
    public mutating func writeTag(_ tag: UInt8) {
        bytes.append(tag)
    }

    /// Appends a bool as 0x00 or 0x01.
    public mutating func writeBool(_ value: Bool) {
        bytes.append(value ? 1 : 0)
    }

    /// Appends a compact integer in its shortest form.
    public mutating func writeCompact(_ value: UInt64) {
        if value < 1 << 6 {
            bytes.append(UInt8(value << 2))
        } else if value < 1 << 14 {
            write(UInt16(value << 2 | 0b01))
        } else if value < 1 << 30 {
            write(UInt32(value << 2 | 0b10))
        } else {
            let length = 8 - value.leadingZeroBitCount / 8
            bytes.append(UInt8(length - 4) << 2 | 0b11)
            for index in 0..<length {
                bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
            }
        }
    }

    /// Appends raw bytes with no length prefix (a fixed-size array `[u8; N]`).
    public mutating func writeRaw(_ raw: some Collection<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// Appends a `Vec<u8>`: the compact length, then the bytes.
    public mutating func writeByteVector(_ vector: some Collection<UInt8>) {
        writeCompact(UInt64(vector.count))
        bytes.append(contentsOf: vector)
    }

    /// Appends a `String` as its UTF-8 bytes with a compact length prefix.
    public mutating func writeString(_ string: String) {
        writeByteVector(string.utf8)
    }

    /// Appends an `Option<T>`, using `body` to write the value when present.
    public mutating func writeOption<T>(_ value: T?, _ body: (inout ScaleEncoder, T) -> Void) {
        if let value {
            bytes.append(1)
            body(&self, value)
        } else {
            bytes.append(0)
        }
    }

    /// Appends an `Option<u64>`.
    public mutating func writeOption(_ value: UInt64?) {
        writeOption(value) { encoder, v in encoder.write(v) }
    }

    /// Appends a nested value.
    public mutating func write(_ value: some ScaleCodable) {
        value.encode(to: &self)
    }
}

// MARK: - Decoder

/// Reads SCALE encodings from a byte slice, front to back.
///
/// Offsets in errors count from the start of the slice given to `init`, whatever the slice's
/// own indices are.
public struct ScaleDecoder: Sendable {
    private let bytes: ArraySlice<UInt8>
    /// Bytes consumed so far, i.e. the offset of the next item.
    public private(set) var offset: Int = 0

    /// Creates a decoder over `bytes`.
    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    /// Creates a decoder over `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes[...]
    }

    /// Bytes not yet consumed.
    public var remaining: Int { bytes.count - offset }

    /// True when every byte has been consumed.
    public var isAtEnd: Bool { remaining == 0 }

    private func require(_ count: Int, _ what: String) throws(WireError) {
        if count > remaining {
            throw .truncated(what: what, offset: offset, needed: count, available: remaining)
        }
    }

    @inline(__always)
    private func byte(at relative: Int) -> UInt8 {
        bytes[bytes.startIndex + relative]
    }

    /// Reads a fixed-width little-endian integer of at most 8 bytes.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(WireError) -> T {
        let size = T.bitWidth / 8
        precondition(size <= 8, "fixed-width integers wider than 64 bits are not used")
        try require(size, what)
        var value: UInt64 = 0
        for index in 0..<size {
            value |= UInt64(byte(at: offset + index)) << (8 * index)
        }
        offset += size
        return T(truncatingIfNeeded: value)
    }

    /// Reads one tag byte of an enum; the caller reports unknown values with `unknownTag`.
    public mutating func readTag(_ what: String) throws(WireError) -> UInt8 {
        try read(UInt8.self, what)
    }

    /// The error for a tag byte just read by `readTag` that names no variant.
    public func unknownTag(_ tag: UInt8, _ what: String) -> WireError {
        .unknownTag(what: what, offset: offset - 1, tag: tag)
    }

    /// Reads a bool; bytes other than 0x00 and 0x01 are rejected.
    public mutating func readBool(_ what: String) throws(WireError) -> Bool {
        let start = offset
        let value = try read(UInt8.self, what)
        switch value {
        case 0: return false
        case 1: return true
        default: throw .invalidBool(what: what, offset: start, byte: value)
        }
    }

    /// Reads a compact integer of up to 64 bits, rejecting non-canonical (longer than
    /// necessary) forms.
    public mutating func readCompact(_ what: String) throws(WireError) -> UInt64 {
        let start = offset
        try require(1, what)
        let first = byte(at: offset)
        switch first & 0b11 {
        case 0b00:
            offset += 1
            return UInt64(first >> 2)
        case 0b01:
            let value = UInt64(try read(UInt16.self, what) >> 2)
            if value < 1 << 6 { throw .nonCanonicalCompact(what: what, offset: start) }
            return value
        case 0b10:
            let value = UInt64(try read(UInt32.self, what) >> 2)
            if value < 1 << 14 { throw .nonCanonicalCompact(what: what, offset: start) }
            return value
        default:
            let length = Int(first >> 2) + 4
            try require(1 + length, what)
            let top = byte(at: offset + length)
            if length > 8 {
                // A canonical big integer has a non-zero top byte, so anything longer than
                // 8 bytes is either padded (non-canonical) or wider than 64 bits.
                if top == 0 { throw .nonCanonicalCompact(what: what, offset: start) }
                throw .compactOutOfRange(what: what, offset: start)
            }
            var value: UInt64 = 0
            for index in 0..<length {
                value |= UInt64(byte(at: offset + 1 + index)) << (8 * index)
            }
            if (length == 4 && value < 1 << 30) || (length > 4 && top == 0) {
                throw .nonCanonicalCompact(what: what, offset: start)
            }
            offset += 1 + length
            return value
        }
    }

    /// Reads a compact integer that must fit in a `UInt32`.
    public mutating func readCompactU32(_ what: String) throws(WireError) -> UInt32 {
        let start = offset
        let value = try readCompact(what)
        guard let narrow = UInt32(exactly: value) else {
            throw .compactOutOfRange(what: what, offset: start)
        }
        return narrow
    }

    /// Reads the compact length prefix of a vector whose elements take at least
    /// `minimumElementSize` bytes each, and rejects it at once if the remaining bytes could
    /// not hold that many elements, so that no allocation is ever sized by an unchecked length.
    public mutating func readLength(_ what: String, minimumElementSize: Int = 1) throws(WireError) -> Int {
        precondition(minimumElementSize >= 1)
        let start = offset
        let length = try readCompact(what)
        if length > UInt64(remaining / minimumElementSize) {
            throw .lengthExceedsInput(what: what, offset: start, length: length, available: remaining)
        }
        return Int(length)
    }

    /// Reads `count` raw bytes (a fixed-size array, or the body of a vector).
    public mutating func readRaw(_ count: Int, _ what: String) throws(WireError) -> [UInt8] {
        try require(count, what)
        let start = bytes.startIndex + offset
        offset += count
        return Array(bytes[start..<(start + count)])
    }

    /// Reads a `Vec<u8>`.
    public mutating func readByteVector(_ what: String) throws(WireError) -> [UInt8] {
        let count = try readLength(what)
        return try readRaw(count, what)
    }

    /// Reads a `String`, which must be valid UTF-8.
    public mutating func readString(_ what: String) throws(WireError) -> String {
        let start = offset
        let raw = try readByteVector(what)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw .invalidUTF8(what: what, offset: start)
        }
        return string
    }

    /// Reads an `Option<T>`, using `body` to read the value when present.
    public mutating func readOption<T>(
        _ what: String, _ body: (inout ScaleDecoder) throws(WireError) -> T
    ) throws(WireError) -> T? {
        let start = offset
        let tag = try read(UInt8.self, what)
        switch tag {
        case 0: return nil
        case 1: return try body(&self)
        default: throw .invalidOptionTag(what: what, offset: start, byte: tag)
        }
    }

    /// Reads an `Option<u64>`.
    public mutating func readOptionalU64(_ what: String) throws(WireError) -> UInt64? {
        try readOption(what) { (decoder: inout ScaleDecoder) throws(WireError) -> UInt64 in
            try decoder.read(UInt64.self, what)
        }
    }

    /// Reads a nested value.
    public mutating func read<T: ScaleCodable>(_ type: T.Type) throws(WireError) -> T {
        try T(from: &self)
    }

    /// Throws `trailingBytes` unless every byte has been consumed.
    public func finish(_ what: @autoclosure () -> String) throws(WireError) {
        if remaining != 0 {
            throw .trailingBytes(what: what(), offset: offset, count: remaining)
        }
    }
}
