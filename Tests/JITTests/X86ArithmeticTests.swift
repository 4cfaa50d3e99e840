// ALU, multiply/divide, shifts, bit counting, setcc and cmovcc against objdump.

import JIT
import Testing

private let aluNames: [(ALUOp, String)] = [(.add, "add"), (.or, "or"), (.adc, "adc"), (.sbb, "sbb"),
                                           (.and, "and"), (.sub, "sub"), (.xor, "xor"), (.cmp, "cmp")]

/// Immediates around the imm8/imm32 boundaries, filtered per size by `fits`.
private let immediates: [Int32] = [0, 1, -1, 127, 128, -128, -129, 255, 0x1234, -0x8000, 0xffff, 0x12345678, Int32.min, Int32.max]

private func fits(_ v: Int32, _ s: OperandSize) -> Bool {
    switch s {
    case .byte: return v >= -128 && v <= 255
    case .word: return v >= -32768 && v <= 65535
    default: return true
    }
}

@Suite("X86 arithmetic")
struct X86ArithmeticTests {
    @Test(arguments: aluNames.map(\.0))
    func aluForms(op: ALUOp) throws {
        let mnemonic = aluNames.first { $0.0 == op }!.1
        let f = Form("\(mnemonic) forms")
        for s in sizes {
            for d in allRegs {
                for r in allRegs {
                    f.a.alu(op, s, d, r)
                    f.expect("\(mnemonic) \(name(d, s)),\(name(r, s))")
                }
                for v in immediates where fits(v, s) {
                    f.a.alu(op, s, d, imm: v)
                    f.expect("\(mnemonic) \(name(d, s)),\(hex(Int64(v), s))")
                }
            }
            for (i, m) in MemCase.representative.enumerated() {
                let r = allRegs[i % 16]
                f.a.alu(op, s, r, m.mem)
                f.expect("\(mnemonic) \(name(r, s)),\(ptr(s))\(m.text)")
                f.a.alu(op, s, m.mem, r)
                f.expect("\(mnemonic) \(ptr(s))\(m.text),\(name(r, s))")
                for v: Int32 in [5, -128, s == .byte ? 0xff : 0x7fff] {
                    f.a.alu(op, s, m.mem, imm: v)
                    f.expect("\(mnemonic) \(ptr(s))\(m.text),\(hex(Int64(v), s))")
                }
            }
        }
        try f.verify()
    }

    /// The named wrappers must select the same operation as `alu`.
    @Test func namedAluWrappers() throws {
        let f = Form("named ALU wrappers")
        let m = Mem(base: .rdi, disp: 8)
        f.a.add(.qword, .rax, .rbx); f.expect("add rax,rbx")
        f.a.add(.qword, .rax, m); f.expect("add rax,QWORD PTR [rdi+0x8]")
        f.a.add(.qword, m, .rax); f.expect("add QWORD PTR [rdi+0x8],rax")
        f.a.add(.dword, .rcx, imm: 1); f.expect("add ecx,0x1")
        f.a.add(.qword, m, imm: 1); f.expect("add QWORD PTR [rdi+0x8],0x1")
        f.a.sub(.qword, .rax, .rbx); f.expect("sub rax,rbx")
        f.a.sub(.qword, .rax, m); f.expect("sub rax,QWORD PTR [rdi+0x8]")
        f.a.sub(.qword, m, .rax); f.expect("sub QWORD PTR [rdi+0x8],rax")
        f.a.sub(.dword, .rcx, imm: 1); f.expect("sub ecx,0x1")
        f.a.sub(.qword, m, imm: 1000); f.expect("sub QWORD PTR [rdi+0x8],0x3e8")
        f.a.and(.qword, .rax, .rbx); f.expect("and rax,rbx")
        f.a.and(.qword, .rax, m); f.expect("and rax,QWORD PTR [rdi+0x8]")
        f.a.and(.qword, m, .rax); f.expect("and QWORD PTR [rdi+0x8],rax")
        f.a.and(.dword, .rcx, imm: 1); f.expect("and ecx,0x1")
        f.a.and(.qword, m, imm: 1); f.expect("and QWORD PTR [rdi+0x8],0x1")
        f.a.or(.qword, .rax, .rbx); f.expect("or rax,rbx")
        f.a.or(.qword, .rax, m); f.expect("or rax,QWORD PTR [rdi+0x8]")
        f.a.or(.qword, m, .rax); f.expect("or QWORD PTR [rdi+0x8],rax")
        f.a.or(.dword, .rcx, imm: 1); f.expect("or ecx,0x1")
        f.a.or(.qword, m, imm: 1); f.expect("or QWORD PTR [rdi+0x8],0x1")
        f.a.xor(.qword, .rax, .rbx); f.expect("xor rax,rbx")
        f.a.xor(.qword, .rax, m); f.expect("xor rax,QWORD PTR [rdi+0x8]")
        f.a.xor(.qword, m, .rax); f.expect("xor QWORD PTR [rdi+0x8],rax")
        f.a.xor(.dword, .rcx, imm: 1); f.expect("xor ecx,0x1")
        f.a.xor(.qword, m, imm: 1); f.expect("xor QWORD PTR [rdi+0x8],0x1")
        f.a.cmp(.qword, .rax, .rbx); f.expect("cmp rax,rbx")
        f.a.cmp(.qword, .rax, m); f.expect("cmp rax,QWORD PTR [rdi+0x8]")
        f.a.cmp(.qword, m, .rax); f.expect("cmp QWORD PTR [rdi+0x8],rax")
        f.a.cmp(.dword, .rcx, imm: 1); f.expect("cmp ecx,0x1")
        f.a.cmp(.qword, m, imm: 1); f.expect("cmp QWORD PTR [rdi+0x8],0x1")
        f.a.adc(.qword, .rax, .rbx); f.expect("adc rax,rbx")
        f.a.adc(.qword, .rax, imm: 0); f.expect("adc rax,0x0")
        f.a.sbb(.qword, .rax, .rbx); f.expect("sbb rax,rbx")
        f.a.sbb(.qword, .rax, imm: 0); f.expect("sbb rax,0x0")
        try f.verify()
    }

