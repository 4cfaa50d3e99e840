// The supervisor's decision about background priority (Sandbox's Priority.swift).
import Foundation
import Sandbox
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class PriorityTests: XCTestCase {
    func testZeroIncrementTurnsItOffSilently() {
        let (nice, problem) = WorkerPriority.plan(increment: 0)
        XCTAssertNil(nice)
        XCTAssertNil(problem)
    }

    func testThePairIsTheDaemonsNiceAndTheIncrementCappedAt19() throws {
        let own = WorkerPriority.currentNice()
        try XCTSkipIf(own >= 19, "this process already runs at nice 19")
        let (nice, problem) = WorkerPriority.plan(increment: 100)
        if let nice {
            XCTAssertNil(problem)
            XCTAssertEqual(nice, WorkerNice(foreground: own, background: 19))
            XCTAssertEqual(nice.rlimit, UInt64(20 - own))
        } else {
            // No CAP_SYS_NICE (and, unprivileged, too low an RLIMIT_NICE): off, with the fix named.
            XCTAssertFalse(ProcessCapabilities.sysNice, "with CAP_SYS_NICE it must be on")
            XCTAssertTrue(problem?.contains("CAP_SYS_NICE") ?? false, problem ?? "no reason given")
            XCTAssertTrue(problem?.contains("LimitNICE=+\(own)") ?? false, problem ?? "no reason given")
        }
        XCTAssertEqual(WorkerPriority.plan(increment: 3).0.map(\.background), nice.map { _ in min(19, own + 3) })
    }
}
