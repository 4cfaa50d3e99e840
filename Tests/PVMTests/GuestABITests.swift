import JIT
import PVM
import PVMAssembler
import XCTest

/// The validation guest ABI (docs/guest-abi.md) on both engines.
final class GuestABITests: XCTestCase {
    func invokeBoth(_ source: String, input: [UInt8] = [], gas: Int64 = 10_000,
                    file: StaticString = #filePath, line: UInt = #line) throws -> InvocationResult {
        let program = try Assembler.assemble(source)
        let a = GuestABI.invoke(try Interpreter(standard: program, input: input, gas: gas), initialGas: gas)
        let b = GuestABI.invoke(try JITInstance(standard: program, input: input, gas: gas), initialGas: gas)
        XCTAssertEqual(a, b, "interpreter and JIT disagree", file: file, line: line)
        return a
    }

    func testEchoReturnsTheInput() throws {
        let r = try invokeBoth("jump_ind ra, 0", input: Array("hello".utf8))
        XCTAssertEqual(r.status, .halt(output: Array("hello".utf8)))
        XCTAssertEqual(r.gasUsed, 1)
    }

    func testInitialRegistersAndLayout() throws {
        let r = try invokeBoth("""
            .stack_size 8192
            .ro_data
            ro: .byte 1
            .code
                load_u8 r2, ro
                store_u8 r2, 0xFEFDE000   ; the lowest stack page
                jump_ind ra, 0
            """, input: [9, 9, 9])
        XCTAssertEqual(r.registers[0], 0xFFFF_0000)
        XCTAssertEqual(r.registers[1], 0xFEFE_0000)
        XCTAssertEqual(r.registers[7], 0xFEFF_0000)
        XCTAssertEqual(r.registers[8], 3)
        XCTAssertEqual(r.registers[2], 1)
        XCTAssertEqual(r.status, .halt(output: [9, 9, 9]))
    }

    func testStackOverflowIsAPageFaultBelowTheStack() throws {
        let r = try invokeBoth(".stack_size 4096\nstore_u8 r0, 0xFEFDEFFF\njump_ind ra, 0")
        XCTAssertEqual(r.status, .pageFault(pc: 0, address: 0xFEFD_E000))
    }

    func testGasHostCall() throws {
        let r = try invokeBoth("ecalli 0\njump_ind ra, 0", gas: 100)
        // 2 instructions charged on entry, then the host call's 10.
        XCTAssertEqual(r.registers[7], 88)
        XCTAssertEqual(r.gasUsed, 12)
    }

    func testUnknownHostCallReturnsWhat() throws {
        let r = try invokeBoth("ecalli 12345\njump_ind ra, 0")
        XCTAssertEqual(r.registers[7], UInt64.max - 1)
    }

    func testHostCallWithoutEnoughGasIsOutOfGas() throws {
        let r = try invokeBoth("ecalli 0\njump_ind ra, 0", gas: 11)
        XCTAssertEqual(r.status, .outOfGas(pc: 0))
        XCTAssertEqual(r.gasUsed, 2)
    }

    func testLogRecordsMessagesAndReturnsWhat() throws {
        let r = try invokeBoth("""
            .ro_data
            target: .ascii "tgt"
            msg: .ascii "hello"
            .code
                load_imm r7, 2
                load_imm r8, target
                load_imm r9, 3
                load_imm r10, msg
                load_imm r11, 5
                ecalli 100
                move_reg r12, r7
                load_imm r7, 3
                load_imm r8, 0
                load_imm r9, 0
                load_imm r10, 0x12345000   ; unreadable: no message
                ecalli 100
                load_imm r7, 0
                load_imm r8, 0
                jump_ind ra, 0
            """)
        XCTAssertEqual(r.logs, [LogMessage(level: 2, target: Array("tgt".utf8), message: Array("hello".utf8))])
        XCTAssertEqual(r.registers[12], UInt64.max - 1)
        XCTAssertEqual(r.status, .halt(output: []))
    }

    func testUnreadableOutputIsEmpty() throws {
        let r = try invokeBoth("load_imm r7, 0x12340000\nload_imm r8, 4\njump_ind ra, 0")
        XCTAssertEqual(r.status, .halt(output: []))
    }

    func testPanicAndPageFaultVerdicts() throws {
        XCTAssertEqual(try invokeBoth("load_imm r1, 1\ntrap").status, .panic(pc: 3))
        XCTAssertEqual(try invokeBoth("load_u8 r1, 0x50000\ntrap").status, .pageFault(pc: 0, address: 0x50000))
        XCTAssertEqual(try invokeBoth("store_u8 r1, 0xFEFF0000\ntrap", input: [1]).status,
                       .pageFault(pc: 0, address: 0xFEFF_0000))   // the input is read-only
    }

    func testSbrkAnswersByTheLayoutAlone() throws {
        // No budget: 1.5 GiB twice fits below the stack (0xFEFE0000 here), a third time does not.
        let program = try Assembler.assemble(
            "load_imm r1, 0x60000000\nsbrk r2, r1\nsbrk r3, r1\nsbrk r4, r1\nload_imm r6, 0\nsbrk r5, r6\njump_ind ra, 0")
        let r = GuestABI.invoke(try Interpreter(standard: program, input: [], gas: 100), initialGas: 100)
        let j = GuestABI.invoke(try JITInstance(standard: program, input: [], gas: 100), initialGas: 100)
        XCTAssertEqual(r, j)
        XCTAssertEqual(r.status, .halt(output: []))
        XCTAssertEqual([r.registers[2], r.registers[3], r.registers[4], r.registers[5]],
                       [0x20000, 0x6002_0000, 0, 0xC002_0000], "the third would pass the stack's zone")
    }

    func testSbrkWithinTheBudgetReturns() throws {
        let program = try Assembler.assemble("load_imm r1, 0x10000\nsbrk r2, r1\nsbrk r3, r1\njump_ind ra, 0")
        let budget = MemoryBudget(maxBytes: 0x20000) { requested in fatalError("budget exceeded: \(requested)") }
        let r = GuestABI.invoke(try Interpreter(standard: program, input: [], gas: 100, budget: budget), initialGas: 100)
        let j = GuestABI.invoke(try JITInstance(standard: program, input: [], gas: 100, budget: budget), initialGas: 100)
        XCTAssertEqual(r, j)
        XCTAssertEqual([r.registers[2], r.registers[3]], [0x20000, 0x30000], "128 KiB of heap fit a 128 KiB budget")
    }
}