    @Test func testForms() throws {
        let f = Form("test")
        for s in sizes {
            for d in allRegs {
                for r in allRegs {
                    f.a.test(s, d, r)
                    f.expect("test \(name(d, s)),\(name(r, s))")
                }
                for v in immediates where fits(v, s) {
                    f.a.test(s, d, imm: v)
                    f.expect("test \(name(d, s)),\(hex(Int64(v), s))")
                }
            }
            for (i, m) in MemCase.representative.enumerated() {
                let r = allRegs[i % 16]
                f.a.test(s, m.mem, r)
                f.expect("test \(ptr(s))\(m.text),\(name(r, s))")
                f.a.test(s, m.mem, imm: 0x7f)
                f.expect("test \(ptr(s))\(m.text),0x7f")
            }
        }
        try f.verify()
    }

    @Test func unaryMultiplyDivide() throws {
        let f = Form("not/neg/mul/imul/div/idiv")
        for s in sizes {
            for r in allRegs {
                f.a.not(s, r); f.expect("not \(name(r, s))")
                f.a.neg(s, r); f.expect("neg \(name(r, s))")
                f.a.mul(s, r); f.expect("mul \(name(r, s))")
                f.a.imul(s, r); f.expect("imul \(name(r, s))")
                f.a.div(s, r); f.expect("div \(name(r, s))")
                f.a.idiv(s, r); f.expect("idiv \(name(r, s))")
            }
        }
        f.a.cqo(); f.expect("cqo")
        f.a.cdq(); f.expect("cdq")
        for s in wideSizes {
            for d in allRegs {
                for r in allRegs {
                    f.a.imul(s, d, r)
                    f.expect("imul \(name(d, s)),\(name(r, s))")
                    for v: Int32 in [3, -128, 0x1234] {
                        f.a.imul(s, d, r, imm: v)
                        f.expect("imul \(name(d, s)),\(name(r, s)),\(hex(Int64(v), s))")
                    }
                }
            }
            for (i, m) in MemCase.representative.enumerated() {
                let d = allRegs[i % 16]
                f.a.imul(s, d, m.mem)
                f.expect("imul \(name(d, s)),\(ptr(s))\(m.text)")
            }
        }
        for v: Int32 in [0x12345678, Int32.min, 128, -129] {
            f.a.imul(.qword, .r9, .rsp, imm: v)
            f.expect("imul r9,rsp,\(hex(Int64(v), .qword))")
        }
        try f.verify()
    }

