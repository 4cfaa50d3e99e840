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

    /// Linked with ld.lld's default layout (read-only data at 0x10190, code in between, data
    /// after it), the guests still behave the same: every relocation is re-applied for the PVM
    /// layout, nothing relies on the SDK linker script.
    func testAnyELFLayout() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
        let cases: [(String, [UInt8])] = [
            ("Guest/examples/validate.c", le64(1) + (0..<16).flatMap { le64(UInt64($0) * 100) } + le64(2) + le32(2)
                + [0, 1, 2] + le64(50) + [5, 3, 4] + le64(1000)),
            ("Guest/examples/hello.c", Array("layout".utf8)), ("Guest/bench/sha256.c", le32(1000)),
            ("Guest/bench/interp.c", le32(100)), ("Guest/bench/frames.c", le32(3)),
        ]
        for (source, input) in cases {
            let scripted = try Linker.link(elf: try GuestBuild.elf(source))
            let elf = try GuestBuild.elf(source, defaultLayout: true)
            XCTAssertNotEqual(elf, try GuestBuild.elf(source), "the two layouts differ")
            let program = try Linker.link(elf: elf)
            let a = try GuestBuild.runBoth(program, input: input)
            let b = try GuestBuild.runBoth(scripted, input: input)
            guard case .halt = a.status else { XCTFail("\(source): \(a.status)"); continue }
            XCTAssertEqual(a.status, b.status, source)
        }
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
