// Operand types of the x86-64 assembler: registers, operand sizes, memory operands and
// condition codes. These are plain value types with no payload beyond a few bytes, so passing
// them to the emit functions costs nothing (no existentials, no reference counting).

/// One of the sixteen 64-bit general-purpose registers, numbered as the hardware encodes them.
///
/// The raw value is the 4-bit register number: its low three bits go into ModRM/SIB/opcode
/// fields and bit 3 into the matching REX bit. The operand size of an instruction decides
/// whether `.rax` means `rax`, `eax`, `ax` or `al`.
public enum Reg: UInt8, CaseIterable, Sendable {
    case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi
    case r8, r9, r10, r11, r12, r13, r14, r15

    /// The low three bits, as placed in ModRM.reg/ModRM.rm/SIB fields or added to an opcode.
    @inline(__always) var low3: UInt8 { rawValue & 7 }

    /// Bit 3, which goes into REX.R, REX.X or REX.B.
    @inline(__always) var high: UInt8 { rawValue >> 3 }

    /// True for rsp, rbp, rsi and rdi: as byte registers they mean spl/bpl/sil/dil only when a
    /// REX prefix is present (without one the same numbers select ah/ch/dh/bh).
    @inline(__always) var needsRexAsByte: Bool { rawValue & 0b1100 == 0b0100 }
}

/// The operand size of an instruction.
public enum OperandSize: UInt8, Sendable, CaseIterable {
    /// 8 bits (`al`, `BYTE PTR`).
    case byte = 1
    /// 16 bits (`ax`, `WORD PTR`); encoded with the 0x66 operand-size prefix.
    case word = 2
    /// 32 bits (`eax`, `DWORD PTR`); writing a 32-bit register zero-extends into bits 32-63.
    case dword = 4
    /// 64 bits (`rax`, `QWORD PTR`); encoded with REX.W.
    case qword = 8

    /// The size in bytes.
    @inline(__always) public var bytes: Int { Int(rawValue) }
}

/// The scale factor of an index register in a memory operand.
public enum Scale: UInt8, Sendable, CaseIterable {
    case x1 = 0, x2 = 1, x4 = 2, x8 = 3

    /// The multiplier (1, 2, 4 or 8).
    public var factor: Int { 1 << Int(rawValue) }
}

/// A memory operand `[base + index*scale + disp32]`, `[index*scale + disp32]` or
/// `[rip + label + disp]`.
///
/// The encoder picks the shortest form: no displacement when it is 0 (except with an rbp/r13
/// base, whose "no displacement" encoding means something else and so gets a zero disp8),
/// disp8 when it fits, otherwise disp32; an rsp/r12 base always gets a SIB byte.
///
/// Preconditions (programmer errors, checked when the operand is made): `rsp` cannot be an
/// index register.
public struct Mem: Sendable {
    /// Register number of the base, or one of the `Mem.noBase`/`Mem.ripBase` markers.
    let base: UInt8
    /// Register number of the index, or `Mem.noIndex`.
    let index: UInt8
    let scale: Scale
    let disp: Int32
    /// For rip-relative operands, the label's id.
    let label: UInt32
    /// Legacy prefixes this operand needs: `Mem.gsSegment` and/or `Mem.address32`.
    var prefix: UInt8 = 0

    /// The 0x65 (GS segment override) prefix.
    static let gsSegment: UInt8 = 1
    /// The 0x67 (32-bit address size) prefix.
    static let address32: UInt8 = 2

    static let noBase: UInt8 = 0x10
    static let ripBase: UInt8 = 0x11
    static let noIndex: UInt8 = 0x10

    /// `[base + disp]`.
    @inline(__always)
    public init(base: Reg, disp: Int32 = 0) {
        self.base = base.rawValue
        self.index = Mem.noIndex
        self.scale = .x1
        self.disp = disp
        self.label = 0
    }

    /// `[base + index*scale + disp]`. `index` must not be `rsp` (it has no index encoding).
    @inline(__always)
    public init(base: Reg, index: Reg, scale: Scale = .x1, disp: Int32 = 0) {
        precondition(index != .rsp, "rsp cannot be used as an index register")
        self.base = base.rawValue
        self.index = index.rawValue
        self.scale = scale
        self.disp = disp
        self.label = 0
    }

    /// `[index*scale + disp]` with no base register (always encoded with a disp32).
    /// `index` must not be `rsp`.
    @inline(__always)
    public init(index: Reg, scale: Scale, disp: Int32 = 0) {
        precondition(index != .rsp, "rsp cannot be used as an index register")
        self.base = Mem.noBase
        self.index = index.rawValue
        self.scale = scale
        self.disp = disp
        self.label = 0
    }

    @inline(__always)
    init(ripLabel: Label, disp: Int32) {
        self.base = Mem.ripBase
        self.index = Mem.noIndex
        self.scale = .x1
        self.disp = disp
        self.label = ripLabel.id
    }

