// Hostile programs: each runs on the interpreter and the recompiler in lock step (every exit,
// register, gas value and watched page compared) and the expected outcome is asserted.
import JIT
import PVM
import PVMAssembler
import ProgramGenerator
import XCTest

final class HostileProgramTests: XCTestCase {
    typealias Op = ProgramBuilder.Operand
    static let halt = UInt64(GuestMemoryLayout.haltAddress)
    static let rw: UInt32 = 0x20000
    static let ro: UInt32 = 0x21000

    override func setUpWithError() throws {
        try XCTSkipUnless(JITInstance.isSupported, "this CPU cannot run the recompiler")
    }

    /// A page at 0x20000 (writable, filled with 0xA5) and one at 0x21000 (read-only, 0x5A).
    static let defaultPages: [GeneratedProgram.Page] = [
        .init(address: rw, access: .write, contents: [UInt8](repeating: 0xA5, count: 4096)),
        .init(address: ro, access: .read, contents: [UInt8](repeating: 0x5A, count: 4096)),
    ]

    /// Runs `blob` on both engines and returns the (agreed) outcome.
    @discardableResult
    func run(_ blob: ProgramBlob, pages: [GeneratedProgram.Page] = defaultPages, registers: [UInt64]? = nil,
             gas: Int64 = 100_000, pc: UInt32 = 0, expect: ExitReason?, expectPC: UInt32? = nil,
             file: StaticString = #filePath, line: UInt = #line) -> DifferentialOutcome? {
        var regs = registers ?? [UInt64](repeating: 0, count: 13)
        if registers == nil { regs[0] = HostileProgramTests.halt }
        let program = GeneratedProgram(seed: 0, blob: blob, pages: pages, registers: regs, gas: gas, pc: pc)
        do throws(Difference) {
            let outcome = try Differential.check(program, candidate: jitEngine)
            if let expect { XCTAssertEqual(outcome.final, expect, "\n" + program.description, file: file, line: line) }
            if let expectPC { XCTAssertEqual(outcome.pc, expectPC, file: file, line: line) }
            return outcome
        } catch {
            XCTFail(error.description, file: file, line: line)
            return nil
        }
    }

    // MARK: - Control flow

    func testJumpTableEntriesMidInstructionToNonBlockStartsAndHugeSlots() {
        let halt = HostileProgramTests.halt
        // Slot 1: mid-instruction; slot 2: a non-block-start; slot 3: past the code; slot 4: valid.
        for (address, expected) in [(UInt64(2), ExitReason.panic), (4, .panic), (6, .panic), (8, .halt),
                                    (10, .panic), (0x7FFF_FFFE, .panic), (0xFFFF_FFFE, .panic), (9, .panic),
                                    (0, .panic), (halt, .halt), (halt + 2, .panic), (0x1_0000_0008, .halt)] {
            var b = ProgramBuilder()
            let mid = b.makeLabel(), good = b.makeLabel()
            b.addJumpTableEntry(pc: 3)          // inside the load_imm_64 below
            b.addJumpTableEntry(mid)
            b.addJumpTableEntry(pc: 100_000)
            b.addJumpTableEntry(good)
            b.emit(.load_imm_64, .r2, .imm(address))
            b.emit(.add_imm_64, .r3, .r3, 1)
            b.bind(mid)
            b.emit(.add_imm_64, .r3, .r3, 1)
            b.emit(.jump_ind, .r2, 0)
            b.bind(good)
            b.emit(.jump_ind, .r0, 0)
            run(b.build(), expect: expected)
            // Same through load_imm_jump_ind, with rA = rB (rB is read first).
            var c = ProgramBuilder()
            let good2 = c.makeLabel()
            c.addJumpTableEntry(pc: 1)
            c.addJumpTableEntry(pc: 2)
            c.addJumpTableEntry(pc: 100_000)
            c.addJumpTableEntry(good2)
            c.emit(.load_imm_64, .r2, .imm(address))
            c.emit(.load_imm_jump_ind, .r2, .r2, 77, 0)
            c.bind(good2)
            c.emit(.jump_ind, .r0, 0)
            let out = run(c.build(), expect: expected == .halt && address != halt ? .halt : expected)
            XCTAssertEqual(out?.registers[2], 77, "the register write persists even when the jump panics")
        }
    }

