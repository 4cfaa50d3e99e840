// One client connection: framing, the handshake, and many requests in flight, each answered
// once with its request id. All state here is confined to the channel's event loop; answers
// completed on another thread hop back onto it, those completed on this loop (a worker's
// answer read by SandboxExecutor's handler here) are written at once.
//
// Malformed input (bad length, oversized length, unknown tag, truncated or trailing bytes,
// garbage) gets one ProtocolError frame, then the connection is closed; nothing else is shared
// with other connections, so they are unaffected. A peer that does not read that frame loses
// the connection all the same, `lastFrameGrace` later.
//
// Back pressure: a client that does not read its answers is not read from either. Once its
// unsent answers pass `answerWaterMark.high` the channel turns unwritable, and NIO's
// BackPressureHandler (in front of this one) holds back the reads until they drain below
// `.low`; the frames already read wait in the decoder, unhandled, until then too (one read can
// hold many small requests). Answered requests leave `inFlight`, so `max_in_flight` alone would
// not bound them.
import Logging
import NIOCore
import WireProtocol

final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase { case awaitingHello, open, closed }

    private let service: SupervisorService
    private let connectionID: UInt64
    private var logger: Logger
    private var phase = Phase.awaitingHello
    private var decoder = FrameDecoder(maximumPayload: ProtocolVersion.handshakeMaxFrame)
    private var inFlight: Set<UInt64> = []
    private var context: ChannelHandlerContext?
    private var pendingFlush = false

    /// Unsent answers above `high` bytes stop reading from the connection until they drain
    /// below `low` (set on every client channel by `Daemon.bootstrap`).
    static let answerWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 64 * 1024, high: 256 * 1024)

    /// How long a connection that is being closed (after a `ProtocolError` or a
    /// `VersionMismatch`) waits for that last frame to be written before it is closed anyway: a
    /// peer that reads nothing would otherwise keep the connection, and its descriptor, forever.
    static let lastFrameGrace = TimeAmount.seconds(5)

    init(service: SupervisorService, connectionID: UInt64) {
        self.service = service
        self.connectionID = connectionID
        logger = service.logger
        logger[metadataKey: "conn"] = "\(connectionID)"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        service.connections.add(connectionID, channel: context.channel)
        service.metrics?.recordConnection()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        phase = .closed
        self.context = nil
        service.connections.remove(connectionID)
        if !inFlight.isEmpty {
            logger.info("connection closed with requests in flight; their answers are dropped",
                        metadata: ["event": "conn_closed", "in_flight": "\(inFlight.count)"])
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase != .closed else { return }
        let buffer = unwrapInboundIn(data)
        let failure: WireError? = buffer.withUnsafeReadableBytes { bytes in
            do throws(WireError) {
                try decoder.feed(bytes)
                return nil
            } catch {
                return error
            }
        }
        if let error = failure {
            // Frames completed before the bad header are still served first (all of them: the
            // connection ends right after).
            drainFrames(context, evenIfUnwritable: true)
            if phase != .closed { fail(context, ProtocolError(error)) }
            return
        }
        drainFrames(context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            // The client read its answers: handle the requests that waited in the decoder.
            drainFrames(context)
            flushIfNeeded(context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error", metadata: ["event": "conn_error", "error": "\(error)"])
        phase = .closed
        context.close(promise: nil)
    }

    /// Handles the complete frames read so far, stopping while the client leaves its answers
    /// unread (the rest waits for `channelWritabilityChanged`).
    private func drainFrames(_ context: ChannelHandlerContext, evenIfUnwritable: Bool = false) {
        while phase != .closed, evenIfUnwritable || context.channel.isWritable, let payload = decoder.nextFrame() {
            handle(payload, context)
        }
    }

    private func handle(_ payload: [UInt8], _ context: ChannelHandlerContext) {
        let message: ClientMessage
        do {
            message = try ClientMessage.decode(payload)
        } catch {
            fail(context, ProtocolError(error, payload: payload))
            return
        }
        switch (phase, message) {
        case let (.awaitingHello, .hello(hello)):
            handshake(hello, context)
        case (.awaitingHello, _), (.open, .hello):
            fail(context, ProtocolError(requestId: message.requestId, code: .unexpectedMessage,
                                        message: phase == .open ? "second ClientHello" : "expected ClientHello first"))
        case let (.open, .validateCandidate(request)):
            validate(request, context)
        case let (.open, .registerCode(request)):
            register(request, context)
        case let (.open, .status(request)):
            guard begin(request.requestId, context) else { return }
            finish(.status(service.statusReport(requestId: request.requestId)), id: request.requestId, context)
        case (.closed, _):
            return
        }
    }

    private func handshake(_ hello: ClientHello, _ context: ChannelHandlerContext) {
        guard hello.protocolVersion >= ProtocolVersion.oldestSupported, hello.protocolVersion <= ProtocolVersion.current else {
            let mismatch = VersionMismatch(requested: hello.protocolVersion, oldestSupported: ProtocolVersion.oldestSupported,
                                           newestSupported: ProtocolVersion.current)
            logger.info("version mismatch", metadata: ["event": "version_mismatch", "requested": "\(hello.protocolVersion)"])
            phase = .closed
            sendLastFrame(.versionMismatch(mismatch), context)
            return
        }
        phase = .open
        decoder.maximumPayload = service.limits.maxFrameBytes
        logger.debug("client connected", metadata: ["event": "hello", "client": "\(hello.clientName)"])
        write(.hello(ServerHello(protocolVersion: hello.protocolVersion, serverName: service.serverName,
                                 limits: service.limits.serverLimits)), context)
    }

    /// Registers a request id as in flight; false (and the connection failed) for a duplicate.
    private func begin(_ id: UInt64, _ context: ChannelHandlerContext) -> Bool {
        guard inFlight.insert(id).inserted else {
            fail(context, ProtocolError(requestId: id, code: .duplicateRequestId, message: "request id \(id) is already in flight"))
            return false
        }
        return true
    }

    private func validate(_ request: ValidateCandidate, _ context: ChannelHandlerContext) {
        let id = request.requestId
        guard begin(id, context) else { return }
        let receivedAt = Monotonic.now()
        let service = self.service
        let answer = { [self] (verdict: Verdict) in
            service.recordVerdict(verdict, receivedAt: receivedAt)
            finish(.validationResult(ValidationResult(requestId: id, verdict: verdict, timings: .zero)), id: id, context)
        }
        if inFlight.count > Int(service.limits.maxInFlight) {
            return answer(.error(.limitExceeded(limit: .inFlight, requested: UInt64(inFlight.count),
                                                maximum: UInt64(service.limits.maxInFlight))))
        }
        if let error = service.checkLimits(request) { return answer(.error(error)) }
        let blob: [UInt8]
        switch request.code {
        case let .inline(code): blob = code
        case let .hash(hash):
            guard let found = service.cache.lookup(hash) else { return answer(.error(.unknownCode(hash))) }
            blob = found
        }
        let deadline = request.deadlineMillis.map { receivedAt &+ min($0, 1 << 40) * 1_000_000 }
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let job = PendingJob(requestId: id, blob: blob, input: request.input, gasLimit: request.gasLimit,
                             priority: request.priority, receivedAt: receivedAt, deadline: deadline) { result in
            // Counted before it is sent: a client holding the answer finds it in `Status`.
            service.recordVerdict(result.verdict, receivedAt: receivedAt)
            // Workers' answers are read on the event loops (SandboxExecutor): on this one, the
            // answer goes out at once, without a task hop.
            if eventLoop.inEventLoop {
                loop.value.deliver(.validationResult(result), id: id)
            } else {
                eventLoop.execute {
                    loop.value.deliver(.validationResult(result), id: id)
                }
            }
        }
        switch service.scheduler.submit(job) {
        case .accepted: break
        case .overloaded: answer(.error(.overloaded))
        case .shuttingDown: answer(.error(.shuttingDown))
        }
    }

    private func register(_ request: RegisterCode, _ context: ChannelHandlerContext) {
        let id = request.requestId
        guard begin(id, context) else { return }
        if service.isDraining {
            return finish(.requestFailed(RequestFailed(requestId: id, error: .shuttingDown)), id: id, context)
        }
        if request.code.count > Int(service.limits.maxBlobBytes) {
            let error = ServiceError.limitExceeded(limit: .blobBytes, requested: UInt64(request.code.count),
                                                   maximum: UInt64(service.limits.maxBlobBytes))
            return finish(.requestFailed(RequestFailed(requestId: id, error: error)), id: id, context)
        }
        let hash = service.cache.register(request.code)
        logger.debug("code registered", metadata: ["event": "register", "hash": "\(hash)", "bytes": "\(request.code.count)"])
        finish(.codeRegistered(CodeRegistered(requestId: id, hash: hash)), id: id, context)
    }

    /// An answer from another thread, now on the event loop.
    private func deliver(_ message: ServerMessage, id: UInt64) {
        guard let context, phase != .closed else { return }
        finish(message, id: id, context)
        flushIfNeeded(context)
    }

    private func finish(_ message: ServerMessage, id: UInt64, _ context: ChannelHandlerContext) {
        guard inFlight.remove(id) != nil else {
            logger.error("second answer to one request dropped", metadata: ["event": "double_answer", "request": "\(id)"])
            return
        }
        write(message, context)
    }

    private func write(_ message: ServerMessage, _ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(encode(message, context)), promise: nil)
        pendingFlush = true
    }

    private func flushIfNeeded(_ context: ChannelHandlerContext) {
        if pendingFlush {
            pendingFlush = false
            context.flush()
        }
    }

    private func encode(_ message: ServerMessage, _ context: ChannelHandlerContext) -> ByteBuffer {
        context.channel.allocator.buffer(bytes: Frame.encode(message))
    }

    private func fail(_ context: ChannelHandlerContext, _ error: ProtocolError) {
        logger.notice("protocol error; closing the connection",
                      metadata: ["event": "protocol_error", "code": "\(error.code)", "detail": "\(error.message)"])
        service.metrics?.recordProtocolError()
        phase = .closed
        sendLastFrame(.protocolError(error), context)
    }

    /// Sends `message` (after every answer already written) and closes the connection once it
    /// is written, or `lastFrameGrace` later if it is not.
    private func sendLastFrame(_ message: ServerMessage, _ context: ChannelHandlerContext) {
        let channel = context.channel
        let giveUp = context.eventLoop.scheduleTask(in: Self.lastFrameGrace) { channel.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(encode(message, context))).whenComplete { _ in
            giveUp.cancel()
            channel.close(promise: nil)
        }
    }

    /// Whether this connection has nothing left to answer.
    var isIdle: Bool { inFlight.isEmpty }
}
