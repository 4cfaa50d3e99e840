import Foundation
import XCTest
import TestSupport

/// The spawner runs a warm-up job before its first fork (Sources/AlcatrazWorker/WarmUp.swift);
/// `alcatraz-worker warm-up` runs the same job in a process of its own and checks the answer on
/// every engine, so a warm-up that silently stopped working fails here.
final class WarmUpTests: XCTestCase {
    func testWarmUpJobGivesTheExpectedAnswerOnEveryEngine() throws {
        let (status, text) = try TestProcess.run(Build.workerPath, ["warm-up"], mergeErrors: false)
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(text, "warm-up ok\n")
    }
}
