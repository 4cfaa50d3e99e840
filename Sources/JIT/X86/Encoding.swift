// The encoding core: legacy prefixes, REX, opcode, ModRM, SIB and displacement.
//
// Every instruction form in this DSL is "[66] [F3] [REX] [0F] opcode ModRM [SIB] [disp] [imm]"
// or "[66] [REX] opcode+reg [imm]"; these helpers produce everything up to the immediate, which
// the caller appends. Callers must have called `reserve()` first.

extension X86Assembler {
    /// Emits the 0x66 prefix for 16-bit operands and the mandatory prefix (0 for none).
    @inline(__always)
    func prefixes(_ size: OperandSize, mandatory: UInt8) {
        if size == .word { put(0x66) }
        if mandatory != 0 { put(mandatory) }
    }

    /// Emits a REX prefix if any of its bits is needed, or if `force` is set (byte access to
    /// spl/bpl/sil/dil). `r`, `x` and `b` are 0 or 1.
    /// Branch-free: the byte is always stored and kept only when needed (the registers of
    /// recompiled code are data, so a branch on them would mispredict).
    @inline(__always)
    func rex(w: Bool, r: UInt8, x: UInt8, b: UInt8, force: Bool) {
        let bits = (w ? 8 : 0) | (r << 2) | (x << 1) | b
        base[count] = 0x40 | bits
        count &+= (bits != 0) || force ? 1 : 0
    }

    @inline(__always)
    func opcode(_ op: UInt8, escape: Bool) {
        if escape { put(0x0F) }
        put(op)
    }

    /// Register-direct form: `ModRM.mod = 11`, `reg` is a register number or an opcode
    /// extension (/digit), `rm` a register. `force8` requests a bare REX for byte registers.
    @inline(__always)
    func encodeRR(_ size: OperandSize, _ op: UInt8, escape: Bool = false, mandatory: UInt8 = 0,
                  reg: UInt8, rm: Reg, force8: Bool = false) {
        reserve()
        prefixes(size, mandatory: mandatory)
        rex(w: size == .qword, r: reg >> 3, x: 0, b: rm.high, force: force8)
        opcode(op, escape: escape)
        put(0xC0 | (reg & 7) << 3 | rm.low3)
    }

    /// Memory form: `reg` is a register number or opcode extension, `mem` the r/m operand.
    /// `immBytes` is the size of the immediate the caller will append, which a rip-relative
    /// displacement must account for (it is relative to the end of the instruction).
    @inline(__always)
    func encodeRM(_ size: OperandSize, _ op: UInt8, escape: Bool = false, mandatory: UInt8 = 0,
                  reg: UInt8, mem: Mem, force8: Bool = false, immBytes: Int = 0) {
        reserve()
        if mem.prefix & Mem.gsSegment != 0 { put(0x65) }
        if mem.prefix & Mem.address32 != 0 { put(0x67) }
        prefixes(size, mandatory: mandatory)
        rex(w: size == .qword, r: reg >> 3, x: mem.rexX, b: mem.rexB, force: force8)
        opcode(op, escape: escape)
        modrm(reg: reg & 7, mem, immBytes: immBytes)
    }

    /// Three-byte VEX form, register-direct (the BMI instructions): `C4 [R̄ X̄ B̄ mmmmm]
    /// [W v̄vvv 0 pp] op ModRM`. `map`: 2 for 0F38, 3 for 0F3A; `pp`: the implied prefix (0 none,
    /// 1 66, 2 F3, 3 F2); `vvvv` the extra register operand (rax when the form has none: the field
    /// is then 1111, as required).
    @inline(__always)
    func encodeVEX(_ size: OperandSize, map: UInt8, pp: UInt8, _ op: UInt8, reg: Reg, vvvv: Reg, rm: Reg) {
        reserve()
        put(0xC4)
        put((~reg.high & 1) << 7 | 1 << 6 | (~rm.high & 1) << 5 | map)
        put((size == .qword ? 0x80 : 0) | (~vvvv.rawValue & 15) << 3 | pp)
        put(op)
        put(0xC0 | reg.low3 << 3 | rm.low3)
    }

