import PVM

/// Arithmetic, logic, shifts, bit counts, multiplication and division.
extension Recompiler {
    func emitALU(_ ins: Instruction, ra: Reg, rb: Reg, rd: Reg) {
        let x = ins.immX
        let imm = Recompiler.imm32(x)
        precondition(Recompiler.fits32(x) || ins.opcode.form != .regRegImm, "immediates of this form are 32-bit")
        switch ins.opcode {
        // MARK: two registers (rD = f(rA))
        case .count_set_bits_64: a.popcnt(.qword, rd, ra)
        case .count_set_bits_32: a.popcnt(.dword, rd, ra)
        case .leading_zero_bits_64: a.lzcnt(.qword, rd, ra)
        case .leading_zero_bits_32: a.lzcnt(.dword, rd, ra)
        case .trailing_zero_bits_64: a.tzcnt(.qword, rd, ra)
        case .trailing_zero_bits_32: a.tzcnt(.dword, rd, ra)
        case .sign_extend_8: a.movsx(.qword, rd, ra, from: .byte)
        case .sign_extend_16: a.movsx(.qword, rd, ra, from: .word)
        case .zero_extend_16: a.movzx(.dword, rd, ra, from: .word)
        case .reverse_bytes: move(rd, ra); a.bswap(.qword, rd)

        // MARK: two registers and an immediate (rA = f(rB, imm))
        case .add_imm_32: a.lea(.dword, .rax, Mem(base: rb, disp: imm)); sx32(into: ra)
        case .add_imm_64: a.lea(.qword, ra, Mem(base: rb, disp: imm))
        case .and_imm: move(ra, rb); a.and(.qword, ra, imm: imm)
        case .xor_imm: move(ra, rb); a.xor(.qword, ra, imm: imm)
        case .or_imm: move(ra, rb); a.or(.qword, ra, imm: imm)
        case .mul_imm_32: a.imul(.dword, .rax, rb, imm: imm); sx32(into: ra)
        case .mul_imm_64: a.imul(.qword, ra, rb, imm: imm)
        case .set_lt_u_imm: setIf(.below, ra) { a.cmp(.qword, rb, imm: imm) }
        case .set_lt_s_imm: setIf(.less, ra) { a.cmp(.qword, rb, imm: imm) }
        case .set_gt_u_imm: setIf(.above, ra) { a.cmp(.qword, rb, imm: imm) }
        case .set_gt_s_imm: setIf(.greater, ra) { a.cmp(.qword, rb, imm: imm) }
        case .shlo_l_imm_32: a.mov(.dword, .rax, rb); a.shl(.dword, .rax, imm: UInt8(x & 31)); sx32(into: ra)
        case .shlo_r_imm_32: a.mov(.dword, .rax, rb); a.shr(.dword, .rax, imm: UInt8(x & 31)); sx32(into: ra)
        case .shar_r_imm_32: a.mov(.dword, .rax, rb); a.sar(.dword, .rax, imm: UInt8(x & 31)); sx32(into: ra)
        case .rot_r_32_imm: a.rorx(.dword, .rax, rb, imm: UInt8(x & 31)); sx32(into: ra)
        case .shlo_l_imm_64: move(ra, rb); a.shl(.qword, ra, imm: UInt8(x & 63))
        case .shlo_r_imm_64: move(ra, rb); a.shr(.qword, ra, imm: UInt8(x & 63))
        case .shar_r_imm_64: move(ra, rb); a.sar(.qword, ra, imm: UInt8(x & 63))
        case .rot_r_64_imm: a.rorx(.qword, ra, rb, imm: UInt8(x & 63))
        case .neg_add_imm_32: a.mov(.dword, .rax, imm: imm); a.sub(.dword, .rax, rb); sx32(into: ra)
        case .neg_add_imm_64: a.mov(.qword, .rax, imm: imm); a.sub(.qword, .rax, rb); a.mov(.qword, ra, .rax)
        case .shlo_l_imm_alt_32: a.mov(.dword, .rax, imm: imm); a.shiftX(.shl, .dword, .rax, .rax, count: rb); sx32(into: ra)
        case .shlo_r_imm_alt_32: a.mov(.dword, .rax, imm: imm); a.shiftX(.shr, .dword, .rax, .rax, count: rb); sx32(into: ra)
        case .shar_r_imm_alt_32: a.mov(.dword, .rax, imm: imm); a.shiftX(.sar, .dword, .rax, .rax, count: rb); sx32(into: ra)
        case .rot_r_32_imm_alt: a.mov(.dword, .rax, imm: imm); shiftRAX(.ror, .dword, by: rb); sx32(into: ra)
        case .shlo_l_imm_alt_64: a.mov(.qword, .rax, imm: imm); a.shiftX(.shl, .qword, ra, .rax, count: rb)
        case .shlo_r_imm_alt_64: a.mov(.qword, .rax, imm: imm); a.shiftX(.shr, .qword, ra, .rax, count: rb)
        case .shar_r_imm_alt_64: a.mov(.qword, .rax, imm: imm); a.shiftX(.sar, .qword, ra, .rax, count: rb)
        case .rot_r_64_imm_alt: a.mov(.qword, .rax, imm: imm); shiftRAX(.ror, .qword, by: rb); a.mov(.qword, ra, .rax)
        case .cmov_iz_imm: a.mov(.qword, .rax, imm: imm); a.test(.qword, rb, rb); a.cmov(.zero, .qword, ra, .rax)
        case .cmov_nz_imm: a.mov(.qword, .rax, imm: imm); a.test(.qword, rb, rb); a.cmov(.notZero, .qword, ra, .rax)

        // MARK: three registers (rD = f(rA, rB))
        case .add_32: a.lea(.dword, .rax, Mem(base: ra, index: rb)); sx32(into: rd)
        case .sub_32: a.mov(.dword, .rax, ra); a.sub(.dword, .rax, rb); sx32(into: rd)
        case .mul_32: a.mov(.dword, .rax, ra); a.imul(.dword, .rax, rb); sx32(into: rd)
        case .add_64:
            if rd == ra { a.add(.qword, rd, rb) } else if rd == rb { a.add(.qword, rd, ra) }
            else { a.lea(.qword, rd, Mem(base: ra, index: rb)) }
        case .sub_64:
            if rd == ra { a.sub(.qword, rd, rb) } else if rd != rb { a.mov(.qword, rd, ra); a.sub(.qword, rd, rb) }
            else { a.mov(.qword, .rax, ra); a.sub(.qword, .rax, rb); a.mov(.qword, rd, .rax) }
        case .and: commutative(.and, rd, ra, rb)
        case .or: commutative(.or, rd, ra, rb)
        case .xor: commutative(.xor, rd, ra, rb)
        case .mul_64:
            if rd == ra { a.imul(.qword, rd, rb) } else if rd == rb { a.imul(.qword, rd, ra) }
            else { a.mov(.qword, rd, ra); a.imul(.qword, rd, rb) }
        case .and_inv: a.andn(.qword, rd, rb, ra)
        case .or_inv: a.mov(.qword, .rax, rb); a.not(.qword, .rax); a.or(.qword, .rax, ra); a.mov(.qword, rd, .rax)
        case .xnor: a.mov(.qword, .rax, ra); a.xor(.qword, .rax, rb); a.not(.qword, .rax); a.mov(.qword, rd, .rax)
        case .set_lt_u: setIf(.below, rd) { a.cmp(.qword, ra, rb) }
        case .set_lt_s: setIf(.less, rd) { a.cmp(.qword, ra, rb) }
        case .cmov_iz: a.test(.qword, rb, rb); a.cmov(.zero, .qword, rd, ra)
        case .cmov_nz: a.test(.qword, rb, rb); a.cmov(.notZero, .qword, rd, ra)
        case .max: minMax(.less, rd, ra, rb)
        case .max_u: minMax(.below, rd, ra, rb)
        case .min: minMax(.greater, rd, ra, rb)
        case .min_u: minMax(.above, rd, ra, rb)
        case .shlo_l_32: a.shiftX(.shl, .dword, .rax, ra, count: rb); sx32(into: rd)
        case .shlo_r_32: a.shiftX(.shr, .dword, .rax, ra, count: rb); sx32(into: rd)
        case .shar_r_32: a.shiftX(.sar, .dword, .rax, ra, count: rb); sx32(into: rd)
        case .rot_l_32: a.mov(.dword, .rax, ra); shiftRAX(.rol, .dword, by: rb); sx32(into: rd)
        case .rot_r_32: a.mov(.dword, .rax, ra); shiftRAX(.ror, .dword, by: rb); sx32(into: rd)
        case .shlo_l_64: a.shiftX(.shl, .qword, rd, ra, count: rb)
        case .shlo_r_64: a.shiftX(.shr, .qword, rd, ra, count: rb)
        case .shar_r_64: a.shiftX(.sar, .qword, rd, ra, count: rb)
        case .rot_l_64: a.mov(.qword, .rax, ra); shiftRAX(.rol, .qword, by: rb); a.mov(.qword, rd, .rax)
        case .rot_r_64: a.mov(.qword, .rax, ra); shiftRAX(.ror, .qword, by: rb); a.mov(.qword, rd, .rax)
        case .mul_upper_s_s, .mul_upper_u_u, .mul_upper_s_u:
            multiplyHigh(ins.opcode, rd, ra, rb)
        case .div_u_32, .div_s_32, .rem_u_32, .rem_s_32, .div_u_64, .div_s_64, .rem_u_64, .rem_s_64:
            divide(ins.opcode, rd, ra, rb)
        default:
            preconditionFailure("no code generator for \(ins.opcode)")
        }
    }

