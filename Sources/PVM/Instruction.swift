/// One decoded instruction with its operands resolved (SPEC.md §2.5).
///
/// Register fields follow the GP names: `a` and `b` are the low and high nibble of the first
/// operand byte (clamped to 12), `d` the destination of the two- and three-register forms.
/// For the two-register form (100–111) the destination is the low nibble, so `d` is the low nibble
/// and `a` the high one.
public struct Instruction: Sendable, Equatable {
    // Laid out to fit 32 bytes: a program's decoded form is one of these per instruction.

    /// The first immediate (sign-extended to 64 bits, raw for `load_imm_64`).
    public var immX: UInt64 = 0
    /// The second immediate; for the forms with a pc-relative offset, the branch target (`target`).
    public var immY: UInt64 = 0
    /// The byte offset of the instruction in the code.
    public var pc: UInt32
    /// The opcode executed: `.trap` when the byte is not a defined opcode or its bitmask bit is clear.
    public var opcode: Opcode
    /// The byte at `pc` (differs from `opcode.rawValue` for invalid instructions).
    public var rawOpcode: UInt8
    /// False when the position is not an instruction start or the byte is not a defined opcode.
    public var isValid: Bool
    public var a: UInt8 = 0
    public var b: UInt8 = 0
    public var d: UInt8 = 0
    @usableFromInline var skipPlusOne: UInt8

    public init(opcode: Opcode, rawOpcode: UInt8, isValid: Bool, pc: UInt32, length: UInt32) {
        self.opcode = opcode
        self.rawOpcode = rawOpcode
        self.isValid = isValid
        self.pc = pc
        self.skipPlusOne = UInt8(truncatingIfNeeded: length)
    }

    /// The absolute branch target for the offset forms, `ı + signed offset`; may lie outside the
    /// code. Stored in `immY`, which those forms do not use.
    public var target: Int64 {
        @inlinable get { Int64(bitPattern: immY) }
        @inlinable set { immY = UInt64(bitPattern: newValue) }
    }

    /// `1 + skip(pc)`: the distance to the next instruction (at most 25).
    public var length: UInt32 { UInt32(skipPlusOne) }

    /// The pc of the instruction that follows in sequence.
    public var nextPC: UInt32 { pc &+ length }
}

/// Sign-extends the low `n` bytes of `x` (n in 0...8); sext₀ is 0.
@inlinable @inline(__always)
public func signExtend(_ x: UInt64, bytes n: Int) -> UInt64 {
    if n == 0 { return 0 }
    if n >= 8 { return x }
    let shift = UInt64(64 - 8 * n)
    return UInt64(bitPattern: Int64(bitPattern: x << shift) >> shift)
}

/// Reads ζ (the code, zero past its end) as little-endian integers for the operand decoder.
@usableFromInline
protocol CodeReader {
    /// ζ[at ..< at+n] as a little-endian integer, n in 0...8.
    func read(_ at: Int, _ n: Int) -> UInt64
    /// The same, sign-extended from n bytes (n in 0...4 for immediates; 0 gives 0).
    func readSigned(_ at: Int, _ n: Int) -> UInt64
}

extension CodeReader {
    @inlinable @inline(__always)
    func readSigned(_ at: Int, _ n: Int) -> UInt64 { signExtend(read(at, n), bytes: n) }
}

/// Bounds-checked reads from the code array: for decoding single instructions.
struct CheckedCodeReader: CodeReader {
    let code: [UInt8]

    @inline(__always)
    func read(_ at: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = 0
        while i < n {
            let p = at + i
            if p >= 0 && p < code.count { v |= UInt64(code[p]) << (8 * UInt64(i)) }
            i += 1
        }
        return v
    }
}

/// Unchecked reads from a copy of the code followed by `padding` zero bytes: for decoding a whole
/// program in one pass. Every read starts at most 25 bytes past an instruction start, which is
/// inside the code, so 8-byte loads never leave the padded copy.
@usableFromInline
struct PaddedCodeReader: CodeReader {
    static let padding = 48
    @usableFromInline let bytes: UnsafeRawPointer

    @inlinable @inline(__always)
    init(bytes: UnsafeRawPointer) { self.bytes = bytes }

    @inlinable @inline(__always)
    func read(_ at: Int, _ n: Int) -> UInt64 {
        if n == 0 { return 0 }
        let v = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        return n >= 8 ? v : v & ((1 << (UInt64(n) * 8)) - 1)
    }