    func testBranchesIntoTheMiddleOfInstructionsAndOutsideTheCode() {
        for target: Int64 in [1, 2, 5, 9, 11, -1, 1 << 31, 4_000_000] {
            var b = ProgramBuilder()
            b.emit(.load_imm_64, .r1, .imm(0x1122_3344_5566_7788))   // pc 0..9
            b.emit(.branch_eq_imm, .r2, 0, .pc(target))
            b.emit(.trap)
            run(b.build(), expect: .panic, expectPC: 10)
            var c = ProgramBuilder()
            c.emit(.load_imm, .r1, .imm(0x1234_5678))   // pc 0..5
            c.emit(.jump, .pc(target))
            run(c.build(), expect: .panic, expectPC: 6)
        }
        // A branch to an instruction that is not a block start panics; to one that is, runs.
        var b = ProgramBuilder()
        let notStart = b.makeLabel()
        b.emit(.load_imm, .r1, 1)
        b.bind(notStart)
        b.emit(.add_imm_64, .r1, .r1, 1)
        b.emit(.branch_ne_imm, .r1, 0, .label(notStart))
        run(b.build(), expect: .panic, expectPC: 6)
    }

    func testCodeEndingMidInstruction() {
        // load_imm_64 with only 3 of its 9 operand bytes: the rest read as zero, then the
        // implicit trap past the end.
        var b = ProgramBuilder()
        b.emit(.load_imm, .r1, 5)
        b.rawInstruction([Opcode.load_imm_64.rawValue, 0x03, 0xAA, 0xBB])
        let out = run(b.build(), expect: .panic)
        XCTAssertEqual(out?.registers[3], 0xBBAA)
        XCTAssertEqual(out?.registers[1], 5)
        // A branch whose offset is cut off, and a lone opcode byte of every defined opcode.
        for op in Opcode.allCases {
            var c = ProgramBuilder()
            c.emit(.load_imm, .r2, 0x20100)
            c.rawInstruction([op.rawValue])
            run(c.build(), expect: nil)   // whatever it does (operands all zero), both must agree
        }
        // Skips of 17…24 bytes, and past 24 (the byte after the cap is not an instruction start).
        for extra in 16...27 {
            var c = ProgramBuilder()
            c.rawInstruction([Opcode.add_imm_64.rawValue, 0x11] + [UInt8](repeating: 0x01, count: extra))
            c.emit(.jump_ind, .r0, 0)
            let out = run(c.build(), expect: extra + 1 > 24 ? .panic : .halt)
            XCTAssertEqual(out?.registers[1], 0x0101_0101)
        }
    }

    func testMaximalImmediates() {
        var b = ProgramBuilder()
        b.emit(.load_imm_64, .r1, .imm(UInt64.max))
        b.emit(.load_imm_64, .r2, .imm(0x8000_0000_0000_0000))
        b.emit(.load_imm, .r3, .imm(0xFFFF_FFFF))              // −1
        b.emit(.load_imm, .r4, .imm(0x8000_0000))              // INT32_MIN, sign-extended
        b.emit(.add_imm_64, .r5, .r2, .imm(0x8000_0000), widths: [4])
        b.emit(.and_imm, .r6, .r1, .imm(0x7FFF_FFFF))
        b.emit(.mul_imm_64, .r7, .r2, -1)
        b.emit(.neg_add_imm_64, .r8, .r2, .imm(0x7FFF_FFFF))
        b.emit(.shlo_l_imm_alt_64, .r9, .r3, .imm(0x8000_0000))
        b.emit(.set_lt_s_imm, .r10, .r2, .imm(0x8000_0000))
        b.emit(.set_gt_u_imm, .r11, .r1, .imm(0xFFFF_FFFF))
        b.emit(.rot_r_64_imm_alt, .r12, .r3, .imm(0x8000_0001))
        b.emit(.store_imm_u64, .imm(UInt64(HostileProgramTests.rw)), .imm(0xFFFF_FFFF))
        b.emit(.store_imm_ind_u64, .r0, .imm(0x3_0008)   /* (0xFFFF0000 + 0x30008) mod 2^32 = 0x20008 */, .imm(0x8000_0000))
        b.emit(.branch_eq_imm, .r3, .imm(0xFFFF_FFFF), .pc(Int64(Int32.max)))
        b.emit(.jump_ind, .r0, 0)
        run(b.build(), expect: .panic)
        var c = ProgramBuilder()
        c.emit(.ecalli, .imm(0xFFFF_FFFF))
        c.emit(.jump_ind, .r0, 0)
        run(c.build(), expect: .halt)
    }

