import Foundation
import XCTest
@testable import WireProtocol

/// The golden vectors tie together the Swift codec, docs/protocol.md and the independent
/// Python client: all three must produce the same bytes.
final class GoldenTests: XCTestCase {
    func testEveryGoldenHasExactlyOneEncoding() {
        XCTAssertEqual(Set(goldenValues.map(\.name)).count, goldenValues.count, "duplicate golden names")
        XCTAssertEqual(Set(goldenValues.map(\.name)), Set(goldenHex.keys))
    }

    func testEncodeGivesGoldenBytes() {
        for (name, value) in goldenValues {
            XCTAssertEqual(hex(value.encoded()), goldenHex[name], name)
        }
    }

    func testDecodeGivesGoldenValue() throws {
        for (name, value) in goldenValues {
            let encoding = bytes(try XCTUnwrap(goldenHex[name], name))
            XCTAssertTrue(try value.decodes(encoding), name)
        }
    }

    // MARK: - docs/protocol.md

    /// Golden hex of the documentation: blocks introduced by `<!-- golden: NAME -->` hold one
    /// example, the first token of each line being hex; blocks introduced by
    /// `<!-- golden-lines -->` hold one example per line as `NAME HEX comment...`.
    static func documentedGoldens() throws -> [(name: String, hex: String)] {
        let url = repositoryRoot().appendingPathComponent("docs/protocol.md")
        let lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        var found: [(name: String, hex: String)] = []
        var index = 0
        func fencedBlock(after marker: Int) -> [String] {
            var start = marker + 1
            while start < lines.count, lines[start].trimmingCharacters(in: .whitespaces).isEmpty { start += 1 }
            guard start < lines.count, lines[start].hasPrefix("```") else { return [] }
            var body: [String] = []
            var line = start + 1
            while line < lines.count, !lines[line].hasPrefix("```") {
                body.append(lines[line])
                line += 1
            }
            return body
        }
        func tokens(_ line: String) -> [String] {
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        while index < lines.count {
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("<!-- golden: "), line.hasSuffix(" -->") {
                let name = String(line.dropFirst("<!-- golden: ".count).dropLast(" -->".count))
                let hex = fencedBlock(after: index).compactMap { tokens($0).first }.joined()
                found.append((name, hex))
            } else if line == "<!-- golden-lines -->" {
                for entry in fencedBlock(after: index) {
                    let parts = tokens(entry)
                    if parts.count >= 2 { found.append((parts[0], parts[1])) }
                }
            }
            index += 1
        }
        return found
    }

    func testDocumentationShowsTheGoldenBytes() throws {
        let documented = try Self.documentedGoldens()
        XCTAssertEqual(Set(documented.map(\.name)).count, documented.count, "a golden documented twice")
        let byName = Dictionary(documented.map { ($0.name, $0.hex) }, uniquingKeysWith: { first, _ in first })
        for (name, _) in goldenValues {
            XCTAssertEqual(byName[name], goldenHex[name], "docs/protocol.md example \(name)")
        }
        let unknown = Set(byName.keys).subtracting(goldenHex.keys)
        XCTAssertTrue(unknown.isEmpty, "documented examples missing from the tests: \(unknown.sorted())")
    }

    // MARK: - scripts/alcatraz_client.py

    func testPythonClientProducesTheSameBytes() throws {
        let script = repositoryRoot().appendingPathComponent("scripts/alcatraz_client.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--emit-golden"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw XCTSkip("python3 cannot be started: \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 127 { throw XCTSkip("python3 not installed") }
        XCTAssertEqual(process.terminationStatus, 0, errorText)

        var emitted: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            XCTAssertEqual(parts.count, 2, "malformed line: \(line)")
            if parts.count == 2 { emitted[String(parts[0])] = String(parts[1]) }
        }
        let expected = goldenValues.filter { !$0.value.isInternal }.map(\.name)
        XCTAssertEqual(Set(emitted.keys), Set(expected))
        for name in expected {
            XCTAssertEqual(emitted[name], goldenHex[name], "python encoding of \(name)")
        }
    }
}
