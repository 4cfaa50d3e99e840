// The supervisor's decision about background priority (Sandbox's Priority.swift).
import Foundation
import Sandbox
import XCTest
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
            XCTAssertFalse(Capability.sysNiceEffective, "with CAP_SYS_NICE it must be on")
            XCTAssertTrue(problem?.contains("CAP_SYS_NICE") ?? false, problem ?? "no reason given")
            XCTAssertTrue(problem?.contains("LimitNICE=+\(own)") ?? false, problem ?? "no reason given")
        }
        XCTAssertEqual(WorkerPriority.plan(increment: 3).0.map(\.background), nice.map { _ in min(19, own + 3) })
    }
}

/// Capabilities of this test process, from /proc (independent of the code under test).
enum Capability {
    /// CAP_SYS_NICE (bit 23) in the effective set.
    static var sysNiceEffective: Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << 23) != 0
    }
}
