// Data movement forms against objdump: every register pair, every memory operand shape.

import JIT
import Testing

@Suite("X86 move")
struct X86MoveTests {
    @Test func movRegReg() throws {
        let f = Form("mov r, r")
        for s in sizes {
            for d in allRegs {
                for r in allRegs {
                    f.a.mov(s, d, r)
                    f.expect("mov \(name(d, s)),\(name(r, s))")
                }
            }
        }
        try f.verify()
    }

    /// Nothing for a register onto itself, else the same `mov` (the recompiler's branch-free
    /// register copy).
    @Test func movUnlessSame() throws {
        let f = Form("mov r, r unless the same")
        for d in allRegs {
            for r in allRegs {
                f.a.movUnlessSame(.qword, d, r)
                if d != r { f.expect("mov \(name(d, .qword)),\(name(r, .qword))") }
            }
        }
        try f.verify()
    }

    @Test func movRegImm() throws {
        let f = Form("mov r, imm")
        let values: [Int32] = [0, 1, -1, 127, -128, 255, 0x7fff, -0x8000, 0xffff, 0x12345678, Int32.min, Int32.max]
        for s in sizes {
            for d in allRegs {
                for v in values {
                    if s == .byte && !(v >= -128 && v <= 255) { continue }
                    if s == .word && !(v >= -32768 && v <= 65535) { continue }
                    f.a.mov(s, d, imm: v)
                    f.expect("mov \(name(d, s)),\(hex(Int64(v), s))")
                }
            }
        }
        try f.verify()
    }

    @Test func movabsAndLoadImmediate() throws {
        let f = Form("movabs / loadImmediate")
        let values: [UInt64] = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x1_0000_0000,
                                0xffff_ffff_8000_0000, 0xffff_ffff_ffff_ffff, 0x8000_0000_0000_0000,
                                0x0123_4567_89ab_cdef, 0xffff_ffff_7fff_ffff]
        for d in allRegs {
            for v in values {
                f.a.movabs(d, imm: v)
                f.expect("movabs \(name(d, .qword)),0x\(String(v, radix: 16))")
                let start = f.a.position
                f.a.loadImmediate(d, v)
                let length = f.a.position - start
                if v <= 0xffff_ffff {
                    f.expect("mov \(name(d, .dword)),0x\(String(v, radix: 16))")
                    #expect(length == (d.rawValue >= 8 ? 6 : 5))
                } else if v >= 0xffff_ffff_8000_0000 { // the sign-extension of a negative imm32
                    f.expect("mov \(name(d, .qword)),0x\(String(v, radix: 16))")
                    #expect(length == 7)
                } else {
                    f.expect("movabs \(name(d, .qword)),0x\(String(v, radix: 16))")
                    #expect(length == 10)
                }
            }
        }
        try f.verify()
    }

    /// Loads and stores at every size, over every base/index/scale and the sweep of
    /// displacements; the data register cycles through all sixteen.
    @Test(arguments: sizes)
    func loadStoreSweep(size: OperandSize) throws {
        let f = Form("mov load/store \(size)")
        for (i, m) in MemCase.all(disps: MemCase.sweepDisps).enumerated() {
            let r = allRegs[i % 16]
            f.a.mov(size, r, m.mem)
            f.expect("mov \(name(r, size)),\(ptr(size))\(m.text)")
            f.a.mov(size, m.mem, r)
            f.expect("mov \(ptr(size))\(m.text),\(name(r, size))")
        }
        try f.verify()
    }

    @Test func leaSweep() throws {
        let f = Form("lea")
        for (i, m) in MemCase.all(disps: MemCase.sweepDisps).enumerated() {
            let r = allRegs[i % 16]
            let s: OperandSize = i % 3 == 0 ? .dword : .qword
            f.a.lea(s, r, m.mem)
            f.expect("lea \(name(r, s)),\(m.text)")
        }
        try f.verify()
    }

    @Test func movMemImm() throws {
        let f = Form("mov [m], imm")
        for s in sizes {
            for m in MemCase.representative {
                for v: Int32 in [0, -1, 0x55, s == .byte ? 0x80 : 0x1234] {
                    f.a.mov(s, m.mem, imm: v)
                    f.expect("mov \(ptr(s))\(m.text),\(hex(Int64(v), s))")
                }
            }
        }
        try f.verify()
    }

    @Test func zeroAndSignExtend() throws {
        let f = Form("movzx/movsx/movsxd")
        let pairs: [(OperandSize, OperandSize)] = [(.word, .byte), (.dword, .byte), (.qword, .byte), (.dword, .word), (.qword, .word)]
        for (to, from) in pairs {
            for d in allRegs {
                for r in allRegs {
                    f.a.movzx(to, d, r, from: from)
                    f.expect("movzx \(name(d, to)),\(name(r, from))")
                    f.a.movsx(to, d, r, from: from)
                    f.expect("movsx \(name(d, to)),\(name(r, from))")
                }
            }
            for (i, m) in MemCase.representative.enumerated() {
                let d = allRegs[i % 16]
                f.a.movzx(to, d, m.mem, from: from)
                f.expect("movzx \(name(d, to)),\(ptr(from))\(m.text)")
                f.a.movsx(to, d, m.mem, from: from)
                f.expect("movsx \(name(d, to)),\(ptr(from))\(m.text)")
            }
        }
        for d in allRegs {
            for r in allRegs {
                f.a.movsxd(d, r)
                f.expect("movsxd \(name(d, .qword)),\(name(r, .dword))")
            }
        }
        for (i, m) in MemCase.representative.enumerated() {
            let d = allRegs[i % 16]
            f.a.movsxd(d, m.mem)
            f.expect("movsxd \(name(d, .qword)),DWORD PTR \(m.text)")
        }
        try f.verify()
    }

    @Test func xchgPushPop() throws {
        let f = Form("xchg/push/pop")
        for s in sizes {
            for a in allRegs {
                for b in allRegs {
                    f.a.xchg(s, a, b)
                    f.expect("xchg \(name(a, s)),\(name(b, s))")
                }
            }
        }
        for r in allRegs {
            f.a.push(r)
            f.expect("push \(name(r, .qword))")
            f.a.pop(r)
            f.expect("pop \(name(r, .qword))")
        }
        for v: Int32 in [0, 1, -1, 127, -128, 128, 0x12345678, Int32.min] {
            f.a.push(imm: v)
            f.expect("push \(hex(Int64(v), .qword))")
        }
        try f.verify()
    }
}
