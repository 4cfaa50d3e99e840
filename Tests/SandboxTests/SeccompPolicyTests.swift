// One test per row of the allowlist (Seccomp.allowlist): the allowed arguments pass inside a
// fully locked-down worker, and a changed argument is killed by the filter.
import Sandbox
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class SeccompPolicyTests: XCTestCase {
    let killed = WorkerOutcome.seccompViolation(syscall: nil)

    func testTheTableIsWhatTheseTestsCover() {
        // A new row must come with a test here: this list is the review checklist.
        let names = Set(Seccomp.allowlist(jobFD: 3).map(\.name))
        XCTAssertEqual(names, ["read", "write", "mmap", "mprotect", "munmap", "madvise", "brk", "rt_sigreturn",
                               "rt_sigprocmask", "arch_prctl", "clock_gettime", "exit", "exit_group", "prctl", "seccomp"])
        // With spare workers at a background priority (Priority.swift), one row more.
        XCTAssertEqual(Set(Seccomp.allowlist(jobFD: 3, backgroundNice: 10).map(\.name)), names.union(["setpriority"]))
    }

    /// A worker lowers itself to the background nice once its answer is written: that value,
    /// for itself, and nothing else (raising is refused too, by RLIMIT_NICE, but the filter
    /// kills first).
    func testSetpriorityOnlyDownToTheBackgroundNiceOfThisProcess() throws {
        errno = 0
        let own = Int64(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
        var limits = Harness.limits()
        limits.backgroundNice = 5
        let background = min(19, own + 5)
        func setpriority(_ which: Int64, _ who: Int64, _ value: Int64) -> [UInt8] {
            X86.call(NR.setpriority, .imm(UInt64(bitPattern: which)), .imm(UInt64(bitPattern: who)), .imm(UInt64(bitPattern: value)))
        }
        let ok = try Harness.run(setpriority(0, 0, background), limits: limits)
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 0)
        let refused: [(Int64, Int64, Int64)] = [(0, 0, own), (0, 0, background - 1), (0, 0, background + 1),
                                                (1 /* PRIO_PGRP */, 0, background), (2 /* PRIO_USER */, 0, background),
                                                (0, 1, background)]
        for (which, who, value) in refused {
            XCTAssertEqual(try Harness.run(setpriority(which, who, value), limits: limits).outcome, killed,
                           "setpriority(\(which), \(who), \(value))")
        }
        // Without background priority the row is not there at all.
        XCTAssertEqual(try Harness.run(setpriority(0, 0, background)).outcome, killed)
    }

    func testUnlistedHarmlessSyscallIsKilled() throws {
        // getpid cannot hurt anyone, and still is not on the list: default deny.
        XCTAssertEqual(try Harness.run(X86.call(NR.getpid)).outcome, killed)
    }

    func testReadFromJobSocketPassesOtherFdsAreKilled() throws {
        let ok = try Harness.run(X86.call(NR.read, .imm(K.jobFD), .stack(-64), .imm(1)), input: [0x5A])
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 1)
        for fd: UInt64 in [0, 2, 4, 1 << 32 | 3] {
            XCTAssertEqual(try Harness.run(X86.call(NR.read, .imm(fd), .stack(-64), .imm(1))).outcome, killed, "fd \(fd)")
        }
    }

    func testWriteToJobSocketPassesOtherFdsAreKilled() throws {
        let ok = try Harness.run(X86.call(NR.write, .imm(K.jobFD), .data([0x21]), .imm(1)))
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 1)
        XCTAssertEqual(ok.extraBytes, [0x21])
        for fd: UInt64 in [1, 2, 4] {
            XCTAssertEqual(try Harness.run(X86.call(NR.write, .imm(fd), .data([0x21]), .imm(1))).outcome, killed, "fd \(fd)")
        }
    }

    func mmapCall(_ prot: UInt64, _ flags: UInt64 = K.mapPrivate | K.mapAnonymous, length: UInt64 = 4096) -> [UInt8] {
        X86.call(NR.mmap, .imm(0), .imm(length), .imm(prot), .imm(flags), .imm(UInt64.max), .imm(0))
    }

    func testMmapWithoutExecPasses() throws {
        for prot in [K.protNone, K.protR, K.protR | K.protW, K.protW] {
            let run = try Harness.run(mmapCall(prot))
            XCTAssertEqual(run.outcome, .exited(code: 0), "prot \(prot)")
            XCTAssertGreaterThan(run.result ?? -1, 0, "prot \(prot)")
        }
    }

    func testMmapWithExecIsKilled() throws {
        // Executable memory only ever comes from mprotect of the JIT's RW buffer; mmap never
        // hands out PROT_EXEC, with or without WRITE.
        for prot in [K.protR | K.protX, K.protX, K.protR | K.protW | K.protX, K.protW | K.protX] {
            XCTAssertEqual(try Harness.run(mmapCall(prot)).outcome, killed, "prot \(prot)")
        }
    }

    func testMmapSharedOrExoticProtIsKilled() throws {
        XCTAssertEqual(try Harness.run(mmapCall(K.protR | K.protW, K.mapShared | K.mapAnonymous)).outcome, killed)
        XCTAssertEqual(try Harness.run(mmapCall(K.protR | 0x8 /* PROT_SEM */)).outcome, killed)
        XCTAssertEqual(try Harness.run(mmapCall(K.protR | 0x0100_0000 /* PROT_GROWSDOWN */)).outcome, killed)
    }

    /// mmap an RW page, then mprotect it to `prot`.
    func mprotectAfterMmap(_ prot: UInt64) -> [UInt8] {
        X86.snippet { a in
            a.syscall(NR.mmap, .imm(0), .imm(4096), .imm(K.protR | K.protW), .imm(K.mapPrivate | K.mapAnonymous), .imm(UInt64.max), .imm(0))
            a.syscall(NR.mprotect, .rax, .imm(4096), .imm(prot))
            a.ret()
        }
    }

    func testMprotectWithoutWriteAndExecTogetherPasses() throws {
        for prot in [K.protNone, K.protR, K.protR | K.protW, K.protR | K.protX] {
            let run = try Harness.run(mprotectAfterMmap(prot))
            XCTAssertEqual(run.outcome, .exited(code: 0), "prot \(prot)")
            XCTAssertEqual(run.result, 0, "prot \(prot)")
        }
    }

    func testMprotectToWriteAndExecIsKilled() throws {
        XCTAssertEqual(try Harness.run(mprotectAfterMmap(K.protR | K.protW | K.protX)).outcome, killed)
        XCTAssertEqual(try Harness.run(mprotectAfterMmap(K.protW | K.protX)).outcome, killed)
    }

    func testSealedWorkerCannotMakeAnythingExecutable() throws {
        // After sealExecutableMemory (what the JIT does once its code is RX), even RX is gone:
        // with memory-deny-write-execute (Linux 6.3+) mprotect fails with EACCES for good, with
        // the older stacked filter it is killed.
        let rx = try Harness.run(mprotectAfterMmap(K.protR | K.protX), flags: K.sealFlag)
        if Seccomp.hasMemoryDenyWriteExecute {
            XCTAssertEqual(rx.outcome, .exited(code: 0))
            XCTAssertEqual(rx.result, -13 /* EACCES */)
        } else {
            XCTAssertEqual(rx.outcome, killed)
        }
        XCTAssertEqual(try Harness.run(mmapCall(K.protR | K.protX), flags: K.sealFlag).outcome, killed)
        // ... while RW still works.
        let rw = try Harness.run(mprotectAfterMmap(K.protR | K.protW), flags: K.sealFlag)
        XCTAssertEqual(rw.outcome, .exited(code: 0))
        XCTAssertEqual(rw.result, 0)
    }

    func testMunmapPasses() throws {
        let run = try Harness.run(X86.snippet { a in
            a.syscall(NR.mmap, .imm(0), .imm(8192), .imm(K.protR), .imm(K.mapPrivate | K.mapAnonymous), .imm(UInt64.max), .imm(0))
            a.syscall(NR.munmap, .rax, .imm(8192))
            a.ret()
        })
        XCTAssertEqual(run.outcome, .exited(code: 0))
        XCTAssertEqual(run.result, 0)
    }

    func madviseAfterMmap(_ advice: UInt64) -> [UInt8] {
        X86.snippet { a in
            a.syscall(NR.mmap, .imm(0), .imm(4096), .imm(K.protR | K.protW), .imm(K.mapPrivate | K.mapAnonymous), .imm(UInt64.max), .imm(0))
            a.syscall(NR.madvise, .rax, .imm(4096), .imm(advice))
            a.ret()
        }
    }

    func testMadviseDontNeedAndHugePagePassOtherAdviceIsKilled() throws {
        let ok = try Harness.run(madviseAfterMmap(4))  // MADV_DONTNEED
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 0)
        let huge = try Harness.run(madviseAfterMmap(14))  // MADV_HUGEPAGE (0, or EINVAL without THP)
        XCTAssertEqual(huge.outcome, .exited(code: 0))
        XCTAssert(huge.result == 0 || huge.result == -22, "MADV_HUGEPAGE: \(String(describing: huge.result))")
        for advice: UInt64 in [3 /* WILLNEED */, 8 /* FREE */, 12 /* MERGEABLE */, 100 /* HWPOISON */] {
            XCTAssertEqual(try Harness.run(madviseAfterMmap(advice)).outcome, killed, "advice \(advice)")
        }
    }

    func testBrkPasses() throws {
        let run = try Harness.run(X86.call(NR.brk, .imm(0)))
        XCTAssertEqual(run.outcome, .exited(code: 0))
        XCTAssertGreaterThan(run.result ?? 0, 0)
    }

    func testRtSigprocmaskPasses() throws {
        let run = try Harness.run(X86.call(NR.rtSigprocmask, .imm(0), .imm(0), .stack(-64), .imm(8)))
        XCTAssertEqual(run.outcome, .exited(code: 0))
        XCTAssertEqual(run.result, 0)
    }

    func testRtSigreturnIsAllowedSoAGarbageFrameCrashesInsteadOfSIGSYS() throws {
        // An all-zero signal frame restores rip = 0: SIGSEGV. The point: not the filter's SIGSYS.
        let outcome = try Harness.run(X86.snippet { a in
            a.syscall(NR.mmap, .imm(0), .imm(8192), .imm(K.protR | K.protW), .imm(K.mapPrivate | K.mapAnonymous), .imm(UInt64.max), .imm(0))
            a.raw([0x48, 0x8D, 0xA0, 0x00, 0x08, 0x00, 0x00])  // lea rsp, [rax + 0x800]
            a.syscall(NR.rtSigreturn)
            a.ret()
        }).outcome
        XCTAssertNotEqual(outcome, killed)
        guard case .killedBySignal = outcome else { return XCTFail("expected a crash, got \(outcome)") }
    }

    func testArchPrctlOnlySetsTheGSBase() throws {
        // The JIT sets the GS base (guest memory) before each entry.
        let ok = try Harness.run(X86.call(NR.archPrctl, .imm(K.archSetGS), .imm(0x10_0000_0000)))
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 0)
        // FS (glibc's thread pointer), the GET operations, CET/AMX/vsyscall knobs, and an
        // operation with high bits set are killed.
        for op: UInt64 in [K.archSetFS, K.archGetFS, K.archGetGS, 0x3001 /* ARCH_GET_CPUID */, 1 << 32 | K.archSetGS] {
            XCTAssertEqual(try Harness.run(X86.call(NR.archPrctl, .imm(op), .stack(-64))).outcome, killed, "op \(op)")
        }
    }

    func testClockGettimeOnlyMonotonic() throws {
        // The vDSO normally answers without a system call; this is the raw call, its fallback.
        let ok = try Harness.run(X86.call(NR.clockGettime, .imm(1 /* CLOCK_MONOTONIC */), .stack(-64)))
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 0)
        for clock: UInt64 in [0 /* REALTIME */, 2 /* PROCESS_CPUTIME */, 4 /* MONOTONIC_RAW */, 1 << 32 | 1] {
            XCTAssertEqual(try Harness.run(X86.call(NR.clockGettime, .imm(clock), .stack(-64))).outcome, killed, "clock \(clock)")
        }
    }

    func testMmapOfTheGuestReservationAtItsFixedAddressPasses() throws {
        // What GuestMemory does for the JIT after seccomp: 4 GiB + guard, PROT_NONE, private,
        // MAP_NORESERVE | MAP_FIXED_NOREPLACE at 0x10_0000_0000.
        let flags = K.mapPrivate | K.mapAnonymous | K.mapNoReserve | K.mapFixedNoReplace
        let ok = try Harness.run(X86.call(NR.mmap, .imm(0x10_0000_0000), .imm((4 << 30) + (1 << 17)), .imm(K.protNone),
                                          .imm(flags), .imm(UInt64.max), .imm(0)))
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, 0x10_0000_0000)
        // The same with MAP_SHARED, or with W+X, is killed.
        XCTAssertEqual(try Harness.run(X86.call(NR.mmap, .imm(0x10_0000_0000), .imm(1 << 20), .imm(K.protNone),
                                                .imm(flags ^ K.mapPrivate | K.mapShared), .imm(UInt64.max), .imm(0))).outcome, killed)
        XCTAssertEqual(try Harness.run(X86.call(NR.mmap, .imm(0x10_0000_0000), .imm(1 << 20), .imm(K.protW | K.protX),
                                                .imm(flags), .imm(UInt64.max), .imm(0))).outcome, killed)
    }

    func testExitAndExitGroupPass() throws {
        XCTAssertEqual(try Harness.run(X86.call(NR.exit, .imm(7))).outcome, .exited(code: 7))
        XCTAssertEqual(try Harness.run(X86.call(NR.exitGroup, .imm(9))).outcome, .exited(code: 9))
    }

    func testPrctlOnlySetsMemoryDenyWriteExecute() throws {
        // PR_SET_MDWE(REFUSE_EXEC_GAIN) with zero arguments passes (0 on Linux 6.3+, EINVAL
        // before); any other prctl, or other arguments, is killed.
        let ok = try Harness.run(X86.call(NR.prctl, .imm(65), .imm(1), .imm(0), .imm(0), .imm(0)))
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, Seccomp.hasMemoryDenyWriteExecute ? 0 : -22)
        for args: [UInt64] in [[65, 2, 0, 0, 0], [65, 1, 1, 0, 0], [65, 1, 0, 0, 1], [66, 0, 0, 0, 0],
                               [4 /* PR_SET_DUMPABLE */, 1, 0, 0, 0], [38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0],
                               [1 << 32 | 65, 1, 0, 0, 0]] {
            XCTAssertEqual(try Harness.run(X86.call(NR.prctl, .imm(args[0]), .imm(args[1]), .imm(args[2]), .imm(args[3]),
                                                    .imm(args[4]))).outcome, killed, "prctl \(args)")
        }
    }

    func testSeccompOnlySetModeFilterWithoutFlags() throws {
        // Allowed (it fails with EFAULT on a null program: not killed).
        let ok = try Harness.run(X86.call(NR.seccomp, .imm(1), .imm(0), .imm(0)))
        XCTAssertEqual(ok.outcome, .exited(code: 0))
        XCTAssertEqual(ok.result, -14)
        // TSYNC, NEW_LISTENER flags, and other operations are killed.
        XCTAssertEqual(try Harness.run(X86.call(NR.seccomp, .imm(1), .imm(1), .imm(0))).outcome, killed)
        XCTAssertEqual(try Harness.run(X86.call(NR.seccomp, .imm(1), .imm(8), .imm(0))).outcome, killed)
        XCTAssertEqual(try Harness.run(X86.call(NR.seccomp, .imm(2), .imm(0), .imm(0))).outcome, killed)
    }
}