    /// Register-in-opcode form (`op + reg`, e.g. push, bswap, mov r, imm).
    @inline(__always)
    func encodeO(_ size: OperandSize, _ op: UInt8, escape: Bool = false, reg: Reg, force8: Bool = false) {
        reserve()
        prefixes(size, mandatory: 0)
        rex(w: size == .qword, r: 0, x: 0, b: reg.high, force: force8)
        opcode(op &+ reg.low3, escape: escape)
    }

    /// ModRM (+ SIB + displacement) for a memory operand; `reg` is already reduced to 3 bits.
    @inline(__always)
    func modrm(reg: UInt8, _ m: Mem, immBytes: Int) {
        let r = reg << 3
        if m.base == Mem.ripBase {
            // mod=00 rm=101 is rip+disp32 in 64-bit mode.
            put(r | 0b101)
            emitRel32(Label(id: m.label), end: count &+ 4 &+ immBytes, addend: m.disp)
            return
        }
        if m.base == Mem.noBase {
            // No base: SIB with base=101 and mod=00 means [index*scale + disp32]; index=100
            // (without REX.X) means no index, leaving a plain [disp32].
            let idx: UInt8 = m.index == Mem.noIndex ? 0b100 : m.index & 7
            put(r | 0b100)
            put(m.scale.rawValue << 6 | idx << 3 | 0b101)
            put32(UInt32(bitPattern: m.disp))
            return
        }
        // Branch-free, like `rex`: the choices below depend on the guest's registers and
        // immediates. Every byte that may be needed is stored; `count` advances past the
        // ones that are.
        let b3 = m.base & 7
        // mod=00 with base 101 (rbp/r13) would mean rip/disp32, so those bases need a disp8 0.
        let fits8 = m.disp >= -128 && m.disp <= 127
        let noDisp = m.disp == 0 && b3 != 0b101
        let mod: UInt8 = noDisp ? 0b00 : (fits8 ? 0b01 : 0b10)
        // rsp/r12 as base (rm=100) is the SIB escape, so they always need a SIB byte;
        // index=100 without REX.X means "no index".
        let sib = m.index != Mem.noIndex || b3 == 0b100
        let idx: UInt8 = m.index == Mem.noIndex ? 0b100 : m.index & 7
        base[count] = mod << 6 | r | (sib ? 0b100 : b3)
        base[count &+ 1] = m.scale.rawValue << 6 | idx << 3 | b3
        count &+= sib ? 2 : 1
        UnsafeMutableRawPointer(base + count).storeBytes(of: UInt32(bitPattern: m.disp).littleEndian, as: UInt32.self)
        count &+= noDisp ? 0 : (fits8 ? 1 : 4)
    }

    /// Appends an immediate of `bytes` bytes (1, 2 or 4), truncating `value`.
    @inline(__always)
    func immediate(_ value: Int32, bytes: Int) {
        switch bytes {
        case 1: put(UInt8(truncatingIfNeeded: value))
        case 2: put16(UInt16(truncatingIfNeeded: value))
        default: put32(UInt32(bitPattern: value))
        }
    }

    /// The size of a full-width immediate for `size` (qword operations take a sign-extended
    /// imm32).
    @inline(__always)
    func immBytes(_ size: OperandSize) -> Int {
        size == .qword ? 4 : size.bytes
    }

    /// Checks that `imm` is representable at `size`, signed or unsigned (so that both -1 and
    /// 0xFF are accepted for a byte), and returns it sign-extended from that size. Only byte
    /// and word need checking: every Int32 is a valid dword/qword immediate.
    @inline(__always)
    func checkedImmediate(_ imm: Int32, _ size: OperandSize) -> Int32 {
        switch size {
        case .byte:
            precondition(imm >= -128 && imm <= 255, "immediate \(imm) does not fit in 8 bits")
            return Int32(Int8(truncatingIfNeeded: imm))
        case .word:
            precondition(imm >= -32768 && imm <= 65535, "immediate \(imm) does not fit in 16 bits")
            return Int32(Int16(truncatingIfNeeded: imm))
        default:
            return imm
        }
    }
}
