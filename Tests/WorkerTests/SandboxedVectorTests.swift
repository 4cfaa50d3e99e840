// Vector jobs in locked-down workers give exactly the in-process end state, on both engines.
import ConformanceVectors
import Foundation
import SandboxedExecution
import WireProtocol
import XCTest

final class SandboxedVectorTests: XCTestCase {
    func testSampleOfVectorsMatchesInProcessRunsOnBothEngines() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/pvm")
        let all = try TestVector.loadAll(from: directory)
        XCTAssertEqual(all.count, 307)
        let executor = try Build.executor()
        // Every 7th vector: ~44 of them, each on both engines, covering every status.
        var statuses = Set<String>()
        for (index, (url, loaded)) in all.enumerated() where index % 7 == 0 {
            let vector = try loaded.get()
            let name = url.lastPathComponent
            let inProcess = [Engine.interpreter: try VectorRunner.run(vector, on: InterpreterEngine()),
                             Engine.jit: try VectorRunner.run(vector, on: RecompilerEngine())]
            for engine in Engine.allCases {
                let sandboxed = try executor.run(vector, engine: engine, jobId: UInt64(index))
                XCTAssertEqual(sandboxed, inProcess[engine], "\(name) on \(engine)")
                XCTAssertEqual(sandboxed, VectorRunner.expected(vector), "\(name) on \(engine)")
                statuses.insert(sandboxed.status)
            }
        }
        XCTAssertTrue(statuses.isSuperset(of: ["halt", "panic", "page-fault"]), "\(statuses)")
    }

    func testUndecodableBlobIsTheSameOutcomeAsInProcess() throws {
        let vector = try JSONDecoder().decode(TestVector.self, from: Data("""
            {"name": "bad", "initial-regs": [0,0,0,0,0,0,0,0,0,0,0,0,0], "initial-pc": 0,
             "initial-page-map": [{"address": 131072, "length": 4096, "is-writable": true}],
             "initial-memory": [{"address": 131072, "contents": [1, 2]}], "initial-gas": 10,
             "program": [255, 255], "expected-status": "panic", "expected-regs": [0,0,0,0,0,0,0,0,0,0,0,0,0],
             "expected-pc": 0, "expected-memory": [], "expected-gas": 10}
            """.utf8))
        let executor = try Build.executor()
        for engine in Engine.allCases {
            XCTAssertEqual(try executor.run(vector, engine: engine), try VectorRunner.run(vector, on: InterpreterEngine()))
        }
    }
}
