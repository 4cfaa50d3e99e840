import XCTest
@testable import WireProtocol

final class MessageTests: XCTestCase {
    /// Payloads (frame header removed) of the golden message examples.
    private func goldenPayloads() throws -> [(name: String, value: GoldenValue, payload: [UInt8])] {
        try goldenValues.compactMap { name, value in
            switch value {
            case .client, .server, .worker:
                return (name, value, try GoldenValue.unframe(bytes(goldenHex[name]!)))
            default:
                return nil
            }
        }
    }

    private func decode(_ value: GoldenValue, _ payload: [UInt8]) throws(WireError) {
        switch value {
        case .client: _ = try ClientMessage.decode(payload)
        case .server: _ = try ServerMessage.decode(payload)
        case .worker: _ = try WorkerMessage.decode(payload)
        default: break
        }
    }

    func testEveryTruncationIsReportedAsTruncated() throws {
        for (name, value, payload) in try goldenPayloads() {
            for length in 0..<payload.count {
                assertThrowsCode(.truncated) { () throws(WireError) in
                    try decode(value, Array(payload[..<length]))
                }
                _ = name
            }
        }
    }

    func testTrailingByteIsRejected() throws {
        for (_, value, payload) in try goldenPayloads() {
            assertThrows(.trailingBytes(what: String(describing: Self.messageType(value)), offset: payload.count, count: 1)) {
                () throws(WireError) in try decode(value, payload + [0])
            }
        }
    }

    private static func messageType(_ value: GoldenValue) -> Any.Type {
        switch value {
        case .client: return ClientMessage.self
        case .server: return ServerMessage.self
        case .worker: return WorkerMessage.self
        default: return Never.self
        }
    }

    func testUnknownMessageTags() {
        assertThrows(.unknownTag(what: "ClientMessage", offset: 0, tag: 0x41)) { () throws(WireError) in
            try ClientMessage.decode([0x41])
        }
        assertThrows(.unknownTag(what: "ServerMessage", offset: 0, tag: 0x01)) { () throws(WireError) in
            try ServerMessage.decode([0x01])
        }
        assertThrows(.unknownTag(what: "WorkerMessage", offset: 0, tag: 0x02)) { () throws(WireError) in
            try WorkerMessage.decode([0x02])
        }
        assertThrows(.truncated(what: "ClientMessage", offset: 0, needed: 1, available: 0)) { () throws(WireError) in
            try ClientMessage.decode([])
        }
    }

    func testUnknownNestedTagReportsItsOffset() throws {
        // validate_inline with the priority byte (offset 1 + 8 + 1 + 5 + 3 + 8 = 26) set to 3.
        var payload = try GoldenValue.unframe(bytes(goldenHex["validate_inline"]!))
        XCTAssertEqual(payload[26], 0)
        payload[26] = 3
        assertThrows(.unknownTag(what: "Priority", offset: 26, tag: 3)) { () throws(WireError) in
            try ClientMessage.decode(payload)
        }
        payload[26] = 0
        payload[27] = 2  // Option tag of the deadline
        assertThrows(.invalidOptionTag(what: "ValidateCandidate.deadlineMillis", offset: 27, byte: 2)) {
            () throws(WireError) in try ClientMessage.decode(payload)
        }
        payload[27] = 0
        payload[9] = 2  // CodeSource tag
        assertThrows(.unknownTag(what: "CodeSource", offset: 9, tag: 2)) { () throws(WireError) in
            try ClientMessage.decode(payload)
        }
    }

    func testHugeInlineCodeLengthIsRejectedWithoutAllocation() {
        // ValidateCandidate whose inline code claims 2^62 - 1 bytes.
        let payload = bytes("02 0100000000000000 00 13ffffffffffffff3f 00")
        assertThrows(.lengthExceedsInput(what: "CodeSource.inline", offset: 10, length: 0x3fff_ffff_ffff_ffff, available: 1)) {
            () throws(WireError) in try ClientMessage.decode(payload)
        }
    }

    func testPeekRequestIdAndProtocolErrorFromDecodeFailure() {
        let payload = bytes("03 0700000000000000 0c aabb")  // RegisterCode id 7, code truncated
        XCTAssertEqual(ClientMessage.peekRequestId(payload), 7)
        XCTAssertNil(ClientMessage.peekRequestId(bytes("01 0100")))
        XCTAssertNil(ClientMessage.peekRequestId(bytes("04 0700")))
        do {
            _ = try ClientMessage.decode(payload)
            XCTFail("should not decode")
        } catch {
            let reply = ProtocolError(error, payload: payload)
            XCTAssertEqual(reply.requestId, 7)
            XCTAssertEqual(reply.code, .truncated)
            XCTAssertEqual(reply.message, "RegisterCode.code at offset 9: length 3 exceeds the 2 bytes left")
        }
    }