    func commutative(_ op: ALUOp, _ rd: Reg, _ ra: Reg, _ rb: Reg) {
        if rd == ra { a.alu(op, .qword, rd, rb) } else if rd == rb { a.alu(op, .qword, rd, ra) }
        else { a.mov(.qword, rd, ra); a.alu(op, .qword, rd, rb) }
    }

    /// dst = 1 if `cc` holds after `compare`, else 0.
    func setIf(_ cc: Condition, _ dst: Reg, _ compare: () -> Void) {
        a.xor(.dword, .rax, .rax)
        compare()
        a.setcc(cc, .rax)
        a.mov(.qword, dst, .rax)
    }

    /// rd = rb when `rax(= ra) cc rb`, else ra: max with `.less`, min with `.greater`.
    func minMax(_ cc: Condition, _ rd: Reg, _ ra: Reg, _ rb: Reg) {
        if rd != rb {
            move(rd, ra)
            a.cmp(.qword, rd, rb)
            a.cmov(cc, .qword, rd, rb)
            return
        }
        a.mov(.qword, .rax, ra)
        a.cmp(.qword, .rax, rb)
        a.cmov(cc, .qword, .rax, rb)
        a.mov(.qword, rd, .rax)
    }

    /// Rotates (or shifts) rax by the guest register `count` (masked to the operand width by the
    /// hardware, as the PVM wants). x86 takes variable rotate counts only in cl, and rcx holds a
    /// guest register, so rcx is saved on the host stack around it. (Shifts use BMI2's
    /// shlx/shrx/sarx, which take the count in any register.)
    func shiftRAX(_ op: ShiftOp, _ size: OperandSize, by count: Reg) {
        if count == .rcx {
            a.shift(op, size, .rax, .cl)
            return
        }
        a.push(.rcx)
        a.mov(.qword, .rcx, count)
        a.shift(op, size, .rax, .cl)
        a.pop(.rcx)
    }

