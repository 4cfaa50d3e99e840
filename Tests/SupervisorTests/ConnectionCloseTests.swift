// A connection's last frame (ProtocolError, VersionMismatch) to a peer that reads nothing: the
// connection is closed all the same, `lastFrameGrace` later. An embedded channel whose writes
// never complete plays that peer, and its clock is the test's.
import Logging
import NIOCore
import NIOEmbedded
import WireProtocol
import XCTest
@testable import Supervisor

/// Holds every write: nothing reaches the peer, as when its socket is full.
final class HeldWrites: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var held: [EventLoopPromise<Void>?] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append(promise)
    }

    func flush(context: ChannelHandlerContext) {}

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        for promise in held { promise?.fail(ChannelError.ioOnClosedChannel) }
        held = []
        context.close(mode: mode, promise: promise)
    }
}

final class ConnectionCloseTests: XCTestCase {
    static func service() -> SupervisorService {
        let limits = Limits()
        return SupervisorService(limits: limits, scheduler: Scheduler(executor: FakeExecutor(capacity: 1), limits: limits,
                                                                      weights: SchedulerWeights()),
                                 metrics: nil, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func testTheLastFrameUnwrittenTheConnectionClosesAfterTheGrace() throws {
        let inputs: [(name: String, bytes: [UInt8])] = [
            ("protocol error", [0, 0, 0, 0]),  // a zero length
            ("version mismatch", Frame.encode(ClientMessage.hello(ClientHello(protocolVersion: 9, clientName: "future")))),
        ]
        for input in inputs {
            let channel = EmbeddedChannel()
            defer { _ = try? channel.finish() }
            let writes = HeldWrites()
            try channel.pipeline.syncOperations.addHandlers(writes, ConnectionHandler(service: Self.service(), connectionID: 1))
            try channel.connect(to: SocketAddress(unixDomainSocketPath: "/alcatraz-test")).wait()
            try channel.writeInbound(ByteBuffer(bytes: input.bytes))
            XCTAssertEqual(writes.held.count, 1, "\(input.name): the last frame, not written")
            channel.embeddedEventLoop.advanceTime(by: ConnectionHandler.lastFrameGrace - .milliseconds(1))
            XCTAssertTrue(channel.isActive, "\(input.name): open while the grace lasts")
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
            XCTAssertFalse(channel.isActive, "\(input.name): closed after the grace")
        }
    }
}
