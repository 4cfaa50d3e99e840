// The commands that talk to alcatrazd: validate, register, status, load.
import AlcatrazClient
import ArgumentParser
import Foundation
import PVMAssembler
import Synchronization

/// Options every daemon command shares.
struct DaemonOptions: ParsableArguments {
    @Option(help: "The daemon's Unix socket.")
    var socket: String = "/tmp/alcatraz/alcatrazd.sock"

    func connect() async throws -> AlcatrazConnection {
        do {
            return try await AlcatrazConnection.connect(socketPath: socket, clientName: "alcatraz-cli")
        } catch {
            throw CLIError("\(error)")
        }
    }
}

extension Priority: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "backing": self = .backing
        case "approval": self = .approval
        case "dispute": self = .dispute
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["backing", "approval", "dispute"] }
}

/// Reads a blob: a binary standard program, or assembly source (.pvmasm, .s) assembled here.
func loadBlob(_ path: String) throws -> [UInt8] {
    if path.hasSuffix(".pvmasm") || path.hasSuffix(".s") {
        let source: String
        do { source = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
        do { return try Assembler.assemble(source).encoded() } catch { throw CLIError("\(path):\(error)") }
    }
    guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
    return [UInt8](data)
}

func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Short, stable name of a verdict's kind, for counts and exit statuses.
func verdictKind(_ verdict: Verdict) -> String {
    switch verdict {
    case .valid: "valid"
    case let .invalid(reason):
        switch reason {
        case .panic: "invalid/panic"
        case .outOfGas: "invalid/out_of_gas"
        case .pageFault: "invalid/page_fault"
        case .badCode: "invalid/bad_code"
        }
    case let .error(error):
        switch error {
        case .timedOut: "error/timed_out"
        case .workerDied: "error/worker_died"
        case .sandboxFailure: "error/sandbox_failure"
        case .overloaded: "error/overloaded"
        case .shuttingDown: "error/shutting_down"
        case .internal: "error/internal"
        case .unknownCode: "error/unknown_code"
        case .limitExceeded: "error/limit_exceeded"
        }
    }
}

/// `alcatraz validate`: one validation round trip.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Ask alcatrazd for a verdict on a program and input.",
        discussion: "Exit status: 0 valid, 2 invalid, 3 error verdict (retryable), 1 failure to ask."
    )

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The program: binary (.pvm) or assembly source (.pvmasm, .s).") var blob: String
    @Option(help: "Input bytes as hex.") var inputHex: String?
    @Option(help: "Read the input bytes from this file.") var input: String?
    @Option(help: "Gas limit.") var gas: UInt64 = 1_000_000
    @Option(help: "backing, approval or dispute.") var priority: Priority = .backing
    @Option(help: "Deadline in milliseconds from when the daemon reads the request.") var deadlineMs: UInt64?
    @Flag(help: "Register the blob first and send its hash.") var byHash = false
    @Flag(help: "Print a machine-readable JSON result.") var json = false

    func run() async throws {
        let code = try loadBlob(blob)
        let inputBytes = try readInput(hex: inputHex, path: input)
        let connection = try await daemon.connect()
        defer { connection.close() }
        let source: CodeSource = byHash ? .hash(try await connection.register(code)) : .inline(code)
        let result: ValidationResult
        do {
            result = try await connection.validate(code: source, input: inputBytes, gasLimit: gas, priority: priority,
                                                   deadlineMillis: deadlineMs)
        } catch {
            throw CLIError("\(error)")
        }
        let t = result.timings
        if json {
            var object: [String: Any] = ["verdict": verdictKind(result.verdict), "queued_us": t.queuedMicros,
                                         "compile_us": t.compileMicros, "execute_us": t.executeMicros]
            switch result.verdict {
            case let .valid(output, gasUsed):
                object["output_hex"] = hex(output)
                object["gas_used"] = gasUsed
            case let .invalid(reason): object["detail"] = "\(reason)"
            case let .error(error): object["detail"] = "\(error)"
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            switch result.verdict {
            case let .valid(output, gasUsed):
                let text = String(decoding: output, as: UTF8.self)
                print("valid: gas used \(gasUsed), output \(hex(output))"
                      + (text.allSatisfy(\.isPrintable) && !text.isEmpty ? " (\"\(text)\")" : ""))
            case let .invalid(reason): print("invalid: \(reason)")
            case let .error(error): print("error: \(error)")
            }
            print("timings: queued \(t.queuedMicros) µs, compile \(t.compileMicros) µs, execute \(t.executeMicros) µs")
        }
        switch result.verdict {
        case .valid: return
        case .invalid: throw ExitCode(2)
        case .error: throw ExitCode(3)
        }
    }
}

func readInput(hex: String?, path: String?) throws -> [UInt8] {
    if hex != nil && path != nil { throw ValidationError("give --input-hex or --input, not both") }
    if let hex {
        guard let bytes = Hex.decode(hex) else { throw ValidationError("--input-hex is not valid hex") }
        return bytes
    }
    if let path {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
        return [UInt8](data)
    }
    return []
}

/// `alcatraz register`: store a blob in the daemon's code cache.
struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register", abstract: "Register a program with alcatrazd; prints its BLAKE2b-256 hash.")

    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The program: binary (.pvm) or assembly source (.pvmasm, .s).") var blob: String

    func run() async throws {
        let code = try loadBlob(blob)
        let connection = try await daemon.connect()
        defer { connection.close() }
        do {
            print(try await connection.register(code))
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// `alcatraz status`: the daemon's load and counters.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show alcatrazd's status.")

    @OptionGroup var daemon: DaemonOptions

    func run() async throws {
        let connection = try await daemon.connect()
        defer { connection.close() }
        let report: StatusReport
        do { report = try await connection.status() } catch { throw CLIError("\(error)") }
        print("""
        server       \(connection.serverHello.serverName) (version \(report.serverVersion))
        uptime       \(Double(report.uptimeMillis) / 1000) s
        queued       dispute \(report.queued.dispute), approval \(report.queued.approval), backing \(report.queued.backing)
        workers      \(report.workersReady) ready, \(report.workersBusy) busy
        verdicts     valid \(report.verdicts.valid), invalid \(report.verdicts.invalid), error \(report.verdicts.error)
        code cache   \(report.cacheEntries) blobs
        """)
    }
}