    // MARK: - Gas

    /// A negative starting gas (the PVM allows one) runs out of gas at the first charge on both
    /// engines, also where subtracting the charge overflows (gas below Int64.min + charge): a
    /// prologue that tested the sign of the difference ran the block instead.
    func testNegativeStartingGasRunsOutOfGasAtTheFirstCharge() {
        var b = ProgramBuilder()
        let loop = b.makeLabel(), next = b.makeLabel()
        b.emit(.add_imm_64, .r1, .r1, 1)
        b.emit(.add_imm_64, .r2, .r2, 1)
        b.emit(.jump, .label(next))                  // chained: the first prologue charges 5
        b.bind(next)
        b.emit(.store_imm_u32, .imm(UInt64(HostileProgramTests.rw)), 7)
        b.emit(.fallthrough)
        b.bind(loop)
        b.emit(.add_imm_64, .r3, .r3, 1)
        b.emit(.branch_ne_imm, .r3, 1000, .label(loop))
        b.emit(.jump_ind, .r0, 0)
        let blob = b.build()
        // From the start, from the block start of the store (a jump target), and from the
        // middle of the first block (charged by the runtime, not by a prologue).
        let pcs = DecodedProgram(blob).instructions.map(\.pc)
        for gas in [Int64.min, Int64.min + 1, Int64.min + 2, Int64.min + 4, Int64.min + 5, Int64.min + 100,
                    -(1 << 62), -1_000_000, -5, -1] {
            for pc in [pcs[0], pcs[3], pcs[1]] {
                let out = run(blob, gas: gas, pc: pc, expect: .outOfGas, expectPC: pc)
                XCTAssertEqual(out?.gas, gas, "gas \(gas), pc \(pc): nothing is charged")
            }
        }
    }

    // MARK: - Memory

    /// A standard program whose function calls itself through `load_imm_jump` and returns with
    /// `jump_ind`, pushing the return address each time: the stack overflows into the unmapped page
    /// below it and both engines report a page fault there (never a host crash).
    func testDeepRecursionFaultsJustBelowTheStack() throws {
        var b = ProgramBuilder()
        let f = b.label("f"), back = b.makeLabel("back")
        b.emit(.add_imm_64, .sp, .sp, -16)
        b.emit(.store_ind_u64, .ra, .sp, 8)
        b.emit(.load_imm_jump, .ra, .jumpAddress(back), .label(f))
        b.bind(back)
        b.emit(.load_ind_u64, .ra, .sp, 8)
        b.emit(.add_imm_64, .sp, .sp, 16)
        b.emit(.jump_ind, .ra, 0)
        for stack: UInt32 in [4096, 16384, 65536] {
            let standard = StandardProgram(stackSize: stack, blob: b.build())
            let bottom = standard.layout.stackBottom
            let program = GeneratedProgram(seed: 0, blob: standard.blob,
                                           pages: stride(from: bottom, to: GuestMemoryLayout.stackTop, by: 4096)
                                               .map { .init(address: $0, access: .write) },
                                           registers: standard.layout.initialRegisters(inputLength: 0), gas: 10_000_000)
            let reference: EngineFactory = { _ in
                let m = try Interpreter(standard: standard, input: [], gas: 10_000_000)
                return (m, m.memory)
            }
            let candidate: EngineFactory = { _ in
                let m = try JITInstance(standard: standard, input: [], gas: 10_000_000)
                return (m, m.memory)
            }
            do throws(Difference) {
                let out = try Differential.check(program, reference: reference, candidate: candidate)
                XCTAssertEqual(out.final, .pageFault(address: bottom - 4096))
                XCTAssertEqual(out.pc, 3, "the store_ind_u64 faults")
                XCTAssertEqual(out.registers[1], UInt64(bottom) - 16)
            } catch {
                XCTFail(error.description)
            }
        }
    }

