/// A RISC-V instruction of the subset the linker translates (RV64I, M, C, Zbb), decoded into one
/// normalized form: compressed instructions are expanded to their 32-bit equivalents.
enum RVOp: UInt8 {
    case lui, auipc, jal, jalr
    case beq, bne, blt, bge, bltu, bgeu
    case lb, lh, lw, ld, lbu, lhu, lwu
    case sb, sh, sw, sd
    case addi, slti, sltiu, xori, ori, andi, slli, srli, srai
    case add, sub, sll, slt, sltu, xor, srl, sra, or, and
    case addiw, slliw, srliw, sraiw, addw, subw, sllw, srlw, sraw
    case mul, mulh, mulhsu, mulhu, div, divu, rem, remu, mulw, divw, divuw, remw, remuw
    // Zbb
    case andn, orn, xnor, min, minu, max, maxu, rol, ror, rori, rolw, rorw, roriw
    case clz, ctz, cpop, clzw, ctzw, cpopw, sextb, sexth, zexth, rev8
    /// `fence`, `fence.i`, hints and `nop`: nothing to do on a single-threaded PVM.
    case nop
    /// `unimp` / `c.unimp` / the all-zero halfword: translated to `trap`.
    case unimp
    /// The SDK host call: custom-0 I-type, imm = the host-call id (see alcatraz.h).
    case hostcall
    /// The SDK's heap growth: custom-0 I-type with funct3 1, translated to the PVM's `sbrk rd, rs1`.
    case sbrk
    /// A extension, translated for a single-threaded machine. `imm` = funct5 | (doubleword ? 0x100 : 0).
    case lr, sc, amo
}

struct RVInst {
    var op: RVOp
    var rd: UInt8 = 0
    var rs1: UInt8 = 0
    var rs2: UInt8 = 0
    /// 2 or 4.
    var size: UInt8 = 4
    var imm: Int64 = 0
}

/// Why an instruction could not be decoded: a mnemonic (or description) and a reason.
struct RVDecodeFailure: Error {
    var what: String
    var reason: String
}

@inline(__always) func bits(_ x: UInt32, _ hi: UInt32, _ lo: UInt32) -> UInt32 { (x >> lo) & ((1 << (hi - lo + 1)) - 1) }
@inline(__always) func sext(_ x: UInt32, _ width: UInt32) -> Int64 {
    let shift = 64 - UInt64(width)
    return Int64(bitPattern: UInt64(x) << shift) >> shift
}

