// The code buffer: it grows in place within the address space reserved for it (as the
// recompiler reserves for the worst case), without moving the code already written.

import JIT
import Testing

@Suite("X86 code buffer")
struct X86BufferTests {
    @Test func codeGrowsInPlaceWithinItsReservation() {
        let a = X86Assembler(initialCapacity: 64 << 10, reservingCapacity: 16 << 20)
        let base = a.buffer.base
        while a.position < 10 << 20 { a.nop(length: 9) }
        #expect(a.buffer.base == base, "never moved")
        #expect(a.buffer.size < 13 << 20, "grown in steps, not doubled")
        a.withUnsafeBytes { bytes in
            #expect(bytes[0] == 0x66 && bytes[a.position - 9] == 0x66)   // the 9-byte nop's prefix
        }
    }

    /// Labels local to an instruction sequence are forgotten once bound, so a long run of such
    /// sequences (the recompiler's divisions) keeps no table entry per label.
    @Test func boundLocalLabelsAreDiscarded() {
        let a = X86Assembler()
        let exit = a.newLabel()
        let mark = a.labelCount
        for _ in 0..<1000 {
            let local = a.labelCount
            let skip = a.newLabel()
            a.jcc(.zero, skip, .short)
            a.jmp(exit)
            a.bind(skip)
            a.discardLabels(from: local)
            #expect(a.labelCount == mark)
        }
        a.bind(exit)
        a.finalize()
        // Every jump still reaches its own target.
        a.withUnsafeBytes { bytes in
            #expect(bytes[0] == 0x74 && bytes[1] == 5)    // je +5, over the rel32 jmp
            let rel = Int(Int32(bitPattern: UInt32(bytes[3]) | UInt32(bytes[4]) << 8 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 24))
            #expect(7 + rel == a.position)               // the first jmp reaches `exit`
        }
    }
}
