import PVM

/// Code generation for each instruction. Conventions: `g(x)` is a guest register's host
/// register; rax is scratch; results are written to the guest destination last, so that
/// a destination that is also a source reads the old value.
extension Recompiler {
    /// Whether `v` is the sign extension of a 32-bit value (so it fits an imm32 operand).
    @inline(__always) static func fits32(_ v: UInt64) -> Bool { Int64(bitPattern: v) == Int64(Int32(truncatingIfNeeded: v)) }
    @inline(__always) static func imm32(_ v: UInt64) -> Int32 { Int32(truncatingIfNeeded: v) }

    func move(_ dst: Reg, _ src: Reg) { if dst != src { a.mov(.qword, dst, src) } }

    /// dst = sign-extension of the low 32 bits of rax.
    func sx32(into dst: Reg) { a.movsxd(dst, .rax) }

    func emit(_ ins: Instruction, index i: Int) {
        let target = ins.target
        guard ins.isValid else { exit(to: panicExit, index: i); return }
        let ra = g(ins.a), rb = g(ins.b), rd = g(ins.d)
        let x = ins.immX, y = ins.immY
        switch ins.opcode {
        // MARK: control flow
        case .trap: exit(to: panicExit, index: i)
        case .fallthrough:
            // Five bytes of nop, which `resolveCharges` turns into a jump past the next block's
            // prologue when it chains the two.
            closingJump = (a.position + 1, Int64(ins.pc) + Int64(ins.length))
            closingIsFallthrough = true
            a.emit(byte: 0x0F); a.emit(byte: 0x1F); a.emit(byte: 0x44); a.emit(byte: 0); a.emit(byte: 0)
        case .ecalli: blockResumes = true; exit(to: hostExit, index: i)
        case .jump: jump(toTarget: target, from: i)
        case .jump_ind:
            a.lea(.dword, .rax, Mem(base: ra, disp: Recompiler.imm32(x)))
            dynamicJump(from: i)
        case .load_imm_jump_ind:
            a.lea(.dword, .rax, Mem(base: rb, disp: Recompiler.imm32(y)))
            a.loadImmediate(ra, x)
            dynamicJump(from: i)
        case .load_imm_jump:
            a.loadImmediate(ra, x)
            jump(toTarget: target, from: i)
        case .branch_eq_imm, .branch_ne_imm, .branch_lt_u_imm, .branch_le_u_imm, .branch_ge_u_imm,
             .branch_gt_u_imm, .branch_lt_s_imm, .branch_le_s_imm, .branch_ge_s_imm, .branch_gt_s_imm:
            a.cmp(.qword, ra, imm: Recompiler.imm32(x))
            branch(Recompiler.condition(ins.opcode), target: target, index: i)
        case .branch_eq, .branch_ne, .branch_lt_u, .branch_lt_s, .branch_ge_u, .branch_ge_s:
            a.cmp(.qword, ra, rb)
            branch(Recompiler.condition(ins.opcode), target: target, index: i)

        // MARK: moves
        case .load_imm, .load_imm_64: a.loadImmediate(ra, x)
        case .move_reg: move(rd, ra)
        case .sbrk: blockResumes = true; exit(to: sbrkExit, index: i)

        // MARK: memory
        case .load_u8, .load_i8, .load_u16, .load_i16, .load_u32, .load_i32, .load_u64:
            load(ins.opcode.rawValue - 52, ra, Mem.guest(nil, disp: Recompiler.imm32(x)), i)
        case .load_ind_u8, .load_ind_i8, .load_ind_u16, .load_ind_i16, .load_ind_u32, .load_ind_i32, .load_ind_u64:
            load(ins.opcode.rawValue - 124, ra, Mem.guest(rb, disp: Recompiler.imm32(x)), i)
        case .store_u8, .store_u16, .store_u32, .store_u64:
            store(ins.opcode.rawValue - 59, ra, Mem.guest(nil, disp: Recompiler.imm32(x)), i)
        case .store_ind_u8, .store_ind_u16, .store_ind_u32, .store_ind_u64:
            store(ins.opcode.rawValue - 120, ra, Mem.guest(rb, disp: Recompiler.imm32(x)), i)
        case .store_imm_u8, .store_imm_u16, .store_imm_u32, .store_imm_u64:
            storeImmediate(ins.opcode.rawValue - 30, y, Mem.guest(nil, disp: Recompiler.imm32(x)), i)
        case .store_imm_ind_u8, .store_imm_ind_u16, .store_imm_ind_u32, .store_imm_ind_u64:
            storeImmediate(ins.opcode.rawValue - 70, y, Mem.guest(ra, disp: Recompiler.imm32(x)), i)

        default:
            emitALU(ins, ra: ra, rb: rb, rd: rd)
        }
    }

