// Socket activation: systemd (here its test tool systemd-socket-activate, which behaves like
// PID 1's socket units) listens, then starts alcatrazd with the socket as fd 3 and LISTEN_PID /
// LISTEN_FDS set. The daemon must serve on that socket and leave it in place when it stops.
import AlcatrazClient
import Foundation
import WireProtocol
import XCTest

final class SocketActivationTests: XCTestCase {
    func testServesAPassedListeningSocket() async throws {
        let tool = "/usr/bin/systemd-socket-activate"
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw XCTSkip("systemd-socket-activate (Debian package systemd) is not installed")
        }
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("alcatrazd-act-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let socket = dir.appendingPathComponent("activated.sock").path
        let config = dir.appendingPathComponent("alcatraz.toml").path
        // The configured path is not where the daemon listens when a socket is passed.
        try """
        socket = "\(dir.appendingPathComponent("unused.sock").path)"
        metrics_address = ""
        worker_executable = "\(Build.path("alcatraz-worker"))"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("log").path
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-l", socket, Build.path("alcatrazd"), "--config", config]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var waited = 0
        while !FileManager.default.fileExists(atPath: socket) && waited < 200 { usleep(20_000); waited += 1 }

        // The first connection starts the daemon; it answers on the passed socket.
        let echo = try [UInt8](Data(contentsOf: Build.repository.appendingPathComponent("Guest/examples/echo.pvm")))
        let connection = try await AlcatrazConnection.connect(socketPath: socket, clientName: "activation-test")
        let result = try await connection.validate(code: .inline(echo), input: Array("Hi".utf8), gasLimit: 1000)
        XCTAssertEqual(result.verdict, .valid(output: Array("Hi".utf8), gasUsed: 1))
        connection.close()
        let text = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(text.contains("socket=\"activated fd 3\""), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("unused.sock").path))

        // systemd-socket-activate execs the daemon, so this pid is alcatrazd's.
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "the activated socket belongs to systemd")
    }
}