    /// While guest r12's rdx is saved at [rsp], its value is read from there.
    static let savedRDX = Mem(base: .rsp)

    /// The high 64 bits of the 128-bit product. One-operand `mul`/`imul` write rdx, which holds
    /// guest r12, so rdx is saved on the host stack and operands in rdx are read from the save.
    func multiplyHigh(_ op: Opcode, _ rd: Reg, _ ra: Reg, _ rb: Reg) {
        a.push(.rdx)
        a.mov(.qword, .rax, ra)
        let bIsSaved = rb == .rdx
        switch op {
        case .mul_upper_s_s:
            if bIsSaved { a.imul(.qword, Recompiler.savedRDX) } else { a.imul(.qword, rb) }
        default:
            if bIsSaved { a.mul(.qword, Recompiler.savedRDX) } else { a.mul(.qword, rb) }
        }
        if op == .mul_upper_s_u {
            // high(signed a × unsigned b) = high(unsigned a × b) − (a < 0 ? b : 0)
            let positive = a.newLabel()
            if ra == .rdx { a.cmp(.qword, Recompiler.savedRDX, imm: 0) } else { a.test(.qword, ra, ra) }
            a.jcc(.noSign, positive, .short)
            if bIsSaved { a.sub(.qword, .rdx, Recompiler.savedRDX) } else { a.sub(.qword, .rdx, rb) }
            a.bind(positive)
        }
        a.mov(.qword, .rax, .rdx)
        a.pop(.rdx)
        a.mov(.qword, rd, .rax)
    }

