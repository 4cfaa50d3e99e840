// The memory budget the daemon's config check demands (`WorkerLimits.memoryNeeded`) is enough
// for the worst program its limits admit, in a real locked-down worker under that RLIMIT_DATA.
// At full scale (a 4 MiB blob) a debug build compiles for over 20 s, so this runs the same
// worst case at 1 MiB; docs/operations.md ("Worker memory") has the release figures at 4 MiB.
import Foundation
import PVM
import Sandbox
import SandboxedExecution
import WireProtocol
import XCTest

final class WorkerMemoryTests: XCTestCase {
    /// The worst program for the compiler within `blobBytes`: code of nothing but 0xCC with every
    /// bitmask bit set (a `div_s_64` on guest r12 at every byte, 74 native bytes each), and
    /// heap pages up to `guestBytes` of guest memory with the 1 MiB stack.
    static func worstProgram(blobBytes: Int, guestBytes: Int) -> (blob: [UInt8], codeLength: Int) {
        let stack = 1 << 20
        let heapPages = UInt32((guestBytes - stack) / 4096)
        var n = blobBytes * 8 / 9
        while true {
            let code = ProgramBlob(jumpTable: [], code: [UInt8](repeating: 0xCC, count: n),
                                   bitmask: [Bool](repeating: true, count: n))
            let bytes = StandardProgram(extraHeapPages: heapPages, stackSize: UInt32(stack), blob: code).encoded()
            if bytes.count <= blobBytes { return (bytes, n) }
            n -= (bytes.count - blobBytes) * 8 / 9 + 1
        }
    }

    func testTheBudgetTheConfigDemandsCompilesAndRunsTheWorstProgramOnBothEngines() throws {
        let blobBytes = 1 << 20, inputBytes = 1 << 20, guestBytes = 256 << 20
        let (blob, codeLength) = Self.worstProgram(blobBytes: blobBytes, guestBytes: guestBytes)
        XCTAssertEqual(blob.count, blobBytes)
        var limits = ResourceLimits()
        limits.cpuSeconds = 30
        limits.memoryBudgetBytes = WorkerLimits.memoryNeeded(maxBlobBytes: UInt64(blobBytes), maxInputBytes: UInt64(inputBytes),
                                                             maxGuestMemoryBytes: UInt64(guestBytes))
        XCTAssertEqual(limits.memoryBudgetBytes, 402 << 20)
        let executor = try SandboxedExecutor(workerPath: Build.workerPath, limits: limits)
        executor.timeoutSeconds = 60
        for engine in Engine.allCases {
            let job = WorkerJob(jobId: 9, blob: blob, input: [UInt8](repeating: 0x5A, count: inputBytes), gasLimit: 10_000_000,
                                limits: WorkerLimits(maxGuestMemoryBytes: UInt64(guestBytes), maxStackBytes: 1 << 20, engine: engine))
            // Every division runs (by r12 = 0: all ones), then the implicit trap past the code.
            XCTAssertEqual(try executor.run(job).outcome, .panic(pc: UInt32(codeLength)), "\(engine)")
        }
    }
}
