// End-to-end: what an operator relies on: --check-config messages and sd_notify.
import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class OperationsTests: XCTestCase {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try TestProcess.run(Build.path("alcatrazd"), arguments)
    }

    func testCheckConfig() throws {
        let shipped = Build.repository.appendingPathComponent("Config/alcatraz.toml").path
        let ok = try run(["--check-config", shipped])
        XCTAssertEqual(ok.status, 0, ok.output)
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).toml").path
        try "socket = \"/tmp/x.sock\"\n\n[limits]\nqueue_depth = 0\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let failed = try run(["--check-config", bad])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.output.contains("\(bad):4: key 'limits.queue_depth': must be at least 1"), failed.output)
        let served = try run(["--config", bad])
        XCTAssertNotEqual(served.status, 0, "the daemon does not start on a bad config")
    }

    /// Starts alcatrazd on `config` until it is ready (then stops it) or exits; its exit status
    /// (0 after it was ready and stopped) and log.
    func startAndStop(config: String, log: String) throws -> (status: Int32, ready: Bool, log: String) {
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Build.path("alcatrazd"))
        process.arguments = ["--config", config]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && !output().contains("event=ready") && Date() < deadline { usleep(20_000) }
        let ready = output().contains("event=ready")
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return (process.terminationStatus, ready, output())
    }

    func testTheDaemonRemovesOnlyAStaleSocketAtItsPath() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("socket-path-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A mistyped `socket` key naming a file the operator cares about.
        let precious = dir.appendingPathComponent("notes.txt").path
        try "keep me\n".write(toFile: precious, atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("alcatraz.toml").path
        try """
        socket = "\(precious)"
        metrics_address = ""
        worker_executable = "\(Build.path("alcatraz-scripted-worker"))"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try startAndStop(config: config, log: dir.appendingPathComponent("log1").path)
        XCTAssertFalse(refused.ready, "alcatrazd replaced \(precious) with its socket")
        XCTAssertEqual(refused.status, 1, refused.log)
        XCTAssertTrue(refused.log.contains("\(precious) exists and is not a socket"), refused.log)
        XCTAssertEqual(try? String(contentsOfFile: precious, encoding: .utf8), "keep me\n", "the file is still there, unchanged")

        // A socket nothing listens on (left by a crash) is replaced.
        try FileManager.default.removeItem(atPath: precious)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in precious.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        XCTAssertEqual(rc, 0)
        let started = try startAndStop(config: config, log: dir.appendingPathComponent("log2").path)
        XCTAssertTrue(started.ready, started.log)
        XCTAssertEqual(started.status, 0, started.log)
    }

    func testSystemdNotifyReadyWatchdogStopping() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
        let daemon = try DaemonProcess(environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"])
        var seen: [String] = []
        while seen.filter({ $0 == "WATCHDOG=1" }).count < 2, let message = receive() { seen.append(message) }
        XCTAssertTrue(seen.contains("READY=1"), "\(seen)")
        kill(daemon.pid, SIGTERM)
        var stopping = false
        while !stopping, let message = receive() { stopping = message == "STOPPING=1" }
        XCTAssertTrue(stopping, "STOPPING=1 on SIGTERM")
        XCTAssertEqual(try daemon.terminate(), 0)
        XCTAssertEqual(seen.filter { $0 == "WATCHDOG=1" }.count >= 2, true, "\(seen)")
    }
}
