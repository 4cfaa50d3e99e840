// Requests already read wait, unhandled, while the client leaves its answers unread: one read
// can carry thousands of small requests, and their answers would pile up past the water mark.
// An embedded channel plays the connection; the test sets its writability.
import Logging
import NIOCore
import NIOEmbedded
import WireProtocol
import XCTest
@testable import Supervisor

final class ConnectionBackPressureTests: XCTestCase {
    func answers(_ channel: EmbeddedChannel) throws -> [ServerMessage] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += Array(buffer.readableBytesView) }
        var decoder = FrameDecoder(maximumPayload: 1 << 20)
        try decoder.feed(bytes)
        var out: [ServerMessage] = []
        while let payload = decoder.nextFrame() { out.append(try ServerMessage.decode(payload)) }
        return out
    }

    func testRequestsReadWhileAnswersAreUnreadWaitForTheClient() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(ConnectionHandler(service: ConnectionCloseTests.service(), connectionID: 1))
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/alcatraz-test")).wait()
        try channel.writeInbound(ByteBuffer(bytes: Frame.encode(ClientMessage.hello(ClientHello(clientName: "t")))))
        XCTAssertEqual(try answers(channel).count, 1, "the hello is answered")

        channel.isWritable = false
        var requests: [UInt8] = []
        for id in 1...50 { requests += Frame.encode(ClientMessage.status(StatusRequest(requestId: UInt64(id)))) }
        try channel.writeInbound(ByteBuffer(bytes: requests))
        XCTAssertEqual(try answers(channel).count, 0, "nothing handled while the client does not read")

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        XCTAssertEqual(try answers(channel).compactMap(\.requestId), (1...50).map { UInt64($0) }, "all, in order")
        XCTAssertTrue(channel.isActive)
    }
}
