import PVM

/// One variable-length field of an instruction encoding (SPEC.md §2.5): a sign-extended
/// immediate or a pc-relative offset, 0 to 4 bytes long.
enum VariableField: Sendable, Equatable {
    case immX, immY, offset
}

extension OperandForm {
    /// The variable-length fields of the form, in encoding order. Their widths are what
    /// `.imm_width` sets.
    var variableFields: [VariableField] {
        switch self {
        case .none, .regImm64, .regReg, .regRegReg: return []
        case .imm, .regImm, .regRegImm: return [.immX]
        case .immImm, .regImmImm, .regRegImmImm: return [.immX, .immY]
        case .offset, .regRegOffset: return [.offset]
        case .regImmOffset: return [.immX, .offset]
        }
    }

    /// The encoded size without the variable-length fields: opcode plus register/width bytes
    /// (and the 8 bytes of `load_imm_64`).
    var fixedSize: Int {
        switch self {
        case .none, .imm, .offset: return 1
        case .regImm64: return 10
        case .immImm, .regImm, .regImmImm, .regImmOffset, .regReg, .regRegImm, .regRegOffset: return 2
        case .regRegImmImm, .regRegReg: return 3
        }
    }

    /// The operand list as written in assembler source, for messages and documentation.
    var operandSyntax: String {
        switch self {
        case .none: return ""
        case .imm: return "imm"
        case .regImm64: return "rA, imm64"
        case .immImm: return "immX, immY"
        case .offset: return "target"
        case .regImm: return "rA, imm"
        case .regImmImm: return "rA, immX, immY"
        case .regImmOffset: return "rA, imm, target"
        case .regReg: return "rD, rA"
        case .regRegImm: return "rA, rB, imm"
        case .regRegOffset: return "rA, rB, target"
        case .regRegImmImm: return "rA, rB, immX, immY"
        case .regRegReg: return "rD, rA, rB"
        }
    }
}

/// The smallest number of bytes (0 to 4) whose sign extension gives `value`, or nil if `value`
/// is not a sign-extended 32-bit quantity. 0 bytes encode exactly the value 0.
func minimalWidth(_ value: UInt64) -> Int? {
    for n in 0...4 where signExtend(value & widthMask(n), bytes: n) == value { return n }
    return nil
}

/// Whether `value` survives being stored in `width` bytes and sign-extended back.
func fits(_ value: UInt64, width: Int) -> Bool {
    signExtend(value & widthMask(width), bytes: width) == value
}

@inline(__always)
func widthMask(_ n: Int) -> UInt64 { n >= 8 ? ~0 : (UInt64(1) << (8 * UInt64(n))) - 1 }

/// An instruction with every operand resolved: the exact inverse of `ProgramBlob.decode(at:)`
/// once the widths of its variable-length fields are chosen.
struct MachineInstruction: Sendable, Equatable {
    var opcode: Opcode
    /// Register fields as in `PVM.Instruction`: `a`/`b` low/high nibble, `d` the destination of
    /// the two- and three-register forms. All in 0...12.
    var a: UInt8 = 0
    var b: UInt8 = 0
    var d: UInt8 = 0
    var immX: UInt64 = 0
    var immY: UInt64 = 0
    /// The branch offset, target − pc.
    var offset: Int64 = 0

    /// The value carried by one variable-length field.
    func value(of field: VariableField) -> UInt64 {
        switch field {
        case .immX: return immX
        case .immY: return immY
        case .offset: return UInt64(bitPattern: offset)
        }
    }

    /// The minimal widths of the variable-length fields, or the first field that does not fit.
    func minimalWidths() -> [Int?] {
        opcode.form.variableFields.map { minimalWidth(value(of: $0)) }
    }

    /// The encoded size for the given widths of the variable-length fields.
    func size(widths: [Int]) -> Int { opcode.form.fixedSize + widths.reduce(0, +) }

