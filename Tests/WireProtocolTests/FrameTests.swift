import XCTest
@testable import WireProtocol

final class FrameTests: XCTestCase {
    func testEncodePrefixesLittleEndianLength() {
        XCTAssertEqual(hex(Frame.encode(payload: [0x04, 0x01])), "02000000" + "0401")
        let message = ClientMessage.status(StatusRequest(requestId: 4))
        XCTAssertEqual(Frame.encode(message), Frame.encode(payload: message.encode()))
    }

    func testWholeFramesInOneChunk() throws {
        var decoder = FrameDecoder(maximumPayload: 16)
        try decoder.feed(bytes("01000000 aa 03000000 bbccdd"))
        XCTAssertEqual(decoder.readyCount, 2)
        XCTAssertEqual(decoder.nextFrame(), [0xaa])
        XCTAssertEqual(decoder.nextFrame(), [0xbb, 0xcc, 0xdd])
        XCTAssertNil(decoder.nextFrame())
        XCTAssertTrue(decoder.isAtFrameBoundary)
    }

    func testByteByByteDelivery() throws {
        let stream = Frame.encode(payload: [1, 2, 3, 4, 5]) + Frame.encode(payload: [6])
        var decoder = FrameDecoder(maximumPayload: 5)
        var frames: [[UInt8]] = []
        for byte in stream {
            try decoder.feed([byte])
            while let frame = decoder.nextFrame() { frames.append(frame) }
        }
        XCTAssertEqual(frames, [[1, 2, 3, 4, 5], [6]])
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testPartialFrameIsBuffered() throws {
        var decoder = FrameDecoder(maximumPayload: 100)
        try decoder.feed(bytes("0a00"))
        XCTAssertFalse(decoder.isAtFrameBoundary)
        try decoder.feed(bytes("0000 0102"))
        XCTAssertEqual(decoder.bufferedByteCount, 2)
        XCTAssertNil(decoder.nextFrame())
        try decoder.feed([UInt8](repeating: 9, count: 8) + [0x01])
        XCTAssertEqual(decoder.nextFrame(), [1, 2] + [UInt8](repeating: 9, count: 8))
        XCTAssertEqual(decoder.bufferedByteCount, 1)
    }

    func testMaximumIsEnforcedOnTheHeaderAlone() {
        var decoder = FrameDecoder(maximumPayload: 16)
        // 17 bytes announced: rejected as soon as the header is complete, payload never seen.
        assertThrows(.frameTooLarge(length: 17, maximum: 16)) { () throws(WireError) in
            try decoder.feed(bytes("11000000"))
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        // The decoder stays failed.
        assertThrows(.frameTooLarge(length: 17, maximum: 16)) { () throws(WireError) in
            try decoder.feed([0])
        }
    }

    func testFourGibibyteHeaderIsRejectedAtOnce() {
        var decoder = FrameDecoder(maximumPayload: 16 << 20)
        assertThrows(.frameTooLarge(length: UInt32.max, maximum: 16 << 20)) { () throws(WireError) in
            try decoder.feed(bytes("ffffffff") + [UInt8](repeating: 0, count: 1000))
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        XCTAssertEqual(decoder.failure?.protocolErrorCode, .frameTooLarge)
    }

    func testExactlyMaximumIsAccepted() throws {
        var decoder = FrameDecoder(maximumPayload: 3)
        try decoder.feed(bytes("03000000 010203"))
        XCTAssertEqual(decoder.nextFrame(), [1, 2, 3])
    }

    func testEmptyFrameIsBadLength() {
        var decoder = FrameDecoder(maximumPayload: 16)
        assertThrows(.emptyFrame) { () throws(WireError) in try decoder.feed(bytes("00000000")) }
        XCTAssertEqual(WireError.emptyFrame.protocolErrorCode, .badLength)
    }

    func testFramesBeforeABadHeaderStayAvailable() {
        var decoder = FrameDecoder(maximumPayload: 4)
        assertThrowsCode(.frameTooLarge) { () throws(WireError) in
            try decoder.feed(bytes("01000000 aa 05000000 0102030405"))
        }
        XCTAssertEqual(decoder.nextFrame(), [0xaa])
        XCTAssertNil(decoder.nextFrame())
    }

    func testMaximumCanBeRaisedAfterHandshake() throws {
        var decoder = FrameDecoder(maximumPayload: ProtocolVersion.handshakeMaxFrame)
        decoder.maximumPayload = 1 << 20
        let big = [UInt8](repeating: 0x5a, count: 100_000)
        try decoder.feed(Frame.encode(payload: big)[...])
        XCTAssertEqual(decoder.nextFrame(), big)
    }

    func testFeedAcceptsSlicesAndBuffers() throws {
        var decoder = FrameDecoder(maximumPayload: 8)
        let stream = Frame.encode(payload: [1, 2, 3])
        try decoder.feed(stream[0..<2])
        let fed = stream.withUnsafeBytes { raw in (try? decoder.feed(raw[2...])) != nil }
        XCTAssertTrue(fed)
        XCTAssertEqual(decoder.nextFrame(), [1, 2, 3])
    }
}
