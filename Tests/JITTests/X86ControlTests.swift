// Control flow, labels and fix-ups, padding, and a few byte-exact encodings.

import JIT
import Testing

/// An address as objdump prints it (negative ones as 64-bit two's complement).
private func h(_ v: Int) -> String { "0x" + String(UInt64(bitPattern: Int64(v)), radix: 16) }

@Suite("X86 control flow and labels")
struct X86ControlTests {
    /// Forward and backward rel32 jumps, conditional jumps and calls to many labels, with
    /// fillers so that distances exceed the rel8 range; objdump's decoded targets must be the
    /// labels' offsets.
    @Test func rel32FixupsForwardAndBackward() throws {
        let f = Form("rel32 fix-ups")
        let a = f.a
        var labels: [Label] = []
        for i in 0..<40 {
            let l = a.newLabel()
            labels.append(l)
            #expect(a.offset(of: l) == nil && !a.isBound(l))
            a.bind(l)
            #expect(a.offset(of: l) == a.position)
            a.int3(); f.expect("int3")
            // Backward to this and earlier labels.
            let back = labels[i / 2]
            a.jmp(back); f.expect("jmp \(h(a.offset(of: back)!))")
            let cc = Condition.allCases[i % 16]
            a.jcc(cc, back); f.expect("j\(conditionNames[i % 16]) \(h(a.offset(of: back)!))")
            a.call(back); f.expect("call \(h(a.offset(of: back)!))")
            // The same by offset (the recompiler's backward branches).
            a.jmp(toOffset: a.offset(of: back)!); f.expect("jmp \(h(a.offset(of: back)!))")
            a.jcc(cc, toOffset: a.offset(of: back)!); f.expect("j\(conditionNames[i % 16]) \(h(a.offset(of: back)!))")
            f.nops(9 * (i % 20) + i % 9)
        }
        // Forward references: several per label, bound later in reverse order.
        let forward = (0..<16).map { _ in a.newLabel() }
        for (i, l) in forward.enumerated() {
            let cc = Condition.allCases[i]
            a.jmp(l); f.expect("jmp \(h(a.offset(of: l)!))")
            a.jcc(cc, l); f.expect("j\(conditionNames[i]) \(h(a.offset(of: l)!))")
            a.call(l); f.expect("call \(h(a.offset(of: l)!))")
        }
        #expect(a.unresolvedReferences == 48)
        for l in forward.reversed() {
            f.nops(9 * 15)
            a.bind(l)
            a.ret(); f.expect("ret")
        }
        #expect(a.unresolvedReferences == 0)
        try f.verify()
    }

    /// rel8 jumps at the exact edges of their reach, both directions, jmp and every jcc.
    @Test func rel8FixupsAtTheEdges() throws {
        let f = Form("rel8 fix-ups")
        let a = f.a
        for i in 0..<17 {
            let cc = i < 16 ? Condition.allCases[i] : nil
            let mnemonic = cc.map { "j" + conditionNames[Int($0.rawValue)] } ?? "jmp"
            func jump(_ l: Label) {
                if let cc { a.jcc(cc, l, .short) } else { a.jmp(l, .short) }
            }
            // Backward by exactly -128 from the end of the jump: 126 filler bytes.
            let back = a.newLabel()
            a.bind(back)
            f.nops(126)
            let jumpAt = a.position
            jump(back); f.expect("\(mnemonic) \(h(a.offset(of: back)!))")
            #expect(a.position - jumpAt == 2)
            #expect(a.offset(of: back)! - a.position == -128)
            // Forward by exactly +127.
            let fwd = a.newLabel()
            jump(fwd); f.expect("\(mnemonic) \(h(a.offset(of: fwd)!))")
            let end = a.position
            for _ in 0..<127 { a.int3(); f.expect("int3") }
            a.bind(fwd)
            #expect(a.offset(of: fwd)! - end == 127)
            // And the degenerate jump to the next instruction, and to itself.
            let next = a.newLabel()
            jump(next); f.expect("\(mnemonic) \(h(a.offset(of: next)!))")
            a.bind(next)
            let selfLabel = a.newLabel()
            a.bind(selfLabel)
            jump(selfLabel); f.expect("\(mnemonic) \(h(a.offset(of: selfLabel)!))")
        }
        try f.verify()
    }

    /// `.auto` uses rel8 for bound labels within reach, rel32 otherwise.
    @Test func autoDistance() throws {
        let f = Form("auto distance")
        let a = f.a
        let near = a.newLabel()
        a.bind(near)
        f.nops(120)
        var p = a.position
        a.jmp(near, .auto); f.expect("jmp \(h(a.offset(of: near)!))")
        #expect(a.position - p == 2)
        p = a.position
        a.jcc(.less, near, .auto); f.expect("jl \(h(a.offset(of: near)!))")
        #expect(a.position - p == 2)
        f.nops(9)
        p = a.position
        a.jmp(near, .auto); f.expect("jmp \(h(a.offset(of: near)!))")
        #expect(a.position - p == 5)
        p = a.position
        a.jcc(.less, near, .auto); f.expect("jl \(h(a.offset(of: near)!))")
        #expect(a.position - p == 6)
        let later = a.newLabel()
        p = a.position
        a.jcc(.equal, later, .auto); f.expect("je \(h(a.offset(of: later)!))")
        #expect(a.position - p == 6)
        a.bind(later)
        try f.verify()
    }

