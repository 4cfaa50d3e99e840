// Helpers shared by the test targets (a library of its own, in no product).
import Foundation

/// Runs helper programs from tests.
public enum TestProcess {
    /// Runs the executable at `path` with `arguments`, waits for it, and returns its exit status
    /// and what it wrote: its standard output, with its standard error interleaved when
    /// `mergeErrors` (else its standard error goes to the test's own). `environment` entries are
    /// added to this process's environment.
    public static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                           mergeErrors: Bool = true) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        if mergeErrors { process.standardError = pipe }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// The capabilities of the test process itself, read from /proc (independent of the code under
/// test, which has its own ways of looking).
public enum ProcessCapabilities {
    /// The effective set (`CapEff` of /proc/self/status), or nil when it cannot be read.
    public static func effective() -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") })
        else { return nil }
        return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    }

    /// Whether CAP_SYS_NICE (bit 23) is in the effective set.
    public static var sysNice: Bool { (effective() ?? 0) & (1 << 23) != 0 }
}
