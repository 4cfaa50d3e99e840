// The eight classic two-operand ALU instructions (add, or, adc, sbb, and, sub, xor, cmp), which
// share one encoding scheme, plus test.
//
// Opcodes follow the Intel pattern: for operation n (0-7), `n*8 + 0/1` is "r/m, r" (byte/other),
// `n*8 + 2/3` is "r, r/m", `n*8 + 4/5` is "al/eax, imm", and 80/81/83 /n are "r/m, imm" with an
// 8-bit, full-size, or sign-extended 8-bit immediate.

/// The operation of an ALU instruction, numbered as its ModRM /digit.
public enum ALUOp: UInt8, Sendable, CaseIterable {
    case add = 0, or = 1, adc = 2, sbb = 3, and = 4, sub = 5, xor = 6, cmp = 7
}

extension X86Assembler {
    /// `op dst, src` (register, register).
    @inline(__always)
    public func alu(_ op: ALUOp, _ size: OperandSize, _ dst: Reg, _ src: Reg) {
        let opc = op.rawValue << 3 | (size == .byte ? 0 : 1)
        encodeRR(size, opc, reg: src.rawValue, rm: dst,
                 force8: size == .byte && (src.needsRexAsByte || dst.needsRexAsByte))
    }

    /// `op dst, [src]`.
    @inline(__always)
    public func alu(_ op: ALUOp, _ size: OperandSize, _ dst: Reg, _ src: Mem) {
        let opc = op.rawValue << 3 | (size == .byte ? 2 : 3)
        encodeRM(size, opc, reg: dst.rawValue, mem: src, force8: size == .byte && dst.needsRexAsByte)
    }

    /// `op [dst], src`.
    @inline(__always)
    public func alu(_ op: ALUOp, _ size: OperandSize, _ dst: Mem, _ src: Reg) {
        let opc = op.rawValue << 3 | (size == .byte ? 0 : 1)
        encodeRM(size, opc, reg: src.rawValue, mem: dst, force8: size == .byte && src.needsRexAsByte)
    }

    /// `op dst, imm`. Uses the sign-extended imm8 form when the value fits, else the short
    /// accumulator form for rax/eax/ax/al, else the full immediate. For `.qword`, the imm32 is
    /// sign-extended to 64 bits.
    @inline(__always)
    public func alu(_ op: ALUOp, _ size: OperandSize, _ dst: Reg, imm: Int32) {
        let v = checkedImmediate(imm, size)
        if size == .byte {
            if dst == .rax {
                reserve()
                put(op.rawValue << 3 | 4)
            } else {
                encodeRR(.byte, 0x80, reg: op.rawValue, rm: dst, force8: dst.needsRexAsByte)
            }
            put(UInt8(truncatingIfNeeded: v))
        } else if v >= -128 && v <= 127 {
            encodeRR(size, 0x83, reg: op.rawValue, rm: dst)
            put(UInt8(truncatingIfNeeded: v))
        } else {
            if dst == .rax {
                reserve()
                prefixes(size, mandatory: 0)
                rex(w: size == .qword, r: 0, x: 0, b: 0, force: false)
                put(op.rawValue << 3 | 5)
            } else {
                encodeRR(size, 0x81, reg: op.rawValue, rm: dst)
            }
            immediate(v, bytes: immBytes(size))
        }
    }

    /// `op [dst], imm`, with the imm8 form when the value fits (e.g. `sub qword [ctx+gas], n`).
    @inline(__always)
    public func alu(_ op: ALUOp, _ size: OperandSize, _ dst: Mem, imm: Int32) {
        let v = checkedImmediate(imm, size)
        if size == .byte {
            encodeRM(.byte, 0x80, reg: op.rawValue, mem: dst, immBytes: 1)
            put(UInt8(truncatingIfNeeded: v))
        } else if v >= -128 && v <= 127 {
            encodeRM(size, 0x83, reg: op.rawValue, mem: dst, immBytes: 1)
            put(UInt8(truncatingIfNeeded: v))
        } else {
            let n = immBytes(size)
            encodeRM(size, 0x81, reg: op.rawValue, mem: dst, immBytes: n)
            immediate(v, bytes: n)
        }
    }

    // MARK: Named forms

