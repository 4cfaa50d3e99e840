// The single error type of the WireProtocol module.
//
// Every decoding failure says what was being read (a field path such as
// "ValidateCandidate.input") and at which byte offset of the payload the failed item starts,
// so that a bad frame can be reported precisely in a ProtocolError frame or a log line.

/// A failure to decode a frame or a SCALE payload.
///
/// `what` names the item being decoded (for example `"ValidateCandidate.gasLimit"`), and
/// `offset` is the position, counted from the first byte of the payload (the tag byte), where
/// that item starts.
public enum WireError: Error, Equatable, Sendable {
    /// Fewer bytes remain than the item needs.
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    /// A `bool` byte other than 0x00 or 0x01.
    case invalidBool(what: String, offset: Int, byte: UInt8)
    /// An `Option` discriminant other than 0x00 (None) or 0x01 (Some).
    case invalidOptionTag(what: String, offset: Int, byte: UInt8)
    /// An enum tag that names no variant of the enum being decoded.
    case unknownTag(what: String, offset: Int, tag: UInt8)
    /// A compact integer encoded in a longer form than necessary.
    case nonCanonicalCompact(what: String, offset: Int)
    /// A compact integer whose value does not fit the field it encodes.
    case compactOutOfRange(what: String, offset: Int)
    /// A length prefix announcing more elements than the remaining bytes could possibly hold.
    case lengthExceedsInput(what: String, offset: Int, length: UInt64, available: Int)
    /// A string whose bytes are not valid UTF-8.
    case invalidUTF8(what: String, offset: Int)
    /// A well-formed value that breaks a rule of the message (e.g. a register count).
    case invalidValue(what: String, offset: Int, reason: String)
    /// Bytes left over after a complete message.
    case trailingBytes(what: String, offset: Int, count: Int)
    /// A frame header announcing a zero-length payload (every payload has a tag byte).
    case emptyFrame
    /// A frame header announcing a payload larger than the receiver's maximum.
    case frameTooLarge(length: UInt32, maximum: UInt32)

    /// The code to put in the `ProtocolError` frame sent back for this failure.
    public var protocolErrorCode: ProtocolErrorCode {
        switch self {
        case .emptyFrame: return .badLength
        case .frameTooLarge: return .frameTooLarge
        case .unknownTag: return .unknownTag
        case .truncated, .lengthExceedsInput: return .truncated
        case .trailingBytes: return .trailingBytes
        case .invalidBool, .invalidOptionTag, .nonCanonicalCompact, .compactOutOfRange,
             .invalidUTF8, .invalidValue:
            return .invalidValue
        }
    }
}

extension WireError: CustomStringConvertible {
    /// A one-line human-readable account of the failure, suitable for a `ProtocolError` message.
    public var description: String {
        switch self {
        case let .truncated(what, offset, needed, available):
            return "\(what) at offset \(offset): truncated, needs \(needed) bytes, \(available) left"
        case let .invalidBool(what, offset, byte):
            return "\(what) at offset \(offset): invalid bool byte 0x\(hexByte(byte))"
        case let .invalidOptionTag(what, offset, byte):
            return "\(what) at offset \(offset): invalid Option tag 0x\(hexByte(byte))"
        case let .unknownTag(what, offset, tag):
            return "\(what) at offset \(offset): unknown tag 0x\(hexByte(tag))"
        case let .nonCanonicalCompact(what, offset):
            return "\(what) at offset \(offset): non-canonical compact integer"
        case let .compactOutOfRange(what, offset):
            return "\(what) at offset \(offset): compact integer out of range"
        case let .lengthExceedsInput(what, offset, length, available):
            return "\(what) at offset \(offset): length \(length) exceeds the \(available) bytes left"
        case let .invalidUTF8(what, offset):
            return "\(what) at offset \(offset): invalid UTF-8"
        case let .invalidValue(what, offset, reason):
            return "\(what) at offset \(offset): \(reason)"
        case let .trailingBytes(what, offset, count):
            return "\(what): \(count) trailing bytes at offset \(offset)"
        case .emptyFrame:
            return "frame with a zero-length payload"
        case let .frameTooLarge(length, maximum):
            return "frame of \(length) bytes exceeds the maximum of \(maximum)"
        }
    }
}

/// Two lowercase hex digits for a byte.
@inline(__always)
func hexByte(_ byte: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7",
                               "8", "9", "a", "b", "c", "d", "e", "f"]
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// Lowercase hex of a byte sequence.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    var out = ""
    for byte in bytes { out += hexByte(byte) }
    return out
}

/// Parses an even-length hex string (either case, no separators); nil if malformed.
func parseHex(_ text: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count / 2)
    var high: UInt8? = nil
    for char in text.utf8 {
        let nibble: UInt8
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = char - UInt8(ascii: "A") + 10
        default: return nil
        }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return high == nil ? out : nil
}
