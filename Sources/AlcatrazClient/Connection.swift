// An async/await connection to alcatrazd over its Unix socket, on plain sockets: one reader
// thread per connection routes each answer to the request with the same id, so any number of
// tasks may have requests in flight on one connection at once.
import Foundation
import Synchronization
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Why a request got no answer from the daemon.
public enum ClientError: Error, CustomStringConvertible, Equatable {
    /// socket/connect failed.
    case connect(path: String, errno: Int32)
    /// The daemon speaks other protocol versions.
    case versionMismatch(VersionMismatch)
    /// The daemon rejected our input (a bug on one side) and closed the connection.
    case protocolError(ProtocolError)
    /// The connection closed before the answer arrived (the request may be sent again).
    case connectionClosed
    /// The daemon sent something the protocol does not allow here.
    case unexpected(String)
    /// A `RegisterCode` or `Status` the daemon would not serve.
    case requestFailed(ServiceError)

    public var description: String {
        switch self {
        case let .connect(path, e): "cannot connect to \(path): \(String(cString: strerror(e)))"
        case let .versionMismatch(m): "version mismatch: the daemon speaks \(m.oldestSupported)...\(m.newestSupported)"
        case let .protocolError(e): "protocol error \(e.code): \(e.message)"
        case .connectionClosed: "the connection closed before the answer"
        case let .unexpected(m): "unexpected answer: \(m)"
        case let .requestFailed(e): "request failed: \(e)"
        }
    }
}

public final class AlcatrazConnection: Sendable {
    /// The daemon's hello: its name and announced limits.
    public let serverHello: ServerHello
    private let core: Core

    private init(core: Core, hello: ServerHello) {
        self.core = core
        serverHello = hello
    }

    deinit { core.shutdown() }

    /// Connects and performs the handshake (blocking socket calls, briefly).
    public static func connect(socketPath: String, clientName: String = "alcatraz-client") async throws -> AlcatrazConnection {
        let fd = try openSocket(socketPath)
        do {
            try sendAll(fd, Frame.encode(ClientMessage.hello(ClientHello(clientName: clientName))))
            var decoder = FrameDecoder(maximumPayload: ProtocolVersion.handshakeMaxFrame)
            let payload = try readFrame(fd, &decoder)
            switch try ServerMessage.decode(payload) {
            case let .hello(hello):
                decoder.maximumPayload = hello.limits.maxFrameBytes
                let core = Core(fd: fd, decoder: decoder)
                core.startReader()
                return AlcatrazConnection(core: core, hello: hello)
            case let .versionMismatch(mismatch): throw ClientError.versionMismatch(mismatch)
            case let .protocolError(error): throw ClientError.protocolError(error)
            case let other: throw ClientError.unexpected("\(other) instead of ServerHello")
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Asks for a verdict.
    public func validate(code: CodeSource, input: [UInt8] = [], gasLimit: UInt64, priority: Priority = .backing,
                         deadlineMillis: UInt64? = nil) async throws -> ValidationResult {
        let id = core.nextRequestId()
        let request = ValidateCandidate(requestId: id, code: code, input: input, gasLimit: gasLimit,
                                        priority: priority, deadlineMillis: deadlineMillis)
        switch try await core.request(id, .validateCandidate(request)) {
        case let .validationResult(result): return result
        case let other: throw ClientError.unexpected("\(other)")
        }
    }

    /// Registers a blob; returns its BLAKE2b-256 hash.
    public func register(_ blob: [UInt8]) async throws -> BlobHash {
        let id = core.nextRequestId()
        switch try await core.request(id, .registerCode(RegisterCode(requestId: id, code: blob))) {
        case let .codeRegistered(registered): return registered.hash
        case let .requestFailed(failed): throw ClientError.requestFailed(failed.error)
        case let other: throw ClientError.unexpected("\(other)")
        }
    }

    /// The daemon's load and counters.
    public func status() async throws -> StatusReport {
        let id = core.nextRequestId()
        switch try await core.request(id, .status(StatusRequest(requestId: id))) {
        case let .status(report): return report
        case let .requestFailed(failed): throw ClientError.requestFailed(failed.error)
        case let other: throw ClientError.unexpected("\(other)")
        }
    }

    /// Answers whose request id had no request in flight (a second answer to one request, or an
    /// id never sent): always 0 from a correct daemon. The load generator checks it.
    public var unmatchedAnswers: Int { core.unmatchedAnswers }

    /// Closes the connection; requests in flight fail with `connectionClosed`.
    public func close() { core.shutdown() }

    static func openSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError.connect(path: path, errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw ClientError.connect(path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw ClientError.connect(path: path, errno: e)
        }
        return fd
    }
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ClientError.connectionClosed
        }
        offset += n
    }
}

/// Reads until one whole frame is decoded (blocking).
func readFrame(_ fd: Int32, _ decoder: inout FrameDecoder) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        if let frame = decoder.nextFrame() { return frame }
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { throw ClientError.connectionClosed }
        try decoder.feed(buffer[0..<n])
    }
}

