import Foundation
import PVM
import XCTest

@testable import PVMAssembler

/// Standard programs (data sections, sizes), the builder, and the documentation examples.
final class ProgramTests: XCTestCase {
    func testDataSectionsAndAddresses() throws {
        let program = try Assembler.assemble("""
            .stack_size 0x2000
            .heap_pages 3
            .ro_data
            msg:    .ascii "hi\\n\\x00\\\\\\"", "!"
            words:  .u16 0xBEEF, -1
                    .u32 msg + 1
                    .u64 0x0123456789ABCDEF, &handler
            .rw_data
            buf:    .zero 5
                    .align 4
            count:  .u32 7
            .code
                    load_imm a0, msg
                    load_imm a1, buf
                    load_imm a2, count + 4
                    load_imm a3, words
            handler: trap
            """)
        XCTAssertEqual(program.stackSize, 0x2000)
        XCTAssertEqual(program.extraHeapPages, 3)
        XCTAssertEqual(program.readOnlyData,
                       Array("hi\n\0\\\"!".utf8) + [0xEF, 0xBE, 0xFF, 0xFF, 0x01, 0x00, 0x01, 0x00]
                       + [0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01] + [2, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(program.readWriteData, [0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0])
        let blob = program.blob
        XCTAssertEqual(blob.decode(at: 0).immX, 0x10000)
        // h = 2·Z_Z + Q(|o|): one zone of read-only data puts the heap at 0x30000.
        XCTAssertEqual(program.layout.heapBase, 0x30000)
        XCTAssertEqual(blob.decode(at: Int(blob.decode(at: 0).nextPC)).immX, 0x30000)
        let pcs = sequence(first: 0) { Int(blob.decode(at: $0).nextPC) }.prefix(4).map { $0 }
        XCTAssertEqual(blob.decode(at: pcs[2]).immX, 0x30000 + 12)
        XCTAssertEqual(blob.decode(at: pcs[3]).immX, 0x10007)
        XCTAssertEqual(blob.jumpTable, [UInt32(blob.code.count - 1)])

        // The container encodes and decodes, and the disassembly reassembles to the same program.
        XCTAssertEqual(try StandardProgram(decoding: program.encoded()), program)
        let text = Disassembler.disassemble(program)
        XCTAssertTrue(text.hasPrefix(".stack_size 8192\n.heap_pages 3\n.ro_data\n"), text)
        XCTAssertEqual(try Assembler.assemble(text), program, text)
    }

    func testHeapBaseFollowsReadOnlySize() throws {
        let program = try Assembler.assemble("""
            .ro_data
            .zero 0x10001
            .rw_data
            x: .byte 1
            .code
            load_imm r1, x
            """)
        XCTAssertEqual(program.layout.heapBase, 0x40000)
        XCTAssertEqual(program.blob.decode(at: 0).immX, 0x40000)
    }

    func testBuilder() throws {
        var b = ProgramBuilder()
        let loop = b.makeLabel("loop")
        let done = b.makeLabel()
        b.emit(.load_imm, .r1, 10)
        b.bind(loop)
        b.emit(.add_imm_64, .r1, .r1, -1)
        b.emit(.branch_ne_imm, .r1, 0, .label(loop))
        b.emit(.load_imm, .a0, .jumpAddress(done))
        b.emit(.load_imm_64, .a5, .imm(.max))
        b.emit(.jump, .pc(-3))
        b.emit(.load_imm, .r2, 5, widths: [4])
        b.rawInstruction([0xFF])
        b.bind(done)
        b.emit(.jump_ind, .ra, 0)
        let blob = b.build()
        let text = Disassembler.disassemble(blob)
        XCTAssertEqual(text, """
                .jump_table L31                     ; entries 0…0
                load_imm r1, 10                     ; pc 0
            L3:
                add_imm_64 r1, r1, -1               ; pc 3
                branch_ne_imm r1, 0, L3             ; pc 6
                load_imm r7, 2                      ; pc 9
                load_imm_64 r12, 0xffffffffffffffff ; pc 12
                jump @-3                            ; pc 22
                .imm_width 4                        ; pc 24
                load_imm r2, 5                      ; pc 24
                .raw_instruction 0xff               ; pc 30
            L31:
                jump_ind r0, 0                      ; pc 31

            """)
        XCTAssertEqual(try Assembler.assembleBlob(text), blob)
        XCTAssertThrowsError(try { () throws(AssemblyError) in
            var bad = ProgramBuilder()
            bad.emit(.jump, .label(bad.makeLabel("never")))
            _ = try bad.buildChecked()
        }())
    }

    /// The examples in docs/assembly.md assemble, and the main one has the documented shape.
    func testDocumentationExamples() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/assembly.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        let blocks = doc.components(separatedBy: "```pvmasm\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        XCTAssertGreaterThanOrEqual(blocks.count, 2)
        for block in blocks {
            let program = try Assembler.assemble(block)
            XCTAssertEqual(try Assembler.assemble(Disassembler.disassemble(program)), program)
            // Every branch and jump-table target is a basic-block start (else it would panic).
            let decoded = DecodedProgram(program.blob)
            for (i, ins) in decoded.instructions.enumerated() where ins.opcode.form.operandKinds.contains(.target) {
                XCTAssertGreaterThanOrEqual(decoded.branchTarget[i], 0, "branch at pc \(ins.pc) to a non-block-start")
            }
            XCTAssertFalse(decoded.jumpTarget.contains(-1), "jump-table entry to a non-block-start")
        }
        // The example program: entry at pc 0, halts through `jump_ind ra, 0`.
        let example = try Assembler.assemble(blocks[0]).blob
        XCTAssertTrue(example.bitmask.first ?? false)
        var pc = 0
        var halts = false
        while pc < example.code.count {
            let ins = example.decode(at: pc)
            if ins.opcode == .jump_ind && ins.a == 0 && ins.immX == 0 { halts = true }
            pc = Int(ins.nextPC)
        }
        XCTAssertTrue(halts)
    }
}
