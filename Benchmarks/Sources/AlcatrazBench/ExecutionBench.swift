import JIT
import PVM

enum Engine: String, CaseIterable, Codable {
    case interpreter, jit
}

/// One engine's figures for one program (times in nanoseconds).
struct EngineFigures: Codable {
    var engine: Engine
    /// Gas used by one run: the number of PVM instructions executed (one gas per instruction).
    var gasUsed: UInt64
    /// `GuestABI.invoke` on a ready machine: execution only.
    var run: Summary
    var runCPU: Summary
    /// Parsing the program bytes and building the machine (interpreter: decode and memory set-up;
    /// JIT: decode, recompile, map the code and memory set-up).
    var setup: Summary
    /// setup + run: what one call costs from program bytes to verdict.
    var oneShot: Summary
    /// Millions of PVM instructions per second, from the median and the minimum run time.
    var mipsMedian: Double
    var mipsBest: Double
}

struct ExecutionResult: Codable {
    var program: String
    var workload: String
    var codeBytes: Int
    var interpreter: EngineFigures
    var jit: EngineFigures
    /// The program's algorithm compiled natively (`BenchProgram.native`): run time, wall and CPU.
    var native: Summary
    var nativeCPU: Summary
    /// JIT speed / interpreter speed, from the medians (run only, and one-shot).
    var runSpeedup: Double
    var oneShotSpeedup: Double
    /// JIT run time / native run time, from the medians.
    var jitOverNative: Double
}

enum ExecutionBench {
    static let gasLimit: Int64 = 1 << 40

    /// Runs `program` on both engines and natively `reps` times, interleaved (the order alternates
    /// every repetition), checks every result, and summarises.
    static func run(_ program: BenchProgram, directory: String, reps: Int,
                    log: (String) -> Void) throws -> ExecutionResult {
        let standard = try program.load(from: directory)
        let bytes = standard.encoded()
        let input = program.input
        // One untimed warm-up per engine (page cache, lazy symbol binding, the fault handler).
        for engine in Engine.allCases { _ = try once(engine, bytes, input, program) }
        _ = try native(program)

        var samples: [Engine: [(setup: Span, run: Span)]] = [.interpreter: [], .jit: []]
        var nativeRuns: [Span] = []
        var gas: [Engine: UInt64] = [:]
        for r in 0..<reps {
            let order: [Engine] = r % 2 == 0 ? [.interpreter, .jit] : [.jit, .interpreter]
            if r % 2 == 1 { nativeRuns.append(try native(program)) }
            for engine in order {
                let s = try once(engine, bytes, input, program)
                samples[engine]!.append((s.setup, s.run))
                if let g = gas[engine], g != s.gas {
                    throw BenchError("\(program.name): \(engine) used \(s.gas) gas, earlier \(g)")
                }
                gas[engine] = s.gas
            }
            if r % 2 == 0 { nativeRuns.append(try native(program)) }
            log("  \(program.name) rep \(r + 1)/\(reps): interpreter \(ms(samples[.interpreter]!.last!.run.wall)) ms, jit \(ms(samples[.jit]!.last!.run.wall)) ms, native \(ms(nativeRuns.last!.wall)) ms")
        }
        guard gas[.interpreter] == gas[.jit] else {
            throw BenchError("\(program.name): the engines disagree on gas: interpreter \(gas[.interpreter]!), jit \(gas[.jit]!)")
        }
        func figures(_ e: Engine) -> EngineFigures {
            let s = samples[e]!
            let run = Summary(wall: s.map(\.run))
            let g = Double(gas[e]!)
            return EngineFigures(engine: e, gasUsed: gas[e]!, run: run, runCPU: Summary(cpu: s.map(\.run)),
                                 setup: Summary(wall: s.map(\.setup)),
                                 oneShot: Summary(s.map { Double($0.setup.wall + $0.run.wall) }),
                                 mipsMedian: g / run.median * 1000, mipsBest: g / run.min * 1000)
        }
        let i = figures(.interpreter), j = figures(.jit), n = Summary(wall: nativeRuns)
        return ExecutionResult(program: program.name, workload: program.what, codeBytes: standard.blob.code.count,
                               interpreter: i, jit: j, native: n, nativeCPU: Summary(cpu: nativeRuns),
                               runSpeedup: i.run.median / j.run.median,
                               oneShotSpeedup: i.oneShot.median / j.oneShot.median,
                               jitOverNative: j.run.median / n.median)
    }

    /// One timed run of the native reference, its output checked.
    static func native(_ program: BenchProgram) throws -> Span {
        let (output, span) = Span.measure { program.native(program.parameter) }
        guard output == program.expectedOutput else {
            throw BenchError("\(program.name) natively: output \(output), expected \(program.expectedOutput)")
        }
        return span
    }

    /// One run from program bytes: parse + build the machine (timed as setup), invoke (timed as
    /// run), then check the verdict. The machine is torn down outside both timings.
    static func once(_ engine: Engine, _ bytes: [UInt8], _ input: [UInt8],
                     _ program: BenchProgram) throws -> (setup: Span, run: Span, gas: UInt64) {
        let (machine, setup): (any PVMInstance, Span) = try Span.measure {
            let standard = try StandardProgram(decoding: bytes)
            switch engine {
            case .interpreter: return try Interpreter(standard: standard, input: input, gas: gasLimit)
            case .jit: return try JITInstance(standard: standard, input: input, gas: gasLimit)
            }
        }
        let (result, run) = Span.measure { GuestABI.invoke(machine, initialGas: gasLimit) }
        guard case .halt(let output) = result.status else {
            throw BenchError("\(program.name) on \(engine) did not halt: \(result.status)")
        }
        guard output == program.expectedOutput else {
            throw BenchError("\(program.name) on \(engine): output \(output), expected \(program.expectedOutput)")
        }
        return (setup, run, result.gasUsed)
    }

    static func ms(_ ns: UInt64) -> String { fixed(Double(ns) / 1e6, 1) }
}