enum RVDecoder {
    static let branchOps: [RVOp?] = [.beq, .bne, nil, nil, .blt, .bge, .bltu, .bgeu]
    static let loadOps: [RVOp?] = [.lb, .lh, .lw, .ld, .lbu, .lhu, .lwu, nil]
    static let storeOps: [RVOp?] = [.sb, .sh, .sw, .sd, nil, nil, nil, nil]
    /// Decodes the 32-bit instruction `w`.
    static func decode32(_ w: UInt32) -> Result<RVInst, RVDecodeFailure> {
        let opcode = w & 0x7F
        let rd = UInt8(bits(w, 11, 7)), rs1 = UInt8(bits(w, 19, 15)), rs2 = UInt8(bits(w, 24, 20))
        let f3 = bits(w, 14, 12), f7 = bits(w, 31, 25)
        let immI = sext(w >> 20, 12)
        func r(_ op: RVOp) -> Result<RVInst, RVDecodeFailure> { .success(RVInst(op: op, rd: rd, rs1: rs1, rs2: rs2)) }
        func i(_ op: RVOp, _ imm: Int64) -> Result<RVInst, RVDecodeFailure> { .success(RVInst(op: op, rd: rd, rs1: rs1, imm: imm)) }
        func bad(_ what: String, _ reason: String) -> Result<RVInst, RVDecodeFailure> { .failure(RVDecodeFailure(what: what, reason: reason)) }
        var unknown: Result<RVInst, RVDecodeFailure> { bad(hex32(w), "not a recognised RV64IMAC/Zbb instruction") }
        switch opcode {
        case 0x37: return i(.lui, sext(w & 0xFFFF_F000, 32))
        case 0x17: return i(.auipc, sext(w & 0xFFFF_F000, 32))
        case 0x6F:
            let imm = (bits(w, 31, 31) << 20) | (bits(w, 19, 12) << 12) | (bits(w, 20, 20) << 11) | (bits(w, 30, 21) << 1)
            return i(.jal, sext(imm, 21))
        case 0x67:
            guard f3 == 0 else { return unknown }
            return i(.jalr, immI)
        case 0x63:
            let imm = (bits(w, 31, 31) << 12) | (bits(w, 7, 7) << 11) | (bits(w, 30, 25) << 5) | (bits(w, 11, 8) << 1)
            guard let op = RVDecoder.branchOps[Int(f3)] else { return unknown }
            return .success(RVInst(op: op, rs1: rs1, rs2: rs2, imm: sext(imm, 13)))
        case 0x03:
            guard let op = RVDecoder.loadOps[Int(f3)] else { return unknown }
            return i(op, immI)
        case 0x23:
            guard let op = RVDecoder.storeOps[Int(f3)] else { return unknown }
            return .success(RVInst(op: op, rs1: rs1, rs2: rs2, imm: sext((f7 << 5) | UInt32(rd), 12)))
        case 0x13:
            switch f3 {
            case 0: return i(.addi, immI)
            case 2: return i(.slti, immI)
            case 3: return i(.sltiu, immI)
            case 4: return i(.xori, immI)
            case 6: return i(.ori, immI)
            case 7: return i(.andi, immI)
            case 1:
                let hi = bits(w, 31, 26)
                if hi == 0 { return i(.slli, Int64(bits(w, 25, 20))) }
                if f7 == 0x30 {
                    switch rs2 {
                    case 0: return i(.clz, 0)
                    case 1: return i(.ctz, 0)
                    case 2: return i(.cpop, 0)
                    case 4: return i(.sextb, 0)
                    case 5: return i(.sexth, 0)
                    default: return unknown
                    }
                }
                return unknown
            default: // 5
                let hi = bits(w, 31, 26), sh = Int64(bits(w, 25, 20))
                if hi == 0 { return i(.srli, sh) }
                if hi == 0x10 { return i(.srai, sh) }
                if hi == 0x18 { return i(.rori, sh) }
                if bits(w, 31, 20) == 0x6B8 { return i(.rev8, 0) }
                if bits(w, 31, 20) == 0x287 { return bad("orc.b", "orc.b has no PVM equivalent") }
                return unknown
            }
        case 0x33:
            switch (f7, f3) {
            case (0, 0): return r(.add)
            case (0x20, 0): return r(.sub)
            case (0, 1): return r(.sll)
            case (0, 2): return r(.slt)
            case (0, 3): return r(.sltu)
            case (0, 4): return r(.xor)
            case (0, 5): return r(.srl)
            case (0x20, 5): return r(.sra)
            case (0, 6): return r(.or)
            case (0, 7): return r(.and)
            case (1, 0): return r(.mul)
            case (1, 1): return r(.mulh)
            case (1, 2): return r(.mulhsu)
            case (1, 3): return r(.mulhu)
            case (1, 4): return r(.div)
            case (1, 5): return r(.divu)
            case (1, 6): return r(.rem)
            case (1, 7): return r(.remu)
            case (0x20, 7): return r(.andn)
            case (0x20, 6): return r(.orn)
            case (0x20, 4): return r(.xnor)
            case (5, 4): return r(.min)
            case (5, 5): return r(.minu)
            case (5, 6): return r(.max)
            case (5, 7): return r(.maxu)
            case (0x30, 1): return r(.rol)
            case (0x30, 5): return r(.ror)
            case (4, 4) where rs2 == 0: return bad("zext.h", "zext.h on RV64 is encoded in OP-32") // RV32 form
            default: return unknown
            }
        case 0x1B:
            switch f3 {
            case 0: return i(.addiw, immI)
            case 1:
                if f7 == 0 { return i(.slliw, Int64(rs2)) }
                if f7 == 0x30 {
                    switch rs2 {
                    case 0: return i(.clzw, 0)
                    case 1: return i(.ctzw, 0)
                    case 2: return i(.cpopw, 0)
                    default: return unknown
                    }
                }
                return unknown
            case 5:
                if f7 == 0 { return i(.srliw, Int64(rs2)) }
                if f7 == 0x20 { return i(.sraiw, Int64(rs2)) }
                if f7 == 0x30 { return i(.roriw, Int64(rs2)) }
                return unknown
            default: return unknown
            }
        case 0x3B:
            switch (f7, f3) {
            case (0, 0): return r(.addw)
            case (0x20, 0): return r(.subw)
            case (0, 1): return r(.sllw)
            case (0, 5): return r(.srlw)
            case (0x20, 5): return r(.sraw)
            case (1, 0): return r(.mulw)
            case (1, 4): return r(.divw)
            case (1, 5): return r(.divuw)
            case (1, 6): return r(.remw)
            case (1, 7): return r(.remuw)
            case (0x30, 1): return r(.rolw)
            case (0x30, 5): return r(.rorw)
            case (4, 4) where rs2 == 0: return i(.zexth, 0)
            case (4, 0): return bad("add.uw", "Zba is not supported: build without Zba")
            default: return unknown
            }
        case 0x0F:
            return .success(RVInst(op: .nop))  // fence, fence.i: single-threaded, no effect
        case 0x73:
            if w == 0x0000_0073 { return bad("ecall", "use the SDK's host calls (alc_gas, alc_log: the custom-0 `.insn` of alcatraz.h), not ecall") }
            if w == 0x0010_0073 { return bad("ebreak", "ebreak has no PVM equivalent (use __builtin_trap)") }
            if w == 0xC000_1073 { return .success(RVInst(op: .unimp)) }  // unimp = csrrw x0, cycle, x0
            return bad("csr/system instruction \(hex32(w))", "control and status registers do not exist on the PVM")
        case 0x2F:
            let f5 = bits(w, 31, 27)
            guard f3 == 2 || f3 == 3, [0, 1, 2, 3, 4, 8, 12, 16, 20, 24, 28].contains(f5), f5 != 2 || rs2 == 0 else {
                return bad("atomic instruction \(hex32(w))", "not a recognised RV64A instruction")
            }
            let op: RVOp = f5 == 2 ? .lr : f5 == 3 ? .sc : .amo
            return .success(RVInst(op: op, rd: rd, rs1: rs1, rs2: op == .lr ? 0 : rs2, imm: Int64(f5) | (f3 == 3 ? 0x100 : 0)))
        case 0x07, 0x27, 0x43, 0x47, 0x4B, 0x4F, 0x53:
            return bad("floating-point instruction \(hex32(w))", "floating point is not supported (build for rv64emac with -mabi=lp64e and avoid float/double)")
        case 0x0B:
            if f3 == 1 && immI == 0 { return i(.sbrk, 0) }  // the SDK's alc_sbrk: `.insn i 0x0B, 1, rd, rs1, 0`
            guard f3 == 0, rd == 0, rs1 == 0 else {
                return bad("custom-0 instruction \(hex32(w))", "custom-0 holds only the SDK's host call `.insn i 0x0B, 0, x0, x0, ID` and sbrk `.insn i 0x0B, 1, rd, rs1, 0`")
            }
            let id = immI
            guard id >= 0 else { return bad("host call \(id)", "host-call ids are 0 ... 2047") }
            return .success(RVInst(op: .hostcall, imm: id))
        default:
            if w == 0 { return .success(RVInst(op: .unimp)) }
            return unknown
        }
    }

