/// Why a program blob or standard program was rejected: which field, at which byte offset, and
/// what was expected there. Every malformed input maps to exactly one of these; decoding never traps
/// and never allocates in proportion to a declared (rather than present) size.
public struct ProgramError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The input ended inside a field.
        case truncated
        /// A length field points past the end of the input.
        case lengthPastEnd
        /// Bytes remain after the last field.
        case trailingBytes
        /// The jump-table entry size is above 4 bytes (jump targets are 32-bit).
        case jumpTableEntrySize
        /// Padding bits in the last bitmask byte are set.
        case bitmaskPadding
        /// The declared sizes do not fit the 2^32-byte address space (GP Y validity).
        case layoutTooLarge
        /// A declared size is above what the embedder allows (checked before allocating).
        case limitExceeded
        /// The code is empty or otherwise not runnable.
        case invalidCode
    }

    public let kind: Kind
    /// The field being decoded, for example "code length" or "jump table entry 3".
    public let field: String
    /// The byte offset into the input where the field starts (or where the problem was seen).
    public let offset: Int
    /// What the decoder expected there.
    public let expected: String

    public init(_ kind: Kind, field: String, offset: Int, expected: String) {
        self.kind = kind
        self.field = field
        self.offset = offset
        self.expected = expected
    }

    public var description: String {
        "\(kind.rawValue): \(field) at byte \(offset): \(expected)"
    }
}
