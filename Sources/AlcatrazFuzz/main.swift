// alcatraz-fuzz: differential fuzzing of the recompiler against the reference interpreter.
//
//   alcatraz-fuzz --programs N --seed S [--jobs J] [--blocks B] [--block-length L]
//
// Program i (0-based) is generated from seed S + i, so a reported seed reproduces alone with
// `--programs 1 --seed <seed>`. Exits 1 on the first difference, after printing the reproducer
// (seed, initial state, disassembly, diff). See docs/testing.md, "Differential fuzzing".
import Dispatch
import Foundation
import JIT
import PVM
import ProgramGenerator

/// Unbuffered output, so progress shows through pipes.
func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

func usage() -> Never {
    FileHandle.standardError.write(Data("""
    usage: alcatraz-fuzz --programs N --seed S [--jobs J] [--blocks B] [--block-length L]

    """.utf8))
    exit(2)
}

var programs = 0
var seed: UInt64 = 0
var jobs = ProcessInfo.processInfo.activeProcessorCount
var generator = ProgramGenerator()
var args = CommandLine.arguments.dropFirst()
while let flag = args.popFirst() {
    guard let value = args.popFirst() else { usage() }
    switch flag {
    case "--programs": guard let v = Int(value), v >= 0 else { usage() }; programs = v
    case "--seed":
        guard let v = value.hasPrefix("0x") ? UInt64(value.dropFirst(2), radix: 16) : UInt64(value) else { usage() }
        seed = v
    case "--jobs": guard let v = Int(value), v >= 1 else { usage() }; jobs = v
    case "--blocks": guard let v = Int(value), v >= 1 else { usage() }; generator.maxBlocks = v
    case "--block-length": guard let v = Int(value), v >= 0 else { usage() }; generator.maxBlockLength = v
    default: usage()
    }
}
guard JITInstance.isSupported else {
    say("this CPU cannot run the recompiler (needs POPCNT, LZCNT, BMI1, BMI2)")
    exit(2)
}

let jit: EngineFactory = { program in
    let machine = try JITInstance(program: DecodedProgram(program.blob), registers: program.registers,
                                  gas: program.gas, pc: program.pc) { program.setUp($0) }
    // Kept so that this fuzzing thread can count the runs that went over to the interpreter
    // (a chained charge that did not fit) once the program is checked.
    Thread.current.threadDictionary["alcatraz.jit"] = machine
    return (machine, machine.memory)
}

/// Shared progress, under a lock.
final class Progress: @unchecked Sendable {
    let lock = NSLock()
    var done = 0
    var failure: Difference?
    /// Final exits by kind, and instructions (gas) executed.
    var exits: [String: Int] = [:]
    var gasUsed: Int64 = 0
    var exitCount = 0
    var bails = 0
    var lastReport = Date()
    let start = Date()
}
let progress = Progress()
let total = programs
let gen = generator
let firstSeed = seed
let chunk = 256
let jobCount = jobs

say("alcatraz-fuzz: \(programs) programs from seed \(seed), \(jobs) jobs")
DispatchQueue.concurrentPerform(iterations: jobCount) { worker in
    // Workers take chunks of consecutive seeds in turn: chunk k goes to worker k mod jobs.
    var k = worker
    while k * chunk < total {
        progress.lock.lock()
        let stop = progress.failure != nil
        progress.lock.unlock()
        if stop { return }
        let range = (k * chunk)..<min((k + 1) * chunk, total)
        for i in range {
            let program = gen.generate(seed: firstSeed &+ UInt64(i))
            do throws(Difference) {
                let outcome = try Differential.check(program, candidate: jit)
                let kind: String
                switch outcome.final {
                case .pageFault: kind = "page-fault"
                case .hostCall: kind = "host-call (exit limit)"
                default: kind = outcome.final.description
                }
                progress.lock.lock()
                progress.exits[kind, default: 0] += 1
                progress.gasUsed += program.gas - outcome.gas
                progress.exitCount += outcome.exits.count
                progress.bails += (Thread.current.threadDictionary["alcatraz.jit"] as? JITInstance)?.bails ?? 0
                progress.lock.unlock()
            } catch {
                progress.lock.lock()
                if progress.failure == nil { progress.failure = error }
                progress.lock.unlock()
                return
            }
        }
        progress.lock.lock()
        progress.done += range.count
        let now = Date()
        if now.timeIntervalSince(progress.lastReport) >= 5 {
            progress.lastReport = now
            let elapsed = now.timeIntervalSince(progress.start)
            say("\(progress.done)/\(total) programs, \(Int(Double(progress.done) / elapsed))/s, 0 differences")
        }
        progress.lock.unlock()
        k += jobCount
    }
}

let elapsed = Date().timeIntervalSince(progress.start)
if let failure = progress.failure {
    say(failure.description)
    say("FAILED: 1 difference (seed \(failure.program.seed)); reproduce with: alcatraz-fuzz --programs 1 --seed \(failure.program.seed)")
    exit(1)
}
say("final exits: " + progress.exits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
      + "; \(progress.exitCount) exits compared; \(progress.gasUsed) gas (≈ instructions) executed; "
      + "\(progress.bails) runs ended on the interpreter after a chained charge did not fit")
say(String(format: "%.1f s, %.0f programs/s", elapsed, Double(total) / max(elapsed, 1e-9)))
say("\(total) programs, 0 differences")