    static func condition(_ op: Opcode) -> Condition {
        switch op {
        case .branch_eq, .branch_eq_imm: return .equal
        case .branch_ne, .branch_ne_imm: return .notEqual
        case .branch_lt_u, .branch_lt_u_imm: return .below
        case .branch_le_u_imm: return .belowOrEqual
        case .branch_ge_u, .branch_ge_u_imm: return .aboveOrEqual
        case .branch_gt_u_imm: return .above
        case .branch_lt_s, .branch_lt_s_imm: return .less
        case .branch_le_s_imm: return .lessOrEqual
        case .branch_ge_s, .branch_ge_s_imm: return .greaterOrEqual
        default: return .greater
        }
    }

    /// A conditional branch: taken goes to the target's entry (or panics if the target is not a
    /// block start); not taken falls through to the next instruction, whose entry charges its block.
    func branch(_ cc: Condition, target: Int64, index: Int) {
        if let offset = knownEntry(target) {
            a.jcc(cc, toOffset: offset)
        } else {
            a.emit(byte: 0x0F)
            a.emit(byte: 0x80 | cc.rawValue)
            branchFixups.append((a.position, target, index))
            a.emit(uint32: 0)
        }
    }

    /// `kind`: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 u64 (the opcode order).
    func load(_ kind: UInt8, _ dst: Reg, _ m: Mem, _ i: Int) {
        markFault(i)
        switch kind {
        case 0: a.movzx(.dword, dst, m, from: .byte)
        case 1: a.movsx(.qword, dst, m, from: .byte)
        case 2: a.movzx(.dword, dst, m, from: .word)
        case 3: a.movsx(.qword, dst, m, from: .word)
        case 4: a.mov(.dword, dst, m)
        case 5: a.movsxd(dst, m)
        default: a.mov(.qword, dst, m)
        }
    }

    static let sizes: [OperandSize] = [.byte, .word, .dword, .qword]

    /// `log2size`: 0 u8, 1 u16, 2 u32, 3 u64.
    func store(_ log2size: UInt8, _ src: Reg, _ m: Mem, _ i: Int) {
        markFault(i)
        a.mov(Recompiler.sizes[Int(log2size)], m, src)
    }

    func storeImmediate(_ log2size: UInt8, _ value: UInt64, _ m: Mem, _ i: Int) {
        let size = Recompiler.sizes[Int(log2size)]
        switch size {
        case .byte: markFault(i); a.mov(.byte, m, imm: Int32(Int8(truncatingIfNeeded: value)))
        case .word: markFault(i); a.mov(.word, m, imm: Int32(Int16(truncatingIfNeeded: value)))
        case .dword: markFault(i); a.mov(.dword, m, imm: Recompiler.imm32(value))
        case .qword:
            if Recompiler.fits32(value) {
                markFault(i)
                a.mov(.qword, m, imm: Recompiler.imm32(value))
            } else {
                a.loadImmediate(.rax, value)
                markFault(i)
                a.mov(.qword, m, .rax)
            }
        }
    }
}