    /// rip-relative operands to labels before and after the instruction, with an immediate
    /// after the displacement (which the displacement must skip) and an addend. objdump's
    /// `# 0x...` comment gives the absolute address each operand resolves to.
    @Test func ripRelative() throws {
        let a = X86Assembler()
        let before = a.newLabel()
        a.bind(before)
        a.int3()
        let after = a.newLabel()
        var checks: [(start: Int, text: String, label: Label, disp: Int)] = []
        for l in [before, after] {
            for disp: Int32 in [0, 4, -8, 1000] {
                let m = Mem.rip(l, disp: disp)
                func check(_ text: String, _ emit: () -> Void) {
                    checks.append((a.position, text, l, Int(disp)))
                    emit()
                }
                check("lea r13,[rip]") { a.lea(.qword, .r13, m) }
                check("mov QWORD PTR [rip],0xfffffffffffffffe") { a.mov(.qword, m, imm: -2) }
                check("cmp BYTE PTR [rip],0x7") { a.cmp(.byte, m, imm: 7) }
                check("mov WORD PTR [rip],0x1234") { a.mov(.word, m, imm: 0x1234) }
                check("sub DWORD PTR [rip],0x12345") { a.sub(.dword, m, imm: 0x12345) }
                check("add r9d,DWORD PTR [rip]") { a.add(.dword, .r9, m) }
                check("jmp QWORD PTR [rip]") { a.jmp(m) }
            }
        }
        a.bind(after)
        a.ret()
        a.finalize()
        let decoded = try ObjDump.disassemble(a.bytes)
        #expect(decoded.count == checks.count + 2)
        for (i, c) in checks.enumerated() where i + 1 < decoded.count {
            let d = decoded[i + 1]
            // Drop the displacement from the text; it is checked through the target below.
            var text = d.text
            if let open = text.range(of: "[rip"), let close = text[open.upperBound...].firstIndex(of: "]") {
                text.replaceSubrange(open.upperBound..<close, with: "")
            }
            #expect(d.offset == c.start)
            #expect(text == c.text)
            #expect(d.comment == h(a.offset(of: c.label)! + c.disp), "\(c.text) at \(c.start)")
        }
    }

    @Test func indirectJumpsCallsAndTraps() throws {
        let f = Form("indirect/ret/ud2/int3/nop")
        for r in allRegs {
            f.a.jmp(r); f.expect("jmp \(name(r, .qword))")
            f.a.call(r); f.expect("call \(name(r, .qword))")
        }
        for m in MemCase.representative {
            f.a.jmp(m.mem); f.expect("jmp QWORD PTR \(m.text)")
            f.a.call(m.mem); f.expect("call QWORD PTR \(m.text)")
        }
        f.a.ret(); f.expect("ret")
        f.a.ud2(); f.expect("ud2")
        f.a.int3(); f.expect("int3")
        f.a.nop(); f.expect("nop")
        try f.verify()
    }

    /// Multi-byte nops: exactly the requested length, only nop instructions, at most 9 bytes
    /// each; `align` reaches the next boundary.
    @Test func nopsAndAlignment() throws {
        let a = X86Assembler()
        var expectedEnd: [Int] = []
        for n in 0...40 {
            let start = a.position
            a.nop(length: n)
            #expect(a.position - start == n)
            expectedEnd.append(a.position)
        }
        for alignment in [1, 2, 4, 8, 16, 32, 64] {
            a.int3()
            a.align(to: alignment)
            #expect(a.position % alignment == 0)
            a.align(to: alignment)
            #expect(a.position % alignment == 0)
        }
        let decoded = try ObjDump.disassemble(a.bytes)
        let boundaries = Set(decoded.map(\.offset))
        for end in expectedEnd where end < a.position {
            #expect(boundaries.contains(end), "no instruction boundary at \(end)")
        }
        for d in decoded {
            let ok = d.text == "int3" || d.text == "xchg ax,ax" || d.text.hasPrefix("nop")
            #expect(ok, "unexpected padding instruction '\(d.text)' at \(d.offset)")
            #expect(d.bytes.split(separator: " ").count <= 9)
        }
    }

