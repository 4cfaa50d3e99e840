/// Why `alcatraz link` rejected an ELF file: always a precise, human-readable message that names
/// the instruction, section and offset where there is one. The linker never traps on bad input.
public struct LinkError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The file is not a well-formed ELF (truncated, offsets past the end, bad tables).
        case malformed
        /// A well-formed ELF the PVM cannot run: not static, not RISC-V 64, wrong ABI, TLS…
        case unsupportedFile
        /// An instruction that has no PVM translation (floating point, atomics, ecall, gp/tp…).
        case unsupportedInstruction
        /// A relocation that is missing, of an unsupported type, or points somewhere impossible.
        case relocation
        /// The result does not fit the standard-program limits.
        case layout
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