    func testRequestIds() {
        XCTAssertNil(ClientMessage.hello(ClientHello(clientName: "x")).requestId)
        XCTAssertEqual(ClientMessage.status(StatusRequest(requestId: 9)).requestId, 9)
        XCTAssertEqual(ServerMessage.requestFailed(RequestFailed(requestId: 4, error: .overloaded)).requestId, 4)
        XCTAssertNil(ServerMessage.protocolError(ProtocolError(requestId: nil, code: .badLength, message: "")).requestId)
    }

    func testLargeValuesRoundTrip() throws {
        let code = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let message = ClientMessage.validateCandidate(ValidateCandidate(
            requestId: .max, code: .inline(code), input: [UInt8](repeating: 1, count: 300),
            gasLimit: .max, priority: .approval, deadlineMillis: .max))
        let encoding = message.encode()
        XCTAssertEqual(hex(encoding[10..<14]), "c2450400")  // compact 70000, four-byte mode
        XCTAssertEqual(try ClientMessage.decode(encoding), message)
        let name = String(repeating: "ünïcødé ", count: 20)
        let hello = ServerMessage.hello(ServerHello(serverName: name, limits: exampleLimits))
        XCTAssertEqual(try ServerMessage.decode(hello.encode()), hello)
    }

    func testJobOutcomeMapsToVerdict() {
        let halt = HaltState(output: [1], gasUsed: 5, registers: exampleRegisters)
        XCTAssertEqual(JobOutcome.halt(halt).verdict, .valid(output: [1], gasUsed: 5))
        XCTAssertEqual(JobOutcome.panic(pc: 3).verdict, .invalid(.panic(pc: 3)))
        XCTAssertEqual(JobOutcome.outOfGas.verdict, .invalid(.outOfGas))
        XCTAssertEqual(JobOutcome.pageFault(address: 8).verdict, .invalid(.pageFault(address: 8)))
        XCTAssertEqual(JobOutcome.badCode(message: "m").verdict, .invalid(.badCode(message: "m")))
        XCTAssertEqual(JobOutcome.internalFailure(message: "m").verdict, .error(.internal(message: "m")))
    }

    func testTheLargestOutputFitsTheAnswerFrame() throws {
        for frame: UInt32 in [70_000, 1 << 20, 16 << 20] {
            let most = ValidationResult.maxOutputBytes(maxFrameBytes: frame)
            XCTAssertEqual(UInt64(frame) - most, 51, "tag, id, verdict tag, gas, timings (43) and 8 for the length prefix")
            let answer = ServerMessage.validationResult(ValidationResult(
                requestId: .max, verdict: .valid(output: [UInt8](repeating: 1, count: Int(most)), gasUsed: .max),
                timings: Timings(queuedMicros: .max, compileMicros: .max, executeMicros: .max)))
            XCTAssertLessThanOrEqual(answer.encode().count, Int(frame))
        }
        XCTAssertEqual(ValidationResult.maxOutputBytes(maxFrameBytes: 10), 0)
    }

    func testEveryErrorCodeAndLimitKindRoundTrips() throws {
        for code in ProtocolErrorCode.allCases {
            XCTAssertEqual(try ProtocolErrorCode.decode(code.encode()), code)
        }
        for kind in LimitKind.allCases { XCTAssertEqual(try LimitKind.decode(kind.encode()), kind) }
        for engine in Engine.allCases { XCTAssertEqual(try Engine.decode(engine.encode()), engine) }
        for priority in Priority.allCases { XCTAssertEqual(try Priority.decode(priority.encode()), priority) }
        assertThrowsCode(.unknownTag) { () throws(WireError) in try ProtocolErrorCode.decode([8]) }
    }

    /// Random and mutated inputs must fail cleanly (or decode to something that re-encodes to
    /// the same bytes: the encoding is canonical), never crash.
    func testMutatedPayloadsNeverCrashAndStayCanonical() throws {
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let payloads = try goldenPayloads()
        for _ in 0..<3000 {
            let (_, value, original) = payloads[Int(next() % UInt64(payloads.count))]
            var payload = original
            for _ in 0..<(1 + next() % 3) {
                payload[Int(next() % UInt64(payload.count))] = UInt8(truncatingIfNeeded: next())
            }
            switch value {
            case .client:
                if let decoded = try? ClientMessage.decode(payload) { XCTAssertEqual(decoded.encode(), payload) }
            case .server:
                if let decoded = try? ServerMessage.decode(payload) { XCTAssertEqual(decoded.encode(), payload) }
            case .worker:
                if let decoded = try? WorkerMessage.decode(payload) { XCTAssertEqual(decoded.encode(), payload) }
            default:
                break
            }
        }
    }
}
