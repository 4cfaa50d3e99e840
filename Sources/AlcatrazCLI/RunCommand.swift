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

    func run() throws {
        let program = try ProgramLoader.load(file)
        let inputBytes = try readInput()
        guard inputBytes.count <= GuestABI.maxInput else {
            throw ValidationError("the input is \(inputBytes.count) bytes; at most \(GuestABI.maxInput) are allowed")
        }
        guard gas >= 0 else { throw ValidationError("--gas must not be negative") }
        let start = DispatchTime.now().uptimeNanoseconds
        let result: InvocationResult
        if sandbox {
            result = try runSandboxed(program, inputBytes)
        } else {
            result = try runInProcess(program, inputBytes)
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        if json {
            print(ResultFormat.json(result, engine: engine.rawValue, nanoseconds: elapsed))
        } else {
            print(ResultFormat.text(result))
        }
        if case .halt = result.status { return }
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

    func runInProcess(_ program: StandardProgram, _ inputBytes: [UInt8]) throws -> InvocationResult {
        let result: InvocationResult
        switch engine {
        case .interpreter:
            result = GuestABI.invoke(try Interpreter(standard: program, input: inputBytes, gas: gas), initialGas: gas)
        case .jit:
            result = GuestABI.invoke(try JITInstance(standard: program, input: inputBytes, gas: gas), initialGas: gas)
        case .both:
            let i = GuestABI.invoke(try Interpreter(standard: program, input: inputBytes, gas: gas), initialGas: gas)
            let j = GuestABI.invoke(try JITInstance(standard: program, input: inputBytes, gas: gas), initialGas: gas)
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

    static func json(_ r: InvocationResult, engine: String, nanoseconds: UInt64) -> String {
        var object: [String: Any] = ["gas_used": r.gasUsed, "engine": engine, "elapsed_ns": nanoseconds]
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

/// A failure the CLI reports as `Error: message` with exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
