/// The recompiler's context: a few pages just below guest address 0, addressed by JIT code as
/// `gs:[negative displacement]` (the GS segment base is the guest memory base). Guest addresses
/// are always 32-bit and zero-extended, so guest code can never reach it.
///
/// ```
/// gs - contextSize                     gs - 4096                          gs (guest address 0)
/// | jump table: native address per target address | header: registers, gas, exits... | guest memory ...
/// ```
enum ContextLayout {
    /// The header page sits right below guest address 0.
    static let header: Int32 = -4096
    /// The 13 guest registers, 8 bytes each.
    static let registers: Int32 = header
    /// Gas remaining (Int64).
    static let gas: Int32 = header + 104
    /// Why the last exit happened (`ExitCode`).
    static let exitCode: Int32 = header + 112
    /// The guest instruction index of the exit.
    static let exitIndex: Int32 = header + 120
    /// The native address where the entry trampoline jumps.
    static let entryTarget: Int32 = header + 128
    /// The host stack pointer saved by the entry trampoline.
    static let savedStack: Int32 = header + 136
    /// Written by the fault handler: the instruction index of a faulting guest access.
    static let faultIndex: Int32 = header + 144
    /// The instruction index of the dynamic jump being made (for its halt or panic exit).
    static let djumpFrom: Int32 = header + 152

    /// The displacement of register `i`.
    static func register(_ i: Int) -> Int32 { registers + Int32(i * 8) }

    /// Entries of the native jump table of a program with `slots` GP jump-table entries: one per
    /// guest target address 0 ... 2·slots + 1, so that a dynamic jump indexes it with the address
    /// itself. Address 2s (s = 1 ... slots) holds the entry of slot s's target; address 0 and
    /// every odd address hold the bad-jump panic stub.
    static func tableEntries(slots: Int) -> Int { 2 * slots + 2 }

    /// Bytes reserved below guest address 0 for a program with `slots` jump-table entries.
    static func size(jumpTableSlots slots: Int) -> Int {
        (4096 + tableEntries(slots: slots) * 8 + 4095) & ~4095
    }

    /// The displacement of the native jump table's entry for address 0 (the entry for address
    /// a is at `jumpTable(slots) + 8·a`).
    static func jumpTable(slots: Int) -> Int32 { header - Int32(tableEntries(slots: slots) * 8) }
}

/// Why JIT code returned to Swift.
enum ExitCode: UInt64 {
    case halt = 1
    case panic = 2
    case outOfGas = 3
    case hostCall = 4
    case memoryFault = 5
    case sbrk = 6
    /// A chained charge did not fit (the state is as before the block): the interpreter ends
    /// the run exactly.
    case bail = 7
}
