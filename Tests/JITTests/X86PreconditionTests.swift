// Programmer errors must stop the process with a precondition failure rather than emit wrong
// code. Each case runs in a child process (Swift Testing exit tests).

import JIT
import Testing

@Suite("X86 preconditions")
struct X86PreconditionTests {
    @Test func bindingALabelTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            let a = X86Assembler()
            let l = a.newLabel()
            a.bind(l)
            a.bind(l)
        }
    }

    @Test func backwardShortJumpOutOfReachTraps() async {
        await #expect(processExitsWith: .failure) {
            let a = X86Assembler()
            let l = a.newLabel()
            a.bind(l)
            a.nop(length: 127)
            a.jmp(l, .short) // would need rel8 = -129
        }
    }

    @Test func forwardShortJumpOutOfReachTrapsWhenBound() async {
        await #expect(processExitsWith: .failure) {
            let a = X86Assembler()
            let l = a.newLabel()
            a.jcc(.equal, l, .short)
            a.nop(length: 128) // rel8 would be +128
            a.bind(l)
        }
    }

    @Test func finalizeWithUnboundLabelTraps() async {
        await #expect(processExitsWith: .failure) {
            let a = X86Assembler()
            a.call(a.newLabel())
            a.finalize()
        }
    }

    @Test func rspIndexTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = Mem(base: .rax, index: .rsp)
        }
    }

    @Test func oversizedByteImmediateTraps() async {
        await #expect(processExitsWith: .failure) {
            X86Assembler().add(.byte, .rax, imm: 256)
        }
    }

    @Test func discardingALabelWithWaitingReferencesTraps() async {
        await #expect(processExitsWith: .failure) {
            let a = X86Assembler()
            let mark = a.labelCount
            a.jmp(a.newLabel())
            a.discardLabels(from: mark)
        }
    }

    /// Code past the assembler's size limit traps where the buffer would grow, so no offset
    /// or rel32 field (the recompiler patches some as raw UInt32s) can wrap; the limit is what
    /// a rel32 reaches by default. (Shown with a small limit: the real one is 2 GiB.)
    @Test func codePastTheSizeLimitTraps() async {
        #expect(X86Assembler().maximumCodeSize == Int(Int32.max))
        await #expect(processExitsWith: .failure) {
            let a = X86Assembler(initialCapacity: 64, maximumCodeSize: 4096)
            for _ in 0..<300 { a.nop(length: 15) }   // 4500 bytes
        }
    }

    /// The largest legal cases next to the failing ones above do not trap.
    @Test func edgesThatFitDoNotTrap() {
        let a = X86Assembler()
        let l = a.newLabel()
        a.bind(l)
        a.nop(length: 126)
        a.jmp(l, .short)
        let f = a.newLabel()
        a.jcc(.equal, f, .short)
        a.nop(length: 127)
        a.bind(f)
        a.add(.byte, .rax, imm: 255)
        a.add(.byte, .rax, imm: -128)
        a.finalize()
        #expect(a.unresolvedReferences == 0)
        // Up to the size limit (less the 16 bytes an instruction may need).
        let limited = X86Assembler(initialCapacity: 64, maximumCodeSize: 4096)
        for _ in 0..<272 { limited.nop(length: 15) }   // 4080 bytes
        #expect(limited.position == 4080)
    }
}
