// End-to-end: a client that sends requests and does not read the answers is not read from
// either, so the answers it leaves unread stay bounded instead of filling the daemon's memory.
import AlcatrazClient
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class BackPressureTests: XCTestCase {
    /// Status requests answered at once: nothing but the connection bounds them.
    static func statusFrames(from first: UInt64, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in first..<first + UInt64(count) {
            bytes += Frame.encode(ClientMessage.status(StatusRequest(requestId: id)))
        }
        return bytes
    }

    func testAClientThatDoesNotReadItsAnswersIsNotReadFrom() async throws {
        let daemon = try DaemonProcess()
        let raw = try RawConnection(daemon.socketPath)
        try raw.hello()
        let frameSize = Self.statusFrames(from: 1, count: 1).count

        // Send without ever reading until the socket stays full. A daemon that read on would take
        // all 8 MiB (650,000 requests) and hold the answers in memory.
        let limit = 8 << 20
        var sent = 0
        var chunk: [UInt8] = []
        var offset = 0
        var stalled = false
        while sent < limit {
            if offset == chunk.count {
                chunk = Self.statusFrames(from: UInt64(sent / frameSize + 1), count: 4096)
                offset = 0
            }
            let n = chunk.withUnsafeBytes { send(raw.fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if n > 0 {
                sent += n
                offset += n
                continue
            }
            XCTAssertTrue(n < 0 && (errno == EAGAIN || errno == EINTR), "send: \(n), errno \(errno)")
            guard n < 0 && errno == EAGAIN else { break }
            // Full: wait for room. None within 2 s: the daemon has stopped reading us.
            var entry = pollfd(fd: raw.fd, events: Int16(POLLOUT), revents: 0)
            if poll(&entry, 1, 2_000) == 0 {
                stalled = true
                break
            }
        }
        guard stalled else {
            return XCTFail("the daemon read \(sent) bytes of requests from a client that reads no answer; "
                           + "its resident memory: \(daemon.residentKiB) KiB")
        }

        // Other connections are served meanwhile, and this one still is not read.
        let other = try await daemon.connect()
        _ = try await other.status()
        var entry = pollfd(fd: raw.fd, events: Int16(POLLOUT), revents: 0)
        XCTAssertEqual(poll(&entry, 1, 200), 0, "no room in the socket while its answers are unread")

        // Reading the answers lets the daemon read again: every whole request sent is answered,
        // in order (status requests are answered as they are read).
        let requests = sent / frameSize
        var answered = 0
        while answered < requests, case let .status(report)? = try raw.next() {
            answered += 1
            if report.requestId != UInt64(answered) {
                XCTFail("answer \(answered) is to request \(report.requestId)")
                break
            }
        }
        XCTAssertEqual(answered, requests)
        other.close()
        XCTAssertEqual(try daemon.terminate(), 0)
    }
}
