// Unary operations, multiplication and division, shifts and rotates, bit counting, byte swap,
// and the flag consumers setcc and cmovcc.

/// The operation of a shift or rotate, numbered as its ModRM /digit.
public enum ShiftOp: UInt8, Sendable, CaseIterable {
    case rol = 0, ror = 1, shl = 4, shr = 5, sar = 7
}

extension X86Assembler {
    // MARK: Group 3 (F6/F7 /digit): not, neg, mul, imul, div, idiv

    @inline(__always)
    func group3(_ digit: UInt8, _ size: OperandSize, _ r: Reg) {
        encodeRR(size, size == .byte ? 0xF6 : 0xF7, reg: digit, rm: r, force8: size == .byte && r.needsRexAsByte)
    }

    /// Group 3 with a memory operand (`F7 /digit`), for the one-operand multiply and divide.
    @inline(__always)
    func group3(_ digit: UInt8, _ size: OperandSize, _ m: Mem) {
        encodeRM(size, size == .byte ? 0xF6 : 0xF7, reg: digit, mem: m)
    }

    /// `mul qword [m]` and friends: the memory-operand forms of the one-operand multiply/divide.
    @inline(__always) public func mul(_ size: OperandSize, _ src: Mem) { group3(4, size, src) }
    @inline(__always) public func imul(_ size: OperandSize, _ src: Mem) { group3(5, size, src) }
    @inline(__always) public func div(_ size: OperandSize, _ src: Mem) { group3(6, size, src) }
    @inline(__always) public func idiv(_ size: OperandSize, _ src: Mem) { group3(7, size, src) }

    /// `not r` (bitwise complement, flags unchanged).
    @inline(__always) public func not(_ size: OperandSize, _ r: Reg) { group3(2, size, r) }

    /// `neg r` (two's complement negation).
    @inline(__always) public func neg(_ size: OperandSize, _ r: Reg) { group3(3, size, r) }

    /// `mul src`: unsigned rdx:rax = rax * src (edx:eax for `.dword`, ax = al * src for `.byte`).
    @inline(__always) public func mul(_ size: OperandSize, _ src: Reg) { group3(4, size, src) }

    /// `imul src`: signed rdx:rax = rax * src (the one-operand, double-width form).
    @inline(__always) public func imul(_ size: OperandSize, _ src: Reg) { group3(5, size, src) }

    /// `div src`: unsigned rax = rdx:rax / src, rdx = remainder. Traps (#DE) on a zero divisor
    /// or a quotient that does not fit; the recompiler must guard against both.
    @inline(__always) public func div(_ size: OperandSize, _ src: Reg) { group3(6, size, src) }

    /// `idiv src`: signed rax = rdx:rax / src, rdx = remainder. Traps (#DE) on a zero divisor
    /// and on MIN / -1; the recompiler must guard against both.
    @inline(__always) public func idiv(_ size: OperandSize, _ src: Reg) { group3(7, size, src) }

    /// `cqo`: sign-extends rax into rdx:rax (before a 64-bit `idiv`).
    @inline(__always)
    public func cqo() {
        reserve()
        put(0x48)
        put(0x99)
    }

    /// `cdq`: sign-extends eax into edx:eax (before a 32-bit `idiv`).
    @inline(__always)
    public func cdq() {
        reserve()
        put(0x99)
    }

    // MARK: Two- and three-operand imul

    /// `imul dst, src`: dst = dst * src, truncated (`.word`, `.dword`, `.qword`).
    @inline(__always)
    public func imul(_ size: OperandSize, _ dst: Reg, _ src: Reg) {
        precondition(size != .byte, "imul r, r has no byte form")
        // 0F AF /r
        encodeRR(size, 0xAF, escape: true, reg: dst.rawValue, rm: src)
    }

    /// `imul dst, [src]`.
    @inline(__always)
    public func imul(_ size: OperandSize, _ dst: Reg, _ src: Mem) {
        precondition(size != .byte, "imul r, m has no byte form")
        encodeRM(size, 0xAF, escape: true, reg: dst.rawValue, mem: src)
    }

