import Linker
import PVM
import XCTest

/// Hand-written RISC-V (Tests/Fixtures/guest/edge.S) with known results: the uses of x0, the
/// compressed stack forms and the call forms that compiled C rarely exercises.
final class LinkerEdgeTests: XCTestCase {
    func testEdgeForms() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
        let path = GuestBuild.root.appendingPathComponent("Tests/Fixtures/guest/edge.S").path
        let program = try Linker.link(elf: try GuestBuild.elf(path))
        let r = try GuestBuild.runBoth(program, input: [])
        let expected: [Int64] = [-7, 1, 1, 0, -7, -5, 7, 0, -1, -5, 0, 0, 1, -3, 0, 0x7FFF_FFFF, 76, 20, 14, 15]
        XCTAssertEqual(r.status, .halt(output: expected.flatMap { le64(UInt64(bitPattern: $0)) }))
    }

    func testStatisticsAndLayout() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
        let (p, s) = try Linker.linkWithStatistics(elf: try GuestBuild.elf("Guest/examples/validate.c"))
        XCTAssertGreaterThan(s.riscvInstructions, 100)
        XCTAssertGreaterThan(s.jumpTableEntries, 6, "return points and the six operation pointers")
        XCTAssertEqual(p.stackSize, Linker.defaultStackSize)
        XCTAssertFalse(p.readOnlyData.isEmpty)
        // The blob round-trips through the standard-program decoder.
        XCTAssertEqual(try StandardProgram(decoding: p.encoded()), p)
        // --stack-size overrides.
        let q = try Linker.link(elf: try GuestBuild.elf("Guest/examples/validate.c"), options: LinkOptions(stackSize: 12345))
        XCTAssertEqual(q.stackSize, 12345)
    }
}
