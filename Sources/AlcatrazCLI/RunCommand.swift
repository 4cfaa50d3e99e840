import ArgumentParser
import Foundation
import JIT
import PVM
import PVMAssembler
import SandboxedExecution
import WireProtocol

/// `alcatraz run FILE`: runs a standard program with an input and prints the verdict.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a standard program (binary or assembly source) on an input.",
        discussion: """
        The program is entered at pc 0 with the input in the argument region (a0 = address, \
        a1 = length). On halt the output is memory[a0 ..< a0+a1]. Exits 0 when the run halts, \
        2 for any other deterministic end (panic, out of gas, page fault), 1 for bad input.
        """
    )

    @Argument(help: "A standard program: binary (.pvm) or assembly source (.pvmasm, .s).")
    var file: String

    @Option(help: "Input bytes as hex.")
    var inputHex: String?

    @Option(help: "Read the input bytes from this file.")
    var input: String?

    @Option(help: "Gas limit.")
    var gas: Int64 = 1_000_000_000

    @Option(help: "Execution engine.")
    var engine: EngineChoice = .interpreter

    @Flag(help: "Print a machine-readable JSON result.")
    var json = false

    @Flag(help: "Run in a locked-down worker process (alcatraz-worker next to this executable).")
    var sandbox = false

    @Option(help: """
        Run the program this many times in this process, each time from scratch (decode, compile, \
        fresh guest memory); every result must be the same. The JSON timings are the medians, and \
        `runs` lists each repetition (the first one pays this process's one-time start-up costs).
        """)
    var `repeat`: Int = 1

    func run() throws {
        let program = try ProgramLoader.load(file)
        let inputBytes = try readInput()
        guard inputBytes.count <= GuestABI.maxInput else {
            throw ValidationError("the input is \(inputBytes.count) bytes; at most \(GuestABI.maxInput) are allowed")
        }
        guard gas >= 0 else { throw ValidationError("--gas must not be negative") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard !sandbox || `repeat` == 1 else { throw ValidationError("--repeat is for in-process runs, not --sandbox") }
        var result: InvocationResult?
        var timings: [RunTimings] = []
        for _ in 0..<`repeat` {
            let start = DispatchTime.now().uptimeNanoseconds
            var t = RunTimings()
            let r: InvocationResult
            if sandbox {
                r = try runSandboxed(program, inputBytes)
            } else {
                r = try runInProcess(program, inputBytes, &t)
            }
            t.elapsed = DispatchTime.now().uptimeNanoseconds - start
            if let first = result, first != r {
                throw CLIError("repetition \(timings.count + 1) gave a different result:\nfirst: \(first)\nnow: \(r)")
            }
            result = r
            timings.append(t)
        }
        let final = result!
        if json {
            print(ResultFormat.json(final, engine: engine.rawValue, timings: timings, sandboxed: sandbox))
        } else {
            print(ResultFormat.text(final))
        }
        if case .halt = final.status { return }
        throw ExitCode(2)
    }

    /// Runs each requested engine in its own locked-down worker (one worker per run).
    func runSandboxed(_ program: StandardProgram, _ inputBytes: [UInt8]) throws -> InvocationResult {
        let executor = try SandboxedExecutor(workerPath: SandboxedExecutor.workerNextToThisExecutable())
        func run(_ engine: Engine) throws -> InvocationResult {
            let job = WorkerJob(jobId: 1, program: program, input: inputBytes, gas: gas, engine: engine)
            do {
                return try executor.report(job).invocationResult()
            } catch let error as SandboxedRunError {
                throw CLIError("sandboxed run failed: \(error)")
            }
        }
        switch engine {
        case .interpreter: return try run(.interpreter)
        case .jit: return try run(.jit)
        case .both:
            let i = try run(.interpreter), j = try run(.jit)
            guard i == j else { throw CLIError("the engines disagree:\ninterpreter: \(i)\njit: \(j)") }
            return i
        }
    }

    /// Runs in this process; `t` gets the time to prepare (decode, compile for the JIT, guest
    /// memory) and to execute (the run with its host calls, and reading the output).
    func runInProcess(_ program: StandardProgram, _ inputBytes: [UInt8], _ t: inout RunTimings) throws -> InvocationResult {
        func timed(_ make: () throws -> any PVMInstance) rethrows -> InvocationResult {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let machine = try make()
            let t1 = DispatchTime.now().uptimeNanoseconds
            let r = GuestABI.invoke(machine, initialGas: gas)
            let t2 = DispatchTime.now().uptimeNanoseconds
            t.prepare += t1 - t0
            t.execute += t2 - t1
            return r
        }
        let result: InvocationResult
        switch engine {
        case .interpreter:
            result = try timed { try Interpreter(standard: program, input: inputBytes, gas: gas) }
        case .jit:
            result = try timed { try JITInstance(standard: program, input: inputBytes, gas: gas) }
        case .both:
            let i = try timed { try Interpreter(standard: program, input: inputBytes, gas: gas) }
            let j = try timed { try JITInstance(standard: program, input: inputBytes, gas: gas) }
            guard i == j else {
                throw CLIError("the engines disagree:\ninterpreter: \(i)\njit: \(j)")
            }
            result = i
        }
        return result
    }

    func readInput() throws -> [UInt8] {
        if inputHex != nil && input != nil { throw ValidationError("give --input-hex or --input, not both") }
        if let hex = inputHex {
            guard let bytes = Hex.decode(hex) else { throw ValidationError("--input-hex is not valid hex") }
            return bytes
        }
        if let path = input { return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) }
        return []
    }
}

