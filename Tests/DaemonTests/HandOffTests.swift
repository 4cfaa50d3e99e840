// The event loop hands a job straight to an idle worker without waking the pool thread, and
// workers change priority around their job (Sandbox's Priority.swift). These tests start the
// real daemon with the scripted worker and look at both from outside.
import AlcatrazClient
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class HandOffTests: XCTestCase {
    /// The pool thread is not woken when the event loop writes a job to an idle worker; if the
    /// worker then never answers, only the deadline timer can wake it to kill the worker.
    func testAHungJobHandedStraightToAnIdleWorkerStillTimesOutOnTime() throws {
        let daemon = try DaemonProcess(limits: ["workers = 1", "job_timeout_millis = 300"])
        // Let the spares lock down and the pool thread fall asleep: nothing else wakes it now.
        Thread.sleep(forTimeInterval: 0.5)
        let raw = try RawConnection(daemon.socketPath)
        try raw.hello()
        let request = ValidateCandidate(requestId: 7, code: .inline([1, 2, 3]), input: Array(script: "hang"),
                                        gasLimit: 1000, priority: .backing, deadlineMillis: nil)
        let start = Date()
        raw.send(Frame.encode(ClientMessage.validateCandidate(request)))
        guard case let .validationResult(result)? = try raw.next() else { return XCTFail("no answer") }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(result.requestId, 7)
        XCTAssertEqual(result.verdict, .error(.timedOut))
        XCTAssertGreaterThanOrEqual(elapsed, 0.29, "killed before its timeout")
        XCTAssertLessThan(elapsed, 2.0, "the timeout came late: the pool thread was not woken for the deadline")
        // And the daemon serves on.
        let c = try RawConnection(daemon.socketPath)
        try c.hello()
        c.send(Frame.encode(ClientMessage.validateCandidate(ValidateCandidate(
            requestId: 8, code: .inline([1, 2, 3]), input: Array(script: "ok"), gasLimit: 1000, priority: .backing,
            deadlineMillis: nil))))
        guard case let .validationResult(next)? = try c.next() else { return XCTFail("no second answer") }
        XCTAssertEqual(next.verdict, .valid(output: Array(script: "ok"), gasUsed: 100))
    }

    /// Spare workers wait at the background nice; the one running a job runs at the daemon's.
    func testSpareWorkersWaitAtTheBackgroundNiceAndAJobRunsAtTheDaemons() throws {
        // The daemon can raise its workers by CAP_SYS_NICE (root, as in CI) or, unprivileged,
        // by a high enough RLIMIT_NICE; without either it turns the feature off (and says so).
        try XCTSkipUnless(ProcessCapabilities.sysNice, "this test needs CAP_SYS_NICE, as root has it outside containers")
        let daemon = try DaemonProcess(limits: ["workers = 2", "job_timeout_millis = 3000", "background_nice = 7"])
        XCTAssertFalse(daemon.log.contains("background_nice_off"), daemon.log)
        XCTAssertTrue(waitFor { daemon.workerPids().count >= 2 }, "no spare workers")
        let own = nice(of: getpid())
        for (pid, _) in daemon.workerPids() {
            XCTAssertEqual(nice(of: pid), min(19, own + 7), "spare worker \(pid)")
            // A root daemon raises workers by CAP_SYS_NICE: they get no room to raise themselves.
            if geteuid() == 0, let limits = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8) {
                let line = limits.split(separator: "\n").first { $0.hasPrefix("Max nice priority") }
                XCTAssertEqual(line?.split(separator: " ", omittingEmptySubsequences: true).suffix(2).map(String.init),
                               ["0", "0"], "RLIMIT_NICE of worker \(pid)")
            }
        }
        let raw = try RawConnection(daemon.socketPath)
        try raw.hello()
        raw.send(Frame.encode(ClientMessage.validateCandidate(ValidateCandidate(
            requestId: 1, code: .inline([1, 2, 3]), input: Array(script: "hang"), gasLimit: 1000, priority: .backing,
            deadlineMillis: nil))))
        // The spinning worker is the one running (R); it must be back at the daemon's nice.
        var running: Int32?
        XCTAssertTrue(waitFor {
            running = daemon.workerPids().first { $0.state == "R" }?.pid
            return running != nil
        }, "no worker ran the job")
        if let running { XCTAssertEqual(nice(of: running), own, "the job's worker") }
        guard case let .validationResult(result)? = try raw.next() else { return XCTFail("no answer") }
        XCTAssertEqual(result.verdict, .error(.timedOut))
    }

    /// `background_nice = 0`: everything at the daemon's priority.
    func testBackgroundNiceZeroLeavesEveryWorkerAtTheDaemonsNice() throws {
        let daemon = try DaemonProcess(limits: ["workers = 1", "background_nice = 0"])
        XCTAssertTrue(waitFor { !daemon.workerPids().isEmpty }, "no spare workers")
        for (pid, _) in daemon.workerPids() { XCTAssertEqual(nice(of: pid), nice(of: getpid()), "worker \(pid)") }
    }

    func nice(of pid: Int32) -> Int32 {
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(UInt32(bitPattern: pid)))
    }

    func waitFor(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return false
    }
}
