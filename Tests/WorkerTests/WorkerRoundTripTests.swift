// The production worker end to end: a real spawner, full lockdown (seccomp included), one job
// per worker, on both engines, for every outcome; and the sandboxed result equals the
// in-process one.
import Foundation
import PVM
import PVMAssembler
import Sandbox
import SandboxedExecution
import WireProtocol
import XCTest

final class WorkerRoundTripTests: XCTestCase {
    nonisolated(unsafe) static var shared: SandboxedExecutor?

    var executor: SandboxedExecutor {
        get throws {
            if let e = Self.shared { return e }
            let e = try Build.executor()
            Self.shared = e
            return e
        }
    }

    func job(_ source: String, input: [UInt8] = [], gas: Int64 = 10_000, engine: Engine, id: UInt64 = 7) throws -> WorkerJob {
        WorkerJob(jobId: id, program: try Assembler.assemble(source), input: input, gas: gas, engine: engine)
    }

    func testHaltWithOutputOnBothEngines() throws {
        for engine in Engine.allCases {
            let result = try executor.run(try job(Programs.echo, input: Array("hello".utf8), engine: engine, id: 41))
            XCTAssertEqual(result.jobId, 41)
            guard case let .halt(state) = result.outcome else { return XCTFail("\(engine): \(result.outcome)") }
            XCTAssertEqual(state.output, Array("hello".utf8), "\(engine)")
            XCTAssertEqual(state.gasUsed, 1, "\(engine)")
            XCTAssertEqual(state.registers[7], 0xFEFF_0000, "\(engine)")
            XCTAssertGreaterThan(result.compileNanos, 0, "\(engine)")
        }
    }

    func testLargeProgramCompilesUnderTheFilter() throws {
        // 200,000 instructions (≈ 600 KB of code): the compiler's buffers pass 2 MiB, so they
        // are mapped on their own and advised MADV_HUGEPAGE, inside the worker's seccomp filter.
        var source = "load_imm r1, 0\n"
        for i in 0..<200_000 { source += "add_imm_64 r1, r1, \(i % 100)\n" }
        source += "jump_ind ra, 0\n"
        for engine in Engine.allCases {
            let result = try executor.run(try job(source, gas: 1_000_000, engine: engine))
            guard case let .halt(state) = result.outcome else { return XCTFail("\(engine): \(result.outcome)") }
            XCTAssertEqual(state.registers[1], UInt64((0..<200_000).reduce(0) { $0 + $1 % 100 }), "\(engine)")
            XCTAssertEqual(state.gasUsed, 200_002, "\(engine)")
        }
    }

    func testPanicOnBothEngines() throws {
        for engine in Engine.allCases {
            XCTAssertEqual(try executor.run(try job(Programs.panic, engine: engine)).outcome, .panic(pc: 3), "\(engine)")
        }
    }

    func testOutOfGasOnBothEngines() throws {
        for engine in Engine.allCases {
            XCTAssertEqual(try executor.run(try job(Programs.spin, gas: 100_000, engine: engine)).outcome, .outOfGas, "\(engine)")
        }
    }

    func testOutOfGasInsideAChainedChargeGoesOverToTheInterpreterUnderTheFilter() throws {
        // The first block pays for itself and the block it jumps to (4 gas an iteration). With
        // 2 gas left, that charge does not fit but the first block does: the JIT hands the rest
        // of the run to the interpreter, which allocates its decoded program inside the worker.
        let source = """
        loop:   add_imm_64 r1, r1, 1
                jump next
        next:   add_imm_64 r2, r2, 1
                branch_ne_imm r2, 0, loop
        """
        for engine in Engine.allCases {
            for gas: Int64 in [100_000, 100_001, 100_002, 100_003] {
                XCTAssertEqual(try executor.run(try job(source, gas: gas, engine: engine)).outcome, .outOfGas,
                               "\(engine), gas \(gas)")
            }
        }
    }

    func testPageFaultOnBothEnginesTheJITFaultHandlerWorksUnderSeccomp() throws {
        // On the JIT this store faults in hardware: the SIGSEGV handler (installed in the
        // "job preparation" step) runs and returns through rt_sigreturn, under the filter.
        for engine in Engine.allCases {
            XCTAssertEqual(try executor.run(try job(Programs.pageFault, engine: engine)).outcome,
                           .pageFault(address: 0x4000_0000), "\(engine)")
        }
    }

    func testBadCodeOnBothEnginesCarriesTheDecoderMessage() throws {
        let limits = WorkerLimits(maxGuestMemoryBytes: 1 << 30, maxStackBytes: 1 << 24, engine: .interpreter)
        for engine in Engine.allCases {
            var l = limits
            l.engine = engine
            let result = try executor.run(WorkerJob(jobId: 3, blob: [1, 2, 3, 4], input: [], gasLimit: 100, limits: l))
            var expected = ""
            do { _ = try StandardProgram(decoding: [1, 2, 3, 4]) } catch { expected = error.description }
            XCTAssertEqual(result.outcome, .badCode(message: expected), "\(engine)")
            XCTAssertFalse(expected.isEmpty)
        }
    }

    // The job's memory caps are the operator's: passing them is `limitExceeded`, never a verdict.
    func testStackLimitOfTheJobIsApplied() throws {
        let source = ".stack_size 65536\n" + Programs.echo
        let blob = try Assembler.assemble(source).encoded()
        for engine in Engine.allCases {
            let limits = WorkerLimits(maxGuestMemoryBytes: 1 << 30, maxStackBytes: 4096, engine: engine)
            let result = try executor.run(WorkerJob(jobId: 1, blob: blob, input: [], gasLimit: 100, limits: limits))
            XCTAssertEqual(result.outcome, .limitExceeded(limit: .stackBytes, requested: 65536, maximum: 4096), "\(engine)")
            XCTAssertEqual(result.outcome.verdict, .error(.limitExceeded(limit: .stackBytes, requested: 65536, maximum: 4096)))
        }
    }

