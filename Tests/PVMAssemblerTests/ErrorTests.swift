import PVM
import XCTest

@testable import PVMAssembler

/// Every error names its line, column and what was expected.
final class ErrorTests: XCTestCase {
    /// Asserts that assembling `source` fails at `line`:`column` with a message containing `text`.
    func expectError(_ source: String, line: Int, column: Int, _ text: String,
                     file: StaticString = #filePath, lineNumber: UInt = #line) {
        do {
            let program = try Assembler.assemble(source)
            XCTFail("assembled without error: \(program)", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.line, line, "line of: \(error)", file: file, line: lineNumber)
            XCTAssertEqual(error.column, column, "column of: \(error)", file: file, line: lineNumber)
            XCTAssertTrue(error.message.contains(text), "message '\(error.message)' lacks '\(text)'",
                          file: file, line: lineNumber)
        }
    }

    func testUnknownMnemonic() {
        expectError("trap\n  ad_64 r1, r2, r3", line: 2, column: 3, "unknown mnemonic 'ad_64'")
        expectError("ADD_64 r1, r2, r3", line: 1, column: 1, "unknown mnemonic")
    }

    func testWrongOperandCount() {
        expectError("add_64 r1, r2", line: 1, column: 1, "'add_64' expects 3 operands (rD, rA, rB), found 2")
        expectError("trap r1", line: 1, column: 6, "'trap' expects no operands, found 1")
        expectError("load_imm r1, 2, 3", line: 1, column: 17, "expects 2 operands")
        expectError("move_reg r1,", line: 1, column: 13, "expected an operand after ','")
    }

    func testBadRegister() {
        expectError("add_64 r1, r13, r2", line: 1, column: 12, "bad register 'r13'")
        expectError("move_reg r1, 5", line: 1, column: 14, "expected a register")
        expectError("load_imm 5, r1", line: 1, column: 10, "expected a register")
        expectError("load_imm r1, r2", line: 1, column: 14, "expected an immediate")
    }

    func testImmediateOutOfRange() {
        expectError("load_imm r1, 0x100000000", line: 1, column: 14, "out of range")
        expectError("load_imm r1, -0x80000001", line: 1, column: 14, "expected a 32-bit value")
        expectError("load_imm_64 r1, -0x8000000000000001", line: 1, column: 17, "expected a 64-bit value")
        expectError("load_imm r1, 0x10000000000000000", line: 1, column: 14, "number out of range")
        expectError(".ro_data\n.byte 1, 256", line: 2, column: 10, "expected a 8-bit value")
        expectError(".imm_width 1\nload_imm r1, 300", line: 2, column: 1, "does not fit in the 1 bytes")
        expectError(".imm_width 5\ntrap", line: 1, column: 12, "expected a width of 0 … 4")
        expectError("jump @0x80000000", line: 1, column: 1, "does not fit in 32 bits")
    }

    func testUndefinedLabel() {
        expectError("trap\njump nowhere", line: 2, column: 6, "undefined label 'nowhere'")
        expectError("load_imm r1, &gone", line: 1, column: 15, "undefined label 'gone'")
        expectError(".jump_table x", line: 1, column: 13, "undefined label 'x'")
        expectError("load_imm r1, data + 4", line: 1, column: 14, "undefined label 'data'")
    }

    func testDuplicateLabel() {
        expectError("a: trap\nb: trap\n  a: trap", line: 3, column: 3, "duplicate label 'a' (first defined at line 1)")
        expectError("x: trap\n.ro_data\nx: .byte 1", line: 3, column: 1, "duplicate label 'x'")
    }

    func testLabelKindMismatches() {
        expectError("f: trap\nload_imm r1, f", line: 2, column: 14, "'f' is a code label: write &f")
        expectError(".ro_data\nd: .byte 0\n.code\njump d", line: 4, column: 6, "'d' is a data label")
        expectError("jump 12", line: 1, column: 6, "expected a label or @pc")
        expectError("r1: trap", line: 1, column: 1, "'r1' is a register name")
    }

    func testSyntaxErrors() {
        expectError(".bogus 1", line: 1, column: 1, "unknown directive '.bogus'")
        expectError(".ro_data\n.ascii \"abc", line: 2, column: 8, "unterminated string")
        expectError(".ro_data\n.ascii \"\\q\"", line: 2, column: 9, "unknown escape")
        expectError("load_imm r1, 12abc", line: 1, column: 16, "expected a digit")
        expectError("load_imm r1, 5 5", line: 1, column: 16, "expected ',', '+', '-' or end of line")
        expectError("trap ! ", line: 1, column: 6, "unexpected character '!'")
        expectError(".byte 1", line: 1, column: 1, "outside a data section")
        expectError(".rw_data\ntrap", line: 2, column: 1, "in a data section")
        expectError(".imm_width 1", line: 1, column: 1, "must be followed by an instruction")
        expectError("x: .imm_width 1\n.raw_bytes 1\nload_imm r1, 1", line: 1, column: 4, "found '.raw_bytes' on line 2")
        expectError(".imm_width 1, 1\nload_imm r1, 1", line: 1, column: 1, "gives 2 widths but 'load_imm' has 1")
        expectError(".raw_bytes 256", line: 1, column: 12, "expected a byte value")
    }

    func testLayoutTooLarge() {
        expectError(".stack_size 0xFFFFFF\n.heap_pages 0xFFFF\n.rw_data\n.zero 0xFFFFFF\n.ro_data\n.zero 0xFFFFFF\n.zero 0xFFFFFF",
                    line: 7, column: 1, "each data section < 16 MiB")
    }

    func testErrorDescription() {
        XCTAssertEqual(AssemblyError(line: 3, column: 7, message: "boom").description, "3:7: error: boom")
    }
}
