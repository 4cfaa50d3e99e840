// Starts the real alcatrazd as a subprocess on a temporary socket and config, and raw socket
// helpers for sending bytes no well-behaved client would.
import AlcatrazClient
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

enum Build {
    static let directory: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    static func path(_ product: String) -> String { directory.appendingPathComponent(product).path }
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
}

/// One alcatrazd process.
final class DaemonProcess {
    let directory: URL
    let socketPath: String
    let logPath: String
    let process = Process()
    let metricsPort: Int?

    /// - Parameters:
    ///   - worker: `alcatraz-scripted-worker` (test-only, scripted by the job input) or `alcatraz-worker`.
    ///   - limits: extra `[limits]` lines, e.g. `["workers = 1"]`.
    ///   - topLevel: extra top-level lines, e.g. `["io_threads = 3"]`.
    init(worker: String = "alcatraz-scripted-worker", limits: [String] = [], topLevel: [String] = [],
         metricsPort: Int? = nil, environment: [String: String] = [:]) throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("alcatrazd-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("d.sock").path
        logPath = directory.appendingPathComponent("daemon.log").path
        self.metricsPort = metricsPort
        let config = """
        socket = "\(socketPath)"
        metrics_address = "\(metricsPort.map { "127.0.0.1:\($0)" } ?? "")"
        worker_executable = "\(Build.path(worker))"
        log_level = "debug"
        \(topLevel.joined(separator: "\n"))
        [limits]
        \(limits.joined(separator: "\n"))
        """
        let configPath = directory.appendingPathComponent("alcatraz.toml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Build.path("alcatrazd"))
        process.arguments = ["--config", configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !log.contains("event=ready") {
            if !process.isRunning { throw DaemonTestError("alcatrazd exited at start:\n\(log)") }
            if Date() > deadline { throw DaemonTestError("alcatrazd not ready after 20 s:\n\(log)") }
            usleep(20_000)
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    var pid: Int32 { process.processIdentifier }

    /// The daemon's resident memory (`VmRSS`), or -1.
    var residentKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func connect() async throws -> AlcatrazConnection {
        try await AlcatrazConnection.connect(socketPath: socketPath, clientName: "daemon-tests")
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    func terminate(timeout: TimeInterval = 20) throws -> Int32 {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { throw DaemonTestError("alcatrazd still running \(timeout) s after SIGTERM:\n\(log)") }
            usleep(10_000)
        }
        return process.terminationStatus
    }

    /// Pids of the workers (children of the spawner, itself the daemon's child).
    func workerPids() -> [(pid: Int32, state: Character)] {
        let all = processTable()
        let spawners = all.filter { $0.ppid == pid }.map(\.pid)
        return all.filter { spawners.contains($0.ppid) }.map { ($0.pid, $0.state) }
    }
}

struct ProcessEntry {
    var pid: Int32
    var ppid: Int32
    var state: Character
}

func processTable() -> [ProcessEntry] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap { name -> ProcessEntry? in
        guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 2, let ppid = Int32(fields[1]), let state = fields[0].first else { return nil }
        return ProcessEntry(pid: pid, ppid: ppid, state: state)
    }
}

struct DaemonTestError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A raw connection: write any bytes, read frames, see the close.
final class RawConnection {
    let fd: Int32
    var decoder = FrameDecoder(maximumPayload: UInt32.max)

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw DaemonTestError("connect: \(errno)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func hello() throws {
        send(Frame.encode(ClientMessage.hello(ClientHello(clientName: "raw"))))
        guard case .hello? = try next() else { throw DaemonTestError("no ServerHello") }
    }

    /// The next message, or nil at the end of the stream.
    func next() throws -> ServerMessage? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let frame = decoder.nextFrame() { return try ServerMessage.decode(frame) }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return nil }
            if n < 0 { throw DaemonTestError("recv: errno \(errno) (timeout?)") }
            try decoder.feed(buffer[0..<n])
        }
    }
}

/// `GET path` on 127.0.0.1:port; the whole response.
func httpGet(port: Int, path: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { Glibc.close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw DaemonTestError("connect to metrics: \(errno)") }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

extension Array where Element == UInt8 {
    init(script: String) { self = Array(script.utf8) }
}