    @Test func shiftsAndRotates() throws {
        let f = Form("shifts")
        let ops: [(ShiftOp, String)] = [(.rol, "rol"), (.ror, "ror"), (.shl, "shl"), (.shr, "shr"), (.sar, "sar")]
        for (op, mnemonic) in ops {
            for s in sizes {
                for r in allRegs {
                    f.a.shift(op, s, r, .cl)
                    f.expect("\(mnemonic) \(name(r, s)),cl")
                    for n: UInt8 in [0, 1, 2, 31, 63, 255] {
                        f.a.shift(op, s, r, imm: n)
                        // The by-one form has an implicit count, which objdump prints as "1".
                        f.expect("\(mnemonic) \(name(r, s)),\(n == 1 ? "1" : "0x" + String(n, radix: 16))")
                    }
                }
            }
        }
        f.a.shl(.qword, .rax, imm: 3); f.expect("shl rax,0x3")
        f.a.shl(.qword, .rax, .cl); f.expect("shl rax,cl")
        f.a.shr(.dword, .r8, imm: 3); f.expect("shr r8d,0x3")
        f.a.shr(.dword, .r8, .cl); f.expect("shr r8d,cl")
        f.a.sar(.qword, .r15, imm: 63); f.expect("sar r15,0x3f")
        f.a.sar(.qword, .r15, .cl); f.expect("sar r15,cl")
        f.a.rol(.word, .rsi, imm: 8); f.expect("rol si,0x8")
        f.a.rol(.qword, .rsi, .cl); f.expect("rol rsi,cl")
        f.a.ror(.dword, .rdi, imm: 7); f.expect("ror edi,0x7")
        f.a.ror(.byte, .rdi, .cl); f.expect("ror dil,cl")
        try f.verify()
    }

    @Test func bitCountingAndByteSwap() throws {
        let f = Form("popcnt/lzcnt/tzcnt/bswap")
        for s in wideSizes {
            for d in allRegs {
                for r in allRegs {
                    f.a.popcnt(s, d, r); f.expect("popcnt \(name(d, s)),\(name(r, s))")
                    f.a.lzcnt(s, d, r); f.expect("lzcnt \(name(d, s)),\(name(r, s))")
                    f.a.tzcnt(s, d, r); f.expect("tzcnt \(name(d, s)),\(name(r, s))")
                }
            }
        }
        for s: OperandSize in [.dword, .qword] {
            for r in allRegs {
                f.a.bswap(s, r); f.expect("bswap \(name(r, s))")
            }
        }
        try f.verify()
    }

    @Test func bmiThreeOperandForms() throws {
        let f = Form("andn/rorx/shlx/shrx/sarx")
        for s: OperandSize in [.dword, .qword] {
            for d in allRegs {
                for r in allRegs {
                    for v in [allRegs[0], allRegs[9], d, r] {
                        f.a.andn(s, d, v, r); f.expect("andn \(name(d, s)),\(name(v, s)),\(name(r, s))")
                        f.a.shiftX(.shl, s, d, r, count: v); f.expect("shlx \(name(d, s)),\(name(r, s)),\(name(v, s))")
                        f.a.shiftX(.shr, s, d, r, count: v); f.expect("shrx \(name(d, s)),\(name(r, s)),\(name(v, s))")
                        f.a.shiftX(.sar, s, d, r, count: v); f.expect("sarx \(name(d, s)),\(name(r, s)),\(name(v, s))")
                    }
                    for n: UInt8 in [1, 7, 31] + (s == .qword ? [63] : []) {
                        f.a.rorx(s, d, r, imm: n); f.expect("rorx \(name(d, s)),\(name(r, s)),\(hex(Int64(n), .byte))")
                    }
                }
            }
        }
        try f.verify()
    }

    @Test func setccAndCmov() throws {
        let f = Form("setcc/cmovcc")
        for cc in Condition.allCases {
            let suffix = conditionNames[Int(cc.rawValue)]
            for r in allRegs {
                f.a.setcc(cc, r)
                f.expect("set\(suffix) \(name(r, .byte))")
            }
            for s in wideSizes {
                for d in allRegs {
                    for r in allRegs {
                        f.a.cmov(cc, s, d, r)
                        f.expect("cmov\(suffix) \(name(d, s)),\(name(r, s))")
                    }
                }
            }
            for (i, m) in MemCase.representative.enumerated() {
                let d = allRegs[i % 16]
                f.a.cmov(cc, .qword, d, m.mem)
                f.expect("cmov\(suffix) \(name(d, .qword)),QWORD PTR \(m.text)")
            }
        }
        try f.verify()
    }

    @Test func conditionAliases() {
        #expect(Condition.zero == .equal && Condition.notZero == .notEqual)
        #expect(Condition.carry == .below && Condition.noCarry == .aboveOrEqual)
        for cc in Condition.allCases {
            #expect(cc.inverted.inverted == cc && cc.inverted != cc)
        }
        #expect(Condition.less.inverted == .greaterOrEqual)
        #expect(Condition.above.inverted == .belowOrEqual)
    }
}