    /// `imul dst, src, imm`: dst = src * imm, truncated; imm8 form when the value fits.
    @inline(__always)
    public func imul(_ size: OperandSize, _ dst: Reg, _ src: Reg, imm: Int32) {
        precondition(size != .byte, "imul r, r, imm has no byte form")
        let v = checkedImmediate(imm, size)
        if v >= -128 && v <= 127 {
            // 6B /r ib
            encodeRR(size, 0x6B, reg: dst.rawValue, rm: src)
            put(UInt8(truncatingIfNeeded: v))
        } else {
            // 69 /r iw/id
            encodeRR(size, 0x69, reg: dst.rawValue, rm: src)
            immediate(v, bytes: immBytes(size))
        }
    }

    // MARK: Shifts and rotates (C0/C1 by imm8, D0/D1 by 1, D2/D3 by cl)

    /// `op dst, imm` (shift or rotate by a constant; the CPU masks it to 5 or 6 bits).
    /// A count of 1 uses the shorter by-one encoding.
    @inline(__always)
    public func shift(_ op: ShiftOp, _ size: OperandSize, _ dst: Reg, imm: UInt8) {
        let byte = size == .byte
        if imm == 1 {
            encodeRR(size, byte ? 0xD0 : 0xD1, reg: op.rawValue, rm: dst, force8: byte && dst.needsRexAsByte)
        } else {
            encodeRR(size, byte ? 0xC0 : 0xC1, reg: op.rawValue, rm: dst, force8: byte && dst.needsRexAsByte)
            put(imm)
        }
    }

    /// `op dst, cl` (shift or rotate by the count in cl).
    @inline(__always)
    public func shift(_ op: ShiftOp, _ size: OperandSize, _ dst: Reg, _ count: ShiftCount) {
        let byte = size == .byte
        encodeRR(size, byte ? 0xD2 : 0xD3, reg: op.rawValue, rm: dst, force8: byte && dst.needsRexAsByte)
    }

    /// `shl dst, imm`.
    @inline(__always) public func shl(_ s: OperandSize, _ d: Reg, imm: UInt8) { shift(.shl, s, d, imm: imm) }
    /// `shl dst, cl`.
    @inline(__always) public func shl(_ s: OperandSize, _ d: Reg, _ c: ShiftCount) { shift(.shl, s, d, c) }
    /// `shr dst, imm` (logical).
    @inline(__always) public func shr(_ s: OperandSize, _ d: Reg, imm: UInt8) { shift(.shr, s, d, imm: imm) }
    /// `shr dst, cl` (logical).
    @inline(__always) public func shr(_ s: OperandSize, _ d: Reg, _ c: ShiftCount) { shift(.shr, s, d, c) }
    /// `sar dst, imm` (arithmetic).
    @inline(__always) public func sar(_ s: OperandSize, _ d: Reg, imm: UInt8) { shift(.sar, s, d, imm: imm) }
    /// `sar dst, cl` (arithmetic).
    @inline(__always) public func sar(_ s: OperandSize, _ d: Reg, _ c: ShiftCount) { shift(.sar, s, d, c) }
    /// `rol dst, imm`.
    @inline(__always) public func rol(_ s: OperandSize, _ d: Reg, imm: UInt8) { shift(.rol, s, d, imm: imm) }
    /// `rol dst, cl`.
    @inline(__always) public func rol(_ s: OperandSize, _ d: Reg, _ c: ShiftCount) { shift(.rol, s, d, c) }
    /// `ror dst, imm`.
    @inline(__always) public func ror(_ s: OperandSize, _ d: Reg, imm: UInt8) { shift(.ror, s, d, imm: imm) }
    /// `ror dst, cl`.
    @inline(__always) public func ror(_ s: OperandSize, _ d: Reg, _ c: ShiftCount) { shift(.ror, s, d, c) }

    // MARK: Bit counting and byte swap

    /// F3 0F xx /r with `size` `.word`, `.dword` or `.qword`.
    @inline(__always)
    func bitCount(_ op: UInt8, _ size: OperandSize, _ dst: Reg, _ src: Reg) {
        precondition(size != .byte, "bit counting has no byte form")
        encodeRR(size, op, escape: true, mandatory: 0xF3, reg: dst.rawValue, rm: src)
    }

