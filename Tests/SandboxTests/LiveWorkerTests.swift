// A live, locked-down worker inspected from outside through /proc, the production worker's
// round trip, and the kernel self-check.
import Foundation
import Glibc
import Sandbox
import XCTest
import TestSupport

final class LiveWorkerTests: XCTestCase {
    func statusFields(_ pid: Int32) throws -> [String: String] {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return fields
    }

    func testLockedDownWorkerSeenFromOutside() throws {
        let spawner = try SpawnerClient(executablePath: Harness.harnessPath, limits: Harness.limits())
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)

        let status = try statusFields(worker.pid)
        XCTAssertEqual(status["Seccomp"], "2", "filter mode")
        XCTAssertEqual(status["Seccomp_filters"], "1")
        XCTAssertEqual(status["NoNewPrivs"], "1")
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            XCTAssertEqual(status[set], "0000000000000000", set)
        }
        // Outside, the worker is nobody (inside it is root of its own user namespace).
        if getuid() == 0 {
            XCTAssertEqual(status["Uid"]?.split(separator: "\t").first, "65534")
            XCTAssertEqual(status["Gid"]?.split(separator: "\t").first, "65534")
        }
        // The spawner itself dropped to nobody too, in a user namespace of its own, and is not
        // dumpable (no other process of uid nobody may ptrace it).
        let spawnerStatus = try statusFields(spawner.spawnerPID)
        if getuid() == 0 {
            XCTAssertEqual(spawnerStatus["Uid"]?.split(separator: "\t").first, "65534")
            XCTAssertEqual(spawnerStatus["Groups"] ?? "", "", "supplementary groups dropped")
        }
        XCTAssertNotEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user"),
                          try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(spawner.spawnerPID)/ns/user"))
        // PID 1 of its own PID namespace: the last NSpid entry is 1.
        XCTAssertEqual(status["NSpid"]?.split(separator: "\t").last, "1")

        let fm = FileManager.default
        for ns in ["user", "mnt", "pid", "ipc", "uts", "cgroup", "net"] {
            let mine = try fm.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(ns)")
            let theirs = try fm.destinationOfSymbolicLink(atPath: "/proc/\(worker.pid)/ns/\(ns)")
            XCTAssertNotEqual(mine, theirs, "\(ns) namespace is shared with the test process")
        }
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: "/proc/\(worker.pid)/root"), [], "root is not empty")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: "/proc/\(worker.pid)/fd"), ["3"], "holds other fds")
        XCTAssertEqual(try String(contentsOfFile: "/proc/\(worker.pid)/environ", encoding: .utf8), "")
        let limits = try String(contentsOfFile: "/proc/\(worker.pid)/limits", encoding: .utf8)
        XCTAssertTrue(limits.contains(where: { _ in true }))
        let nproc = limits.split(separator: "\n").first { $0.hasPrefix("Max processes") }
        XCTAssertEqual(nproc?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first, "0")
        let mounts = try String(contentsOfFile: "/proc/\(worker.pid)/mounts", encoding: .utf8)
        XCTAssertEqual(mounts.split(separator: "\n").count, 1, "only the tmpfs root: \(mounts)")
        XCTAssertTrue(mounts.hasPrefix("alcatraz-root / tmpfs ro,"), mounts)

        // Still alive and usable: a job runs to completion afterwards.
        var job: [UInt8] = [0, 0, 0, 0]
        let code = X86.call(NR.exitGroup, .imm(5))
        withUnsafeBytes(of: UInt32(code.count).littleEndian) { job += $0 }
        job += code
        XCTAssertEqual(job.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, 0) }, job.count)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .exited(code: 5))
    }

    func testWorkersAreIndependentAndReportedByID() throws {
        let spawner = try SpawnerClient(executablePath: Harness.harnessPath, limits: Harness.limits())
        defer { spawner.shutdown() }
        let a = try spawner.requestWorker(), b = try spawner.requestWorker()
        XCTAssertNotEqual(a.id, b.id)
        XCTAssertNotEqual(a.pid, b.pid)
        try spawner.waitUntilReady(a)
        try spawner.waitUntilReady(b)
        let nsA = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(a.pid)/ns/pid")
        let nsB = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(b.pid)/ns/pid")
        XCTAssertNotEqual(nsA, nsB, "each worker has its own PID namespace")
        let netA = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(a.pid)/ns/net")
        let netB = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(b.pid)/ns/net")
        XCTAssertEqual(netA, netB, "the network namespace is the spawner's, shared")
        XCTAssertEqual(spawner.kill(b), 0)
        XCTAssertEqual(try spawner.waitForOutcome(b), .timedOut)
        Glibc.shutdown(a.jobFD, Int32(SHUT_RDWR))  // EOF before a job: the harness's own exit code 3.
        XCTAssertEqual(try spawner.waitForOutcome(a), .exited(code: 3))
    }

    func testKernelSelfCheck() throws {
        let (status, text) = try TestProcess.run(Harness.workerPath, ["check-sandbox"], mergeErrors: false)
        XCTAssertEqual(status, 0, text)
        // One line per required feature, then the optional ones under their heading.
        let lines = text.split(separator: "\n")
        let heading = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("optional") }, text)
        XCTAssertEqual(heading, SandboxFeature.allCases.count, text)
        XCTAssertTrue(lines[heading + 1].hasPrefix("memory-deny-write-execute"), text)
        XCTAssertTrue(lines[heading + 2].hasPrefix("huge pages for worker code"), text)
        XCTAssertFalse(text.contains("FAILED"), text)
    }

    func testSelfCheckReportsAFailureWithErrnoAndHint() {
        // A mountpoint that does not exist must fail the pivot_root feature with ENOENT.
        var config = LockdownConfig()
        config.newRootMountpoint = "/nonexistent-alcatraz-mountpoint"
        let results = SandboxCheck.run(config: config)
        let pivot = results.first { $0.feature == .pivotRoot }
        XCTAssertEqual(pivot?.failure?.step, .rootFilesystem)
        XCTAssertEqual(pivot?.failure?.errno, ENOENT)
        XCTAssertTrue(pivot?.failure?.hint.contains("newRootMountpoint") ?? false)
        XCTAssertTrue(SandboxCheck.table(results).contains("FAILED at 'root filesystem"))
    }
}