/// The socket, the requests awaiting answers and the reader thread.
///
/// The descriptor is closed exactly once and never used after: when the reader has stopped
/// (the connection is over) and no request is writing to it. It lives in `state`, so that a
/// `shutdown(2)` never meets a closed number. (The reader used to close it while a request could
/// still send on it and `deinit` still shut it down: the next socket the process opened got the
/// same number, and those calls hit that socket.)
final class Core: Sendable {
    private struct State {
        var pending: [UInt64: CheckedContinuation<ServerMessage, any Error>] = [:]
        var nextId: UInt64 = 1
        /// Set when the reader stops; no request writes to the socket after that.
        var failure: ClientError?
        var unmatched = 0
        /// The socket; -1 once closed.
        var fd: Int32
        /// Requests writing to `fd` now (outside the lock); it is not closed while any is.
        var writers = 0

        /// Closes the socket once nothing can use it any more.
        mutating func closeIfUnused() {
            guard failure != nil, writers == 0, fd >= 0 else { return }
            Glibc.close(fd)
            fd = -1
        }

        func shutdownSocket() {
            if fd >= 0 { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// The socket, for the reader only: it is not closed before the reader has stopped.
    private let readerFd: Int32
    private let state: Mutex<State>
    private let writeLock = Mutex(())
    private let initialDecoder: UncheckedSendable<FrameDecoder>

    init(fd: Int32, decoder: FrameDecoder) {
        readerFd = fd
        state = Mutex(State(fd: fd))
        initialDecoder = UncheckedSendable(decoder)
    }

    var unmatchedAnswers: Int { state.withLock { $0.unmatched } }

    func nextRequestId() -> UInt64 {
        state.withLock { s in defer { s.nextId &+= 1 }; return s.nextId }
    }

    func request(_ id: UInt64, _ message: ClientMessage) async throws -> ServerMessage {
        let frame = Frame.encode(message)
        return try await withCheckedThrowingContinuation { continuation in
            let admitted = state.withLock { s -> Result<Int32, ClientError> in
                if let failure = s.failure { return .failure(failure) }
                s.pending[id] = continuation
                s.writers += 1
                return .success(s.fd)
            }
            let fd: Int32
            switch admitted {
            case let .failure(failure): return continuation.resume(throwing: failure)
            case let .success(open): fd = open
            }
            do {
                try writeLock.withLock { _ in try sendAll(fd, frame) }
            } catch {
                // The reader sees the closed socket too and fails everything pending, this one included.
                shutdown()
            }
            state.withLock { s in
                s.writers -= 1
                s.closeIfUnused()
            }
        }
    }

    func startReader() {
        let thread = Thread { [self] in readLoop() }
        thread.name = "alcatraz-client-reader"
        thread.start()
    }

    private func readLoop() {
        var decoder = initialDecoder.value
        var failure = ClientError.connectionClosed
        while true {
            let payload: [UInt8]
            do {
                payload = try readFrame(readerFd, &decoder)
            } catch {
                failure = error as? ClientError ?? .unexpected("\(error)")
                break
            }
            guard let message = try? ServerMessage.decode(payload) else {
                failure = .unexpected("undecodable frame from the daemon")
                break
            }
            if case let .protocolError(error) = message {
                failure = .protocolError(error)
                break
            }
            guard let id = message.requestId else {
                failure = .unexpected("\(message)")
                break
            }
            let continuation = state.withLock { s -> CheckedContinuation<ServerMessage, any Error>? in
                let found = s.pending.removeValue(forKey: id)
                if found == nil { s.unmatched += 1 }
                return found
            }
            continuation?.resume(returning: message)
        }
        let waiting = state.withLock { s -> [CheckedContinuation<ServerMessage, any Error>] in
            s.failure = failure
            // Wakes a request blocked in send (a daemon that stopped reading), which then closes.
            s.shutdownSocket()
            s.closeIfUnused()
            defer { s.pending = [:] }
            return Array(s.pending.values)
        }
        for continuation in waiting { continuation.resume(throwing: failure) }
    }

    /// Ends the connection: the reader sees the end and fails the requests in flight.
    func shutdown() {
        state.withLock { $0.shutdownSocket() }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
