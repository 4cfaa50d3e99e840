// The daemon's configuration: Config/alcatraz.toml. Every key is checked at start; an error names
// the file, the line and the key (TOMLKit reports positions of syntax errors; for a value that
// parses but is wrong, the key's line is found in the text, see `KeyLocator`).
import Foundation
import Logging
import TOMLKit
import WireProtocol

/// How the scheduler shares workers between priorities (the `[scheduler]` table).
public struct SchedulerWeights: Sendable, Equatable {
    /// Picks per round for disputes, approvals and backing, when all three wait.
    public var dispute: UInt32 = 16
    public var approval: UInt32 = 4
    public var backing: UInt32 = 1

    public init() {}

    public subscript(priority: Priority) -> UInt32 {
        switch priority {
        case .dispute: dispute
        case .approval: approval
        case .backing: backing
        }
    }
}

public struct Config: Sendable {
    /// Path of the Unix socket clients connect to (`socket`, required).
    public var socketPath: String
    /// Permission bits of the socket (`socket_mode`, an octal string such as "0660").
    public var socketMode: UInt32 = 0o660
    /// host:port of the Prometheus endpoint (`metrics_address`), empty to disable.
    public var metricsAddress: String = "127.0.0.1:9464"
    /// The worker executable (`worker_executable`); empty: `alcatraz-worker` beside alcatrazd.
    public var workerExecutable: String = ""
    /// Minimum log level (`log_level`): trace, debug, info, notice, warning, error, critical.
    public var logLevel: Logger.Level = .info
    /// Event-loop threads for client connections and the workers' answers (`io_threads`).
    public var ioThreads: Int = 1
    public var scheduler = SchedulerWeights()
    public var limits = Limits()

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// Reads and validates a config file.
    /// - Throws: `ConfigError` naming the file, line and key.
    public static func load(path: String) throws(ConfigError) -> Config {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw ConfigError(file: path, line: nil, key: nil, message: "cannot read the file") }
        return try parse(text, file: path)
    }

    /// Parses and validates config text; `file` is only used in messages.
    public static func parse(_ text: String, file: String = "alcatraz.toml") throws(ConfigError) -> Config {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, line: error.source.begin.line, key: nil, message: error.description)
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "\(error)")
        }
        var reader = ConfigReader(table: table, locator: KeyLocator(text: text), file: file)
        return try reader.read()
    }
}

/// A configuration problem, with where it is.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    /// The dotted key, e.g. `limits.workers`.
    public var key: String?
    public var message: String

    public var description: String {
        var out = file
        if let line { out += ":\(line)" }
        out += ": "
        if let key { out += "key '\(key)': " }
        return out + message
    }
}

/// Finds the line of `key = ...` under a `[table]` header in the raw text. Knows the TOML forms
/// a config uses: headers with spaces or a comment after them (`[ limits ]  # note`), dotted keys
/// (`limits.workers = 4` at the top, `a.b = 1` in a table), quoted keys, and one-line inline
/// tables (`limits = { workers = 4 }`).
struct KeyLocator {
    private var lines: [(table: String, key: String, line: Int)] = []

    init(text: String) {
        var table = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                table = Self.path(line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: CharacterSet(charactersIn: "[] \t")))
            } else if let eq = line.firstIndex(of: "=") {
                let full = Self.join(table, Self.path(String(line[..<eq])))
                record(full, index + 1)
                // A one-line inline table: its keys live under `full`.
                let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("{"), let end = value.lastIndex(of: "}") {
                    for pair in value[value.index(after: value.startIndex)..<end].split(separator: ",") {
                        if let e = pair.firstIndex(of: "=") { record(Self.join(full, Self.path(String(pair[..<e]))), index + 1) }
                    }
                }
            }
        }
    }

    private mutating func record(_ path: String, _ line: Int) {
        if let dot = path.lastIndex(of: ".") {
            lines.append((String(path[..<dot]), String(path[path.index(after: dot)...]), line))
        } else {
            lines.append(("", path, line))
        }
    }

    /// A key or table path with its parts unquoted and trimmed: `"limits" . workers` → `limits.workers`.
    private static func path(_ text: String) -> String {
        text.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }.joined(separator: ".")
    }

    private static func join(_ table: String, _ key: String) -> String { table.isEmpty ? key : table + "." + key }

    func line(table: String, key: String) -> Int? {
        lines.first { $0.table == table && $0.key == key }?.line
    }
}

private struct ConfigReader {
    let table: TOMLTable
    let locator: KeyLocator
    let file: String

