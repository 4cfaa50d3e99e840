import PVM

/// Code generation for each instruction. Conventions: `g(x)` is a guest register's host
/// register; rax is scratch; results are written to the guest destination last, so that
/// a destination that is also a source reads the old value.
extension Recompiler {
    /// Whether `v` is the sign extension of a 32-bit value (so it fits an imm32 operand).
    @inline(__always) static func fits32(_ v: UInt64) -> Bool { Int64(bitPattern: v) == Int64(Int32(truncatingIfNeeded: v)) }
    @inline(__always) static func imm32(_ v: UInt64) -> Int32 { Int32(truncatingIfNeeded: v) }

    func move(_ dst: Reg, _ src: Reg) { a.movUnlessSame(.qword, dst, src) }

    /// dst = sign-extension of the low 32 bits of rax.
    func sx32(into dst: Reg) { a.movsxd(dst, .rax) }

    /// Compiles one instruction, which `CodeScanner.nextUndecoded(into:)` produced: its operands
    /// are decoded here, case by case, so that the one switch on the opcode is the only
    /// indirect branch per instruction (each case knows its operand form, and the inlined
    /// decoder folds to that form's few loads). The ALU cases are in the same switch for
    /// the same reason. (Not inlined into the pass's loop: measured 4% slower, the switch being
    /// 28 KB of code.)
    func emit(_ ins: inout Instruction, index i: Int, _ ops: OperandDecoder) {
        // An invalid entry (not an instruction start, or not a defined opcode) has the opcode
        // `trap` and panics as a valid `trap` does: the switch covers it.
        assert(ins.isValid || ins.opcode == .trap)
        switch ins.opcode {
        // MARK: control flow
        case .trap: exit(to: panicExit, index: i)
        case .fallthrough:
            // Five bytes of nop, which `resolveCharges` turns into a jump past the next block's
            // prologue when it chains the two.
            closingJump = (a.position + 1, Int64(ins.pc) + Int64(ins.length))
            closingIsFallthrough = true
            a.emit(raw: 0x00_0044_1F0F, bytes: 5)          // nop dword [rax+rax*1+0]
        case .ecalli: blockResumes = true; exit(to: hostExit, index: i)
        case .jump:
            ops.decode(.offset, into: &ins)
            jump(toTarget: ins.target, from: i)
        case .jump_ind:
            ops.decode(.regImm, into: &ins)
            a.lea(.dword, .rax, Mem(base: g(ins.a), disp: Recompiler.imm32(ins.immX)))
            dynamicJump(from: i)
        case .load_imm_jump_ind:
            ops.decode(.regRegImmImm, into: &ins)
            a.lea(.dword, .rax, Mem(base: g(ins.b), disp: Recompiler.imm32(ins.immY)))
            a.loadImmediate(g(ins.a), ins.immX)
            dynamicJump(from: i)
        case .load_imm_jump:
            ops.decode(.regImmOffset, into: &ins)
            a.loadImmediate(g(ins.a), ins.immX)
            jump(toTarget: ins.target, from: i)
        case .branch_eq_imm: branchImmediate(ops, .equal, &ins, i)
        case .branch_ne_imm: branchImmediate(ops, .notEqual, &ins, i)
        case .branch_lt_u_imm: branchImmediate(ops, .below, &ins, i)
        case .branch_le_u_imm: branchImmediate(ops, .belowOrEqual, &ins, i)
        case .branch_ge_u_imm: branchImmediate(ops, .aboveOrEqual, &ins, i)
        case .branch_gt_u_imm: branchImmediate(ops, .above, &ins, i)
        case .branch_lt_s_imm: branchImmediate(ops, .less, &ins, i)
        case .branch_le_s_imm: branchImmediate(ops, .lessOrEqual, &ins, i)
        case .branch_ge_s_imm: branchImmediate(ops, .greaterOrEqual, &ins, i)
        case .branch_gt_s_imm: branchImmediate(ops, .greater, &ins, i)
        case .branch_eq: branchRegisters(ops, .equal, &ins, i)
        case .branch_ne: branchRegisters(ops, .notEqual, &ins, i)
        case .branch_lt_u: branchRegisters(ops, .below, &ins, i)
        case .branch_lt_s: branchRegisters(ops, .less, &ins, i)
        case .branch_ge_u: branchRegisters(ops, .aboveOrEqual, &ins, i)
        case .branch_ge_s: branchRegisters(ops, .greaterOrEqual, &ins, i)

        // MARK: moves
        case .load_imm: ops.decode(.regImm, into: &ins); a.loadImmediate(g(ins.a), ins.immX)
        case .load_imm_64: ops.decode(.regImm64, into: &ins); a.loadImmediate(g(ins.a), ins.immX)
        case .move_reg: let (rd, ra) = twoRegisters(ops, &ins); move(rd, ra)
        case .sbrk: blockResumes = true; exit(to: sbrkExit, index: i)

        // MARK: memory
        case .load_u8: let (r, m) = absolute(ops, &ins); load(0, r, m, i)
        case .load_i8: let (r, m) = absolute(ops, &ins); load(1, r, m, i)
        case .load_u16: let (r, m) = absolute(ops, &ins); load(2, r, m, i)
        case .load_i16: let (r, m) = absolute(ops, &ins); load(3, r, m, i)
        case .load_u32: let (r, m) = absolute(ops, &ins); load(4, r, m, i)
        case .load_i32: let (r, m) = absolute(ops, &ins); load(5, r, m, i)
        case .load_u64: let (r, m) = absolute(ops, &ins); load(6, r, m, i)
        case .load_ind_u8: let (r, m) = indirect(ops, &ins); load(0, r, m, i)
        case .load_ind_i8: let (r, m) = indirect(ops, &ins); load(1, r, m, i)
        case .load_ind_u16: let (r, m) = indirect(ops, &ins); load(2, r, m, i)
        case .load_ind_i16: let (r, m) = indirect(ops, &ins); load(3, r, m, i)
        case .load_ind_u32: let (r, m) = indirect(ops, &ins); load(4, r, m, i)
        case .load_ind_i32: let (r, m) = indirect(ops, &ins); load(5, r, m, i)
        case .load_ind_u64: let (r, m) = indirect(ops, &ins); load(6, r, m, i)
        case .store_u8: let (r, m) = absolute(ops, &ins); store(.byte, r, m, i)
        case .store_u16: let (r, m) = absolute(ops, &ins); store(.word, r, m, i)
        case .store_u32: let (r, m) = absolute(ops, &ins); store(.dword, r, m, i)
        case .store_u64: let (r, m) = absolute(ops, &ins); store(.qword, r, m, i)
        case .store_ind_u8: let (r, m) = indirect(ops, &ins); store(.byte, r, m, i)
        case .store_ind_u16: let (r, m) = indirect(ops, &ins); store(.word, r, m, i)
        case .store_ind_u32: let (r, m) = indirect(ops, &ins); store(.dword, r, m, i)
        case .store_ind_u64: let (r, m) = indirect(ops, &ins); store(.qword, r, m, i)
        case .store_imm_u8:
            let (value, m) = immediateToAbsolute(ops, &ins); storeImmediate(.byte, value, m, i)
        case .store_imm_u16:
            let (value, m) = immediateToAbsolute(ops, &ins); storeImmediate(.word, value, m, i)
        case .store_imm_u32:
            let (value, m) = immediateToAbsolute(ops, &ins); storeImmediate(.dword, value, m, i)
        case .store_imm_u64:
            let (value, m) = immediateToAbsolute(ops, &ins); storeImmediate(.qword, value, m, i)
        case .store_imm_ind_u8:
            let (value, m) = immediateToIndirect(ops, &ins); storeImmediate(.byte, value, m, i)
        case .store_imm_ind_u16:
            let (value, m) = immediateToIndirect(ops, &ins); storeImmediate(.word, value, m, i)
        case .store_imm_ind_u32:
            let (value, m) = immediateToIndirect(ops, &ins); storeImmediate(.dword, value, m, i)
        case .store_imm_ind_u64:
            let (value, m) = immediateToIndirect(ops, &ins); storeImmediate(.qword, value, m, i)

        // MARK: arithmetic, logic, shifts, bit counts, multiplication and division
        // MARK: two registers (rD = f(rA))
        case .count_set_bits_64: let (rd, ra) = twoRegisters(ops, &ins); a.popcnt(.qword, rd, ra)
        case .count_set_bits_32: let (rd, ra) = twoRegisters(ops, &ins); a.popcnt(.dword, rd, ra)
        case .leading_zero_bits_64: let (rd, ra) = twoRegisters(ops, &ins); a.lzcnt(.qword, rd, ra)
        case .leading_zero_bits_32: let (rd, ra) = twoRegisters(ops, &ins); a.lzcnt(.dword, rd, ra)
        case .trailing_zero_bits_64: let (rd, ra) = twoRegisters(ops, &ins); a.tzcnt(.qword, rd, ra)
        case .trailing_zero_bits_32: let (rd, ra) = twoRegisters(ops, &ins); a.tzcnt(.dword, rd, ra)
        case .sign_extend_8: let (rd, ra) = twoRegisters(ops, &ins); a.movsx(.qword, rd, ra, from: .byte)
        case .sign_extend_16: let (rd, ra) = twoRegisters(ops, &ins); a.movsx(.qword, rd, ra, from: .word)
        case .zero_extend_16: let (rd, ra) = twoRegisters(ops, &ins); a.movzx(.dword, rd, ra, from: .word)
        case .reverse_bytes: let (rd, ra) = twoRegisters(ops, &ins); move(rd, ra); a.bswap(.qword, rd)

        // MARK: two registers and an immediate (rA = f(rB, imm))
        case .add_imm_32: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.lea(.dword, .rax, Mem(base: rb, disp: imm)); sx32(into: ra)
        case .add_imm_64: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.lea(.qword, ra, Mem(base: rb, disp: imm))
        case .and_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); move(ra, rb); a.and(.qword, ra, imm: imm)
        case .xor_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); move(ra, rb); a.xor(.qword, ra, imm: imm)
        case .or_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); move(ra, rb); a.or(.qword, ra, imm: imm)
        case .mul_imm_32: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.imul(.dword, .rax, rb, imm: imm); sx32(into: ra)
        case .mul_imm_64: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.imul(.qword, ra, rb, imm: imm)
        case .set_lt_u_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); setIf(.below, ra, rb, imm: imm)
        case .set_lt_s_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); setIf(.less, ra, rb, imm: imm)
        case .set_gt_u_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); setIf(.above, ra, rb, imm: imm)
        case .set_gt_s_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); setIf(.greater, ra, rb, imm: imm)
        case .shlo_l_imm_32: let (ra, rb, _) = registersAndImmediate(ops, &ins); a.mov(.dword, .rax, rb); a.shl(.dword, .rax, imm: UInt8(ins.immX & 31)); sx32(into: ra)
        case .shlo_r_imm_32:
            // A logical right shift by 1…31 clears bit 31, so the zero-extension that a 32-bit
            // x86 operation leaves is already the sign-extension: no `movsxd`, and the shift
            // can work in the destination.
            let (ra, rb, _) = registersAndImmediate(ops, &ins)
            let n = UInt8(ins.immX & 31)
            if n == 0 { a.movsxd(ra, rb) } else { a.movUnlessSame(.dword, ra, rb); a.shr(.dword, ra, imm: n) }
        case .shar_r_imm_32:
            // Sign-extend first, then shift all 64 bits: the same value, one instruction fewer.
            let (ra, rb, _) = registersAndImmediate(ops, &ins)
            a.movsxd(ra, rb)
            if ins.immX & 31 != 0 { a.sar(.qword, ra, imm: UInt8(ins.immX & 31)) }
        case .rot_r_32_imm: let (ra, rb, _) = registersAndImmediate(ops, &ins); a.rorx(.dword, .rax, rb, imm: UInt8(ins.immX & 31)); sx32(into: ra)
        case .shlo_l_imm_64: let (ra, rb, _) = registersAndImmediate(ops, &ins); move(ra, rb); a.shl(.qword, ra, imm: UInt8(ins.immX & 63))
        case .shlo_r_imm_64: let (ra, rb, _) = registersAndImmediate(ops, &ins); move(ra, rb); a.shr(.qword, ra, imm: UInt8(ins.immX & 63))
        case .shar_r_imm_64: let (ra, rb, _) = registersAndImmediate(ops, &ins); move(ra, rb); a.sar(.qword, ra, imm: UInt8(ins.immX & 63))
        case .rot_r_64_imm: let (ra, rb, _) = registersAndImmediate(ops, &ins); a.rorx(.qword, ra, rb, imm: UInt8(ins.immX & 63))
        case .neg_add_imm_32: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.dword, .rax, imm: imm); a.sub(.dword, .rax, rb); sx32(into: ra)
        case .neg_add_imm_64: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); a.sub(.qword, .rax, rb); a.mov(.qword, ra, .rax)
        case .shlo_l_imm_alt_32: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.dword, .rax, imm: imm); a.shiftX(.shl, .dword, .rax, .rax, count: rb); sx32(into: ra)
        case .shlo_r_imm_alt_32: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.dword, .rax, imm: imm); a.shiftX(.shr, .dword, .rax, .rax, count: rb); sx32(into: ra)
        case .shar_r_imm_alt_32: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.dword, .rax, imm: imm); a.shiftX(.sar, .dword, .rax, .rax, count: rb); sx32(into: ra)
        case .rot_r_32_imm_alt: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.dword, .rax, imm: imm); shiftRAX(.ror, .dword, by: rb); sx32(into: ra)
        case .shlo_l_imm_alt_64: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); a.shiftX(.shl, .qword, ra, .rax, count: rb)
        case .shlo_r_imm_alt_64: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); a.shiftX(.shr, .qword, ra, .rax, count: rb)
        case .shar_r_imm_alt_64: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); a.shiftX(.sar, .qword, ra, .rax, count: rb)
        case .rot_r_64_imm_alt: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); shiftRAX(.ror, .qword, by: rb); a.mov(.qword, ra, .rax)
        case .cmov_iz_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); a.test(.qword, rb, rb); a.cmov(.zero, .qword, ra, .rax)
        case .cmov_nz_imm: let (ra, rb, imm) = registersAndImmediate(ops, &ins); a.mov(.qword, .rax, imm: imm); a.test(.qword, rb, rb); a.cmov(.notZero, .qword, ra, .rax)

        // MARK: three registers (rD = f(rA, rB))
        case .add_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.lea(.dword, .rax, Mem(base: ra, index: rb)); sx32(into: rd)
        case .sub_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.dword, .rax, ra); a.sub(.dword, .rax, rb); sx32(into: rd)
        case .mul_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.dword, .rax, ra); a.imul(.dword, .rax, rb); sx32(into: rd)
        case .add_64: let (rd, ra, rb) = threeRegisters(ops, &ins);
            if rd == ra { a.add(.qword, rd, rb) } else if rd == rb { a.add(.qword, rd, ra) }
            else { a.lea(.qword, rd, Mem(base: ra, index: rb)) }
        case .sub_64: let (rd, ra, rb) = threeRegisters(ops, &ins);
            if rd == ra { a.sub(.qword, rd, rb) } else if rd != rb { a.mov(.qword, rd, ra); a.sub(.qword, rd, rb) }
            else { a.mov(.qword, .rax, ra); a.sub(.qword, .rax, rb); a.mov(.qword, rd, .rax) }
        case .and: let (rd, ra, rb) = threeRegisters(ops, &ins); commutative(.and, rd, ra, rb)
        case .or: let (rd, ra, rb) = threeRegisters(ops, &ins); commutative(.or, rd, ra, rb)
        case .xor: let (rd, ra, rb) = threeRegisters(ops, &ins); commutative(.xor, rd, ra, rb)
        case .mul_64: let (rd, ra, rb) = threeRegisters(ops, &ins);
            if rd == ra { a.imul(.qword, rd, rb) } else if rd == rb { a.imul(.qword, rd, ra) }
            else { a.mov(.qword, rd, ra); a.imul(.qword, rd, rb) }
        case .and_inv: let (rd, ra, rb) = threeRegisters(ops, &ins); a.andn(.qword, rd, rb, ra)
        case .or_inv: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.qword, .rax, rb); a.not(.qword, .rax); a.or(.qword, .rax, ra); a.mov(.qword, rd, .rax)
        case .xnor: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.qword, .rax, ra); a.xor(.qword, .rax, rb); a.not(.qword, .rax); a.mov(.qword, rd, .rax)
        case .set_lt_u: let (rd, ra, rb) = threeRegisters(ops, &ins); setIf(.below, rd, ra, rb)
        case .set_lt_s: let (rd, ra, rb) = threeRegisters(ops, &ins); setIf(.less, rd, ra, rb)
        case .cmov_iz: let (rd, ra, rb) = threeRegisters(ops, &ins); a.test(.qword, rb, rb); a.cmov(.zero, .qword, rd, ra)
        case .cmov_nz: let (rd, ra, rb) = threeRegisters(ops, &ins); a.test(.qword, rb, rb); a.cmov(.notZero, .qword, rd, ra)
        case .max: let (rd, ra, rb) = threeRegisters(ops, &ins); minMax(.less, rd, ra, rb)
        case .max_u: let (rd, ra, rb) = threeRegisters(ops, &ins); minMax(.below, rd, ra, rb)
        case .min: let (rd, ra, rb) = threeRegisters(ops, &ins); minMax(.greater, rd, ra, rb)
        case .min_u: let (rd, ra, rb) = threeRegisters(ops, &ins); minMax(.above, rd, ra, rb)
        case .shlo_l_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.shiftX(.shl, .dword, .rax, ra, count: rb); sx32(into: rd)
        case .shlo_r_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.shiftX(.shr, .dword, .rax, ra, count: rb); sx32(into: rd)
        case .shar_r_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.shiftX(.sar, .dword, .rax, ra, count: rb); sx32(into: rd)
        case .rot_l_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.dword, .rax, ra); shiftRAX(.rol, .dword, by: rb); sx32(into: rd)
        case .rot_r_32: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.dword, .rax, ra); shiftRAX(.ror, .dword, by: rb); sx32(into: rd)
        case .shlo_l_64: let (rd, ra, rb) = threeRegisters(ops, &ins); a.shiftX(.shl, .qword, rd, ra, count: rb)
        case .shlo_r_64: let (rd, ra, rb) = threeRegisters(ops, &ins); a.shiftX(.shr, .qword, rd, ra, count: rb)
        case .shar_r_64: let (rd, ra, rb) = threeRegisters(ops, &ins); a.shiftX(.sar, .qword, rd, ra, count: rb)
        case .rot_l_64: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.qword, .rax, ra); shiftRAX(.rol, .qword, by: rb); a.mov(.qword, rd, .rax)
        case .rot_r_64: let (rd, ra, rb) = threeRegisters(ops, &ins); a.mov(.qword, .rax, ra); shiftRAX(.ror, .qword, by: rb); a.mov(.qword, rd, .rax)
        case .mul_upper_s_s, .mul_upper_u_u, .mul_upper_s_u:
            let (rd, ra, rb) = threeRegisters(ops, &ins)
            multiplyHigh(ins.opcode, rd, ra, rb)
        case .div_u_32, .div_s_32, .rem_u_32, .rem_s_32, .div_u_64, .div_s_64, .rem_u_64, .rem_s_64:
            let (rd, ra, rb) = threeRegisters(ops, &ins)
            divide(ins.opcode, rd, ra, rb)
        }
    }

    // The operands of each form, decoded and mapped to host registers. Transparent, so that each
    // case of `emit` gets its form's decoder inline (see `OperandDecoder.decode`).

    /// Three registers, rD = f(rA, rB).
    @_transparent
    func threeRegisters(_ ops: OperandDecoder, _ ins: inout Instruction) -> (Reg, Reg, Reg) {
        ops.decode(.regRegReg, into: &ins)
        return (g(ins.d), g(ins.a), g(ins.b))
    }

    /// Two registers, rD = f(rA) (the destination in the low nibble).
    @_transparent
    func twoRegisters(_ ops: OperandDecoder, _ ins: inout Instruction) -> (Reg, Reg) {
        ops.decode(.regReg, into: &ins)
        return (g(ins.d), g(ins.a))
    }

    /// Two registers and a 32-bit immediate, rA = f(rB, imm).
    @_transparent
    func registersAndImmediate(_ ops: OperandDecoder, _ ins: inout Instruction) -> (Reg, Reg, Int32) {
        ops.decode(.regRegImm, into: &ins)
        return (g(ins.a), g(ins.b), Recompiler.imm32(ins.immX))
    }

    /// A register and the guest memory operand at an absolute address (`load_*`, `store_*`).
    @_transparent
    func absolute(_ ops: OperandDecoder, _ ins: inout Instruction) -> (Reg, Mem) {
        ops.decode(.regImm, into: &ins)
        return (g(ins.a), Mem.guest(nil, disp: Recompiler.imm32(ins.immX)))
    }

    /// A register and the guest memory operand [rB + imm] (`load_ind_*`, `store_ind_*`).
    @_transparent
    func indirect(_ ops: OperandDecoder, _ ins: inout Instruction) -> (Reg, Mem) {
        ops.decode(.regRegImm, into: &ins)
        return (g(ins.a), Mem.guest(g(ins.b), disp: Recompiler.imm32(ins.immX)))
    }

    /// The value and absolute guest address of `store_imm_*`.
    @_transparent
    func immediateToAbsolute(_ ops: OperandDecoder, _ ins: inout Instruction) -> (UInt64, Mem) {
        ops.decode(.immImm, into: &ins)
        return (ins.immY, Mem.guest(nil, disp: Recompiler.imm32(ins.immX)))
    }

    /// The value and the guest memory operand [rA + imm] of `store_imm_ind_*`.
    @_transparent
    func immediateToIndirect(_ ops: OperandDecoder, _ ins: inout Instruction) -> (UInt64, Mem) {
        ops.decode(.regImmImm, into: &ins)
        return (ins.immY, Mem.guest(g(ins.a), disp: Recompiler.imm32(ins.immX)))
    }

    /// `branch_*_imm`: compare with the immediate, branch to the target.
    @inline(__always)
    func branchImmediate(_ ops: OperandDecoder, _ cc: Condition, _ ins: inout Instruction, _ i: Int) {
        ops.decode(.regImmOffset, into: &ins)
        a.cmp(.qword, g(ins.a), imm: Recompiler.imm32(ins.immX))
        branch(cc, target: ins.target, index: i)
    }

    /// `branch_*` on two registers.
    @inline(__always)
    func branchRegisters(_ ops: OperandDecoder, _ cc: Condition, _ ins: inout Instruction, _ i: Int) {
        ops.decode(.regRegOffset, into: &ins)
        a.cmp(.qword, g(ins.a), g(ins.b))
        branch(cc, target: ins.target, index: i)
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
    @inline(__always)
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

    @inline(__always)
    func store(_ size: OperandSize, _ src: Reg, _ m: Mem, _ i: Int) {
        markFault(i)
        a.mov(size, m, src)
    }

    @inline(__always)
    func storeImmediate(_ size: OperandSize, _ value: UInt64, _ m: Mem, _ i: Int) {
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
