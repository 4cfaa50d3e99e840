// Data movement: mov in all its forms, zero/sign extension, lea, xchg, push and pop.

extension X86Assembler {
    // MARK: mov

    /// `mov dst, src` unless `dst` is `src` (then nothing), without a branch on the registers:
    /// the instruction is written either way and kept only when needed.
    @inline(__always)
    public func movUnlessSame(_ size: OperandSize, _ dst: Reg, _ src: Reg) {
        let start = count
        mov(size, dst, src)
        count = dst == src ? start : count
    }

    /// `mov dst, src` (register to register).
    @inline(__always)
    public func mov(_ size: OperandSize, _ dst: Reg, _ src: Reg) {
        // 89 /r (88 /r for bytes): MOV r/m, r.
        encodeRR(size, size == .byte ? 0x88 : 0x89, reg: src.rawValue, rm: dst,
                 force8: size == .byte && (src.needsRexAsByte || dst.needsRexAsByte))
    }

    /// `mov dst, [src]` (load). A dword load zero-extends into the full 64-bit register;
    /// byte and word loads leave the upper bits unchanged (use `movzx`/`movsx` to extend).
    @inline(__always)
    public func mov(_ size: OperandSize, _ dst: Reg, _ src: Mem) {
        // 8B /r (8A /r for bytes): MOV r, r/m.
        encodeRM(size, size == .byte ? 0x8A : 0x8B, reg: dst.rawValue, mem: src,
                 force8: size == .byte && dst.needsRexAsByte)
    }

    /// `mov [dst], src` (store of the low `size` bytes of `src`).
    @inline(__always)
    public func mov(_ size: OperandSize, _ dst: Mem, _ src: Reg) {
        encodeRM(size, size == .byte ? 0x88 : 0x89, reg: src.rawValue, mem: dst,
                 force8: size == .byte && src.needsRexAsByte)
    }

    /// `mov dst, imm` with an immediate of the operand size; for `.qword` the imm32 is
    /// sign-extended to 64 bits (C7 /0), for `.dword` the result is zero-extended.
    /// Byte and word immediates may be given signed or unsigned (-128...255, -32768...65535).
    @inline(__always)
    public func mov(_ size: OperandSize, _ dst: Reg, imm: Int32) {
        let v = checkedImmediate(imm, size)
        switch size {
        case .qword:
            encodeRR(.qword, 0xC7, reg: 0, rm: dst)
            put32(UInt32(bitPattern: v))
        case .byte:
            // B0+r ib
            encodeO(.byte, 0xB0, reg: dst, force8: dst.needsRexAsByte)
            immediate(v, bytes: 1)
        default:
            // B8+r iw/id
            encodeO(size, 0xB8, reg: dst)
            immediate(v, bytes: size.bytes)
        }
    }

    /// `mov [dst], imm`: stores an immediate of `size` bytes (for `.qword`, a sign-extended imm32).
    @inline(__always)
    public func mov(_ size: OperandSize, _ dst: Mem, imm: Int32) {
        let v = checkedImmediate(imm, size)
        let n = immBytes(size)
        // C7 /0 (C6 /0 for bytes)
        encodeRM(size, size == .byte ? 0xC6 : 0xC7, reg: 0, mem: dst, immBytes: n)
        immediate(v, bytes: n)
    }

    /// `movabs dst, imm64`: always the 10-byte form (REX.W B8+r io).
    @inline(__always)
    public func movabs(_ dst: Reg, imm: UInt64) {
        encodeO(.qword, 0xB8, reg: dst)
        put64(imm)
    }

    /// Loads a 64-bit constant into `dst` with the shortest `mov`: `mov r32, imm32` (zero-
    /// extends) when it fits in 32 unsigned bits, the sign-extended `mov r64, imm32` when it
    /// fits in 32 signed bits, otherwise `movabs`. Flags are not affected (unlike `xor r, r`).
    @inline(__always)
    public func loadImmediate(_ dst: Reg, _ value: UInt64) {
        if value <= UInt64(UInt32.max) {
            encodeO(.dword, 0xB8, reg: dst)
            put32(UInt32(truncatingIfNeeded: value))
        } else if Int64(bitPattern: value) == Int64(Int32(truncatingIfNeeded: value)) {
            // The sign-extension of its low 32 bits.
            encodeRR(.qword, 0xC7, reg: 0, rm: dst)
            put32(UInt32(truncatingIfNeeded: value))
        } else {
            movabs(dst, imm: value)
        }
    }

    // MARK: Extension

