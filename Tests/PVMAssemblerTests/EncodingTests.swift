import PVM
import XCTest

@testable import PVMAssembler

/// Per form: assemble, decode with `ProgramBlob.decode(at:)`, check every operand.
final class EncodingTests: XCTestCase {
    /// Assembles `source` and decodes the instruction at `pc`.
    func decode(_ source: String, at pc: Int = 0, file: StaticString = #filePath, line: UInt = #line) throws -> Instruction {
        let blob = try Assembler.assembleBlob(source)
        let ins = blob.decode(at: pc)
        XCTAssertTrue(ins.isValid, "not a valid instruction at \(pc): \(source)", file: file, line: line)
        return ins
    }

    func testNoOperands() throws {
        XCTAssertEqual(try decode("trap").opcode, .trap)
        let f = try decode("fallthrough")
        XCTAssertEqual(f.opcode, .fallthrough)
        XCTAssertEqual(f.length, 1)
    }

    func testOneImmediate() throws {
        XCTAssertEqual(try decode("ecalli 100").immX, 100)
        XCTAssertEqual(try decode("ecalli -1").immX, ~0)
        XCTAssertEqual(try decode("ecalli 0xFFFFFFFF").immX, ~0)
        XCTAssertEqual(try decode("ecalli 0x7FFFFFFF").immX, 0x7FFF_FFFF)
        XCTAssertEqual(try decode("ecalli 0x80000000").immX, 0xFFFF_FFFF_8000_0000)
        XCTAssertEqual(try decode("ecalli 0xFFFFFFFFFFFFFFFF").immX, ~0)
        XCTAssertEqual(try decode("ecalli 0").length, 1)
    }

    func testLoadImm64() throws {
        for (text, value) in [("0xFFFFFFFFFFFFFFFF", UInt64.max), ("-1", UInt64.max), ("0x8000000000000000", 1 << 63),
                              ("-0x8000000000000000", 1 << 63), ("0x123456789abcdef0", 0x1234_5678_9ABC_DEF0), ("0", 0)] {
            for r in 0...12 {
                let ins = try decode("load_imm_64 r\(r), \(text)")
                XCTAssertEqual(ins.opcode, .load_imm_64)
                XCTAssertEqual(ins.a, UInt8(r))
                XCTAssertEqual(ins.immX, value, text)
                XCTAssertEqual(ins.length, 10)
            }
        }
    }

    func testTwoImmediates() throws {
        let ins = try decode("store_imm_u32 0x20000, -2")
        XCTAssertEqual(ins.opcode, .store_imm_u32)
        XCTAssertEqual(ins.immX, 0x20000)
        XCTAssertEqual(ins.immY, ~1)
        let zeros = try decode("store_imm_u64 0, 0")
        XCTAssertEqual(zeros.length, 2)
        let big = try decode("store_imm_u8 -0x80000000, 0x7FFFFFFF")
        XCTAssertEqual(big.immX, 0xFFFF_FFFF_8000_0000)
        XCTAssertEqual(big.immY, 0x7FFF_FFFF)
        XCTAssertEqual(big.length, 10)
    }

    func testOffsetForwardBackwardAndAbsolute() throws {
        let src = """
        back: trap
              jump fwd      ; pc 1
              jump back     ; pc 3
              jump @12      ; pc 5
              jump @-5      ; pc 7
        fwd:  jump fwd      ; pc 9
              jump @0x7FFFFFFF
        """
        XCTAssertEqual(try decode(src, at: 1).target, 9)
        XCTAssertEqual(try decode(src, at: 3).target, 0)
        XCTAssertEqual(try decode(src, at: 5).target, 12)
        XCTAssertEqual(try decode(src, at: 7).target, -5)
        let selfJump = try decode(src, at: 9)
        XCTAssertEqual(selfJump.target, 9)
        XCTAssertEqual(selfJump.length, 1, "an offset of 0 takes no bytes")
        XCTAssertEqual(try decode(src, at: 10).target, 0x7FFF_FFFF)
    }

    func testRegisterAndImmediate() throws {
        let li = try decode("load_imm r3, -0x80000000")
        XCTAssertEqual(li.a, 3)
        XCTAssertEqual(li.immX, 0xFFFF_FFFF_8000_0000)
        XCTAssertEqual(li.length, 6)
        let load = try decode("load_u32 a5, 0x20010")
        XCTAssertEqual(load.opcode, .load_u32)
        XCTAssertEqual(load.a, 12)
        XCTAssertEqual(load.immX, 0x20010)
        let store = try decode("store_u32 t0, 0x30000")
        XCTAssertEqual(store.opcode, .store_u32)
        XCTAssertEqual(store.a, 2)
        let halt = try decode("jump_ind ra, 0")
        XCTAssertEqual(halt.opcode, .jump_ind)
        XCTAssertEqual(halt.a, 0)
        XCTAssertEqual(halt.length, 2)
    }

