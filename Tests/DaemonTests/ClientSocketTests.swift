// The client library's socket after the daemon ends a connection: closed once, and never used
// after, so that a socket the process opens later under the same descriptor number is left alone.
// The daemon's side is played by the test, which decides when it closes.
import AlcatrazClient
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Accepts one connection, answers its hello with a ServerHello, and closes it when told.
final class HelloOnlyServer: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let closeNow = DispatchSemaphore(value: 0)
    private let closed = DispatchSemaphore(value: 0)

    init() throws {
        path = NSTemporaryDirectory() + "client-socket-\(UUID().uuidString.prefix(8)).sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(listener, 1) == 0 else { throw DaemonTestError("bind/listen \(path): errno \(errno)") }
        Thread { [self] in serveOne() }.start()
    }

    deinit {
        Glibc.close(listener)
        unlink(path)
    }

    private func serveOne() {
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else {
            closed.signal()
            return
        }
        var decoder = FrameDecoder(maximumPayload: ProtocolVersion.handshakeMaxFrame)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while decoder.nextFrame() == nil {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            try? decoder.feed(buffer[0..<n])
        }
        let limits = ServerLimits(maxFrameBytes: 1 << 20, maxBlobBytes: 1 << 20, maxInputBytes: 1 << 20, maxGas: 1 << 30,
                                  queueDepth: 1, maxInFlight: 1, workers: 1, maxRegisteredBlobs: 1)
        let hello = Frame.encode(ServerMessage.hello(ServerHello(serverName: "hello-only", limits: limits)))
        _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        closeNow.wait()
        Glibc.close(fd)
        closed.signal()
    }

    /// Closes the connection (the daemon's side of it) and returns once it is closed.
    func closeConnection() {
        closeNow.signal()
        closed.wait()
    }
}

extension sockaddr_un {
    init(_ path: String) {
        self.init()
        sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
    }
}

/// The descriptors of this process that are sockets connected to `path`.
func descriptorsConnected(to path: String) -> [Int32] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return names.compactMap(Int32.init).filter { fd in
        var address = sockaddr_un()
        var size = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &size) }
        }
        guard rc == 0, address.sun_family == sa_family_t(AF_UNIX) else { return false }
        let peer = withUnsafeBytes(of: address.sun_path) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        return peer == path
    }
}

final class ClientSocketTests: XCTestCase {
    func testASocketReusingTheNumberOfAnEndedConnectionIsLeftAlone() async throws {
        let server = try HelloOnlyServer()
        var connection: AlcatrazConnection? = try await AlcatrazConnection.connect(socketPath: server.path, clientName: "fd-test")
        let mine = descriptorsConnected(to: server.path)
        XCTAssertEqual(mine.count, 1, "the connection's socket")
        let fd = try XCTUnwrap(mine.first)

        // The daemon ends the connection: requests fail, and the client closes its socket.
        server.closeConnection()
        do {
            _ = try await connection?.status()
            XCTFail("a status request on a closed connection")
        } catch let error as ClientError {
            XCTAssertEqual(error, .connectionClosed)
        }
        let deadline = Date().addingTimeInterval(10)
        while fcntl(fd, F_GETFD) >= 0 && Date() < deadline { usleep(1_000) }
        XCTAssertLessThan(fcntl(fd, F_GETFD), 0, "descriptor \(fd) is closed once the connection has ended")

        // A new socket takes the lowest free number: the old connection's.
        var pair: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair), 0)
        defer { pair.forEach { Glibc.close($0) } }
        XCTAssertTrue(pair.contains(fd), "socketpair got \(pair), not \(fd)")

        // Using and then dropping the old connection leaves the new socket alone.
        do {
            _ = try await connection?.status()
            XCTFail("a status request on a closed connection")
        } catch let error as ClientError {
            XCTAssertEqual(error, .connectionClosed)
        }
        connection?.close()
        connection = nil
        for (from, to) in [(pair[0], pair[1]), (pair[1], pair[0])] {
            var byte: UInt8 = 0x2a
            XCTAssertEqual(send(from, &byte, 1, Int32(MSG_NOSIGNAL)), 1, "send on \(from): errno \(errno)")
            byte = 0
            XCTAssertEqual(recv(to, &byte, 1, Int32(MSG_DONTWAIT)), 1, "recv on \(to): errno \(errno)")
            XCTAssertEqual(byte, 0x2a)
        }
    }
}