    /// `movzx dst, src`: zero-extends the byte or word register `src` (`from`) into `dst` of
    /// `size` (`.word`, `.dword` or `.qword`; `.dword` already clears bits 32-63 and is shorter).
    @inline(__always)
    public func movzx(_ size: OperandSize, _ dst: Reg, _ src: Reg, from: OperandSize) {
        precondition(from.rawValue < size.rawValue && from.rawValue <= 2, "movzx extends bytes or words to a wider size")
        // 0F B6 /r (from byte), 0F B7 /r (from word)
        encodeRR(size, from == .byte ? 0xB6 : 0xB7, escape: true, reg: dst.rawValue, rm: src,
                 force8: from == .byte && src.needsRexAsByte)
    }

    /// `movzx dst, BYTE/WORD PTR [src]`.
    @inline(__always)
    public func movzx(_ size: OperandSize, _ dst: Reg, _ src: Mem, from: OperandSize) {
        precondition(from.rawValue < size.rawValue && from.rawValue <= 2, "movzx extends bytes or words to a wider size")
        encodeRM(size, from == .byte ? 0xB6 : 0xB7, escape: true, reg: dst.rawValue, mem: src)
    }

    /// `movsx dst, src`: sign-extends the byte or word register `src` (`from`) into `dst` of
    /// `size` (`.word`, `.dword` or `.qword`).
    @inline(__always)
    public func movsx(_ size: OperandSize, _ dst: Reg, _ src: Reg, from: OperandSize) {
        precondition(from.rawValue < size.rawValue && from.rawValue <= 2, "movsx extends bytes or words to a wider size; use movsxd for dwords")
        // 0F BE /r (from byte), 0F BF /r (from word)
        encodeRR(size, from == .byte ? 0xBE : 0xBF, escape: true, reg: dst.rawValue, rm: src,
                 force8: from == .byte && src.needsRexAsByte)
    }

    /// `movsx dst, BYTE/WORD PTR [src]`.
    @inline(__always)
    public func movsx(_ size: OperandSize, _ dst: Reg, _ src: Mem, from: OperandSize) {
        precondition(from.rawValue < size.rawValue && from.rawValue <= 2, "movsx extends bytes or words to a wider size; use movsxd for dwords")
        encodeRM(size, from == .byte ? 0xBE : 0xBF, escape: true, reg: dst.rawValue, mem: src)
    }

    /// `movsxd dst, src`: sign-extends the dword `src` into the qword `dst`.
    @inline(__always)
    public func movsxd(_ dst: Reg, _ src: Reg) {
        // REX.W 63 /r
        encodeRR(.qword, 0x63, reg: dst.rawValue, rm: src)
    }

    /// `movsxd dst, DWORD PTR [src]`.
    @inline(__always)
    public func movsxd(_ dst: Reg, _ src: Mem) {
        encodeRM(.qword, 0x63, reg: dst.rawValue, mem: src)
    }

    // MARK: lea, xchg, push, pop

    /// `lea dst, [src]` (`.word`, `.dword` or `.qword`); computes the address without flags.
    @inline(__always)
    public func lea(_ size: OperandSize, _ dst: Reg, _ src: Mem) {
        precondition(size != .byte, "lea has no byte form")
        encodeRM(size, 0x8D, reg: dst.rawValue, mem: src)
    }

    /// `xchg a, b` (register to register). Always the ModRM form: the short `90+r` form with
    /// eax would turn `xchg eax, eax` into `nop`, which does not zero bits 32-63.
    @inline(__always)
    public func xchg(_ size: OperandSize, _ a: Reg, _ b: Reg) {
        // 87 /r (86 /r for bytes)
        encodeRR(size, size == .byte ? 0x86 : 0x87, reg: b.rawValue, rm: a,
                 force8: size == .byte && (a.needsRexAsByte || b.needsRexAsByte))
    }

    /// `push r` (64-bit).
    @inline(__always)
    public func push(_ reg: Reg) {
        encodeO(.dword, 0x50, reg: reg)
    }

    /// `push imm`: pushes the immediate sign-extended to 64 bits (imm8 form when it fits).
    @inline(__always)
    public func push(imm: Int32) {
        reserve()
        if imm >= -128 && imm <= 127 {
            put(0x6A)
            put(UInt8(truncatingIfNeeded: imm))
        } else {
            put(0x68)
            put32(UInt32(bitPattern: imm))
        }
    }

    /// `pop r` (64-bit).
    @inline(__always)
    public func pop(_ reg: Reg) {
        encodeO(.dword, 0x58, reg: reg)
    }
}