final class SpawnerPathTests: XCTestCase {
    func testRootlessSpawnerStillLocksDown() throws {
        // A spawner started without root (setpriv to nobody) creates a user namespace of its
        // own for the network namespace; workers nest theirs inside it. Same lockdown result.
        let setpriv = "/usr/bin/setpriv"
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: setpriv) else {
            throw XCTSkip("needs root and setpriv to start an unprivileged spawner")
        }
        let spawner = try SpawnerClient(
            executablePath: setpriv,
            arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", Harness.harnessPath, "spawner"],
            limits: Harness.limits())
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)
        let status = try String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("Seccomp:\t2"), status)
        XCTAssertTrue(status.contains("CapEff:\t0000000000000000"), status)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker.pid)/root"), [])
        var job: [UInt8] = [0, 0, 0, 0]
        let code = X86.call(NR.getpid)
        withUnsafeBytes(of: UInt32(code.count).littleEndian) { job += $0 }
        job += code
        XCTAssertEqual(job.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, 0) }, job.count)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .seccompViolation(syscall: nil))
    }

    func testWorkersDieWhenTheSupervisorHangsUp() throws {
        let spawner = try SpawnerClient(executablePath: Harness.harnessPath, limits: Harness.limits())
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)
        spawner.shutdown()  // closes the control socket and reaps the spawner
        // The worker is gone or a zombie waiting for init: in neither case running.
        var state = "?"
        for _ in 0..<100 {
            guard let stat = try? String(contentsOfFile: "/proc/\(worker.pid)/stat", encoding: .utf8) else { state = "gone"; break }
            state = String(stat.split(separator: ")").last?.split(separator: " ").first ?? "?")
            if state == "Z" { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertTrue(state == "gone" || state == "Z", "worker still in state \(state)")
    }

    func testSpawnLatency() throws {
        // Not a benchmark: a guard against an accidental slow path (e.g. a netns per worker,
        // ~0.8 ms here, or an exec per worker). Prints the mean time to a ready worker.
        let spawner = try SpawnerClient(executablePath: Harness.harnessPath, limits: Harness.limits())
        defer { spawner.shutdown() }
        let count = 50
        let start = Date()
        var workers: [WorkerHandle] = []
        for _ in 0..<count {
            let w = try spawner.requestWorker()
            try spawner.waitUntilReady(w)
            workers.append(w)
        }
        let mean = Date().timeIntervalSince(start) / Double(count)
        print("mean time to a locked-down, ready worker: \(String(format: "%.2f", mean * 1000)) ms")
        XCTAssertLessThan(mean, 0.05)
        for w in workers {
            spawner.kill(w)
            XCTAssertEqual(try spawner.waitForOutcome(w), .timedOut)
        }
    }
}