    /// Stores that straddle a writable and a read-only (or unmapped) page fault with no partial
    /// write, in every store form and size.
    func testStraddlingStoresWriteNothing() {
        let rw = HostileProgramTests.rw, ro = HostileProgramTests.ro
        for size in [2, 4, 8] {
            for before in 1..<size {
                let address = UInt64(ro) - UInt64(before)
                let log = size == 2 ? 1 : size == 4 ? 2 : 3
                let forms: [(inout ProgramBuilder) -> Void] = [
                    { $0.emit(Opcode(rawValue: 59 + UInt8(log))!, .r1, .imm(address)) },
                    { $0.emit(Opcode(rawValue: 30 + UInt8(log))!, .imm(address), -1) },
                    { $0.emit(.load_imm, .r2, .imm(address - 5)); $0.emit(Opcode(rawValue: 120 + UInt8(log))!, .r1, .r2, 5) },
                    { $0.emit(.load_imm, .r2, .imm(address + 7)); $0.emit(Opcode(rawValue: 70 + UInt8(log))!, .r2, -7, -1) },
                ]
                for form in forms {
                    var b = ProgramBuilder()
                    b.emit(.load_imm_64, .r1, .imm(0x0102_0304_0506_0708))
                    form(&b)
                    b.emit(.jump_ind, .r0, 0)
                    for second: GuestMemory.Access in [.read, .none] {
                        var pages = HostileProgramTests.defaultPages
                        pages[1].access = second
                        if second == .none { pages.removeLast() }
                        let out = run(b.build(), pages: pages, expect: .pageFault(address: ro))
                        XCTAssertEqual(out?.pages[rw]?.suffix(8), [UInt8](repeating: 0xA5, count: 8)[...],
                                       "no partial write")
                    }
                }
            }
        }
        // The same stores one byte lower fit in the writable page.
        var b = ProgramBuilder()
        b.emit(.load_imm_64, .r1, .imm(UInt64.max))
        b.emit(.store_u64, .r1, .imm(UInt64(rw) + 4088))
        b.emit(.jump_ind, .r0, 0)
        run(b.build(), expect: .halt)
    }

    /// Accesses at 0xFFFFFFFx: below the end they work; past it they wrap to page 0, which is
    /// inaccessible (panic, below 64 KiB) unless mapped (then the access wraps and succeeds).
    func testAccessesWrappingAtTheTopOfTheAddressSpace() {
        let top = GeneratedProgram.Page(address: 0xFFFF_F000, access: .write, contents: (0..<4096).map { UInt8($0 & 0xFF) })
        let zero = GeneratedProgram.Page(address: 0, access: .write, contents: (0..<4096).map { UInt8(($0 * 7) & 0xFF) })
        for address: UInt64 in [0xFFFF_FFF8, 0xFFFF_FFF9, 0xFFFF_FFFC, 0xFFFF_FFFD, 0xFFFF_FFFF] {
            for (size, load, store) in [(8, Opcode.load_u64, Opcode.store_u64), (4, .load_i32, .store_u32), (2, .load_i16, .store_u16), (1, .load_u8, .store_u8)] {
                let wraps = address + UInt64(size) > 1 << 32
                for (base, offset) in [(address, UInt64(0)), (address &- 0x1000, 0x1000), (address | 0xABCD_0000_0000_0000, 0)] {
                    var b = ProgramBuilder()
                    b.emit(.load_imm_64, .r2, .imm(base))
                    b.emit(.load_imm_64, .r1, .imm(0x1122_3344_5566_7788))
                    b.emit(Opcode(rawValue: load.rawValue + 72)!, .r3, .r2, .imm(offset))    // load_ind_*
                    b.emit(Opcode(rawValue: store.rawValue + 61)!, .r1, .r2, .imm(offset))   // store_ind_*
                    b.emit(.jump_ind, .r0, 0)
                    run(b.build(), pages: [top], expect: wraps ? .panic : .halt)
                    let out = run(b.build(), pages: [top, zero], expect: .halt)
                    if wraps { XCTAssertNotEqual(out?.registers[3], 0) }
                }
            }
        }
    }