    /// `[rip + (label + disp)]`: the address `disp` bytes past `label`, which may be bound
    /// before or after the instruction that uses it (for constants placed next to the code).
    @inline(__always)
    public static func rip(_ label: Label, disp: Int32 = 0) -> Mem {
        Mem(ripLabel: label, disp: disp)
    }

    /// `gs:[base32 + disp]` computed with 32-bit address arithmetic (prefixes 0x65 0x67): the
    /// effective address is `(base + disp) mod 2^32`, zero-extended, plus the GS base. With no
    /// base it is `gs:[disp]`, the displacement taken as an unsigned 32-bit address. This is how
    /// JIT code addresses guest memory: wrapping mod 2^32 for free and no base register.
    @inline(__always)
    public static func guest(_ base: Reg?, disp: Int32) -> Mem {
        var m = base.map { Mem(base: $0, disp: disp) } ?? Mem(absolute: disp)
        m.prefix = Mem.gsSegment | Mem.address32
        return m
    }

    /// `gs:[disp]` with a 64-bit, sign-extended displacement (prefix 0x65): with a negative
    /// `disp`, memory just below the GS base, where the JIT keeps its context.
    @inline(__always)
    public static func context(_ disp: Int32) -> Mem {
        var m = Mem(absolute: disp)
        m.prefix = Mem.gsSegment
        return m
    }

    /// `gs:[index*scale + disp]` with 64-bit address arithmetic (prefix 0x65).
    @inline(__always)
    public static func context(index: Reg, scale: Scale, disp: Int32) -> Mem {
        var m = Mem(index: index, scale: scale, disp: disp)
        m.prefix = Mem.gsSegment
        return m
    }

    /// `[disp32]`: no base, no index (SIB form, not rip-relative).
    @inline(__always)
    init(absolute disp: Int32) {
        self.base = Mem.noBase
        self.index = Mem.noIndex
        self.scale = .x1
        self.disp = disp
        self.label = 0
    }

    /// The REX.X bit this operand needs.
    @inline(__always) var rexX: UInt8 { index == Mem.noIndex ? 0 : (index >> 3) & 1 }

    /// The REX.B bit this operand needs.
    @inline(__always) var rexB: UInt8 { base < 16 ? base >> 3 : 0 }
}

/// The sixteen x86 condition codes, numbered as in the low nibble of Jcc/SETcc/CMOVcc.
public enum Condition: UInt8, Sendable, CaseIterable {
    /// OF = 1.
    case overflow = 0
    /// OF = 0.
    case noOverflow = 1
    /// CF = 1: unsigned `<` (also "carry").
    case below = 2
    /// CF = 0: unsigned `>=` (also "no carry").
    case aboveOrEqual = 3
    /// ZF = 1.
    case equal = 4
    /// ZF = 0.
    case notEqual = 5
    /// CF = 1 or ZF = 1: unsigned `<=`.
    case belowOrEqual = 6
    /// CF = 0 and ZF = 0: unsigned `>`.
    case above = 7
    /// SF = 1.
    case sign = 8
    /// SF = 0.
    case noSign = 9
    /// PF = 1.
    case parity = 10
    /// PF = 0.
    case noParity = 11
    /// SF != OF: signed `<`.
    case less = 12
    /// SF = OF: signed `>=`.
    case greaterOrEqual = 13
    /// ZF = 1 or SF != OF: signed `<=`.
    case lessOrEqual = 14
    /// ZF = 0 and SF = OF: signed `>`.
    case greater = 15

    /// Same as `.equal` (ZF = 1).
    public static let zero = Condition.equal
    /// Same as `.notEqual` (ZF = 0).
    public static let notZero = Condition.notEqual
    /// Same as `.below` (CF = 1).
    public static let carry = Condition.below
    /// Same as `.aboveOrEqual` (CF = 0).
    public static let noCarry = Condition.aboveOrEqual

    /// The opposite condition; the encoding flips the low bit.
    @inline(__always)
    public var inverted: Condition { Condition(rawValue: rawValue ^ 1)! }
}

/// A position in the code that jumps, calls and rip-relative operands can refer to before or
/// after it is bound. Labels are plain indices into their assembler's label table and are only
/// meaningful for the assembler that created them.
public struct Label: Hashable, Sendable {
    /// Index into the creating assembler's label table.
    public let id: UInt32
}

/// How a jump to a label is encoded.
public enum JumpDistance: Sendable {
    /// rel32: reaches anything (5 bytes for `jmp`, 6 for `jcc`).
    case near
    /// rel8: 2 bytes, reaches -128...127 from the end of the instruction. A precondition
    /// failure reports a target that turns out to be out of reach, when it is bound.
    case short
    /// rel8 if the label is already bound and within reach, otherwise rel32. Forward jumps
    /// are always rel32, as their distance is not known yet.
    case auto
}

/// The `cl` register as a shift count, so shifts read like Intel syntax: `shl(.qword, .rax, .cl)`.
public enum ShiftCount: Sendable {
    case cl
}
