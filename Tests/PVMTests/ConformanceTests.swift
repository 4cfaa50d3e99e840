import ConformanceVectors
import Foundation
import PVM
import XCTest

/// The 307 JAM PVM conformance vectors (v0.4), vendored under Tests/Vectors/pvm.
final class ConformanceTests: XCTestCase {
    static var vectorDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/pvm/programs")
    }

    func testAllVectorsPassOnTheInterpreter() throws {
        let vectors = try TestVector.loadAll(from: Self.vectorDirectory)
        XCTAssertEqual(vectors.count, 307, "the vendored vector set is complete")
        var failures: [String] = []
        for (url, loaded) in vectors {
            let vector = try loaded.get()
            let actual = try VectorRunner.run(vector, on: InterpreterEngine())
            let problems = VectorRunner.diff(expected: VectorRunner.expected(vector), actual: actual)
            if !problems.isEmpty { failures.append("\(url.lastPathComponent): \(problems.joined(separator: "; "))") }
        }
        XCTAssertEqual(failures, [])
    }

    func testDiffReportsEveryKindOfMismatch() throws {
        // The runner must be able to fail: perturb a passing vector's expectations.
        let url = Self.vectorDirectory.appendingPathComponent("inst_store_u8.json")
        var vector = try TestVector.load(url)
        let actual = try VectorRunner.run(vector, on: InterpreterEngine())
        vector.expectedGas += 1
        vector.expectedRegs[3] ^= 1
        vector.expectedStatus = "halt"
        vector.expectedMemory = []
        let lines = VectorRunner.diff(expected: VectorRunner.expected(vector), actual: actual)
        XCTAssertTrue(lines.contains { $0.hasPrefix("gas:") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("r3:") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("status:") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("memory region") }, "\(lines)")
    }
}