    /// Encodes the instruction. `widths` has one entry (0...4) per variable-length field, and
    /// each value must fit its width (see `fits`).
    func encode(widths: [Int], into out: inout [UInt8]) {
        let form = opcode.form
        precondition(widths.count == form.variableFields.count, "one width per variable field")
        out.append(opcode.rawValue)
        func put(_ v: UInt64, _ n: Int) { for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        let ab = a | (b << 4)
        switch form {
        case .none:
            break
        case .imm:
            put(immX, widths[0])
        case .regImm64:
            out.append(a)
            put(immX, 8)
        case .immImm:
            out.append(UInt8(widths[0]))
            put(immX, widths[0])
            put(immY, widths[1])
        case .offset:
            put(UInt64(bitPattern: offset), widths[0])
        case .regImm, .regRegImm:
            out.append(form == .regImm ? a : ab)
            put(immX, widths[0])
        case .regImmImm, .regImmOffset:
            out.append(a | UInt8(widths[0] << 4))
            put(immX, widths[0])
            put(form == .regImmImm ? immY : UInt64(bitPattern: offset), widths[1])
        case .regReg:
            out.append(d | (a << 4))
        case .regRegOffset:
            out.append(ab)
            put(UInt64(bitPattern: offset), widths[0])
        case .regRegImmImm:
            out.append(ab)
            out.append(UInt8(widths[0]))
            put(immX, widths[0])
            put(immY, widths[1])
        case .regRegReg:
            out.append(ab)
            out.append(d)
        }
    }

    /// Rebuilds the operands of a decoded instruction (`target` becomes an offset from `pc`).
    init(decoded ins: Instruction) {
        opcode = ins.opcode
        a = ins.a
        b = ins.b
        d = ins.d
        immX = ins.immX
        immY = ins.immY
        offset = ins.target &- Int64(ins.pc)
    }

    init(opcode: Opcode, a: UInt8 = 0, b: UInt8 = 0, d: UInt8 = 0, immX: UInt64 = 0, immY: UInt64 = 0,
         offset: Int64 = 0) {
        self.opcode = opcode
        self.a = a
        self.b = b
        self.d = d
        self.immX = immX
        self.immY = immY
        self.offset = offset
    }
}

extension ProgramBlob {
    /// The widths of the variable-length fields actually used by the instruction at `pc`, read
    /// with the decoder's rules (SPEC.md §2.5) from its skip and width bytes.
    func fieldWidths(at pc: Int, form: OperandForm) -> [Int] {
        let l = skip(at: pc)
        func byte(_ i: Int) -> Int { i < code.count ? Int(code[i]) : 0 }
        switch form {
        case .none, .regImm64, .regReg, .regRegReg:
            return []
        case .imm, .offset:
            return [min(4, l)]
        case .regImm, .regRegImm, .regRegOffset:
            return [min(4, max(0, l - 1))]
        case .immImm:
            let x = min(4, byte(pc + 1) % 8)
            return [x, min(4, max(0, l - x - 1))]
        case .regImmImm, .regImmOffset:
            let x = min(4, (byte(pc + 1) >> 4) % 8)
            return [x, min(4, max(0, l - x - 1))]
        case .regRegImmImm:
            let x = min(4, byte(pc + 2) % 8)
            return [x, min(4, max(0, l - x - 2))]
        }
    }
}

/// What kind of value an operand position takes.
enum OperandKind: Sendable, Equatable {
    /// A register r0…r12.
    case register
    /// An immediate of at most 32 bits, sign-extended to 64.
    case immediate
    /// The raw 64-bit immediate of `load_imm_64`.
    case immediate64
    /// A branch target: a label or an absolute pc.
    case target
}

extension OperandForm {
    /// The operand positions in source order (destination first where there is one).
    var operandKinds: [OperandKind] {
        switch self {
        case .none: return []
        case .imm: return [.immediate]
        case .regImm64: return [.register, .immediate64]
        case .immImm: return [.immediate, .immediate]
        case .offset: return [.target]
        case .regImm: return [.register, .immediate]
        case .regImmImm: return [.register, .immediate, .immediate]
        case .regImmOffset: return [.register, .immediate, .target]
        case .regReg: return [.register, .register]
        case .regRegImm: return [.register, .register, .immediate]
        case .regRegOffset: return [.register, .register, .target]
        case .regRegImmImm: return [.register, .register, .immediate, .immediate]
        case .regRegReg: return [.register, .register, .register]
        }
    }
}

extension MachineInstruction {
    /// Builds an instruction from its registers and immediates in source order.
    init(opcode: Opcode, registers r: [UInt8], immediates i: [UInt64]) {
        self.init(opcode: opcode)
        switch opcode.form {
        case .regReg: (d, a) = (r[0], r[1])
        case .regRegReg: (d, a, b) = (r[0], r[1], r[2])
        case .regRegImm, .regRegOffset, .regRegImmImm: (a, b) = (r[0], r[1])
        case .regImm64, .regImm, .regImmImm, .regImmOffset: a = r[0]
        case .none, .imm, .immImm, .offset: break
        }
        if i.count > 0 { immX = i[0] }
        if i.count > 1 { immY = i[1] }
    }

    /// The registers in source order (the inverse of `init(opcode:registers:immediates:)`).
    var registersInSourceOrder: [UInt8] {
        switch opcode.form {
        case .regReg: return [d, a]
        case .regRegReg: return [d, a, b]
        case .regRegImm, .regRegOffset, .regRegImmImm: return [a, b]
        case .regImm64, .regImm, .regImmImm, .regImmOffset: return [a]
        case .none, .imm, .immImm, .offset: return []
        }
    }
}

/// Converts a source integer to the 64-bit value of a ≤32-bit immediate field, or nil when out of
/// range. Accepted: −2^31 … 2^32−1 (values from 2^31 are their 32-bit two's-complement pattern,
/// so `0xFFFFFFFF` is −1) and the 64-bit patterns 2^64−2^31 … 2^64−1 of negative numbers.
func immediate32(_ v: Int128) -> UInt64? {
    if v >= -(1 << 31) && v < (1 << 32) {
        return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v)))
    }
    if v >= (Int128(1) << 64) - (1 << 31) && v < (Int128(1) << 64) { return UInt64(truncatingIfNeeded: v) }
    return nil
}

/// Converts a source integer to a 64-bit pattern: −2^63 … 2^64−1, or nil when out of range.
func immediate64(_ v: Int128) -> UInt64? {
    v >= -(Int128(1) << 63) && v < (Int128(1) << 64) ? UInt64(truncatingIfNeeded: v) : nil
}
