import PVM

/// Arithmetic, logic, shifts, bit counts, multiplication and division.
extension Recompiler {
    /// rd = ra op rb for a commutative op: `op rd, rb` when rd is ra, `op rd, ra` when rd is rb,
    /// else `mov rd, ra; op rd, rb`; chosen without branches (the registers are the guest's).
    func commutative(_ op: ALUOp, _ rd: Reg, _ ra: Reg, _ rb: Reg) {
        let rdIsB = rd == rb
        a.movUnlessSame(.qword, rd, rdIsB ? rd : ra)
        a.alu(op, .qword, rd, rdIsB ? ra : rb)
    }

    /// dst = 1 if `cc` holds after `cmp x, y`, else 0.
    func setIf(_ cc: Condition, _ dst: Reg, _ x: Reg, _ y: Reg) {
        a.xor(.dword, .rax, .rax)
        a.cmp(.qword, x, y)
        a.setcc(cc, .rax)
        a.mov(.qword, dst, .rax)
    }

    /// dst = 1 if `cc` holds after `cmp x, imm`, else 0.
    func setIf(_ cc: Condition, _ dst: Reg, _ x: Reg, imm: Int32) {
        a.xor(.dword, .rax, .rax)
        a.cmp(.qword, x, imm: imm)
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
        let labels = a.labelCount
        defer { a.discardLabels(from: labels) }   // local to the instruction
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
        let labels = a.labelCount
        defer { a.discardLabels(from: labels) }   // local to the instruction
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
