// A buffer that reserves address space (`reserving`, the machine code's) grows in place: the
// same base, no copy, so the old and the new buffer are never held at once; past the
// reservation it moves, as every buffer did. The reservation is not writable memory, so it
// costs nothing against RLIMIT_DATA (the worker's memory budget), only what is made writable.
import Foundation
import PVM
import XCTest

final class PageBufferGrowthTests: XCTestCase {
    /// Larger than any prepared spare, so that the buffers here are mappings of their own.
    static let start = 256 << 10

    func testGrowingWithinTheReservationKeepsTheBaseAndTheBytes() {
        let b = PageBuffer(byteCount: Self.start, ownPages: true, reserving: 8 << 20)
        XCTAssertGreaterThanOrEqual(b.reservedSize, 8 << 20)
        let base = b.base
        for i in 0..<Self.start { b.base.storeBytes(of: UInt8(truncatingIfNeeded: i * 7), toByteOffset: i, as: UInt8.self) }

        b.grow(to: 3 << 20, keeping: Self.start)
        XCTAssertEqual(b.base, base, "grown in place")
        XCTAssertGreaterThanOrEqual(b.size, 3 << 20)
        XCTAssertTrue((0..<Self.start).allSatisfy { b.base.load(fromByteOffset: $0, as: UInt8.self) == UInt8(truncatingIfNeeded: $0 * 7) })
        XCTAssertTrue((Self.start..<b.size).allSatisfy { b.base.load(fromByteOffset: $0, as: UInt8.self) == 0 }, "zeroed")
        b.base.storeBytes(of: 0xAB, toByteOffset: b.size - 1, as: UInt8.self)   // writable to the end

        b.grow(to: b.reservedSize, keeping: Self.start)
        XCTAssertEqual(b.base, base, "the whole reservation, in place")
        XCTAssertEqual(b.size, b.reservedSize)

        // Past the reservation: a new mapping, the bytes copied.
        b.grow(to: b.reservedSize + 1, keeping: Self.start)
        XCTAssertNotEqual(b.base, base)
        XCTAssertTrue((0..<Self.start).allSatisfy { b.base.load(fromByteOffset: $0, as: UInt8.self) == UInt8(truncatingIfNeeded: $0 * 7) })
        XCTAssertGreaterThanOrEqual(b.reservedSize, b.size)

        // Made executable in place; the rest of the mapping is returned.
        XCTAssertEqual(b.makeExecutable(byteCount: 4096), 0)
        XCTAssertEqual(b.size, 4096)
        XCTAssertEqual(b.reservedSize, 4096)
    }

    /// VmData of /proc/self/status is what RLIMIT_DATA limits (private writable mappings).
    func testOnlyTheWritablePartCountsAgainstTheDataLimit() throws {
        func vmData() throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmData:") })
            return try XCTUnwrap(Int(line.split(separator: " ")[1])) << 10
        }
        let before = try vmData()
        let b = PageBuffer(byteCount: Self.start, ownPages: true, reserving: 1 << 30)
        let reserved = try vmData()
        XCTAssertLessThan(reserved - before, 4 << 20, "a 1 GiB reservation is not data")
        b.grow(to: 64 << 20, keeping: 0)
        let grown = try vmData()
        XCTAssertGreaterThanOrEqual(grown - before, 64 << 20)
        XCTAssertLessThan(grown - before, 72 << 20)
    }
}