    /// `add dst, src`.
    @inline(__always) public func add(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.add, s, d, r) }
    /// `add dst, [src]`.
    @inline(__always) public func add(_ s: OperandSize, _ d: Reg, _ m: Mem) { alu(.add, s, d, m) }
    /// `add [dst], src`.
    @inline(__always) public func add(_ s: OperandSize, _ m: Mem, _ r: Reg) { alu(.add, s, m, r) }
    /// `add dst, imm`.
    @inline(__always) public func add(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.add, s, d, imm: imm) }
    /// `add [dst], imm`.
    @inline(__always) public func add(_ s: OperandSize, _ m: Mem, imm: Int32) { alu(.add, s, m, imm: imm) }

    /// `sub dst, src`.
    @inline(__always) public func sub(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.sub, s, d, r) }
    /// `sub dst, [src]`.
    @inline(__always) public func sub(_ s: OperandSize, _ d: Reg, _ m: Mem) { alu(.sub, s, d, m) }
    /// `sub [dst], src`.
    @inline(__always) public func sub(_ s: OperandSize, _ m: Mem, _ r: Reg) { alu(.sub, s, m, r) }
    /// `sub dst, imm`.
    @inline(__always) public func sub(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.sub, s, d, imm: imm) }
    /// `sub [dst], imm`.
    @inline(__always) public func sub(_ s: OperandSize, _ m: Mem, imm: Int32) { alu(.sub, s, m, imm: imm) }

    /// `and dst, src`.
    @inline(__always) public func and(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.and, s, d, r) }
    /// `and dst, [src]`.
    @inline(__always) public func and(_ s: OperandSize, _ d: Reg, _ m: Mem) { alu(.and, s, d, m) }
    /// `and [dst], src`.
    @inline(__always) public func and(_ s: OperandSize, _ m: Mem, _ r: Reg) { alu(.and, s, m, r) }
    /// `and dst, imm`.
    @inline(__always) public func and(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.and, s, d, imm: imm) }
    /// `and [dst], imm`.
    @inline(__always) public func and(_ s: OperandSize, _ m: Mem, imm: Int32) { alu(.and, s, m, imm: imm) }

    /// `or dst, src`.
    @inline(__always) public func or(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.or, s, d, r) }
    /// `or dst, [src]`.
    @inline(__always) public func or(_ s: OperandSize, _ d: Reg, _ m: Mem) { alu(.or, s, d, m) }
    /// `or [dst], src`.
    @inline(__always) public func or(_ s: OperandSize, _ m: Mem, _ r: Reg) { alu(.or, s, m, r) }
    /// `or dst, imm`.
    @inline(__always) public func or(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.or, s, d, imm: imm) }
    /// `or [dst], imm`.
    @inline(__always) public func or(_ s: OperandSize, _ m: Mem, imm: Int32) { alu(.or, s, m, imm: imm) }

    /// `xor dst, src`.
    @inline(__always) public func xor(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.xor, s, d, r) }
    /// `xor dst, [src]`.
    @inline(__always) public func xor(_ s: OperandSize, _ d: Reg, _ m: Mem) { alu(.xor, s, d, m) }
    /// `xor [dst], src`.
    @inline(__always) public func xor(_ s: OperandSize, _ m: Mem, _ r: Reg) { alu(.xor, s, m, r) }
    /// `xor dst, imm`.
    @inline(__always) public func xor(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.xor, s, d, imm: imm) }
    /// `xor [dst], imm`.
    @inline(__always) public func xor(_ s: OperandSize, _ m: Mem, imm: Int32) { alu(.xor, s, m, imm: imm) }

    /// `cmp a, b`.
    @inline(__always) public func cmp(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.cmp, s, d, r) }
    /// `cmp a, [b]`.
    @inline(__always) public func cmp(_ s: OperandSize, _ d: Reg, _ m: Mem) { alu(.cmp, s, d, m) }
    /// `cmp [a], b`.
    @inline(__always) public func cmp(_ s: OperandSize, _ m: Mem, _ r: Reg) { alu(.cmp, s, m, r) }
    /// `cmp a, imm`.
    @inline(__always) public func cmp(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.cmp, s, d, imm: imm) }
    /// `cmp [a], imm`.
    @inline(__always) public func cmp(_ s: OperandSize, _ m: Mem, imm: Int32) { alu(.cmp, s, m, imm: imm) }

    /// `adc dst, src` (add with carry).
    @inline(__always) public func adc(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.adc, s, d, r) }
    /// `adc dst, imm`.
    @inline(__always) public func adc(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.adc, s, d, imm: imm) }
    /// `sbb dst, src` (subtract with borrow).
    @inline(__always) public func sbb(_ s: OperandSize, _ d: Reg, _ r: Reg) { alu(.sbb, s, d, r) }
    /// `sbb dst, imm`.
    @inline(__always) public func sbb(_ s: OperandSize, _ d: Reg, imm: Int32) { alu(.sbb, s, d, imm: imm) }

    // MARK: test

    /// `test a, b` (AND without storing the result).
    @inline(__always)
    public func test(_ size: OperandSize, _ a: Reg, _ b: Reg) {
        // 85 /r (84 /r for bytes)
        encodeRR(size, size == .byte ? 0x84 : 0x85, reg: b.rawValue, rm: a,
                 force8: size == .byte && (a.needsRexAsByte || b.needsRexAsByte))
    }

    /// `test [a], b`.
    @inline(__always)
    public func test(_ size: OperandSize, _ a: Mem, _ b: Reg) {
        encodeRM(size, size == .byte ? 0x84 : 0x85, reg: b.rawValue, mem: a,
                 force8: size == .byte && b.needsRexAsByte)
    }

    /// `test a, imm`. test has no imm8 form, so the immediate is full-size (imm32 sign-extended
    /// for `.qword`); the accumulator form saves the ModRM byte for rax.
    @inline(__always)
    public func test(_ size: OperandSize, _ a: Reg, imm: Int32) {
        let v = checkedImmediate(imm, size)
        if a == .rax {
            // A8 ib / A9 iw/id
            reserve()
            prefixes(size, mandatory: 0)
            rex(w: size == .qword, r: 0, x: 0, b: 0, force: false)
            put(size == .byte ? 0xA8 : 0xA9)
        } else {
            // F6 /0 ib, F7 /0 iw/id
            encodeRR(size, size == .byte ? 0xF6 : 0xF7, reg: 0, rm: a, force8: size == .byte && a.needsRexAsByte)
        }
        immediate(v, bytes: immBytes(size))
    }

    /// `test [a], imm`.
    @inline(__always)
    public func test(_ size: OperandSize, _ a: Mem, imm: Int32) {
        let v = checkedImmediate(imm, size)
        let n = immBytes(size)
        encodeRM(size, size == .byte ? 0xF6 : 0xF7, reg: 0, mem: a, immBytes: n)
        immediate(v, bytes: n)
    }
}
