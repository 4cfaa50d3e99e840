// Test support: a tiny x86-64 assembler for syscall snippets, and a runner that executes a
// snippet in a fully locked-down harness worker and returns how it ended.
import CShims
import Foundation
import Sandbox
import XCTest

/// Hand-assembled x86-64: just enough for `mov reg, imm; ...; syscall; ret`.
struct X86 {
    enum Reg: UInt8 { case rax = 0, rcx = 1, rdx = 2, rsi = 6, rdi = 7, r8 = 8, r9 = 9, r10 = 10 }
    /// A syscall argument: an immediate, the address of bytes placed after the code, the
    /// result of the previous call (rax), an address on the stack's red zone, or whatever the
    /// register already holds (`keep`).
    enum Arg { case imm(UInt64), data([UInt8]), string(String), rax, stack(Int32), keep }

    private(set) var code: [UInt8] = []
    private var data: [UInt8] = []
    private var fixups: [(at: Int, dataOffset: Int)] = []

    static let argumentRegisters: [Reg] = [.rdi, .rsi, .rdx, .r10, .r8, .r9]

    /// movabs reg, imm64
    mutating func mov(_ r: Reg, _ value: UInt64) {
        code += [0x48 | (r.rawValue >= 8 ? 1 : 0), 0xB8 + (r.rawValue & 7)]
        for i in 0..<8 { code.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    /// mov reg, rax
    mutating func movFromRAX(_ r: Reg) {
        code += [0x48 | (r.rawValue >= 8 ? 1 : 0), 0x89, 0xC0 | (r.rawValue & 7)]
    }

    /// lea reg, [rip + data]
    mutating func lea(_ r: Reg, data bytes: [UInt8]) {
        code += [0x48 | (r.rawValue >= 8 ? 4 : 0), 0x8D, 0x05 | ((r.rawValue & 7) << 3)]
        fixups.append((code.count, data.count))
        code += [0, 0, 0, 0]
        data += bytes
    }

    /// lea reg, [rsp + offset] (the red zone below rsp is ours while the snippet runs)
    mutating func leaStack(_ r: Reg, _ offset: Int32) {
        code += [0x48 | (r.rawValue >= 8 ? 4 : 0), 0x8D, 0x84 | ((r.rawValue & 7) << 3), 0x24]
        for i in 0..<4 { code.append(UInt8(truncatingIfNeeded: offset >> (8 * Int32(i)))) }
    }

    /// Loads the arguments, then `mov eax, nr; syscall`. Arguments `.rax` read the previous
    /// result, so they are loaded first, before anything else could be clobbered.
    mutating func syscall(_ nr: UInt32, _ args: Arg...) { syscall(nr, args) }

    mutating func syscall(_ nr: UInt32, _ args: [Arg]) {
        let indexed = Array(args.enumerated())
        let fromRAX = indexed.filter { if case .rax = $0.element { return true }; return false }
        let others = indexed.filter { if case .rax = $0.element { return false }; return true }
        for (i, arg) in fromRAX + others {
            let r = X86.argumentRegisters[i]
            switch arg {
            case let .imm(v): mov(r, v)
            case let .data(bytes): lea(r, data: bytes)
            case let .string(s): lea(r, data: Array(s.utf8) + [0])
            case .rax: movFromRAX(r)
            case let .stack(offset): leaStack(r, offset)
            case .keep: break
            }
        }
        code += [0xB8] + le32(nr)
        code += [0x0F, 0x05]
    }

    mutating func ret() { code.append(0xC3) }
    mutating func ud2() { code += [0x0F, 0x0B] }
    mutating func spinForever() { code += [0xEB, 0xFE] }
    mutating func raw(_ bytes: [UInt8]) { code += bytes }

    /// The code followed by its data, with the rip-relative displacements patched.
    func assemble() -> [UInt8] {
        var out = code + data
        for f in fixups {
            let disp = Int32(code.count + f.dataOffset - (f.at + 4))
            for i in 0..<4 { out[f.at + i] = UInt8(truncatingIfNeeded: disp >> (8 * Int32(i))) }
        }
        return out
    }

    private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }

    /// One syscall whose result is returned to the harness (`syscall; ret`).
    static func call(_ nr: UInt32, _ args: Arg...) -> [UInt8] {
        var a = X86()
        a.syscall(nr, args)
        a.ret()
        return a.assemble()
    }
}

extension X86 {
    /// `syscall(nr, args)` followed by `ret`, from an array of arguments.
    static func snippet(_ build: (inout X86) -> Void) -> [UInt8] {
        var a = X86()
        build(&a)
        return a.assemble()
    }
}

/// What a harness run produced.
struct HarnessRun {
    var outcome: WorkerOutcome
    var report: WorkerExitReport
    /// rax after the snippet returned, when it returned.
    var result: Int64?
    /// Bytes the snippet itself wrote on the job socket before the harness's response.
    var extraBytes: [UInt8]
}

enum Harness {
    static let buildDirectory: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent()
    }()