    func fail(_ table: String, _ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: locator.line(table: table, key: key),
                    key: table.isEmpty ? key : "\(table).\(key)", message: message)
    }

    func integer<T: FixedWidthInteger>(_ t: TOMLTable, _ name: String, _ key: String, _ into: inout T) throws(ConfigError) {
        guard let value = t[key] else { return }
        guard let int = value.int else { throw fail(name, key, "expected an integer, found \(value.type)") }
        guard let converted = T(exactly: int) else {
            throw fail(name, key, "\(int) is out of range (\(T.min)...\(T.max))")
        }
        into = converted
    }

    func string(_ t: TOMLTable, _ name: String, _ key: String) throws(ConfigError) -> String? {
        guard let value = t[key] else { return nil }
        guard let string = value.string else { throw fail(name, key, "expected a string, found \(value.type)") }
        return string
    }

    func checkKnown(_ t: TOMLTable, _ name: String, _ known: Set<String>) throws(ConfigError) {
        for key in t.keys.sorted() where !known.contains(key) {
            throw fail(name, key, "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    mutating func read() throws(ConfigError) -> Config {
        try checkKnown(table, "", ["socket", "socket_mode", "metrics_address", "worker_executable", "log_level",
                                   "io_threads", "limits", "scheduler"])
        guard let socket = try string(table, "", "socket") else {
            throw ConfigError(file: file, line: nil, key: "socket", message: "missing: the Unix socket path is required")
        }
        if socket.isEmpty || socket.utf8.count > 107 {
            throw fail("", "socket", "must be a path of 1 to 107 bytes (the sun_path limit)")
        }
        var config = Config(socketPath: socket)
        if let mode = try string(table, "", "socket_mode") {
            guard let bits = UInt32(mode, radix: 8), bits <= 0o777 else {
                throw fail("", "socket_mode", "expected an octal permission string such as \"0660\"")
            }
            config.socketMode = bits
        }
        if let address = try string(table, "", "metrics_address") {
            if !address.isEmpty {
                guard let (host, _) = MetricsEndpoint.parse(address) else {
                    throw fail("", "metrics_address", "expected HOST:PORT such as \"127.0.0.1:9464\", or \"\" to disable")
                }
                // The endpoint has no authentication: it stays on this machine.
                guard host == "localhost" || host == "::1" || host.hasPrefix("127.") else {
                    throw fail("", "metrics_address", "must be a loopback address (127.x.x.x, ::1 or localhost)")
                }
            }
            config.metricsAddress = address
        }
        if let path = try string(table, "", "worker_executable") { config.workerExecutable = path }
        if let level = try string(table, "", "log_level") {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw fail("", "log_level", "expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.logLevel = parsed
        }
        try integer(table, "", "io_threads", &config.ioThreads)
        if config.ioThreads < 1 || config.ioThreads > 64 { throw fail("", "io_threads", "must be 1 to 64") }

        if let value = table["scheduler"] {
            guard let t = value.table else { throw fail("", "scheduler", "expected a table") }
            try checkKnown(t, "scheduler", ["dispute_weight", "approval_weight", "backing_weight"])
            try integer(t, "scheduler", "dispute_weight", &config.scheduler.dispute)
            try integer(t, "scheduler", "approval_weight", &config.scheduler.approval)
            try integer(t, "scheduler", "backing_weight", &config.scheduler.backing)
            for key in ["dispute_weight", "approval_weight", "backing_weight"] {
                if let int = t[key]?.int, int < 1 || int > 1000 { throw fail("scheduler", key, "must be 1 to 1000") }
            }
        }
        if let value = table["limits"] {
            guard let t = value.table else { throw fail("", "limits", "expected a table") }
            try readLimits(t, into: &config.limits)
        }
        if let problem = config.limits.problems().first {
            throw fail("limits", problem.key, problem.message)
        }
        return config
    }

    func readLimits(_ t: TOMLTable, into limits: inout Limits) throws(ConfigError) {
        let n = "limits"
        try checkKnown(t, n, Set(Limits.keys))
        try integer(t, n, "max_frame_bytes", &limits.maxFrameBytes)
        try integer(t, n, "max_blob_bytes", &limits.maxBlobBytes)
        try integer(t, n, "max_input_bytes", &limits.maxInputBytes)
        try integer(t, n, "max_gas", &limits.maxGas)
        try integer(t, n, "max_guest_memory_bytes", &limits.maxGuestMemoryBytes)
        try integer(t, n, "max_stack_bytes", &limits.maxStackBytes)
        try integer(t, n, "job_timeout_millis", &limits.jobTimeoutMillis)
        try integer(t, n, "worker_cpu_seconds", &limits.workerCPUSeconds)
        try integer(t, n, "worker_memory_bytes", &limits.workerMemoryBytes)
        try integer(t, n, "workers", &limits.workers)
        try integer(t, n, "background_nice", &limits.backgroundNice)
        try integer(t, n, "queue_depth", &limits.queueDepth)
        try integer(t, n, "max_in_flight", &limits.maxInFlight)
        try integer(t, n, "max_registered_blobs", &limits.maxRegisteredBlobs)
        try integer(t, n, "max_registered_bytes", &limits.maxRegisteredBytes)
        if let engine = try string(t, n, "engine") {
            switch engine {
            case "jit": limits.engine = .jit
            case "interpreter": limits.engine = .interpreter
            default: throw fail(n, "engine", "expected \"jit\" or \"interpreter\"")
            }
        }
    }
}

extension Limits {
    /// The keys of the `[limits]` table.
    public static let keys = [
        "max_frame_bytes", "max_blob_bytes", "max_input_bytes", "max_gas", "max_guest_memory_bytes",
        "max_stack_bytes", "job_timeout_millis", "worker_cpu_seconds", "worker_memory_bytes", "workers",
        "queue_depth", "max_in_flight", "max_registered_blobs", "max_registered_bytes", "engine", "background_nice",
    ]
}
