// A live locked-down production worker with the JIT loaded, inspected from outside while its
// guest code runs.
import Foundation
import PVMAssembler
import Sandbox
import SandboxedExecution
import WireProtocol
import XCTest

final class LiveJITWorkerTests: XCTestCase {
    func testWorkerRunningJITCodeHasNoWritableExecutableMemory() throws {
        let spawner = try SpawnerClient(executablePath: Build.workerPath)
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)
        let job = WorkerJob(jobId: 1, program: try Assembler.assemble(Programs.spin), input: [],
                            gas: 1 << 60, engine: .jit)
        let frame = Frame.encode(WorkerMessage.job(job))
        XCTAssertEqual(frame.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, 0) }, frame.count)

        // The code is RX and executable memory sealed just before the guest runs. With Linux
        // 6.3+ the seal is memory-deny-write-execute, which /proc does not show (the harness's
        // testSealedWorkerCannotMakeAnythingExecutable checks it from inside); before 6.3 it is
        // a second seccomp filter, which /proc shows. So wait for the guest (spin) to use CPU
        // with the code mapped.
        let sealedByFilter = !Seccomp.hasMemoryDenyWriteExecute
        var status = ""
        for _ in 0..<200 {
            status = try String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
            let mapped = (try? String(contentsOfFile: "/proc/\(worker.pid)/maps", encoding: .utf8))?
                .split(separator: "\n").contains { $0.split(separator: " ", omittingEmptySubsequences: true).count == 5 && $0.contains(" r-xp ") } ?? false
            if sealedByFilter ? status.contains("Seccomp_filters:\t2") : mapped { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.05)
        status = try String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("Seccomp:\t2"), status)
        XCTAssertTrue(status.contains(sealedByFilter ? "Seccomp_filters:\t2" : "Seccomp_filters:\t1"),
                      "unexpected number of seccomp filters: \(status)")
        XCTAssertTrue(status.contains("SigCgt:\t0000000000000440"), "JIT fault handler (SIGSEGV, SIGBUS) missing: \(status)")
        XCTAssertTrue(status.contains("NoNewPrivs:\t1"), status)
        XCTAssertTrue(status.contains("CapEff:\t0000000000000000"), status)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(worker.pid)/fd"), ["3"])

        // Read to the end: /proc files report size 0, and a one-shot read stops at a page.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/\(worker.pid)/maps"))
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        try handle.close()
        var anonymousCode = 0
        var guestReservation = false
        for line in maps {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let perms = fields[1]
            XCTAssertFalse(perms.contains("w") && perms.contains("x"), "W+X mapping: \(line)")
            // The JIT code: anonymous and small (the spawner's own code, moved into huge pages,
            // is anonymous too, but megabytes).
            let bounds = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            if perms == "r-xp" && fields.count == 5, bounds.count == 2, bounds[1] - bounds[0] < 1 << 20 { anonymousCode += 1 }
            let range = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            if range.count == 2, range[0] <= 0x10_0000_0000, range[1] > 0x10_0000_0000 { guestReservation = true }
        }
        XCTAssertGreaterThanOrEqual(anonymousCode, 1, "no anonymous RX mapping (JIT code): \(maps)")
        XCTAssertTrue(guestReservation, "no guest reservation at 0x10_0000_0000")

        XCTAssertEqual(spawner.kill(worker), 0)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .timedOut)
    }

    /// The spawner moves its code into anonymous huge pages before it forks
    /// (sb_move_text_to_huge_pages), so that workers do not fault on each code page. The worker
    /// binary is linked with 2 MiB segment alignment for it.
    func testSpawnerCodeSitsInHugePagesWhenTheKernelHasThem() throws {
        try XCTSkipIf(SandboxCheck.hugePagesAvailable == EINVAL, "this kernel has no MADV_COLLAPSE (Linux < 6.1)")
        let spawner = try SpawnerClient(executablePath: Build.workerPath)
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()   // the spawner is past its start-up now
        try spawner.waitUntilReady(worker)
        let smaps = try String(contentsOfFile: "/proc/\(spawner.spawnerPID)/smaps", encoding: .utf8)
        var hugeCode = 0
        var inAnonymousCode = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 5, fields[0].contains("-"), fields[1].count == 4 {
                inAnonymousCode = fields[1] == "r-xp" && fields.count == 5
            } else if inAnonymousCode, fields.first == "AnonHugePages:", fields.count >= 2, let kb = Int(fields[1]) {
                hugeCode += kb
            }
        }
        XCTAssertGreaterThanOrEqual(hugeCode, 2048, "no code in huge pages:\n\(smaps)")
        XCTAssertEqual(spawner.kill(worker), 0)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .timedOut)
    }
}
