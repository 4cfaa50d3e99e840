import XCTest
@testable import WireProtocol

/// Bytes from hex; whitespace is ignored. Traps on malformed input (test data only).
func bytes(_ hex: String) -> [UInt8] {
    let compacted = String(hex.filter { !$0.isWhitespace })
    guard let decoded = parseHex(compacted) else { fatalError("bad hex in test: \(hex)") }
    return decoded
}

/// Lowercase hex of `bytes`.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    hexString(bytes)
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(
    _ expected: WireError, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws(WireError) -> T
) {
    do {
        let value = try body()
        XCTFail("expected \(expected), got value \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
    }
}

/// Asserts that `body` throws a WireError mapping to `code`.
func assertThrowsCode<T>(
    _ code: ProtocolErrorCode, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws(WireError) -> T
) {
    do {
        let value = try body()
        XCTFail("expected a \(code) error, got value \(value)", file: file, line: line)
    } catch {
        XCTAssertEqual(error.protocolErrorCode, code, "\(error)", file: file, line: line)
    }
}

/// The repository root, found from this file's path (Tests/WireProtocolTests/<file>).
func repositoryRoot(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}