    func testOutputOverTheAnswerFrameIsLimitExceeded() throws {
        for engine in Engine.allCases {
            var tight = try job(Programs.echo, input: [UInt8](repeating: 7, count: 100), engine: engine)
            tight.limits.maxOutputBytes = 99
            XCTAssertEqual(try executor.run(tight).outcome, .limitExceeded(limit: .outputBytes, requested: 100, maximum: 99), "\(engine)")
            tight.limits.maxOutputBytes = 100
            guard case let .halt(state) = try executor.run(tight).outcome else { return XCTFail("\(engine): no halt") }
            XCTAssertEqual(state.output, [UInt8](repeating: 7, count: 100))
        }
    }

    func testDeclaredMemoryOverTheJobsCap() throws {
        // 64 KiB of stack and 16 heap pages: 128 KiB mapped at start, against a 96 KiB cap.
        let blob = try Assembler.assemble(".stack_size 65536\n.heap_pages 16\n" + Programs.echo).encoded()
        let limits = WorkerLimits(maxGuestMemoryBytes: 96 << 10, maxStackBytes: 1 << 20, engine: .jit)
        let result = try executor.run(WorkerJob(jobId: 1, blob: blob, input: [], gasLimit: 100, limits: limits))
        XCTAssertEqual(result.outcome, .limitExceeded(limit: .guestMemoryBytes, requested: 128 << 10, maximum: 96 << 10))
    }

    func testSbrkPastTheJobsMemoryBudgetEndsWithLimitExceeded() throws {
        // The first 64 KiB fit the 160 KiB budget next to the 64 KiB stack; the second would not.
        // In process, without a budget, the same program gets both (sbrk answers by the layout).
        let source = ".stack_size 65536\nload_imm r1, 0x10000\nsbrk r2, r1\nsbrk r3, r1\njump_ind ra, 0"
        let blob = try Assembler.assemble(source).encoded()
        let inProcess = try Programs.inProcess(source, input: [], gas: 100, engine: .interpreter)
        XCTAssertEqual([inProcess.registers[2], inProcess.registers[3]], [0x20000, 0x30000])
        for engine in Engine.allCases {
            let limits = WorkerLimits(maxGuestMemoryBytes: 160 << 10, maxStackBytes: 1 << 20, engine: engine)
            let job = WorkerJob(jobId: 7, blob: blob, input: [], gasLimit: 100, limits: limits)
            let expected = JobOutcome.limitExceeded(limit: .guestMemoryBytes, requested: 192 << 10, maximum: 160 << 10)
            let result = try executor.run(job)
            XCTAssertEqual(result.jobId, 7)
            XCTAssertEqual(result.outcome, expected, "\(engine)")
            XCTAssertEqual(try executor.report(job).status,
                           .limitExceeded(limit: .guestMemoryBytes, requested: 192 << 10, maximum: 160 << 10), "\(engine)")
            var roomy = job
            roomy.limits.maxGuestMemoryBytes = 192 << 10
            guard case let .halt(state) = try executor.run(roomy).outcome else { return XCTFail("\(engine): no halt") }
            XCTAssertEqual([state.registers[2], state.registers[3]], [0x20000, 0x30000], "\(engine)")
        }
    }

    func testSandboxedReportsEqualInProcessResults() throws {
        let cases: [(String, [UInt8], Int64)] = [
            (Programs.echo, Array("abc".utf8), 10), (Programs.panic, [], 10), (Programs.spin, [], 5_000),
            (Programs.pageFault, [], 10), (Programs.logs, [], 1_000), (Programs.logs, [], 15),
        ]
        for (source, input, gas) in cases {
            for engine in Engine.allCases {
                let report = try executor.report(try job(source, input: input, gas: gas, engine: engine))
                let expected = try Programs.inProcess(source, input: input, gas: gas, engine: engine)
                XCTAssertEqual(try report.invocationResult(), expected, "\(engine): \(source)")
            }
        }
    }

    func testAWorkerRunsOneJobOnly() throws {
        // Two requests in one go: the worker answers the first and exits; the second is never read.
        let spawner = try SpawnerClient(executablePath: Build.workerPath)
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)
        let request = Frame.encode(WorkerMessage.job(try job(Programs.echo, engine: .interpreter)))
        let twice = request + request
        XCTAssertEqual(twice.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, 0) }, twice.count)
        var decoder = FrameDecoder(maximumPayload: 1 << 20)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(worker.jobFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            try decoder.feed(buffer[0..<n])
        }
        XCTAssertEqual(decoder.readyCount, 1)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .exited(code: 0))
    }

    func testMalformedRequestEndsTheWorkerWithoutAnAnswer() throws {
        let spawner = try SpawnerClient(executablePath: Build.workerPath)
        defer { spawner.shutdown() }
        let worker = try spawner.requestWorker()
        try spawner.waitUntilReady(worker)
        let frame: [UInt8] = [3, 0, 0, 0, 1, 2, 3]
        XCTAssertEqual(frame.withUnsafeBytes { send(worker.jobFD, $0.baseAddress, $0.count, 0) }, frame.count)
        var byte: UInt8 = 0
        XCTAssertEqual(read(worker.jobFD, &byte, 1), 0)
        XCTAssertEqual(try spawner.waitForOutcome(worker), .exited(code: 3))
    }
}
