// The supervisor side of one job in a locked-down worker, for the command-line tool and the
// tests: start a spawner (alcatraz-worker spawner), and per job request a fresh worker, wait
// for its lockdown, send one framed request, read one framed answer, and collect how the
// process ended. The daemon's pool does the same with pre-forked workers and an event loop.
import Sandbox
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Why a sandboxed job produced no answer.
public enum SandboxedRunError: Error, Equatable, CustomStringConvertible {
    /// The spawner could not be started or could not make a worker.
    case spawner(SpawnerError)
    /// The worker ended without a well-formed answer; how it ended.
    case noAnswer(WorkerOutcome)
    /// The answer was not the kind of message the request calls for.
    case unexpectedAnswer(String)

    public var description: String {
        switch self {
        case let .spawner(e): "\(e)"
        case let .noAnswer(outcome): "the worker ended without an answer: \(outcome)"
        case let .unexpectedAnswer(m): "unexpected answer from the worker: \(m)"
        }
    }
}

/// Runs requests in locked-down workers, one fresh worker per request. Not thread-safe.
public final class SandboxedExecutor {
    public let spawner: SpawnerClient
    /// Wall-clock budget of one job; the worker is killed past it (outcome `.timedOut`).
    public var timeoutSeconds: Int = 60
    /// The largest answer accepted.
    public var maximumAnswerBytes: UInt32 = 1 << 30

    /// Starts a spawner from `workerPath` (the `alcatraz-worker` executable).
    public init(workerPath: String, limits: ResourceLimits = ResourceLimits()) throws(SandboxedRunError) {
        do {
            spawner = try SpawnerClient(executablePath: workerPath, limits: limits)
        } catch {
            throw .spawner(error)
        }
    }

    deinit { spawner.shutdown() }

    /// `alcatraz-worker` in the directory of the running executable (found through
    /// /proc/self/exe, so that a relative or PATH-found invocation works too).
    public static func workerNextToThisExecutable(named name: String = "alcatraz-worker") -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        guard let slash = exe.lastIndex(of: "/") else { return name }
        return String(exe[...slash]) + name
    }

    /// Sends `request` to a fresh locked-down worker and returns its answer and how it ended.
    /// - Returns: the answer (nil if the worker sent none) and the worker's outcome.
    public func exchange(_ request: WorkerMessage) throws(SandboxedRunError) -> (answer: WorkerMessage?, outcome: WorkerOutcome) {
        let worker: WorkerHandle
        do {
            worker = try spawner.requestWorker()
            try spawner.waitUntilReady(worker)
        } catch {
            throw .spawner(error)
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(worker.jobFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let frame = Frame.encode(request)
        var sent = 0
        while sent < frame.count {
            // SAFETY: send reads count - sent bytes at offset sent of the frame: in bounds.
            let n = frame.withUnsafeBytes { send(worker.jobFD, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            sent += n
        }
        var answer: WorkerMessage? = nil
        var timedOut = false
        if let header = readFully(worker.jobFD, Frame.headerSize, timedOut: &timedOut) {
            let length = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
            if length > 0, length <= maximumAnswerBytes,
               let payload = readFully(worker.jobFD, Int(length), timedOut: &timedOut) {
                answer = try? WorkerMessage.decode(payload)
            }
        }
        if timedOut { spawner.kill(worker) }
        let outcome: WorkerOutcome
        do {
            outcome = try spawner.waitForOutcome(worker)
        } catch {
            throw .spawner(error)
        }
        return (answer, outcome)
    }

    func readFully(_ fd: Int32, _ count: Int, timedOut: inout Bool) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            // SAFETY: read writes at most count - got bytes at offset got of a count-byte buffer.
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { timedOut = true }
            if n <= 0 { return nil }
            got += n
        }
        return out
    }

    /// Sends `request`; returns the answer if the worker exited 0 after giving one.
    func answer(_ request: WorkerMessage) throws(SandboxedRunError) -> WorkerMessage {
        let (answer, outcome) = try exchange(request)
        guard let answer, outcome == .exited(code: 0) else { throw .noAnswer(outcome) }
        return answer
    }

    /// Runs a daemon-style job (the production path: `WorkerJob` -> `WorkerResult`).
    public func run(_ job: WorkerJob) throws(SandboxedRunError) -> WorkerResult {
        guard case let .result(result) = try answer(.job(job)) else { throw .unexpectedAnswer("not a WorkerResult") }
        return result
    }

    /// Runs a job and returns the whole end state (`RunReport`).
    public func report(_ job: WorkerJob) throws(SandboxedRunError) -> RunReport {
        guard case let .runReport(report) = try answer(.diagnosticJob(job)) else { throw .unexpectedAnswer("not a RunReport") }
        return report
    }

    /// Runs a vector job.
    public func run(_ job: VectorJob) throws(SandboxedRunError) -> VectorResult {
        guard case let .vectorResult(result) = try answer(.vectorJob(job)) else { throw .unexpectedAnswer("not a VectorResult") }
        return result
    }
}