    /// `popcnt dst, src` (requires the POPCNT feature).
    @inline(__always) public func popcnt(_ s: OperandSize, _ d: Reg, _ r: Reg) { bitCount(0xB8, s, d, r) }
    /// `lzcnt dst, src` (requires LZCNT/ABM; on older CPUs the same bytes decode as `bsr`).
    @inline(__always) public func lzcnt(_ s: OperandSize, _ d: Reg, _ r: Reg) { bitCount(0xBD, s, d, r) }
    /// `tzcnt dst, src` (requires BMI1; on older CPUs the same bytes decode as `bsf`).
    @inline(__always) public func tzcnt(_ s: OperandSize, _ d: Reg, _ r: Reg) { bitCount(0xBC, s, d, r) }

    // MARK: BMI1 / BMI2 (three-operand, flags untouched except by andn)

    /// `andn dst, inverted, src`: dst = ~inverted & src (BMI1).
    @inline(__always)
    public func andn(_ size: OperandSize, _ dst: Reg, _ inverted: Reg, _ src: Reg) {
        precondition(size == .dword || size == .qword, "andn takes dword or qword registers")
        encodeVEX(size, map: 2, pp: 0, 0xF2, reg: dst, vvvv: inverted, rm: src)
    }

    /// `rorx dst, src, imm`: dst = src rotated right by `imm` (BMI2), flags untouched.
    @inline(__always)
    public func rorx(_ size: OperandSize, _ dst: Reg, _ src: Reg, imm: UInt8) {
        precondition(size == .dword || size == .qword, "rorx takes dword or qword registers")
        encodeVEX(size, map: 3, pp: 3, 0xF0, reg: dst, vvvv: .rax, rm: src)
        put(imm)
    }

    /// `shlx`/`shrx`/`sarx dst, src, count` (BMI2): the shift by a register other than cl,
    /// masked to the operand width as `shl`/`shr`/`sar` are; flags untouched.
    @inline(__always)
    public func shiftX(_ op: ShiftOp, _ size: OperandSize, _ dst: Reg, _ src: Reg, count: Reg) {
        precondition(size == .dword || size == .qword, "shlx/shrx/sarx take dword or qword registers")
        let pp: UInt8
        switch op {
        case .shl: pp = 1
        case .shr: pp = 3
        case .sar: pp = 2
        default: preconditionFailure("only shl, shr and sar have a BMI2 form")
        }
        encodeVEX(size, map: 2, pp: pp, 0xF7, reg: dst, vvvv: count, rm: src)
    }

    /// `bswap r` (`.dword` or `.qword`).
    @inline(__always)
    public func bswap(_ size: OperandSize, _ r: Reg) {
        precondition(size == .dword || size == .qword, "bswap takes a dword or qword register")
        // 0F C8+r
        encodeO(size, 0xC8, escape: true, reg: r)
    }

    // MARK: setcc, cmovcc

    /// `setcc dst`: sets the byte register `dst` to 1 if `cc` holds, else 0 (upper bits kept).
    @inline(__always)
    public func setcc(_ cc: Condition, _ dst: Reg) {
        // 0F 90+cc /0
        encodeRR(.byte, 0x90 | cc.rawValue, escape: true, reg: 0, rm: dst, force8: dst.needsRexAsByte)
    }

    /// `cmovcc dst, src`: dst = src if `cc` holds (`.word`, `.dword`, `.qword`). The `.dword`
    /// form zero-extends dst into 64 bits even when the condition is false.
    @inline(__always)
    public func cmov(_ cc: Condition, _ size: OperandSize, _ dst: Reg, _ src: Reg) {
        precondition(size != .byte, "cmov has no byte form")
        // 0F 40+cc /r
        encodeRR(size, 0x40 | cc.rawValue, escape: true, reg: dst.rawValue, rm: src)
    }

    /// `cmovcc dst, [src]`. The load happens (and can fault) whether or not `cc` holds.
    @inline(__always)
    public func cmov(_ cc: Condition, _ size: OperandSize, _ dst: Reg, _ src: Mem) {
        precondition(size != .byte, "cmov has no byte form")
        encodeRM(size, 0x40 | cc.rawValue, escape: true, reg: dst.rawValue, mem: src)
    }
}
