// Config parsing: the shipped file is valid and complete; every error names the line and key.
import Foundation
import XCTest
@testable import Supervisor
import WireProtocol

final class ConfigTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testShippedConfigIsValidAndSetsEveryKeyToItsDefault() throws {
        let path = Self.repository.appendingPathComponent("Config/alcatraz.toml").path
        let config = try Config.load(path: path)
        XCTAssertEqual(config.socketPath, "/run/alcatraz/alcatrazd.sock")
        XCTAssertEqual(config.limits, Limits(), "the file documents the defaults")
        XCTAssertEqual(config.scheduler, SchedulerWeights())
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in Limits.keys { XCTAssertTrue(text.contains("\n\(key) = "), "\(key) is missing from the file") }
    }

    func testEveryKeyIsInTheOperationsTable() throws {
        let doc = try String(contentsOf: Self.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        for key in Limits.keys + ["socket", "socket_mode", "metrics_address", "worker_executable", "log_level",
                                  "io_threads", "dispute_weight", "approval_weight", "backing_weight"] {
            XCTAssertTrue(doc.contains("`\(key)`"), "\(key) is not documented in docs/operations.md")
        }
    }

    func expectError(_ text: String, line: Int?, key: String?, contains: String, file: StaticString = #filePath,
                     lineNumber: UInt = #line) {
        do {
            _ = try Config.parse(text, file: "t.toml")
            XCTFail("accepted", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: lineNumber)
            XCTAssertEqual(error.key, key, "\(error)", file: file, line: lineNumber)
            XCTAssertTrue(error.description.contains(contains), "\(error)", file: file, line: lineNumber)
        }
    }

    func testSemanticErrorsNameTheKeyAndItsLine() {
        expectError("socket = \"/s\"\n\n[limits]\nqueue_depth = 4\nworkers = 0\n", line: 5, key: "limits.workers",
                    contains: "t.toml:5: key 'limits.workers': must be at least 1")
        expectError("socket = \"/s\"\n[limits]\nmax_frame_bytes = 70000\n", line: 3, key: "limits.max_frame_bytes",
                    contains: "must hold")
        expectError("socket = \"/s\"\nsocket_mode = \"999\"\n", line: 2, key: "socket_mode", contains: "octal")
        // The budget must cover the largest job the other limits admit (the defaults need 786 MiB).
        XCTAssertEqual(Limits().workerMemoryNeeded, 786 << 20)
        expectError("socket = \"/s\"\n[limits]\nworker_memory_bytes = 824180735\n", line: 3, key: "limits.worker_memory_bytes",
                    contains: "must be at least 16 MiB + max_guest_memory_bytes + 2 × max_input_bytes + 128 × max_blob_bytes = 824180736 bytes")
        expectError("socket = \"/s\"\n[limits]\nmax_blob_bytes = 8388608\n", line: nil, key: "limits.worker_memory_bytes",
                    contains: "= 1361051648 bytes")
        XCTAssertNoThrow(try Config.parse("socket = \"/s\"\n[limits]\nworker_memory_bytes = 824180736\n", file: "t.toml"))
        XCTAssertEqual(WorkerLimits.memoryNeeded(maxBlobBytes: 1, maxInputBytes: 1, maxGuestMemoryBytes: .max), .max, "saturates")
        expectError("socket = \"/s\"\n[limits]\nengine = \"fast\"\n", line: 3, key: "limits.engine", contains: "jit")
        expectError("socket = \"/s\"\nlog_level = \"loud\"\n", line: 2, key: "log_level", contains: "expected one of")
        expectError("socket = \"/s\"\nmetrics_address = \"nowhere\"\n", line: 2, key: "metrics_address", contains: "HOST:PORT")
        expectError("socket = \"/s\"\nmetrics_address = \"0.0.0.0:9464\"\n", line: 2, key: "metrics_address", contains: "loopback")
    }

    func testLimitsThatWouldBreakEveryRequestAreRefused() {
        expectError("socket = \"/s\"\n[limits]\nmax_registered_blobs = 0\n", line: 3, key: "limits.max_registered_blobs",
                    contains: "at least 1")
        expectError("socket = \"/s\"\n[limits]\nmax_stack_bytes = 0\n", line: 3, key: "limits.max_stack_bytes", contains: "4096")
        expectError("socket = \"/s\"\n[limits]\nmax_guest_memory_bytes = 0\n", line: 3, key: "limits.max_guest_memory_bytes",
                    contains: "65536")
        expectError("socket = \"/s\"\n[limits]\nmax_blob_bytes = 100000000\nmax_frame_bytes = 120000000\nmax_registered_bytes = 100000000\n",
                    line: 3, key: "limits.max_blob_bytes", contains: "must fit a worker's request")
    }

    func testErrorLinesInOtherTOMLForms() {
        // A comment after the header, spaces in it, a dotted key, an inline table.
        expectError("socket = \"/s\"\n[limits]  # the limits\nworkers = 0\n", line: 3, key: "limits.workers", contains: "t.toml:3:")
        expectError("socket = \"/s\"\n[ limits ]\nworkers = 0\n", line: 3, key: "limits.workers", contains: "t.toml:3:")
        expectError("socket = \"/s\"\nlimits.workers = 0\n", line: 2, key: "limits.workers", contains: "t.toml:2:")
        expectError("socket = \"/s\"\nlimits = { queue_depth = 4, workers = 0 }\n", line: 2, key: "limits.workers",
                    contains: "t.toml:2:")
    }

    func testTypeAndRangeErrors() {
        expectError("socket = \"/s\"\n[limits]\nworkers = \"two\"\n", line: 3, key: "limits.workers", contains: "expected an integer")
        expectError("socket = \"/s\"\n[limits]\nworkers = -1\n", line: 3, key: "limits.workers", contains: "out of range")
        expectError("socket = 5\n", line: 1, key: "socket", contains: "expected a string")
    }

    func testUnknownAndMissingKeys() {
        expectError("socket = \"/s\"\nwrokers = 2\n", line: 2, key: "wrokers", contains: "unknown key")
        expectError("socket = \"/s\"\n[limits]\nqueue = 2\n", line: 3, key: "limits.queue", contains: "unknown key")
        expectError("[limits]\nworkers = 2\n", line: nil, key: "socket", contains: "missing")
    }

    func testSyntaxErrorsCarryTheParserLine() {
        expectError("socket = \"/s\"\n\n[limits\n", line: 3, key: nil, contains: "t.toml:3:")
    }
}
