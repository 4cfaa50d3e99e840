/// The Graypaper's general natural-number codec E (serialization appendix) and fixed-width
/// little-endian integers, over a byte cursor that reports where decoding stopped.

/// Encodes `x` with the GP general natural encoding: 1 to 9 bytes, the number of leading 1-bits of
/// the first byte telling how many bytes follow.
public func encodeNatural(_ x: UInt64) -> [UInt8] {
    if x == 0 { return [0] }
    for l in 0..<8 {
        // 2^(7l) <= x < 2^(7(l+1))
        if x < (UInt64(1) << (7 * (l + 1))) {
            let head = UInt64(256) - (UInt64(256) >> l) + (x >> (8 * l))
            var out: [UInt8] = [UInt8(truncatingIfNeeded: head)]
            for i in 0..<l { out.append(UInt8(truncatingIfNeeded: x >> (8 * i))) }
            return out
        }
    }
    var out: [UInt8] = [255]
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: x >> (8 * i))) }
    return out
}

/// Appends `x` as `width` little-endian bytes (E_n).
public func encodeFixed(_ x: UInt64, width: Int, into out: inout [UInt8]) {
    for i in 0..<width { out.append(UInt8(truncatingIfNeeded: x >> (8 * i))) }
}

/// A read position in a byte buffer with bounds-checked, offset-reporting reads.
public struct ByteReader {
    public let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Reads a GP general natural. Throws `.truncated` naming `field` if the bytes run out.
    public mutating func readNatural(_ field: String) throws(ProgramError) -> UInt64 {
        let start = offset
        guard offset < bytes.count else {
            throw ProgramError(.truncated, field: field, offset: start, expected: "a natural number (1 to 9 bytes)")
        }
        let first = bytes[offset]
        offset += 1
        let l = first.leadingZeroBitCount == 0 ? (~first).leadingZeroBitCount : 0
        guard remaining >= l else {
            throw ProgramError(.truncated, field: field, offset: start,
                               expected: "\(l + 1) bytes for a natural whose first byte is 0x\(hex(first)), found \(remaining + 1)")
        }
        var low: UInt64 = 0
        for i in 0..<l { low |= UInt64(bytes[offset + i]) << (8 * i) }
        offset += l
        if l == 8 { return low }
        let highBits = UInt64(first) & (UInt64(0xFF) >> (l + 1))
        return (highBits << (8 * l)) | low
    }

    /// Reads `width` bytes as a little-endian unsigned integer (E_n^-1).
    public mutating func readFixed(_ width: Int, _ field: String) throws(ProgramError) -> UInt64 {
        guard remaining >= width else {
            throw ProgramError(.truncated, field: field, offset: offset,
                               expected: "\(width) bytes, found \(max(remaining, 0))")
        }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * i) }
        offset += width
        return value
    }

    /// Reads `count` raw bytes. `count` is checked against what remains before anything is copied,
    /// so a hostile length never causes a large allocation.
    public mutating func readBytes(_ count: UInt64, _ field: String) throws(ProgramError) -> ArraySlice<UInt8> {
        guard count <= UInt64(remaining) else {
            throw ProgramError(.lengthPastEnd, field: field, offset: offset,
                               expected: "\(count) bytes, but only \(remaining) remain")
        }
        let n = Int(count)
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }
}

@inline(__always)
func hex<T: BinaryInteger>(_ v: T) -> String { String(v, radix: 16) }
