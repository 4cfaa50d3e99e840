// A worker prepares its compile's memory before the job (`PageBuffer.prepareSpares`): a code
// mapping for the next buffer with pages of its own, and an arena for small buffers. Buffers
// taken from them must behave like any other: zeroed, separate, big enough, and the code buffer
// still made executable in place.
import PVM
import XCTest

final class PageBufferSpareTests: XCTestCase {
    func testSparesServeTheNextBuffersAndThenRunOut() throws {
        XCTAssertEqual(PageBuffer.prepareSpares(codeBytes: 16384, arenaBytes: 8192), 0)

        // Small buffers come from the arena: zeroed, writable, not overlapping.
        let a = PageBuffer(byteCount: 100), b = PageBuffer(byteCount: 3000)
        XCTAssertGreaterThanOrEqual(a.size, 100)
        XCTAssertGreaterThanOrEqual(b.size, 3000)
        let aStart = UInt(bitPattern: a.base), bStart = UInt(bitPattern: b.base)
        XCTAssertTrue(aStart + UInt(a.size) <= bStart || bStart + UInt(b.size) <= aStart, "separate")
        XCTAssertEqual(bStart - aStart, 128, "consecutive in the arena")
        for buffer in [a, b] {
            let bytes = buffer.base.assumingMemoryBound(to: UInt8.self)
            XCTAssertTrue((0..<buffer.size).allSatisfy { bytes[$0] == 0 })
            buffer.base.initializeMemory(as: UInt8.self, repeating: 0xEE, count: buffer.size)
        }
        // The arena is 8 KiB: 100 + 3000 bytes used, so 6000 more do not fit (the heap serves them).
        let c = PageBuffer(byteCount: 6000)
        XCTAssertTrue(UInt(bitPattern: c.base) < aStart || UInt(bitPattern: c.base) >= aStart + 8192)
        XCTAssertTrue((0..<6000).allSatisfy { c.base.load(fromByteOffset: $0, as: UInt8.self) == 0 })

        // The next buffer with pages of its own takes the code spare and becomes executable.
        let code = PageBuffer(byteCount: 5000, ownPages: true)
        XCTAssertEqual(code.size, 16384, "the whole spare")
        XCTAssertEqual(UInt(bitPattern: code.base) % 4096, 0)
        code.base.storeBytes(of: 0xC3, as: UInt8.self)   // ret
        XCTAssertEqual(code.makeExecutable(byteCount: 1), 0)
        XCTAssertEqual(code.size, 4096, "the unused tail is returned")
        // Taken once: the next one maps its own pages.
        let second = PageBuffer(byteCount: 5000, ownPages: true)
        XCTAssertEqual(second.size, 8192)

        // Use up the arena, so that no test after this one takes from it.
        while true {
            let d = PageBuffer(byteCount: 64)
            let p = UInt(bitPattern: d.base)
            if p < aStart || p >= aStart + 8192 { break }
        }
    }
}
