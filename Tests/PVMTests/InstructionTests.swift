import PVM
import XCTest

/// One test per instruction class, each case run on both engines (see `Engines`). Values are
/// worked out by hand from SPEC.md §2.6–2.7.
final class InstructionTests: XCTestCase {
    let m64: UInt64 = .max

    /// Runs `line` followed by `trap` with the given registers; returns the final registers.
    func exec(_ line: String, _ regs: [Int: UInt64] = [:], file: StaticString = #filePath, line l: UInt = #line) -> Outcome {
        var m = Machine()
        for (r, v) in regs { m[r] = v }
        let out = Engines.run(line + "\ntrap", m, file: file, line: l)
        XCTAssertEqual(out.reason, .panic, "\(line) must end at the trap", file: file, line: l)
        return out
    }

    func check(_ line: String, _ regs: [Int: UInt64], _ dst: Int, _ expected: UInt64,
               file: StaticString = #filePath, line l: UInt = #line) {
        XCTAssertEqual(exec(line, regs, file: file, line: l)[dst], expected, line, file: file, line: l)
    }

    func testArithmetic64() {
        check("add_64 r3, r1, r2", [1: m64, 2: 2], 3, 1)
        check("sub_64 r3, r1, r2", [1: 1, 2: 2], 3, m64)
        check("mul_64 r3, r1, r2", [1: 0x1_0000_0001, 2: 0x1_0000_0001], 3, 0x2_0000_0001)
        check("add_64 r1, r1, r1", [1: 21], 1, 42)
        check("sub_64 r2, r1, r2", [1: 10, 2: 3], 2, 7)
        check("add_imm_64 r3, r1, -1", [1: 0], 3, m64)
        check("mul_imm_64 r3, r1, -2", [1: 3], 3, UInt64(bitPattern: -6))
        check("neg_add_imm_64 r3, r1, 5", [1: 7], 3, UInt64(bitPattern: -2))
    }

    func testArithmetic32SignExtends() {
        check("add_32 r3, r1, r2", [1: 0x7FFF_FFFF, 2: 1], 3, 0xFFFF_FFFF_8000_0000)
        check("add_32 r3, r1, r2", [1: 0xFFFF_FFFF_0000_0001, 2: 1], 3, 2)
        check("sub_32 r3, r1, r2", [1: 0, 2: 1], 3, m64)
        check("mul_32 r3, r1, r2", [1: 0x10000, 2: 0x8000], 3, 0xFFFF_FFFF_8000_0000)
        check("add_imm_32 r3, r1, 1", [1: 0xFFFF_FFFF], 3, 0)
        check("mul_imm_32 r3, r1, 3", [1: 0x5555_5556], 3, 2)
        check("neg_add_imm_32 r3, r1, 0", [1: 1], 3, m64)
    }

    func testDivisionAndRemainder() {
        let min64: UInt64 = 1 << 63
        check("div_u_64 r3, r1, r2", [1: 7, 2: 0], 3, m64)
        check("div_s_64 r3, r1, r2", [1: 7, 2: 0], 3, m64)
        check("rem_u_64 r3, r1, r2", [1: 7, 2: 0], 3, 7)
        check("rem_s_64 r3, r1, r2", [1: UInt64(bitPattern: -7), 2: 0], 3, UInt64(bitPattern: -7))
        check("div_s_64 r3, r1, r2", [1: min64, 2: m64], 3, min64)
        check("rem_s_64 r3, r1, r2", [1: min64, 2: m64], 3, 0)
        check("div_s_64 r3, r1, r2", [1: UInt64(bitPattern: -7), 2: 2], 3, UInt64(bitPattern: -3))
        check("rem_s_64 r3, r1, r2", [1: UInt64(bitPattern: -7), 2: 2], 3, m64)
        check("rem_s_64 r3, r1, r2", [1: 7, 2: UInt64(bitPattern: -2)], 3, 1)
        check("div_u_32 r3, r1, r2", [1: 0xFFFF_FFFE, 2: 1], 3, 0xFFFF_FFFF_FFFF_FFFE)
        check("div_u_32 r3, r1, r2", [1: 5, 2: 0x1_0000_0000], 3, m64)
        check("div_s_32 r3, r1, r2", [1: 0x8000_0000, 2: 0xFFFF_FFFF], 3, 0xFFFF_FFFF_8000_0000)
        check("rem_s_32 r3, r1, r2", [1: 0x8000_0000, 2: 0xFFFF_FFFF], 3, 0)
        check("rem_u_32 r3, r1, r2", [1: 0x1_8000_0000, 2: 0], 3, 0xFFFF_FFFF_8000_0000)
        check("rem_s_32 r3, r1, r2", [1: 0xFFFF_FFF9, 2: 0], 3, UInt64(bitPattern: -7))
        check("div_s_32 r3, r1, r2", [1: 0xFFFF_FFF9, 2: 2], 3, UInt64(bitPattern: -3))
        // Guest r12 lives in the host's rdx, which x86 division clobbers: alias it every way.
        check("div_u_64 r12, r12, r2", [12: 100, 2: 7], 12, 14)
        check("rem_u_64 r12, r1, r12", [1: 100, 12: 7], 12, 2)
        check("div_s_64 r3, r12, r12", [12: 9], 3, 1)
        check("rem_s_32 r12, r12, r12", [12: 9], 12, 0)
    }

