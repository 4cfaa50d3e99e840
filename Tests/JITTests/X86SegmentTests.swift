// The operands the recompiler adds on top of plain x86: guest memory as gs:[addr32] (prefixes
// 0x65 0x67), the context below it as gs:[disp] with 64-bit addressing, and memory forms of the
// one-operand multiply and divide. Checked against objdump like every other form.

import JIT
import Testing

@Suite struct X86SegmentTests {
    @Test func guestMemoryOperands() throws {
        let f = Form("gs:[base32 + disp] loads and stores")
        let guestBases = Reg.allCases.filter { $0 != .rsp }
        for base in guestBases {
            for disp: Int32 in [0, 1, -1, 0x7FFF_FFFF, -0x8000_0000, 0x20000] {
                let m = Mem.guest(base, disp: disp)
                let text = disp == 0 ? "[\(name(base, .dword))]"
                    : disp < 0 ? "[\(name(base, .dword))-0x\(String(-Int64(disp), radix: 16))]"
                    : "[\(name(base, .dword))+0x\(String(disp, radix: 16))]"
                f.a.mov(.qword, .r9, m); f.expect("mov r9,QWORD PTR gs:\(text)")
                f.a.mov(.byte, m, .rsi); f.expect("mov BYTE PTR gs:\(text),sil")
                f.a.movzx(.dword, .rdx, m, from: .word); f.expect("movzx edx,WORD PTR gs:\(text)")
                f.a.movsxd(.r15, m); f.expect("movsxd r15,DWORD PTR gs:\(text)")
                f.a.mov(.word, m, imm: -2); f.expect("mov WORD PTR gs:\(text),0xfffe")
            }
        }
        try f.verify()
    }

    @Test func absoluteGuestAndContextOperands() throws {
        let f = Form("gs:[disp32]")
        for disp: Int32 in [0, 0x10000, 0x7FFF_FFFF, -8, -4096, -0x8000_0000] {
            // With the address-size prefix the displacement is a 32-bit address...
            f.a.mov(.dword, .rax, Mem.guest(nil, disp: disp))
            f.expect("mov eax,DWORD PTR gs:[eiz*1\(disp == 0 ? "" : "+" + hex(Int64(disp), .dword))]")
            // ...without it, a sign-extended 64-bit one: negative reaches below the GS base.
            f.a.mov(.qword, Mem.context(disp), .r15)
            // objdump prints the absolute form as a 64-bit address: gs:0xfffffffffffffff8.
            f.expect("mov QWORD PTR gs:\(hex(Int64(disp), .qword)),r15")
        }
        f.a.jmp(Mem.context(index: .rax, scale: .x8, disp: -4104))
        f.expect("jmp QWORD PTR gs:[rax*8-0x1008]")
        f.a.sub(.qword, Mem.context(-4096 + 104), imm: 5)
        f.expect("sub QWORD PTR gs:0xfffffffffffff068,0x5")
        try f.verify()
    }

    @Test func oneOperandMultiplyAndDivideFromMemory() throws {
        let f = Form("mul/imul/div/idiv [m]")
        for s in [OperandSize.dword, .qword] {
            for base in Reg.allCases {
                let m = Mem(base: base, disp: 8)
                let text = "\(ptr(s))[\(name(base, .qword))+0x8]"
                f.a.mul(s, m); f.expect("mul \(text)")
                f.a.imul(s, m); f.expect("imul \(text)")
                f.a.div(s, m); f.expect("div \(text)")
                f.a.idiv(s, m); f.expect("idiv \(text)")
            }
        }
        try f.verify()
    }
}
