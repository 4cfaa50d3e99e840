import Foundation
import XCTest

/// The spawner runs a warm-up job before its first fork (Sources/AlcatrazWorker/WarmUp.swift);
/// `alcatraz-worker warm-up` runs the same job in a process of its own and checks the answer on
/// every engine, so a warm-up that silently stopped working fails here.
final class WarmUpTests: XCTestCase {
    func testWarmUpJobGivesTheExpectedAnswerOnEveryEngine() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Build.workerPath)
        process.arguments = ["warm-up"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertEqual(text, "warm-up ok\n")
    }
}