    func testShiftsAndRotations() {
        check("shlo_l_64 r3, r1, r2", [1: 1, 2: 65], 3, 2)            // amount mod 64
        check("shlo_r_64 r3, r1, r2", [1: 1 << 63, 2: 63], 3, 1)
        check("shar_r_64 r3, r1, r2", [1: 1 << 63, 2: 63], 3, m64)
        check("shlo_l_32 r3, r1, r2", [1: 1, 2: 31], 3, 0xFFFF_FFFF_8000_0000)
        check("shlo_r_32 r3, r1, r2", [1: 0x8000_0000, 2: 32], 3, 0xFFFF_FFFF_8000_0000)  // mod 32: by 0
        check("shar_r_32 r3, r1, r2", [1: 0x8000_0000, 2: 4], 3, 0xFFFF_FFFF_F800_0000)
        check("shlo_l_imm_64 r3, r1, 4", [1: 0xF], 3, 0xF0)
        check("shlo_r_imm_32 r3, r1, 28", [1: 0xF000_0000], 3, 0xF)
        check("shar_r_imm_64 r3, r1, 1", [1: 0x8000_0000_0000_0000], 3, 0xC000_0000_0000_0000)
        check("shlo_l_imm_alt_32 r3, r1, 1", [1: 31], 3, 0xFFFF_FFFF_8000_0000)
        check("shlo_r_imm_alt_64 r3, r1, -1", [1: 60], 3, 0xF)
        check("shar_r_imm_alt_32 r3, r1, 0x80000000", [1: 31], 3, m64)
        check("rot_r_64_imm r3, r1, 4", [1: 0x1], 3, 0x1000_0000_0000_0000)
        check("rot_r_64_imm_alt r3, r1, 1", [1: 1], 3, 0x8000_0000_0000_0000)
        check("rot_r_32_imm r3, r1, 1", [1: 1], 3, 0xFFFF_FFFF_8000_0000)
        check("rot_r_32_imm_alt r3, r1, 2", [1: 1], 3, 1)
        check("rot_l_64 r3, r1, r2", [1: 0x8000_0000_0000_0001, 2: 1], 3, 3)
        check("rot_l_32 r3, r1, r2", [1: 0x8000_0001, 2: 1], 3, 3)
        check("rot_r_64 r3, r1, r2", [1: 3, 2: 1], 3, 0x8000_0000_0000_0001)
        check("rot_r_32 r3, r1, r2", [1: 3, 2: 1], 3, 0xFFFF_FFFF_8000_0001)
        // Guest r1 lives in the host's rcx, the x86 shift-count register.
        check("shlo_l_64 r1, r1, r1", [1: 3], 1, 24)
        check("shlo_l_64 r3, r1, r4", [1: 5, 4: 2], 3, 20)
        check("shlo_l_64 r1, r4, r1", [1: 2, 4: 5], 1, 20)
    }

