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
}
