// Control flow (jumps, calls, returns), traps and padding.

extension X86Assembler {
    // MARK: Jumps and calls to labels

    /// `jmp label`: rel32 (`.near`, 5 bytes), rel8 (`.short`, 2 bytes) or whichever fits
    /// (`.auto`, see `JumpDistance`). Precondition for `.short`: the target is within
    /// -128...127 bytes of the end of the instruction (checked now or when the label is bound).
    @inline(__always)
    public func jmp(_ label: Label, _ distance: JumpDistance = .near) {
        reserve()
        if distance == .short || (distance == .auto && fitsShort(label, instructionLength: 2)) {
            put(0xEB)
            emitRel8(label)
        } else {
            put(0xE9)
            emitRel32(label, end: count &+ 4)
        }
    }

    /// `jcc label`: jumps if `cc` holds; rel32 (`.near`, 6 bytes), rel8 (`.short`, 2 bytes) or
    /// whichever fits (`.auto`). Same precondition as `jmp` for `.short`.
    @inline(__always)
    public func jcc(_ cc: Condition, _ label: Label, _ distance: JumpDistance = .near) {
        reserve()
        if distance == .short || (distance == .auto && fitsShort(label, instructionLength: 2)) {
            // 70+cc cb
            put(0x70 | cc.rawValue)
            emitRel8(label)
        } else {
            // 0F 80+cc cd
            put(0x0F)
            put(0x80 | cc.rawValue)
            emitRel32(label, end: count &+ 4)
        }
    }

    /// `jmp` to code already emitted at `offset` (a backward jump): rel8 when it reaches,
    /// else rel32.
    @inline(__always)
    public func jmp(toOffset offset: Int) {
        reserve()
        let short = offset &- (count &+ 2)
        if short >= -128 && short <= 127 {
            put(0xEB)
            put(UInt8(truncatingIfNeeded: short))
        } else {
            put(0xE9)
            put32(UInt32(truncatingIfNeeded: offset &- (count &+ 4)))
        }
    }

    /// `jcc` to code already emitted at `offset` (a backward branch): rel8 when it reaches,
    /// else rel32.
    @inline(__always)
    public func jcc(_ cc: Condition, toOffset offset: Int) {
        reserve()
        let short = offset &- (count &+ 2)
        if short >= -128 && short <= 127 {
            put(0x70 | cc.rawValue)
            put(UInt8(truncatingIfNeeded: short))
        } else {
            put(0x0F)
            put(0x80 | cc.rawValue)
            put32(UInt32(truncatingIfNeeded: offset &- (count &+ 4)))
        }
    }

    /// `call label` (rel32).
    @inline(__always)
    public func call(_ label: Label) {
        reserve()
        put(0xE8)
        emitRel32(label, end: count &+ 4)
    }

    // MARK: Indirect jumps and calls

    /// `jmp r` (to the 64-bit address in `r`).
    @inline(__always)
    public func jmp(_ target: Reg) {
        // FF /4; the operand is 64-bit by default, so no REX.W.
        encodeRR(.dword, 0xFF, reg: 4, rm: target)
    }

    /// `jmp QWORD PTR [m]` (to the address stored at `m`, e.g. a jump table entry).
    @inline(__always)
    public func jmp(_ target: Mem) {
        encodeRM(.dword, 0xFF, reg: 4, mem: target)
    }

    /// `call r`.
    @inline(__always)
    public func call(_ target: Reg) {
        // FF /2
        encodeRR(.dword, 0xFF, reg: 2, rm: target)
    }

    /// `call QWORD PTR [m]`.
    @inline(__always)
    public func call(_ target: Mem) {
        encodeRM(.dword, 0xFF, reg: 2, mem: target)
    }

    /// `ret`.
    @inline(__always)
    public func ret() {
        reserve()
        put(0xC3)
    }

    // MARK: Traps and padding

    /// `ud2`: raises #UD (SIGILL); a guaranteed trap for unreachable code.
    @inline(__always)
    public func ud2() {
        reserve()
        put(0x0F)
        put(0x0B)
    }

    /// `int3`: raises #BP (SIGTRAP); one byte, also used as padding that traps.
    @inline(__always)
    public func int3() {
        reserve()
        put(0xCC)
    }

    /// A one-byte `nop`.
    @inline(__always)
    public func nop() {
        reserve()
        put(0x90)
    }

    /// Emits exactly `length` bytes of no-ops, as few instructions as possible: the
    /// recommended multi-byte `nop` forms of up to 9 bytes (`0F 1F /0` with dummy memory
    /// operands, plus 66 prefixes).
    public func nop(length: Int) {
        precondition(length >= 0, "negative nop length")
        var left = length
        while left > 0 {
            let n = min(left, 9)
            reserve()
            switch n {
            case 1: put(0x90)
            case 2: put(0x66); put(0x90)
            case 3: put(0x0F); put(0x1F); put(0x00)
            case 4: put(0x0F); put(0x1F); put(0x40); put(0x00)
            case 5: put(0x0F); put(0x1F); put(0x44); put(0x00); put(0x00)
            case 6: put(0x66); put(0x0F); put(0x1F); put(0x44); put(0x00); put(0x00)
            case 7: put(0x0F); put(0x1F); put(0x80); put32(0)
            case 8: put(0x0F); put(0x1F); put(0x84); put(0x00); put32(0)
            default: put(0x66); put(0x0F); put(0x1F); put(0x84); put(0x00); put32(0)
            }
            left -= n
        }
    }

    /// Pads with multi-byte `nop`s up to the next multiple of `alignment` (a power of two),
    /// e.g. to align a loop head or an indirect-jump target.
    public func align(to alignment: Int) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        nop(length: (alignment - (count & (alignment - 1))) & (alignment - 1))
    }
}