    // MARK: - Arithmetic with register aliasing

    /// For each op and each (d, a, b) over `regs` (aliasing included), runs the op over every pair
    /// of `values` and stores each result, so every intermediate value is compared.
    func matrix(_ ops: [Opcode], regs: [UInt8], values: [UInt64], file: StaticString = #filePath, line: UInt = #line) {
        let base: UInt8 = 5
        for op in ops {
            for d in regs {
                for a in regs {
                    for bReg in regs {
                        var b = ProgramBuilder()
                        b.emit(.load_imm, .reg(base), .imm(UInt64(HostileProgramTests.rw)))
                        var slot: UInt64 = 0
                        for x in values {
                            for y in values where a != bReg || x == y {
                                b.emit(.load_imm_64, .reg(a), .imm(x))
                                b.emit(.load_imm_64, .reg(bReg), .imm(y))
                                switch op.form {
                                case .regRegReg: b.emit(op, .reg(d), .reg(a), .reg(bReg))
                                case .regRegImm:   // rA = f(rB, imm): the register operand is the count
                                    b.emit(op, .reg(d), .reg(bReg), .imm(UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: x)))))
                                default: preconditionFailure()
                                }
                                b.emit(.store_ind_u64, .reg(d), .reg(base), .imm(slot % 4096 & ~7))
                                slot += 8
                            }
                        }
                        b.emit(.load_imm_64, .r4, .imm(HostileProgramTests.halt))   // r0 may be an operand
                        b.emit(.jump_ind, .r4, 0)
                        var regsInit = [UInt64](repeating: 0, count: 13)
                        regsInit[0] = HostileProgramTests.halt
                        run(b.build(), registers: regsInit, expect: .halt, file: file, line: line)
                    }
                }
            }
        }
    }

    func testDivisionEdgeCasesWithEveryAliasing() {
        matrix([.div_u_32, .div_s_32, .rem_u_32, .rem_s_32, .div_u_64, .div_s_64, .rem_u_64, .rem_s_64],
               regs: [12, 1, 3],
               values: [0, 1, 7, UInt64.max, 0x8000_0000_0000_0000, 0xFFFF_FFFF_8000_0000, 0x8000_0000,
                        0xFFFF_FFFF, 0xFFFF_FFFF_0000_0000, 0x1_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFF9])
    }

    func testShiftsByRegistersIncludingTheCountInR1() {
        matrix([.shlo_l_32, .shlo_r_32, .shar_r_32, .shlo_l_64, .shlo_r_64, .shar_r_64,
                .rot_l_64, .rot_l_32, .rot_r_64, .rot_r_32,
                .shlo_l_imm_alt_32, .shlo_r_imm_alt_32, .shar_r_imm_alt_32, .shlo_l_imm_alt_64,
                .shlo_r_imm_alt_64, .shar_r_imm_alt_64, .rot_r_64_imm_alt, .rot_r_32_imm_alt],
               regs: [1, 12, 2],
               values: [0, 1, 31, 32, 33, 63, 64, 65, UInt64.max, 0x8000_0000_0000_0001, 0xF0F0_F0F0_8000_00FF])
    }

    func testMultiplyUpperWithAliasing() {
        matrix([.mul_upper_s_s, .mul_upper_u_u, .mul_upper_s_u, .mul_64, .mul_32],
               regs: [12, 1, 0],
               values: [0, 1, 2, UInt64.max, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF,
                        0x1_0000_0000, 0xFFFF_FFFF_8000_0000, 0xDEAD_BEEF_CAFE_F00D])
    }
}