    /// GP division and remainder: divisor 0 gives all ones (div) or the dividend (rem); signed
    /// overflow (MIN / −1) gives the dividend (div) or 0 (rem). The checks come first, so the
    /// hardware never raises #DE.
    func divide(_ op: Opcode, _ rd: Reg, _ ra: Reg, _ rb: Reg) {
        let is32 = op.rawValue <= Opcode.rem_s_32.rawValue
        let size: OperandSize = is32 ? .dword : .qword
        let signed = op == .div_s_32 || op == .rem_s_32 || op == .div_s_64 || op == .rem_s_64
        let isRem = op == .rem_u_32 || op == .rem_s_32 || op == .rem_u_64 || op == .rem_s_64
        let done = a.newLabel(), byZero = a.newLabel(), compute = a.newLabel()
        a.test(size, rb, rb)
        a.jcc(.zero, byZero)
        if signed {
            let overflow = a.newLabel()
            a.cmp(size, rb, imm: -1)
            a.jcc(.notEqual, compute)
            if isRem {
                // x rem −1 is 0 for every x (and MIN rem −1 is defined as 0).
                a.xor(.dword, rd, rd)
                a.jmp(done)
            } else {
                if is32 {
                    a.cmp(.dword, ra, imm: Int32.min)
                } else {
                    a.movabs(.rax, imm: 0x8000_0000_0000_0000)
                    a.cmp(.qword, ra, .rax)
                }
                a.jcc(.equal, overflow)
                a.jmp(compute)
                a.bind(overflow)
                if is32 { a.movsxd(rd, ra) } else { move(rd, ra) }
                a.jmp(done)
            }
        }
        a.bind(compute)
        // The dividend goes in rdx:rax, and rdx holds guest r12: save it, and read a divisor
        // that lives in rdx from the save.
        a.push(.rdx)
        a.mov(size, .rax, ra)
        if signed {
            if is32 { a.cdq() } else { a.cqo() }
            if rb == .rdx { a.idiv(size, Recompiler.savedRDX) } else { a.idiv(size, rb) }
        } else {
            a.xor(.dword, .rdx, .rdx)
            if rb == .rdx { a.div(size, Recompiler.savedRDX) } else { a.div(size, rb) }
        }
        if isRem { a.mov(.qword, .rax, .rdx) }
        a.pop(.rdx)
        if is32 { a.movsxd(rd, .rax) } else { a.mov(.qword, rd, .rax) }
        a.jmp(done)
        a.bind(byZero)
        if isRem {
            if is32 { a.movsxd(rd, ra) } else { move(rd, ra) }
        } else {
            a.mov(.qword, rd, imm: -1)
        }
        a.bind(done)
    }
}
