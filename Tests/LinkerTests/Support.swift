import Foundation
import JIT
import Linker
import PVM
import XCTest
import TestSupport

/// Builds C guests with scripts/build-guest.sh (the toolchain's clang and ld.lld), links them
/// in-process and runs them on both engines and natively.
enum GuestBuild {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = root.appendingPathComponent("scripts/build-guest.sh").path
    /// A per-process scratch directory, removed when the test process exits.
    static let scratch: URL = {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("alcatraz-linker-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        scratchPath = u.path
        atexit { if let p = scratchPath { try? FileManager.default.removeItem(atPath: p) } }
        return u
    }()

    /// Whether the RISC-V toolchain is available (the Swift toolchain's clang and ld.lld).
    static let available: Bool = {
        let dirs = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path, "/opt/swift/usr/bin"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return dirs.contains { FileManager.default.isExecutableFile(atPath: $0 + "/ld.lld") }
    }()

    struct Failure: Error, CustomStringConvertible { let description: String }

    @discardableResult
    static func sh(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, output: String) {
        var e = env
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        if !path.contains("/opt/swift/usr/bin") && e["PATH"] == nil { e["PATH"] = path + ":/opt/swift/usr/bin" }
        return try TestProcess.run("/usr/bin/env", args, environment: e)
    }

    nonisolated(unsafe) static var cache: [String: [UInt8]] = [:]
    static let lock = NSLock()

    /// The ELF of a guest source (relative to the repository root or absolute), built once.
    static func elf(_ source: String, extraFlags: String? = nil, defaultLayout: Bool = false) throws -> [UInt8] {
        let key = source + "|" + (extraFlags ?? "") + (defaultLayout ? "|default-layout" : "")
        lock.lock(); defer { lock.unlock() }
        if let e = cache[key] { return e }
        let path = source.hasPrefix("/") ? source : root.appendingPathComponent(source).path
        let out = scratch.appendingPathComponent(UUID().uuidString + ".elf").path
        var env: [String: String] = [:]
        if let f = extraFlags { env["GUEST_CFLAGS"] = f }
        if defaultLayout { env["GUEST_LDSCRIPT"] = "" }
        let r = try sh(["bash", script, "--elf", path, "-o", out], env: env)
        guard r.status == 0 else { throw Failure(description: "build-guest.sh --elf \(source) failed:\n\(r.output)") }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        cache[key] = bytes
        return bytes
    }

    /// The native build of a guest source, built once; returns the executable's path.
    static func native(_ source: String) throws -> String {
        let key = "native|" + source
        lock.lock(); defer { lock.unlock() }
        if let e = cache[key] { return String(decoding: e, as: UTF8.self) }
        let path = source.hasPrefix("/") ? source : root.appendingPathComponent(source).path
        let out = scratch.appendingPathComponent(UUID().uuidString).path
        let r = try sh(["bash", script, "--native", path, "-o", out])
        guard r.status == 0 else { throw Failure(description: "build-guest.sh --native \(source) failed:\n\(r.output)") }
        cache[key] = Array(out.utf8)
        return out
    }

    /// Runs the native build on `input`, returning its stdout.
    static func runNative(_ exe: String, input: [UInt8]) throws -> [UInt8] {
        let file = scratch.appendingPathComponent(UUID().uuidString + ".in")
        try Data(input).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = [file.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "\(exe) exited with \(p.terminationStatus)") }
        return [UInt8](data)
    }

    /// Runs a program on the interpreter and the JIT; fails unless both agree.
    static func runBoth(_ program: StandardProgram, input: [UInt8], gas: Int64 = 2_000_000_000,
                        file: StaticString = #filePath, line: UInt = #line) throws -> InvocationResult {
        let a = GuestABI.invoke(try Interpreter(standard: program, input: input, gas: gas), initialGas: gas)
        let b = GuestABI.invoke(try JITInstance(standard: program, input: input, gas: gas), initialGas: gas)
        XCTAssertEqual(a, b, "interpreter and JIT disagree", file: file, line: line)
        return a
    }
}

nonisolated(unsafe) private var scratchPath: String?

func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
