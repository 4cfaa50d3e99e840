import PVM
import XCTest

/// Memory, control flow, gas and host calls: the behaviour the JAM vectors do not cover, each case
/// run on both engines.
final class ControlAndMemoryTests: XCTestCase {
    let rw: (UInt32, UInt32, Bool) = (0x20000, 0x2000, true)     // two writable pages
    func machine(pages: [(UInt32, UInt32, Bool)] = [], gas: Int64 = 10_000, regs: [Int: UInt64] = [:]) -> Machine {
        var m = Machine()
        m.pages = pages.map { (address: $0.0, length: $0.1, writable: $0.2) }
        m.gas = gas
        for (r, v) in regs { m[r] = v }
        return m
    }

    // MARK: memory

    func testLoadsAndStoresOfEverySize() {
        let out = Engines.run("""
            load_imm_64 r1, 0x8899AABBCCDDEEFF
            store_u64 r1, 0x20000
            load_u8 r2, 0x20000
            load_i8 r3, 0x20000
            load_u16 r4, 0x20000
            load_i16 r5, 0x20000
            load_u32 r6, 0x20000
            load_i32 r7, 0x20000
            load_u64 r8, 0x20000
            store_imm_u16 0x20010, 0xBEEF
            load_imm r9, 0x20000
            store_imm_ind_u32 r9, 0x20, 0x80000000
            store_ind_u8 r1, r9, 0x30
            load_ind_i16 r10, r9, 0x10
            trap
            """, machine(pages: [rw]))
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out[2], 0xFF)
        XCTAssertEqual(out[3], .max)
        XCTAssertEqual(out[4], 0xEEFF)
        XCTAssertEqual(out[5], 0xFFFF_FFFF_FFFF_EEFF)
        XCTAssertEqual(out[6], 0xCCDD_EEFF)
        XCTAssertEqual(out[7], 0xFFFF_FFFF_CCDD_EEFF)
        XCTAssertEqual(out[8], 0x8899_AABB_CCDD_EEFF)
        XCTAssertEqual(out[10], 0xFFFF_FFFF_FFFF_BEEF)
        let page = out.pages[0]!
        XCTAssertEqual(Array(page[0x20..<0x24]), [0, 0, 0, 0x80])
        XCTAssertEqual(page[0x30], 0xFF)
    }

    func testWriteToReadOnlyPageIsAPageFault() {
        let out = Engines.run("load_imm r1, 7\nstore_u8 r1, 0x30004\ntrap",
                              machine(pages: [(0x30000, 0x1000, false)]))
        XCTAssertEqual(out.reason, .pageFault(address: 0x30000))
        XCTAssertEqual(out.pc, 3)                         // the store's pc
        XCTAssertEqual(out.pages[0]!.allSatisfy { $0 == 0 }, true)
        XCTAssertEqual(out.gas, 10_000 - 3)               // the whole block was charged on entry
    }

    func testStraddlingStoreIntoReadOnlyPageWritesNothing() {
        // 0x20FFE..0x21005 crosses from a writable page into a read-only one.
        let out = Engines.run("load_imm_64 r1, 0x1122334455667788\nstore_u64 r1, 0x20FFE\ntrap",
                              machine(pages: [(0x20000, 0x1000, true), (0x21000, 0x1000, false)]))
        XCTAssertEqual(out.reason, .pageFault(address: 0x21000))
        XCTAssertEqual(out.pages[0]!.suffix(2), [0, 0], "no partial write")
    }

    func testStraddlingLoadAcrossTwoReadablePages() {
        var m = machine(pages: [(0x20000, 0x1000, true), (0x21000, 0x1000, false)])
        m.memory = [(0x20FFC, [1, 2, 3, 4]), (0x21000, [5, 6, 7, 8])]
        let out = Engines.run("load_u64 r1, 0x20FFC\ntrap", m)
        XCTAssertEqual(out[1], 0x0807_0605_0403_0201)
    }

    func testLowestBadPageIsReported() {
        // An 8-byte load at 0x21FFC touches 0x21000 (mapped) and 0x22000 (not).
        let out = Engines.run("load_u64 r1, 0x21FFC\ntrap", machine(pages: [(0x21000, 0x1000, true)]))
        XCTAssertEqual(out.reason, .pageFault(address: 0x22000))
    }

    func testAccessesBelow64KiBPanic() {
        let out = Engines.run("load_u8 r1, 0xFFFF\ntrap", machine())
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out.pc, 0)
    }

    func testAddressesWrapModulo2To32() {
        // r1 + 0x20010 wraps to 0x20008 when r1 = 2^32 - 8 (only the low 32 bits count).
        var m = machine(pages: [rw], regs: [1: 0xFFFF_FFF8])
        m.memory = [(0x20008, [0x5A])]
        let out = Engines.run("load_ind_u8 r2, r1, 0x20010\ntrap", m)
        XCTAssertEqual(out[2], 0x5A)
        // A 4-byte access at 0xFFFFFFFE wraps to bytes 0 and 1, in the panic zone.
        let wrap = Engines.run("load_u32 r2, 0xFFFFFFFE\ntrap", machine(pages: [(0xFFFF_F000, 0x1000, true)]))
        XCTAssertEqual(wrap.reason, .panic)
        // Legal when both ends are mapped: the last page and page 0.
        var both = machine(pages: [(0xFFFF_F000, 0x1000, true), (0, 0x1000, true)])
        both.memory = [(0xFFFF_FFFE, [1, 2]), (0, [3, 4])]
        let legal = Engines.run("load_u32 r2, 0xFFFFFFFE\nload_imm_64 r3, 0xAABBCCDD\nstore_u32 r3, 0xFFFFFFFF\ntrap", both)
        XCTAssertEqual(legal.reason, .panic)
        XCTAssertEqual(legal.pc, 16)
        XCTAssertEqual(legal[2], 0x0403_0201)
        XCTAssertEqual(legal.pages[0]!.last, 0xDD)
        XCTAssertEqual(Array(legal.pages[1]!.prefix(3)), [0xCC, 0xBB, 0xAA])
    }

    // MARK: control flow

    func testBranchesTakenAndNotTaken() {
        let out = Engines.run("""
                load_imm r1, 5
                branch_eq_imm r1, 4, wrong
                branch_lt_u_imm r1, 6, right
            wrong:
                load_imm r2, 1
                trap
            right:
                load_imm r2, 2
                trap
            """, machine())
        XCTAssertEqual(out[2], 2)
    }

    func testBranchToANonBlockStartPanicsAtTheBranch() {
        let out = Engines.run("load_imm r1, 1\nbranch_eq_imm r1, 1, @1\ntrap", machine())
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out.pc, 3)
    }

    func testDynamicJumps() {
        let source = """
                .jump_table target
                jump_ind r1, 0
            target:
                load_imm r2, 9
                trap
            """
        XCTAssertEqual(Engines.run(source, machine(regs: [1: 2]))[2], 9)                  // slot 1
        XCTAssertEqual(Engines.run(source, machine(regs: [1: 0xFFFF_0000])).reason, .halt)
        XCTAssertEqual(Engines.run(source, machine(regs: [1: 0])).reason, .panic)        // address 0
        XCTAssertEqual(Engines.run(source, machine(regs: [1: 3])).reason, .panic)        // misaligned
        XCTAssertEqual(Engines.run(source, machine(regs: [1: 4])).reason, .panic)        // past the table
        XCTAssertEqual(Engines.run(source, machine(regs: [1: 0x1_0000_0002]))[2], 9)    // mod 2^32
        let halt = Engines.run(source, machine(regs: [1: 0xFFFF_0000]))
        XCTAssertEqual(halt.pc, 0)
        XCTAssertEqual(halt.gas, 10_000 - 1)
        // An entry that names a position which is not a block start panics.
        let bad = Engines.run(".jump_table @1\nload_imm r1, 2\njump_ind r1, 0\ntrap", machine())
        XCTAssertEqual(bad.reason, .panic)
        XCTAssertEqual(bad.pc, 3)
    }

    func testLoadImmJumpIndReadsTheOldRegisterAndKeepsItsWriteOnPanic() {
        let out = Engines.run(".jump_table t\nload_imm_jump_ind r1, r1, 77, 0\nt: trap", machine(regs: [1: 2]))
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out.pc, 4)             // the trap at `t`
        XCTAssertEqual(out[1], 77)
        let bad = Engines.run("load_imm_jump_ind r1, r1, 77, 0\ntrap", machine(regs: [1: 5]))
        XCTAssertEqual(bad.reason, .panic)
        XCTAssertEqual(bad[1], 77)
    }

    func testPCPastTheEndOfTheCodeTraps() {
        // Falling off the end executes the implicit trap at pc = |code|, which costs 1.
        let out = Engines.run("load_imm r1, 1", machine())
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out.pc, 3)
        XCTAssertEqual(out.gas, 10_000 - 2)
        // Starting beyond the code: a trap at the start pc, costing 1.
        var m = machine()
        m.pc = 100
        let start = Engines.run("load_imm r1, 1", m)
        XCTAssertEqual(start.reason, .panic)
        XCTAssertEqual(start.gas, 10_000 - 1)
    }

    func testSkipsLongerThan16() {
        // load_imm with 20 trailing operand bytes: the immediate uses at most 4 of them, the rest
        // is skipped; execution continues at pc 22.
        let out = Engines.run("""
            .raw_instruction 51, 1, 0x2A
            .raw_bytes 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
            load_imm r2, 3
            trap
            """, machine())
        XCTAssertEqual(out[1], 42)
        XCTAssertEqual(out[2], 3)
        XCTAssertEqual(out.pc, 25)
        // A skip is capped at 24: 30 bytes without a bitmask bit land on a non-instruction byte.
        let capped = Engines.run(".raw_instruction 51, 1, 1\n.raw_bytes " + Array(repeating: "0", count: 28).joined(separator: ",")
                                 + "\nload_imm r2, 3\ntrap", machine())
        XCTAssertEqual(capped.reason, .panic)
        XCTAssertEqual(capped.pc, 25)
        XCTAssertEqual(capped[2], 0)
    }

    func testJumpTableEntrySizesZeroToFour() throws {
        // The same program (a djump through slot 1 to pc 3) with each entry width; width 0
        // makes every entry 0, which names pc 0.
        for z in 0...4 {
            let code: [UInt8] = [50, 0x01, 0, 51, 2, 7, 0]   // jump_ind r1, 0 (padded) ; load_imm r2, 7 ; trap
            let mask: [UInt8] = [0b0100_1001]
            var bytes: [UInt8] = [1, UInt8(z), UInt8(code.count)]
            if z > 0 { encodeFixed(3, width: z, into: &bytes) }
            bytes += code + mask
            let blob = try ProgramBlob(decoding: bytes)
            XCTAssertEqual(blob.jumpTable, [z == 0 ? 0 : 3])
            var m = machine(gas: 20, regs: [1: 2])
            m.pc = 0
            let out = Engines.run(blob: blob, m)
            if z == 0 {
                // pc 0 is a block start: the loop runs until the gas is gone.
                XCTAssertEqual(out.reason, .outOfGas)
            } else {
                XCTAssertEqual(out[2], 7, "entry size \(z)")
            }
        }
    }

    // MARK: gas

    let countdown = """
            load_imm r1, 3
            fallthrough
        loop:
            add_imm_64 r1, r1, -1
            branch_ne_imm r1, 0, loop
            trap
        """
    // Blocks: [load_imm, fallthrough] = 2, then 3 × [add, branch] = 6, then [trap] = 1: 9 in all.

    func testGasExactlySufficient() {
        let out = Engines.run(countdown, machine(gas: 9))
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out.gas, 0)
    }

    func testOutOfGasExactlyAtABlockBoundary() {
        let out = Engines.run(countdown, machine(gas: 8))
        XCTAssertEqual(out.reason, .outOfGas)
        XCTAssertEqual(out.gas, 0)             // nothing of the trap's block ran or was charged
        XCTAssertEqual(out.pc, 10)             // the pc of the block that did not fit
        XCTAssertEqual(out[1], 0)
        let mid = Engines.run(countdown, machine(gas: 5))
        XCTAssertEqual(mid.reason, .outOfGas)
        XCTAssertEqual(mid.gas, 1)             // 2 + 2 charged; the next 2-instruction block does not fit
        XCTAssertEqual(mid.pc, 4)
        XCTAssertEqual(mid[1], 2)              // the state after the last whole block
    }

    // MARK: host calls and sbrk

    func testEcalliExitsAndResumesAfterTheInstruction() {
        var calls: [UInt64] = []
        let out = Engines.run("load_imm r7, 5\necalli 100\nadd_imm_64 r7, r7, 1\necalli 7\ntrap", machine()) { id, vm in
            calls.append(id)
            var regs = vm.registers
            regs[7] *= 10
            vm.registers = regs
        }
        XCTAssertEqual(calls, [100, 7, 100, 7])     // both engines, in order
        XCTAssertEqual(out[7], 510)
        XCTAssertEqual(out.reason, .panic)
        XCTAssertEqual(out.gas, 10_000 - 5)          // one block, charged once despite the exits
    }

    func testEcalliExitReportsItsPC() {
        let out = Engines.run("load_imm r7, 5\necalli 3\ntrap", machine(), maxExits: 1) { _, _ in }
        XCTAssertEqual(out.reason, .hostCall(id: 3))
        XCTAssertEqual(out.pc, 3)
    }

    func testSbrkGrowsTheHeap() throws {
        let source = """
            .heap_pages 1
            .code
                load_imm r1, 0
                sbrk r2, r1             ; current end
                load_imm r1, 5000
                sbrk r3, r1             ; grows by 5000: two new pages
                store_ind_u8 r1, r3, 4999
                sbrk r4, r6             ; r6 = 0: the new end
                load_imm_64 r1, 0x100000000
                sbrk r5, r1             ; too much: 0
                jump_ind ra, 0
            """
        let program = try PVMAssemblerBridge.standard(source)
        for engine in ["interpreter", "jit"] {
            let vm: any PVMInstance = engine == "jit"
                ? try PVMAssemblerBridge.jit(program) : try Interpreter(standard: program, input: [], gas: 1000)
            XCTAssertEqual(vm.run(), .halt, engine)
            let r = vm.registers
            XCTAssertEqual(r[2], 0x21000, engine)
            XCTAssertEqual(r[3], 0x21000, engine)
            XCTAssertEqual(r[4], 0x21000 + 5000, engine)
            XCTAssertEqual(r[5], 0, engine)
            XCTAssertEqual(vm.readMemory(0x21000 + 4999, count: 1), [0x88], engine)
            XCTAssertNil(vm.readMemory(0x23000, count: 1), engine)
        }
    }
}