    func testBitManipulation() {
        check("count_set_bits_64 r3, r1", [1: m64], 3, 64)
        check("count_set_bits_32 r3, r1", [1: m64], 3, 32)
        check("leading_zero_bits_64 r3, r1", [1: 0], 3, 64)
        check("leading_zero_bits_32 r3, r1", [1: 0x1_0000_0001], 3, 31)
        check("trailing_zero_bits_64 r3, r1", [1: 0], 3, 64)
        check("trailing_zero_bits_32 r3, r1", [1: 0x1_0000_0000], 3, 32)
        check("sign_extend_8 r3, r1", [1: 0x80], 3, 0xFFFF_FFFF_FFFF_FF80)
        check("sign_extend_16 r3, r1", [1: 0x1_7FFF], 3, 0x7FFF)
        check("zero_extend_16 r3, r1", [1: 0xFFFF_8001], 3, 0x8001)
        check("reverse_bytes r3, r1", [1: 0x0102_0304_0506_0708], 3, 0x0807_0605_0403_0201)
        check("and_inv r3, r1, r2", [1: 0xFF, 2: 0x0F], 3, 0xF0)
        check("or_inv r3, r1, r2", [1: 0, 2: m64 - 1], 3, 1)
        check("xnor r3, r1, r2", [1: 0xF0, 2: 0xFF], 3, ~UInt64(0x0F))
        check("and r3, r1, r2", [1: 0xFF, 2: 0x0F], 3, 0x0F)
        check("xor_imm r3, r1, -1", [1: 0], 3, m64)
        check("or_imm r3, r1, 0x80000000", [1: 0], 3, 0xFFFF_FFFF_8000_0000)
    }

    func testComparisonsAndConditionalMoves() {
        check("set_lt_u r3, r1, r2", [1: 1, 2: m64], 3, 1)
        check("set_lt_s r3, r1, r2", [1: 1, 2: m64], 3, 0)
        check("set_lt_u_imm r3, r1, -1", [1: 5], 3, 1)           // imm sign-extends to 2^64-1
        check("set_gt_s_imm r3, r1, -1", [1: 0], 3, 1)
        check("set_gt_u_imm r3, r1, 5", [1: 5], 3, 0)
        check("cmov_iz r3, r1, r2", [1: 7, 2: 0, 3: 9], 3, 7)
        check("cmov_iz r3, r1, r2", [1: 7, 2: 1, 3: 9], 3, 9)
        check("cmov_nz r3, r1, r2", [1: 7, 2: 1, 3: 9], 3, 7)
        check("cmov_iz_imm r3, r2, 42", [2: 0, 3: 9], 3, 42)
        check("cmov_nz_imm r3, r2, 42", [2: 5, 3: 9], 3, 42)
        check("cmov_nz_imm r3, r2, 42", [2: 0, 3: 9], 3, 9)
        check("cmov_nz_imm r3, r2, -1", [2: 1 << 40, 3: 9], 3, m64)
        check("max r3, r1, r2", [1: m64, 2: 1], 3, 1)
        check("max_u r3, r1, r2", [1: m64, 2: 1], 3, m64)
        check("min r3, r1, r2", [1: m64, 2: 1], 3, m64)
        check("min_u r3, r1, r2", [1: m64, 2: 1], 3, 1)
    }

    func testMultiplyUpper() {
        check("mul_upper_u_u r3, r1, r2", [1: m64, 2: m64], 3, m64 - 1)
        check("mul_upper_s_s r3, r1, r2", [1: m64, 2: m64], 3, 0)        // (-1)·(-1) = 1
        check("mul_upper_s_u r3, r1, r2", [1: m64, 2: 2], 3, m64)         // (-1)·2 = -2
        check("mul_upper_s_u r3, r1, r2", [1: 2, 2: m64], 3, 1)
        check("mul_upper_u_u r12, r12, r12", [12: 1 << 32], 12, 1)
        check("mul_upper_s_u r3, r12, r2", [12: m64, 2: 3], 3, m64)
        check("mul_upper_s_u r12, r1, r12", [1: m64, 12: 3], 12, m64)
    }

    func testImmediateLoadsAndMoves() {
        check("load_imm r3, -1", [:], 3, m64)
        check("load_imm r3, 0x80000000", [:], 3, 0xFFFF_FFFF_8000_0000)
        check("load_imm_64 r3, 0x123456789ABCDEF0", [:], 3, 0x1234_5678_9ABC_DEF0)
        check("move_reg r3, r12", [12: 77], 3, 77)
    }
}
