import XCTest
@testable import JIT

/// The recompiler's lookup structures: block entries by pc, and guest to host registers.
final class BlockEntriesTests: XCTestCase {
    /// Every pc, before and after the blocks are added, against a dictionary; including pcs
    /// outside the code and more blocks than the initial capacity (every pc a block).
    func testLookupsMatchADictionary() {
        var rng = SystemRandomNumberGenerator()
        for density in [1, 3, 30, 200] {
            let n = 5_000 + Int.random(in: 0..<200, using: &rng)
            let table = BlockEntries(codeLength: n)
            var expected: [Int: (entry: Int, record: Int)] = [:]
            var entry = 0
            for pc in 0..<n where density == 1 || Int.random(in: 0..<density, using: &rng) == 0 {
                entry += Int.random(in: 1..<40, using: &rng)
                expected[pc] = (entry, expected.count)
                // Before it is added, a block is not found.
                XCTAssertNil(table.entry(at: Int64(pc)))
                table.add(pc: pc, entry: entry, record: expected.count - 1)
            }
            XCTAssertEqual(table.count, expected.count)
            for pc in -70..<(n + 70) {
                let want = expected[pc]
                XCTAssertEqual(table.entry(at: Int64(pc)), want?.entry, "pc \(pc), density \(density)")
                let got = table.block(at: Int64(pc))
                XCTAssertEqual(got?.entry, want?.entry)
                XCTAssertEqual(got?.record, want?.record)
            }
            XCTAssertNil(table.entry(at: Int64.min))
            XCTAssertNil(table.entry(at: Int64(Int32.max) + 5))
        }
    }

    func testPackedGuestRegistersMatchTheTable() {
        XCTAssertEqual(Recompiler.guestRegs.count, 13)
        for i in 0..<13 {
            XCTAssertEqual(Recompiler.hostRegister(UInt8(i)), Recompiler.guestRegs[i], "guest register \(i)")
        }
    }
}