    static var harnessPath: String { buildDirectory.appendingPathComponent("alcatraz-sandbox-harness").path }
    static var workerPath: String { buildDirectory.appendingPathComponent("alcatraz-worker").path }

    static func limits(cpuSeconds: UInt64 = 5, memory: UInt64 = 256 << 20) -> ResourceLimits {
        var l = ResourceLimits()
        l.cpuSeconds = cpuSeconds
        l.memoryBudgetBytes = memory
        return l
    }

    /// Starts a spawner, gets one ready worker, sends `code` (+ `input` for the snippet to
    /// read), collects the response and the outcome.
    static func run(
        _ code: [UInt8], flags: UInt32 = 0, input: [UInt8] = [], limits: ResourceLimits = limits(),
        killAfter: TimeInterval? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws -> HarnessRun {
        let spawner = try SpawnerClient(executablePath: harnessPath, limits: limits)
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        // A hung worker must fail the test, not hang the suite.
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(worker.jobFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try spawner.waitUntilReady(worker)
        var job: [UInt8] = []
        for v in [flags, UInt32(code.count)] { withUnsafeBytes(of: v.littleEndian) { job += $0 } }
        job += code + input
        let sent = job.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        XCTAssertEqual(sent, job.count, "job not sent", file: file, line: line)
        if let killAfter {
            Thread.sleep(forTimeInterval: killAfter)
            XCTAssertEqual(spawner.kill(worker), 0, file: file, line: line)
        }
        let response = readAll(worker.jobFD)
        let (outcome, report) = try spawner.waitForExit(worker)
        var result: Int64?
        var extra = response
        if response.count >= 9, response[response.count - 9] == 0x44 {
            result = response.suffix(8).enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * Int64($1.offset)) }
            extra = Array(response.dropLast(9))
        }
        return HarnessRun(outcome: outcome, report: report, result: result, extraBytes: extra)
    }

    /// Reads until EOF (the worker's exit closes its end).
    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }
}

/// Syscall numbers (x86-64) and constants the tests use.
enum NR {
    static let read: UInt32 = 0, write: UInt32 = 1, open: UInt32 = 2, mmap: UInt32 = 9, mprotect: UInt32 = 10
    static let munmap: UInt32 = 11, brk: UInt32 = 12, rtSigprocmask: UInt32 = 14, rtSigreturn: UInt32 = 15
    static let madvise: UInt32 = 28, getpid: UInt32 = 39, socket: UInt32 = 41, connect: UInt32 = 42
    static let clone: UInt32 = 56, fork: UInt32 = 57, vfork: UInt32 = 58, execve: UInt32 = 59, exit: UInt32 = 60
    static let kill: UInt32 = 62, ptrace: UInt32 = 101, setuid: UInt32 = 105, chroot: UInt32 = 161
    static let mount: UInt32 = 165, exitGroup: UInt32 = 231, openat: UInt32 = 257, unshare: UInt32 = 272
    static let setns: UInt32 = 308, processVMWritev: UInt32 = 311, seccomp: UInt32 = 317, memfdCreate: UInt32 = 319
    static let bpf: UInt32 = 321, userfaultfd: UInt32 = 323, pkeyMprotect: UInt32 = 329, clone3: UInt32 = 435
    static let ioUringSetup: UInt32 = 425, perfEventOpen: UInt32 = 298, keyctl: UInt32 = 250, prctl: UInt32 = 157
    static let setrlimit: UInt32 = 160, prlimit64: UInt32 = 302, getdents64: UInt32 = 217, mremap: UInt32 = 25
    static let archPrctl: UInt32 = 158, clockGettime: UInt32 = 228, setpriority: UInt32 = 141
    static let ioctl: UInt32 = 16, sendmsg: UInt32 = 46, recvmsg: UInt32 = 47, dup: UInt32 = 32, pidfdOpen: UInt32 = 434
}

enum K {
    static let protNone: UInt64 = 0, protR: UInt64 = 1, protW: UInt64 = 2, protX: UInt64 = 4
    static let mapPrivate: UInt64 = 0x02, mapShared: UInt64 = 0x01, mapAnonymous: UInt64 = 0x20, mapNoReserve: UInt64 = 0x4000
    static let mapFixedNoReplace: UInt64 = 0x10_0000
    static let archSetGS: UInt64 = 0x1001, archSetFS: UInt64 = 0x1002, archGetFS: UInt64 = 0x1003, archGetGS: UInt64 = 0x1004
    static let atFDCWD = UInt64(bitPattern: -100)
    static let jobFD: UInt64 = 3
    static let sealFlag: UInt32 = 1, enomemIsMemoryLimit: UInt32 = 2
}