    func testMinimalImmediateWidths() throws {
        let cases: [(String, UInt32)] = [("0", 0), ("1", 1), ("127", 1), ("128", 2), ("-128", 1), ("-129", 2),
                                         ("0x7FFF", 2), ("0x8000", 3), ("-0x800000", 3), ("0x800000", 4),
                                         ("0x7FFFFFFF", 4), ("0xFFFFFFFF", 1), ("0xFFFFFFFFFFFFFF80", 1)]
        for (text, width) in cases {
            XCTAssertEqual(try decode("load_imm r1, \(text)").length, 2 + width, text)
        }
    }

    func testRegisterImmediateImmediate() throws {
        let ins = try decode("store_imm_ind_u32 r5, -4, 0x12345678")
        XCTAssertEqual(ins.opcode, .store_imm_ind_u32)
        XCTAssertEqual(ins.a, 5)
        XCTAssertEqual(ins.immX, ~3)
        XCTAssertEqual(ins.immY, 0x1234_5678)
    }

    func testRegisterImmediateOffset() throws {
        let src = """
        top:  load_imm_jump r1, 42, next
        next: branch_eq_imm r2, -1, top
              branch_gt_s_imm a5, 0x7FFFFFFF, @1000
        """
        let lij = try decode(src)
        XCTAssertEqual(lij.opcode, .load_imm_jump)
        XCTAssertEqual(lij.a, 1)
        XCTAssertEqual(lij.immX, 42)
        XCTAssertEqual(lij.target, Int64(lij.length))
        let br = try decode(src, at: Int(lij.length))
        XCTAssertEqual(br.a, 2)
        XCTAssertEqual(br.immX, ~0)
        XCTAssertEqual(br.target, 0)
        let far = try decode(src, at: Int(br.nextPC))
        XCTAssertEqual(far.a, 12)
        XCTAssertEqual(far.immX, 0x7FFF_FFFF)
        XCTAssertEqual(far.target, 1000)
    }

    func testTwoRegisters() throws {
        for d in 0...12 {
            for a in [0, 7, 12] {
                let ins = try decode("move_reg r\(d), r\(a)")
                XCTAssertEqual(ins.d, UInt8(d))
                XCTAssertEqual(ins.a, UInt8(a))
            }
        }
        let sbrk = try decode("sbrk a0, a1")
        XCTAssertEqual(sbrk.opcode, .sbrk)
        XCTAssertEqual(sbrk.d, 7)
        XCTAssertEqual(sbrk.a, 8)
        XCTAssertEqual(try decode("count_set_bits_64 r1, r2").opcode, .count_set_bits_64)
    }

    func testTwoRegistersAndImmediate() throws {
        let add = try decode("add_imm_32 r1, r2, 0x7FFFFFFF")
        XCTAssertEqual(add.a, 1)
        XCTAssertEqual(add.b, 2)
        XCTAssertEqual(add.immX, 0x7FFF_FFFF)
        let load = try decode("load_ind_u32 r12, r11, -8")
        XCTAssertEqual(load.opcode, .load_ind_u32)
        XCTAssertEqual(load.a, 12)
        XCTAssertEqual(load.b, 11)
        XCTAssertEqual(load.immX, ~7)
        let store = try decode("store_ind_u32 r0, sp, 16")
        XCTAssertEqual(store.a, 0)
        XCTAssertEqual(store.b, 1)
        XCTAssertEqual(store.immX, 16)
    }

    func testTwoRegistersAndOffset() throws {
        let src = """
        loop: add_imm_64 r3, r3, 1
              branch_lt_u r3, r4, loop
              branch_ge_s r12, r0, done
              trap
        done: trap
        """
        let back = try decode(src, at: 3)
        XCTAssertEqual(back.opcode, .branch_lt_u)
        XCTAssertEqual(back.a, 3)
        XCTAssertEqual(back.b, 4)
        XCTAssertEqual(back.target, 0)
        let fwd = try decode(src, at: Int(back.nextPC))
        XCTAssertEqual(fwd.a, 12)
        XCTAssertEqual(fwd.b, 0)
        XCTAssertEqual(fwd.target, Int64(fwd.nextPC) + 1)
    }

    func testTwoRegistersTwoImmediates() throws {
        let ins = try decode("load_imm_jump_ind r1, r2, 0x80, -0x81")
        XCTAssertEqual(ins.opcode, .load_imm_jump_ind)
        XCTAssertEqual(ins.a, 1)
        XCTAssertEqual(ins.b, 2)
        XCTAssertEqual(ins.immX, 0x80)
        XCTAssertEqual(ins.immY, UInt64(bitPattern: -0x81))
        XCTAssertEqual(ins.length, 7)
    }