    /// Decodes the 16-bit compressed instruction `h` into its 32-bit equivalent.
    static func decode16(_ h: UInt16) -> Result<RVInst, RVDecodeFailure> {
        let x = UInt32(h)
        var ins: RVInst
        func bad(_ what: String, _ reason: String) -> Result<RVInst, RVDecodeFailure> {
            .failure(RVDecodeFailure(what: what, reason: reason))
        }
        if h == 0 { return .success(RVInst(op: .unimp, size: 2)) }
        let quadrant = x & 3, f3 = bits(x, 15, 13)
        let rdFull = UInt8(bits(x, 11, 7)), rs2Full = UInt8(bits(x, 6, 2))
        let rdP = UInt8(bits(x, 4, 2) + 8), rs1P = UInt8(bits(x, 9, 7) + 8)
        let fp = "floating point is not supported (build for rv64emac with -mabi=lp64e and avoid float/double)"
        switch (quadrant, f3) {
        case (0, 0):  // c.addi4spn
            let imm = (bits(x, 12, 11) << 4) | (bits(x, 10, 7) << 6) | (bits(x, 6, 6) << 2) | (bits(x, 5, 5) << 3)
            ins = RVInst(op: .addi, rd: rdP, rs1: 2, imm: Int64(imm))
        case (0, 2):  // c.lw
            let imm = (bits(x, 12, 10) << 3) | (bits(x, 6, 6) << 2) | (bits(x, 5, 5) << 6)
            ins = RVInst(op: .lw, rd: rdP, rs1: rs1P, imm: Int64(imm))
        case (0, 3):  // c.ld
            let imm = (bits(x, 12, 10) << 3) | (bits(x, 6, 5) << 6)
            ins = RVInst(op: .ld, rd: rdP, rs1: rs1P, imm: Int64(imm))
        case (0, 6):  // c.sw
            let imm = (bits(x, 12, 10) << 3) | (bits(x, 6, 6) << 2) | (bits(x, 5, 5) << 6)
            ins = RVInst(op: .sw, rs1: rs1P, rs2: rdP, imm: Int64(imm))
        case (0, 7):  // c.sd
            let imm = (bits(x, 12, 10) << 3) | (bits(x, 6, 5) << 6)
            ins = RVInst(op: .sd, rs1: rs1P, rs2: rdP, imm: Int64(imm))
        case (0, 1), (0, 5), (2, 1), (2, 5):
            return bad("compressed floating-point load/store \(hex16(h))", fp)
        case (1, 0):  // c.addi / c.nop
            let imm = sext((bits(x, 12, 12) << 5) | bits(x, 6, 2), 6)
            ins = RVInst(op: .addi, rd: rdFull, rs1: rdFull, imm: imm)
        case (1, 1):  // c.addiw
            let imm = sext((bits(x, 12, 12) << 5) | bits(x, 6, 2), 6)
            ins = RVInst(op: .addiw, rd: rdFull, rs1: rdFull, imm: imm)
        case (1, 2):  // c.li
            let imm = sext((bits(x, 12, 12) << 5) | bits(x, 6, 2), 6)
            ins = RVInst(op: .addi, rd: rdFull, rs1: 0, imm: imm)
        case (1, 3):
            if rdFull == 2 {  // c.addi16sp
                let imm = (bits(x, 12, 12) << 9) | (bits(x, 6, 6) << 4) | (bits(x, 5, 5) << 6) | (bits(x, 4, 3) << 7) | (bits(x, 2, 2) << 5)
                ins = RVInst(op: .addi, rd: 2, rs1: 2, imm: sext(imm, 10))
            } else {  // c.lui
                let imm = (bits(x, 12, 12) << 17) | (bits(x, 6, 2) << 12)
                ins = RVInst(op: .lui, rd: rdFull, imm: sext(imm, 18))
            }
        case (1, 4):
            let f2 = bits(x, 11, 10)
            let shamt = Int64((bits(x, 12, 12) << 5) | bits(x, 6, 2))
            switch f2 {
            case 0: ins = RVInst(op: .srli, rd: rs1P, rs1: rs1P, imm: shamt)
            case 1: ins = RVInst(op: .srai, rd: rs1P, rs1: rs1P, imm: shamt)
            case 2: ins = RVInst(op: .andi, rd: rs1P, rs1: rs1P, imm: sext((bits(x, 12, 12) << 5) | bits(x, 6, 2), 6))
            default:
                let sel = Int(bits(x, 6, 5))
                let op: RVOp
                if bits(x, 12, 12) == 0 { op = sel == 0 ? .sub : sel == 1 ? .xor : sel == 2 ? .or : .and } else {
                    guard sel < 2 else { return bad(hex16(h), "not a recognised RV64C instruction") }
                    op = sel == 0 ? .subw : .addw
                }
                ins = RVInst(op: op, rd: rs1P, rs1: rs1P, rs2: rdP)
            }
        case (1, 5):  // c.j
            let imm = (bits(x, 12, 12) << 11) | (bits(x, 11, 11) << 4) | (bits(x, 10, 9) << 8) | (bits(x, 8, 8) << 10)
                | (bits(x, 7, 7) << 6) | (bits(x, 6, 6) << 7) | (bits(x, 5, 3) << 1) | (bits(x, 2, 2) << 5)
            ins = RVInst(op: .jal, rd: 0, imm: sext(imm, 12))
        case (1, 6), (1, 7):  // c.beqz / c.bnez
            let imm = (bits(x, 12, 12) << 8) | (bits(x, 11, 10) << 3) | (bits(x, 6, 5) << 6) | (bits(x, 4, 3) << 1) | (bits(x, 2, 2) << 5)
            ins = RVInst(op: f3 == 6 ? .beq : .bne, rs1: rs1P, rs2: 0, imm: sext(imm, 9))
        case (2, 0):  // c.slli
            ins = RVInst(op: .slli, rd: rdFull, rs1: rdFull, imm: Int64((bits(x, 12, 12) << 5) | bits(x, 6, 2)))
        case (2, 2):  // c.lwsp
            let imm = (bits(x, 12, 12) << 5) | (bits(x, 6, 4) << 2) | (bits(x, 3, 2) << 6)
            ins = RVInst(op: .lw, rd: rdFull, rs1: 2, imm: Int64(imm))
        case (2, 3):  // c.ldsp
            let imm = (bits(x, 12, 12) << 5) | (bits(x, 6, 5) << 3) | (bits(x, 4, 2) << 6)
            ins = RVInst(op: .ld, rd: rdFull, rs1: 2, imm: Int64(imm))
        case (2, 4):
            if bits(x, 12, 12) == 0 {
                ins = rs2Full == 0 ? RVInst(op: .jalr, rd: 0, rs1: rdFull, imm: 0)      // c.jr
                    : RVInst(op: .add, rd: rdFull, rs1: 0, rs2: rs2Full)               // c.mv
            } else if rdFull == 0 && rs2Full == 0 {
                return bad("c.ebreak", "ebreak has no PVM equivalent (use __builtin_trap)")
            } else {
                ins = rs2Full == 0 ? RVInst(op: .jalr, rd: 1, rs1: rdFull, imm: 0)      // c.jalr
                    : RVInst(op: .add, rd: rdFull, rs1: rdFull, rs2: rs2Full)          // c.add
            }
        case (2, 6):  // c.swsp
            let imm = (bits(x, 12, 9) << 2) | (bits(x, 8, 7) << 6)
            ins = RVInst(op: .sw, rs1: 2, rs2: rs2Full, imm: Int64(imm))
        case (2, 7):  // c.sdsp
            let imm = (bits(x, 12, 10) << 3) | (bits(x, 9, 7) << 6)
            ins = RVInst(op: .sd, rs1: 2, rs2: rs2Full, imm: Int64(imm))
        default:
            return bad(hex16(h), "not a recognised RV64C instruction")
        }
        ins.size = 2
        return .success(ins)
    }
}

func hex32(_ w: UInt32) -> String { "0x" + pad(String(w, radix: 16), 8) }
func hex16(_ w: UInt16) -> String { "0x" + pad(String(w, radix: 16), 4) }
func pad(_ s: String, _ n: Int) -> String { String(repeating: "0", count: max(0, n - s.count)) + s }

extension RVOp {
    var isStore: Bool {
        switch self {
        case .sb, .sh, .sw, .sd: return true
        default: return false
        }
    }

    /// The assembler mnemonic, for messages.
    var mnemonic: String {
        switch self {
        case .sextb: return "sext.b"
        case .sexth: return "sext.h"
        case .zexth: return "zext.h"
        case .hostcall: return "host call (.insn custom-0)"
        case .lr, .sc, .amo: return "atomic \(self)"
        default: return String(describing: self)
        }
    }
}