/// Reads a standard program from a binary file or assembly source.
enum ProgramLoader {
    static func load(_ path: String) throws -> StandardProgram {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
        if isAssemblySource(path) {
            do {
                return try Assembler.assemble(String(decoding: data, as: UTF8.self))
            } catch {
                throw CLIError("\(path):\(error)")
            }
        }
        do {
            return try StandardProgram(decoding: [UInt8](data))
        } catch {
            throw CLIError("\(path): bad code: \(error)")
        }
    }
}

/// Assembly sources are recognised by extension: `.pvmasm`, `.s`, `.asm`.
func isAssemblySource(_ path: String) -> Bool {
    [".pvmasm", ".s", ".asm"].contains { path.hasSuffix($0) }
}

enum Hex {
    static func decode(_ s: String) -> [UInt8]? {
        var text = s.hasPrefix("0x") ? String(s.dropFirst(2)) : s
        text.removeAll { $0 == " " || $0 == "_" }
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var it = text.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            guard let h = hi.hexDigitValue, let l = lo.hexDigitValue else { return nil }
            out.append(UInt8(h * 16 + l))
        }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

enum ResultFormat {
    static func text(_ r: InvocationResult) -> String {
        var lines: [String] = []
        switch r.status {
        case .halt(let output):
            lines.append("status: halt")
            lines.append("output: \(Hex.encode(output))")
            if let s = String(bytes: output, encoding: .utf8), !s.isEmpty, s.allSatisfy({ !$0.isASCII || $0.isPrintable }) {
                lines.append("output (utf-8): \(s)")
            }
        case .panic(let pc): lines.append("status: panic at pc \(pc)")
        case .outOfGas(let pc): lines.append("status: out of gas at pc \(pc)")
        case .pageFault(let pc, let address):
            lines.append("status: page fault at address 0x\(String(address, radix: 16)) (pc \(pc))")
        }
        lines.append("gas used: \(r.gasUsed)")
        for log in r.logs {
            let target = log.target.map { String(decoding: $0, as: UTF8.self) + " " } ?? ""
            lines.append("log[\(log.level)] \(target)\(String(decoding: log.message, as: UTF8.self))")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ r: InvocationResult, engine: String, timings: [RunTimings], sandboxed: Bool) -> String {
        func median(_ f: (RunTimings) -> UInt64) -> UInt64 {
            let v = timings.map(f).sorted()
            return v[v.count / 2]
        }
        var object: [String: Any] = ["gas_used": r.gasUsed, "engine": engine, "elapsed_ns": median(\.elapsed)]
        if !sandboxed {
            object["prepare_ns"] = median(\.prepare)
            object["execute_ns"] = median(\.execute)
        }
        if timings.count > 1 {
            object["runs"] = timings.map { t -> [String: Any] in
                sandboxed ? ["elapsed_ns": t.elapsed]
                          : ["elapsed_ns": t.elapsed, "prepare_ns": t.prepare, "execute_ns": t.execute]
            }
        }
        switch r.status {
        case .halt(let output): object["status"] = "halt"; object["output_hex"] = Hex.encode(output)
        case .panic(let pc): object["status"] = "panic"; object["pc"] = pc
        case .outOfGas(let pc): object["status"] = "out_of_gas"; object["pc"] = pc
        case .pageFault(let pc, let address):
            object["status"] = "page_fault"; object["pc"] = pc; object["address"] = address
        }
        object["logs"] = r.logs.map { log -> [String: Any] in
            ["level": log.level, "target": log.target.map { String(decoding: $0, as: UTF8.self) as Any } ?? NSNull(),
             "message": String(decoding: log.message, as: UTF8.self)]
        }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

extension Character {
    var isPrintable: Bool { isLetter || isNumber || isPunctuation || isSymbol || self == " " || self == "\n" }
}

/// Where one `alcatraz run` repetition spent its time, in nanoseconds.
struct RunTimings {
    /// Loading the program into an engine: decoding, compiling (JIT), guest memory set-up.
    var prepare: UInt64 = 0
    /// Running it to its end, host calls included, and reading the output.
    var execute: UInt64 = 0
    /// Both, plus the rest (for --sandbox: the whole worker round trip).
    var elapsed: UInt64 = 0
}

/// A failure the CLI reports as `Error: message` with exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