    func testThreeRegisters() throws {
        let ins = try decode("add_64 r10, r11, r12")
        XCTAssertEqual(ins.d, 10)
        XCTAssertEqual(ins.a, 11)
        XCTAssertEqual(ins.b, 12)
        let alias = try decode("xor s0, a0, t2")
        XCTAssertEqual([alias.d, alias.a, alias.b], [5, 7, 4])
    }

    func testRegisterAliases() throws {
        let names = ["ra", "sp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5"]
        for (i, n) in names.enumerated() {
            XCTAssertEqual(try decode("add_64 \(n), r\(i), \(n)").d, UInt8(i))
        }
    }

    /// Every opcode, operands by kind, checked field by field against the decoder.
    func testEveryOpcode() throws {
        for (k, op) in Opcode.allCases.enumerated() {
            let regs: [UInt8] = [UInt8(k % 13), UInt8((k + 5) % 13), UInt8((k + 11) % 13)]
            let imms: [UInt64] = [UInt64(bitPattern: Int64(-k * 1000)), UInt64(k * 77_777)]
            var operands: [String] = []
            var r = 0, i = 0
            for kind in op.form.operandKinds {
                switch kind {
                case .register: operands.append("r\(regs[r])"); r += 1
                case .immediate: operands.append(String(Int64(bitPattern: imms[i]))); i += 1
                case .immediate64: operands.append("0xFEDCBA9876543210"); i += 1
                case .target: operands.append("@\(k)")
                }
            }
            let ins = try decode("\(op.name) \(operands.joined(separator: ", "))")
            XCTAssertEqual(ins.opcode, op)
            let m = MachineInstruction(decoded: ins)
            XCTAssertEqual(m.registersInSourceOrder, Array(regs.prefix(r)), op.name)
            if op == .load_imm_64 {
                XCTAssertEqual(ins.immX, 0xFEDC_BA98_7654_3210)
            } else {
                if i > 0 { XCTAssertEqual(ins.immX, imms[0], op.name) }
                if i > 1 { XCTAssertEqual(ins.immY, imms[1], op.name) }
            }
            if op.form.operandKinds.contains(.target) { XCTAssertEqual(ins.target, Int64(k), op.name) }
            XCTAssertEqual(try Assembler.assembleBlob(operands.isEmpty ? op.name : "\(op.name) \(operands.joined(separator: ", "))").code.count,
                           Int(ins.length), "single instruction spans the code")
        }
    }

    func testForcedWidths() throws {
        let wide = try decode(".imm_width 4\nload_imm r1, 5")
        XCTAssertEqual(wide.length, 6)
        XCTAssertEqual(wide.immX, 5)
        let both = try decode(".imm_width 4, 3\nstore_imm_u8 1, -2")
        XCTAssertEqual(both.length, 9)
        XCTAssertEqual([both.immX, both.immY], [1, ~1])
        let offset = try decode(".imm_width *, 4\nx: branch_eq_imm r1, 5, x")
        XCTAssertEqual(offset.length, 7)
        XCTAssertEqual(offset.target, 0)
        let zero = try decode(".imm_width 0\njump_ind r1, 0")
        XCTAssertEqual(zero.length, 2)
        // The directive applies to the next instruction only.
        XCTAssertEqual(try decode(".imm_width 4\nload_imm r1, 5\nload_imm r2, 5", at: 6).length, 3)
    }

    func testJumpTableAndJumpAddresses() throws {
        let src = """
        .jump_table a, b, @1234
            load_imm r1, &b
            load_imm r2, &c
            load_imm_jump_ind r3, r4, &a, &c + 2
        a:  trap
        b:  trap
        c:  trap
        """
        let blob = try Assembler.assembleBlob(src)
        let a = blob.code.count - 3
        XCTAssertEqual(blob.jumpTable, [UInt32(a), UInt32(a + 1), 1234, UInt32(a + 2)])
        XCTAssertEqual(blob.decode(at: 0).immX, 4)
        XCTAssertEqual(blob.decode(at: 3).immX, 8)
        let lij = blob.decode(at: 6)
        XCTAssertEqual([lij.immX, lij.immY], [2, 10])
    }

    func testRawDirectives() throws {
        let blob = try Assembler.assembleBlob("""
            .raw_bytes 0xAA
            .raw_instruction 0xFF, 1, 2
            trap
            .raw_bytes 0, 0
        """)
        XCTAssertEqual(blob.code, [0xAA, 0xFF, 1, 2, 0, 0, 0])
        XCTAssertEqual(blob.bitmask, [false, true, false, false, true, false, false])
    }
}
