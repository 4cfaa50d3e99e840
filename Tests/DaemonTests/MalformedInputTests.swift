// End-to-end: each kind of malformed input gets one ProtocolError frame and a closed
// connection, while another connection keeps being served.
import AlcatrazClient
import Foundation
import XCTest

final class MalformedInputTests: XCTestCase {
    struct Case {
        var name: String
        var handshake: Bool
        var bytes: [UInt8]
        var code: ProtocolErrorCode
    }

    static var cases: [Case] {
        let validate = ValidateCandidate(requestId: 7, code: .inline([1, 2]), input: [3], gasLimit: 10, priority: .backing)
        let payload = ClientMessage.validateCandidate(validate).encode()
        let truncated = Frame.encode(payload: payload.dropLast(3))
        return [
            Case(name: "zero length", handshake: false, bytes: [0, 0, 0, 0], code: .badLength),
            Case(name: "4 GiB length", handshake: false, bytes: [0xff, 0xff, 0xff, 0xff], code: .frameTooLarge),
            Case(name: "above the handshake maximum", handshake: false, bytes: [0x01, 0x00, 0x01, 0x00], code: .frameTooLarge),
            Case(name: "above max_frame_bytes after the handshake", handshake: true, bytes: [0x01, 0x00, 0x00, 0x01],
                 code: .frameTooLarge),
            Case(name: "unknown tag", handshake: true, bytes: Frame.encode(payload: [0x3e, 1, 2, 3]), code: .unknownTag),
            Case(name: "unknown tag before hello", handshake: false, bytes: Frame.encode(payload: [0x99]), code: .unknownTag),
            Case(name: "truncated payload", handshake: true, bytes: truncated, code: .truncated),
            Case(name: "trailing bytes", handshake: true, bytes: Frame.encode(payload: payload + [0]), code: .trailingBytes),
            Case(name: "garbage", handshake: true, bytes: Frame.encode(payload: [0x02, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22,
                                                                                 0x33, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff]),
                 code: .unknownTag),
            Case(name: "request before hello", handshake: false, bytes: Frame.encode(payload: payload), code: .unexpectedMessage),
            Case(name: "second hello", handshake: true,
                 bytes: Frame.encode(ClientMessage.hello(ClientHello(clientName: "again"))), code: .unexpectedMessage),
            Case(name: "duplicate request id in flight", handshake: true,
                 bytes: Frame.encode(ClientMessage.validateCandidate(ValidateCandidate(
                     requestId: 5, code: .inline([1]), input: Array(script: "spin:300"), gasLimit: 1, priority: .backing)))
                     + Frame.encode(ClientMessage.validateCandidate(ValidateCandidate(
                         requestId: 5, code: .inline([1]), input: [], gasLimit: 1, priority: .backing))),
                 code: .duplicateRequestId),
        ]
    }

    func testEachMalformedInputGetsAnErrorFrameAndAClose() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 2"])
        let bystander = try await daemon.connect()
        for testCase in Self.cases {
            let raw = try RawConnection(daemon.socketPath)
            if testCase.handshake { try raw.hello() }
            raw.send(testCase.bytes)
            var error: ProtocolError?
            while let message = try raw.next() {
                if case let .protocolError(e) = message { error = e; break }
            }
            XCTAssertEqual(error?.code, testCase.code, "\(testCase.name): \(String(describing: error))")
            XCTAssertNil(try raw.next(), "\(testCase.name): the connection is closed after the error frame")
            let verdict = try await bystander.validate(code: .inline([1]), input: Array(script: "ok"), gasLimit: 1).verdict
            XCTAssertEqual(verdict, .valid(output: Array(script: "ok"), gasUsed: 100), "after \(testCase.name)")
        }
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    func testVersionMismatchIsAnsweredAndClosed() async throws {
        let daemon = try DaemonProcess()
        let raw = try RawConnection(daemon.socketPath)
        raw.send(Frame.encode(ClientMessage.hello(ClientHello(protocolVersion: 9, clientName: "future"))))
        XCTAssertEqual(try raw.next(), .versionMismatch(VersionMismatch(requested: 9, oldestSupported: 1, newestSupported: 1)))
        XCTAssertNil(try raw.next())
        XCTAssertEqual(try daemon.terminate(), 0)
    }

    func testManyRequestsInFlightOnOneConnectionComeBackByRequestId() async throws {
        let daemon = try DaemonProcess(limits: ["workers = 2"])
        let raw = try RawConnection(daemon.socketPath)
        try raw.hello()
        var batch: [UInt8] = []
        for id in UInt64(1)...50 {
            batch += Frame.encode(ClientMessage.validateCandidate(ValidateCandidate(
                requestId: id * 3, code: .inline([1]), input: Array(script: "r\(id)"), gasLimit: 1, priority: .backing)))
        }
        raw.send(batch)
        var seen: [UInt64: Verdict] = [:]
        while seen.count < 50, case let .validationResult(result)? = try raw.next() {
            XCTAssertNil(seen[result.requestId], "answered once")
            seen[result.requestId] = result.verdict
        }
        for id in UInt64(1)...50 {
            XCTAssertEqual(seen[id * 3], .valid(output: Array(script: "r\(id)"), gasUsed: 100))
        }
        XCTAssertEqual(try daemon.terminate(), 0)
    }
}
