/// Why execution stopped (GP ε). `pc` is reported separately by the engine: for every reason it is
/// the pc of the instruction that caused the exit (the exit-pc convention of the test vectors), and
/// for out-of-gas the pc of the block that did not fit.
public enum ExitReason: Equatable, Sendable, CustomStringConvertible {
    /// `djump` to 0xFFFF0000 (returning from the entry function of a standard program).
    case halt
    /// `trap`, an invalid instruction, a bad jump, or an access below 64 KiB.
    case panic
    /// The next basic block costs more gas than remains; nothing of that block ran.
    case outOfGas
    /// An access touched an inaccessible page; `address` is that page's start.
    case pageFault(address: UInt32)
    /// `ecalli id`: the embedder handles the call and may resume after the instruction.
    case hostCall(id: UInt64)

    public var description: String {
        switch self {
        case .halt: return "halt"
        case .panic: return "panic"
        case .outOfGas: return "out-of-gas"
        case .pageFault(let a): return "page-fault at 0x\(String(a, radix: 16))"
        case .hostCall(let id): return "host-call \(id)"
        }
    }
}