    /// A few encodings checked byte for byte against the Intel manual, to pin down the choice
    /// among equivalent forms (short immediates, accumulator forms, forced disp8/SIB).
    @Test func exactBytes() {
        func bytes(_ emit: (X86Assembler) -> Void) -> [UInt8] {
            let a = X86Assembler()
            emit(a)
            return a.bytes
        }
        #expect(bytes { $0.add(.qword, .rax, imm: 1) } == [0x48, 0x83, 0xC0, 0x01])
        #expect(bytes { $0.add(.qword, .rax, imm: 0x1000) } == [0x48, 0x05, 0x00, 0x10, 0x00, 0x00])
        #expect(bytes { $0.add(.qword, .rcx, imm: 0x1000) } == [0x48, 0x81, 0xC1, 0x00, 0x10, 0x00, 0x00])
        #expect(bytes { $0.sub(.qword, Mem(base: .rdi, disp: 8), imm: 3) } == [0x48, 0x83, 0x6F, 0x08, 0x03])
        #expect(bytes { $0.mov(.dword, .rax, Mem(base: .rbp)) } == [0x8B, 0x45, 0x00])
        #expect(bytes { $0.mov(.dword, .rax, Mem(base: .r13)) } == [0x41, 0x8B, 0x45, 0x00])
        #expect(bytes { $0.mov(.dword, .rax, Mem(base: .rsp)) } == [0x8B, 0x04, 0x24])
        #expect(bytes { $0.mov(.dword, .rax, Mem(base: .r12)) } == [0x41, 0x8B, 0x04, 0x24])
        #expect(bytes { $0.mov(.qword, .r9, Mem(base: .r10, index: .r11, scale: .x8, disp: -1)) }
                == [0x4F, 0x8B, 0x4C, 0xDA, 0xFF])
        #expect(bytes { $0.mov(.byte, .rax, .rsp) } == [0x40, 0x88, 0xE0])
        #expect(bytes { $0.mov(.byte, .rax, .rbx) } == [0x88, 0xD8])
        #expect(bytes { $0.mov(.qword, .rax, imm: -1) } == [0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(bytes { $0.test(.dword, .rax, imm: 1) } == [0xA9, 0x01, 0x00, 0x00, 0x00])
        #expect(bytes { $0.shl(.qword, .rax, imm: 1) } == [0x48, 0xD1, 0xE0])
        #expect(bytes { $0.popcnt(.qword, .rax, .r8) } == [0xF3, 0x49, 0x0F, 0xB8, 0xC0])
        #expect(bytes { $0.push(.r12) } == [0x41, 0x54])
        #expect(bytes { $0.setcc(.equal, .rsi) } == [0x40, 0x0F, 0x94, 0xC6])
        #expect(bytes { $0.cqo() } == [0x48, 0x99])
        #expect(bytes { $0.ret() } == [0xC3])
        #expect(bytes { a in let l = a.newLabel(); a.bind(l); a.jmp(l, .short) } == [0xEB, 0xFE])
        #expect(bytes { a in let l = a.newLabel(); a.jmp(l); a.bind(l) } == [0xE9, 0, 0, 0, 0])
    }

    @Test func resetAndGrowth() {
        let a = X86Assembler(initialCapacity: 16)
        let l = a.newLabel()
        a.jmp(l)
        for _ in 0..<10_000 { a.mov(.qword, .r15, Mem(base: .r12, index: .r13, scale: .x8, disp: 0x1000)) }
        a.bind(l)
        #expect(a.position == 5 + 10_000 * 8)
        let code = a.bytes
        #expect(Array(code[0..<5]) == [0xE9] + withUnsafeBytes(of: UInt32(80_000).littleEndian, Array.init))
        #expect(Array(code[5..<13]) == [0x4F, 0x8B, 0xBC, 0xEC, 0x00, 0x10, 0x00, 0x00])
        a.patchUInt32(at: 1, 0xdeadbeef)
        #expect(a.withUnsafeBytes { Array($0[1..<5]) } == [0xef, 0xbe, 0xad, 0xde])
        a.reset()
        #expect(a.position == 0 && a.unresolvedReferences == 0)
        let m = a.newLabel()
        #expect(m.id == 0)
        a.ret()
        #expect(a.bytes == [0xC3])
    }

    /// Not a pass/fail test: reports emission speed (meaningful in release builds only).
    @Test func emissionThroughput() {
        let a = X86Assembler(initialCapacity: 1 << 20)
        let ctx = Mem(base: .r15, disp: 0x40)
        let clock = ContinuousClock()
        var total = 0
        let elapsed = clock.measure {
            for _ in 0..<20 {
                a.reset()
                for i in 0..<10_000 {
                    let l = a.newLabel()
                    a.bind(l)
                    a.sub(.qword, ctx, imm: 3)
                    a.mov(.qword, .rax, Mem(base: .r14, index: .rcx, scale: .x1, disp: Int32(i)))
                    a.add(.qword, .rax, .rbx)
                    a.mov(.dword, Mem(base: .r14, index: .rdx), .rax)
                    a.cmp(.qword, .rax, imm: 100)
                    a.jcc(.less, l, .auto)
                    a.loadImmediate(.rsi, UInt64(i))
                }
                total += a.position
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("X86Assembler: \(total) bytes in \(seconds) s = \(Double(total) / seconds / 1e6) MB/s of x86 code")
        #expect(total > 0)
    }
}