    /// Branch-free: an 8-byte load shifted up so that byte n-1 is the top byte, then an
    /// arithmetic shift back down (Swift's shifts give 0 for a shift by 64, so n = 0 is 0).
    @inlinable @inline(__always)
    func readSigned(_ at: Int, _ n: Int) -> UInt64 {
        let v = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        let shift = UInt64(64 &- 8 &* n)
        return UInt64(bitPattern: Int64(bitPattern: v << shift) >> shift)
    }
}

extension ProgramBlob {
    /// skip(i): the number of bytes after position `i` up to the next set bitmask bit, capped at 24.
    /// The bitmask is taken as extended with 1s past the end of the code.
    public func skip(at i: Int) -> Int {
        var j = 0
        while j < 24 {
            let p = i + 1 + j
            if p >= bitmask.count || bitmask[p] { return j }
            j += 1
        }
        return 24
    }

    /// Decodes the instruction at `pc` (any pc: positions that are not instruction starts, and the
    /// positions at or past the end of the code, decode as an invalid instruction, i.e. `trap`).
    public func decode(at pc: Int) -> Instruction {
        let length = 1 + skip(at: pc)
        guard pc >= 0, pc < code.count, bitmask[pc], let op = Opcode(rawValue: code[pc]) else {
            var bad = Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: UInt32(truncatingIfNeeded: pc),
                                  length: UInt32(length))
            if pc >= 0 && pc < code.count { bad.rawOpcode = code[pc] }
            return bad
        }
        var ins = Instruction(opcode: op, rawOpcode: op.rawValue, isValid: true,
                              pc: UInt32(truncatingIfNeeded: pc), length: UInt32(length))
        decodeOperands(op.form, at: pc, skip: length - 1, CheckedCodeReader(code: code), into: &ins)
        return ins
    }
}

/// Operand decoding (SPEC.md §2.5) over any code reader, into an instruction whose opcode, pc
/// and length are already set, of operand form `form` (its opcode's). `l` is skip(pc).
/// Transparent (see `OperandDecoder.decode`).
@usableFromInline @_transparent
func decodeOperands<R: CodeReader>(_ form: OperandForm, at pc: Int, skip l: Int, _ z: R, into ins: inout Instruction) {
    let b1 = z.read(pc + 1, 1)
    let low = b1 & 15, high = b1 >> 4
    let lowReg = UInt8(truncatingIfNeeded: low < 12 ? low : 12)
    let highReg = UInt8(truncatingIfNeeded: high < 12 ? high : 12)
    @inline(__always) func imm(_ at: Int, _ n: Int) -> UInt64 { z.readSigned(at, n) }
    @inline(__always) func offset(_ at: Int, _ n: Int) -> Int64 { Int64(pc) + Int64(bitPattern: imm(at, n)) }
    switch form {
    case .none:
        break
    case .imm:
        ins.immX = imm(pc + 1, min(4, l))
    case .regImm64:
        ins.a = lowReg
        ins.immX = z.read(pc + 2, 8)
    case .immImm:
        let lx = min(4, Int(b1 % 8))
        let ly = min(4, max(0, l - lx - 1))
        ins.immX = imm(pc + 2, lx)
        ins.immY = imm(pc + 2 + lx, ly)
    case .offset:
        ins.target = offset(pc + 1, min(4, l))
    case .regImm:
        ins.a = lowReg
        ins.immX = imm(pc + 2, min(4, max(0, l - 1)))
    case .regImmImm, .regImmOffset:
        ins.a = lowReg
        let lx = min(4, Int((b1 >> 4) % 8))
        let ly = min(4, max(0, l - lx - 1))
        ins.immX = imm(pc + 2, lx)
        if form == .regImmImm {
            ins.immY = imm(pc + 2 + lx, ly)
        } else {
            ins.target = offset(pc + 2 + lx, ly)
        }
    case .regReg:
        ins.d = lowReg
        ins.a = highReg
    case .regRegImm:
        ins.a = lowReg
        ins.b = highReg
        ins.immX = imm(pc + 2, min(4, max(0, l - 1)))
    case .regRegOffset:
        ins.a = lowReg
        ins.b = highReg
        ins.target = offset(pc + 2, min(4, max(0, l - 1)))
    case .regRegImmImm:
        ins.a = lowReg
        ins.b = highReg
        let b2 = z.read(pc + 2, 1)
        let lx = min(4, Int(b2 % 8))
        let ly = min(4, max(0, l - lx - 2))
        ins.immX = imm(pc + 3, lx)
        ins.immY = imm(pc + 3 + lx, ly)
    case .regRegReg:
        ins.a = lowReg
        ins.b = highReg
        let d = z.read(pc + 2, 1)
        ins.d = UInt8(truncatingIfNeeded: d < 12 ? d : 12)
    }
}
