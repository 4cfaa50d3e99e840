// Outcome classification: each cause of a worker's end maps to its own case, from real
// workers (seccomp kill, CPU limit, crash, normal exit, timeout, memory limit) and from
// synthetic reports (the pure classifier).
import Glibc
import Sandbox
import XCTest

final class OutcomeTests: XCTestCase {
    func report(status: Int32, cpu: UInt64 = 0) -> WorkerExitReport {
        WorkerExitReport(workerID: 1, pid: 2, waitStatus: status, cpuMicroseconds: cpu, maxRSSKiB: 0)
    }

    func testClassifierKeepsCausesApart() {
        var limits = ResourceLimits()
        limits.cpuSeconds = 2
        func classify(_ r: WorkerExitReport, killed: Bool = false) -> WorkerOutcome {
            WorkerOutcome.classify(r, limits: limits, killedBySupervisor: killed)
        }
        XCTAssertEqual(classify(report(status: 3 << 8)), .exited(code: 3))
        XCTAssertEqual(classify(report(status: 0)), .exited(code: 0))
        XCTAssertEqual(classify(report(status: SIGSYS)), .seccompViolation(syscall: nil))
        XCTAssertEqual(classify(report(status: SIGSYS | 0x80)), .seccompViolation(syscall: nil))  // core flag
        XCTAssertEqual(classify(report(status: SIGXCPU)), .cpuLimit)
        XCTAssertEqual(classify(report(status: SIGKILL, cpu: 2_000_100)), .cpuLimit)
        XCTAssertEqual(classify(report(status: SIGKILL, cpu: 1_950_000)), .cpuLimit)  // tick accounting slack
        XCTAssertEqual(classify(report(status: SIGKILL, cpu: 1_750_000)), .cpuLimit)  // ... under contention
        XCTAssertEqual(classify(report(status: SIGKILL, cpu: 1_650_000)), .killedBySignal(SIGKILL))
        XCTAssertEqual(classify(report(status: SIGKILL, cpu: 500_000)), .killedBySignal(SIGKILL))
        XCTAssertEqual(classify(report(status: SIGKILL, cpu: 2_000_100), killed: true), .timedOut)
        XCTAssertEqual(classify(report(status: SIGSYS), killed: true), .seccompViolation(syscall: nil))
        XCTAssertEqual(classify(report(status: SIGSEGV)), .killedBySignal(SIGSEGV))
        XCTAssertEqual(classify(report(status: WorkerExitCode.memoryLimit << 8)), .memoryLimit)
        let pivot = (WorkerExitCode.lockdownFailedBase + LockdownStep.rootFilesystem.rawValue) << 8
        XCTAssertEqual(classify(report(status: pivot)), .lockdownFailed(step: .rootFilesystem, errno: nil))
        XCTAssertEqual(WorkerOutcome.classify(report(status: pivot), limits: limits, killedBySupervisor: false, lockdownErrno: EINVAL),
                       .lockdownFailed(step: .rootFilesystem, errno: EINVAL))
    }

    func testNormalExit() throws {
        XCTAssertEqual(try Harness.run(X86.call(NR.exitGroup, .imm(42))).outcome, .exited(code: 42))
        let returned = try Harness.run(X86.snippet { a in a.mov(.rax, 1234); a.ret() })
        XCTAssertEqual(returned.outcome, .exited(code: 0))
        XCTAssertEqual(returned.result, 1234)
    }

    func testSeccompKill() throws {
        XCTAssertEqual(try Harness.run(X86.call(NR.getpid)).outcome, .seccompViolation(syscall: nil))
    }

    func testCrashSignals() throws {
        XCTAssertEqual(try Harness.run(X86.snippet { a in a.ud2() }).outcome, .killedBySignal(SIGILL))
        // A load from address 0.
        XCTAssertEqual(try Harness.run(X86.snippet { a in a.mov(.rax, 0); a.raw([0x48, 0x8B, 0x00]) }).outcome,
                       .killedBySignal(SIGSEGV))
    }

    func testCrashWithTheJITFaultHandlerInstalledIsACrashNotASeccompKill() throws {
        // The harness installs the JIT's SIGSEGV/SIGBUS handler in its prepare step, like the
        // production worker. A fault outside JIT code must still end as a crash: the handler
        // cannot restore SIG_DFL with rt_sigaction (the filter would kill it: SIGSYS).
        let spawner = try SpawnerClient(executablePath: Harness.harnessPath, limits: Harness.limits())
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)
        let status = try String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
        // SigCgt: bit 10 (SIGSEGV) and bit 6 (SIGBUS), nothing else.
        XCTAssertTrue(status.contains("SigCgt:\t0000000000000440"), status)
        var job: [UInt8] = [0, 0, 0, 0]
        let code = X86.snippet { a in a.mov(.rax, 0); a.raw([0x48, 0x89, 0x00]) }  // mov [rax], rax
        withUnsafeBytes(of: UInt32(code.count).littleEndian) { job += $0 }
        job += code
        XCTAssertEqual(job.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, 0) }, job.count)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .killedBySignal(SIGSEGV))
        // A jump to an unmapped address faults on the fetch: same verdict.
        XCTAssertEqual(try Harness.run(X86.snippet { a in a.mov(.rax, 0x1234_5000); a.raw([0xFF, 0xE0]) }).outcome,
                       .killedBySignal(SIGSEGV))
    }

    func testCPULimit() throws {
        let start = Date()
        let run = try Harness.run(X86.snippet { a in a.spinForever() }, limits: Harness.limits(cpuSeconds: 1))
        XCTAssertEqual(run.outcome, .cpuLimit, "\(run.report)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testWallClockTimeoutIsNotACPULimit() throws {
        let run = try Harness.run(X86.snippet { a in a.spinForever() }, limits: Harness.limits(cpuSeconds: 30), killAfter: 0.2)
        XCTAssertEqual(run.outcome, .timedOut)
    }

    func testMemoryBudgetBoundsWritableMemory() throws {
        let limits = Harness.limits(memory: 64 << 20)
        let big = X86.call(NR.mmap, .imm(0), .imm(256 << 20), .imm(K.protR | K.protW), .imm(K.mapPrivate | K.mapAnonymous), .imm(UInt64.max), .imm(0))
        // The call fails with ENOMEM (RLIMIT_DATA), and the worker may report it as such.
        let failed = try Harness.run(big, limits: limits)
        XCTAssertEqual(failed.outcome, .exited(code: 0))
        XCTAssertEqual(failed.result, -Int64(ENOMEM))
        XCTAssertEqual(try Harness.run(big, flags: K.enomemIsMemoryLimit, limits: limits).outcome, .memoryLimit)
    }

    func testGuestReservationFitsTheAddressSpaceLimit() throws {
        // The PVM's 4 GiB + guard PROT_NONE reservation must succeed under the same limits that
        // refuse 256 MiB of writable memory...
        let limits = Harness.limits(memory: 64 << 20)
        let reserve = X86.call(NR.mmap, .imm(0), .imm(5 << 30), .imm(K.protNone),
                               .imm(K.mapPrivate | K.mapAnonymous | K.mapNoReserve), .imm(UInt64.max), .imm(0))
        let run = try Harness.run(reserve, limits: limits)
        XCTAssertEqual(run.outcome, .exited(code: 0))
        XCTAssertGreaterThan(run.result ?? -1, 0)
        // ... and opening 256 MiB of it for writing is refused by RLIMIT_DATA at mprotect.
        let open = try Harness.run(X86.snippet { a in
            a.syscall(NR.mmap, .imm(0), .imm(5 << 30), .imm(K.protNone), .imm(K.mapPrivate | K.mapAnonymous | K.mapNoReserve), .imm(UInt64.max), .imm(0))
            a.syscall(NR.mprotect, .rax, .imm(256 << 20), .imm(K.protR | K.protW))
            a.ret()
        }, limits: limits)
        XCTAssertEqual(open.result, -Int64(ENOMEM))
        // ... while the address space as a whole stays bounded (RLIMIT_AS).
        let tooMuch = X86.call(NR.mmap, .imm(0), .imm(64 << 30), .imm(K.protNone),
                               .imm(K.mapPrivate | K.mapAnonymous | K.mapNoReserve), .imm(UInt64.max), .imm(0))
        XCTAssertEqual(try Harness.run(tooMuch, limits: limits).result, -Int64(ENOMEM))
    }
}
