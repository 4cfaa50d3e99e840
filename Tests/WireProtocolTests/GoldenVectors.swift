import XCTest
@testable import WireProtocol

// The golden vectors of docs/protocol.md: each example value with its exact encoding.
// Message examples are whole frames (length header included); `verdict`, `outcome` and
// `compact` examples are bare SCALE values.

/// A golden example value.
enum GoldenValue {
    case client(ClientMessage)
    case server(ServerMessage)
    case worker(WorkerMessage)
    case verdict(Verdict)
    case outcome(JobOutcome)
    case compact(UInt64)

    /// The bytes this value must encode to.
    func encoded() -> [UInt8] {
        switch self {
        case let .client(message): return Frame.encode(message)
        case let .server(message): return Frame.encode(message)
        case let .worker(message): return Frame.encode(message)
        case let .verdict(verdict): return verdict.encode()
        case let .outcome(outcome): return outcome.encode()
        case let .compact(value):
            var encoder = ScaleEncoder()
            encoder.writeCompact(value)
            return encoder.bytes
        }
    }

    /// Decodes `bytes` as the same kind of value and reports whether it equals `self`.
    func decodes(_ bytes: [UInt8]) throws -> Bool {
        switch self {
        case let .client(message): return try ClientMessage.decode(Self.unframe(bytes)) == message
        case let .server(message): return try ServerMessage.decode(Self.unframe(bytes)) == message
        case let .worker(message): return try WorkerMessage.decode(Self.unframe(bytes)) == message
        case let .verdict(verdict): return try Verdict.decode(bytes) == verdict
        case let .outcome(outcome): return try JobOutcome.decode(bytes) == outcome
        case let .compact(value):
            var decoder = ScaleDecoder(bytes)
            let decoded = try decoder.readCompact("compact")
            try decoder.finish("compact")
            return decoded == value
        }
    }

    /// The single payload of a one-frame byte string.
    static func unframe(_ bytes: [UInt8]) throws -> [UInt8] {
        var decoder = FrameDecoder(maximumPayload: 1 << 24)
        try decoder.feed(bytes)
        guard let payload = decoder.nextFrame(), decoder.readyCount == 0, decoder.isAtFrameBoundary else {
            throw WireError.invalidValue(what: "golden frame", offset: 0, reason: "not exactly one frame")
        }
        return payload
    }

    /// True for the internal supervisor/worker examples, which the Python client does not speak.
    var isInternal: Bool {
        switch self {
        case .worker, .outcome: return true
        default: return false
        }
    }
}

let exampleCode: [UInt8] = [0x01, 0x02, 0x03, 0x04]
/// BLAKE2b-256 of `exampleCode`.
let exampleHash = BlobHash(hex: "28517e4cdf6c90798c1a983b03727ca7743c21a3880672429ccfc5bd15ea5f72")!
let exampleLimits = ServerLimits(
    maxFrameBytes: 16 << 20, maxBlobBytes: 4 << 20, maxInputBytes: 1 << 20, maxGas: 10_000_000_000,
    queueDepth: 256, maxInFlight: 64, workers: 4, maxRegisteredBlobs: 1024)
let exampleTimings = Timings(queuedMicros: 15, compileMicros: 120, executeMicros: 480)
let exampleRegisters: [UInt64] = [0xffff_0000, 0xfefe_0000, 0, 0, 0, 0, 0, 0x2a, 1, 0, 0, 0, 0]

/// Every golden example, in the order of docs/protocol.md.
let goldenValues: [(name: String, value: GoldenValue)] = [
    ("client_hello", .client(.hello(ClientHello(protocolVersion: 1, clientName: "example-node")))),
    ("server_hello", .server(.hello(ServerHello(protocolVersion: 1, serverName: "alcatrazd/0.1.0", limits: exampleLimits)))),
    ("version_mismatch", .server(.versionMismatch(VersionMismatch(requested: 2, oldestSupported: 1, newestSupported: 1)))),
    ("validate_inline", .client(.validateCandidate(ValidateCandidate(
        requestId: 1, code: .inline(exampleCode), input: [0xaa, 0xbb], gasLimit: 1_000_000, priority: .backing)))),
    ("validate_by_hash", .client(.validateCandidate(ValidateCandidate(
        requestId: 2, code: .hash(exampleHash), input: [], gasLimit: 500, priority: .dispute, deadlineMillis: 2000)))),
    ("register_code", .client(.registerCode(RegisterCode(requestId: 3, code: exampleCode)))),
    ("code_registered", .server(.codeRegistered(CodeRegistered(requestId: 3, hash: exampleHash)))),
    ("status_request", .client(.status(StatusRequest(requestId: 4)))),
    ("status_report", .server(.status(StatusReport(
        requestId: 4, serverVersion: "0.1.0", uptimeMillis: 3_600_000,
        queued: PriorityCounts(backing: 2, approval: 1, dispute: 0), workersReady: 3, workersBusy: 1,
        verdicts: VerdictCounts(valid: 100, invalid: 5, error: 1), cacheEntries: 7)))),
    ("result_valid", .server(.validationResult(ValidationResult(
        requestId: 1, verdict: .valid(output: [0x2a], gasUsed: 1234), timings: exampleTimings)))),
    ("result_invalid", .server(.validationResult(ValidationResult(
        requestId: 2, verdict: .invalid(.panic(pc: 16)), timings: exampleTimings)))),
    ("result_error", .server(.validationResult(ValidationResult(
        requestId: 5, verdict: .error(.overloaded), timings: .zero)))),
    ("request_failed", .server(.requestFailed(RequestFailed(
        requestId: 3, error: .limitExceeded(limit: .blobBytes, requested: 5 << 20, maximum: 4 << 20))))),
    ("protocol_error", .server(.protocolError(ProtocolError(requestId: nil, code: .frameTooLarge, message: "frame too large")))),
    ("protocol_error_with_id", .server(.protocolError(ProtocolError(requestId: 7, code: .truncated, message: "truncated")))),
    ("verdict_valid", .verdict(.valid(output: [], gasUsed: 0))),
    ("verdict_panic", .verdict(.invalid(.panic(pc: 16)))),
    ("verdict_out_of_gas", .verdict(.invalid(.outOfGas))),
    ("verdict_page_fault", .verdict(.invalid(.pageFault(address: 0x10000)))),
    ("verdict_bad_code", .verdict(.invalid(.badCode(message: "bad jump table")))),
    ("verdict_timed_out", .verdict(.error(.timedOut))),
    ("verdict_worker_died", .verdict(.error(.workerDied(signal: 9)))),
    ("verdict_sandbox_failure", .verdict(.error(.sandboxFailure(message: "seccomp")))),
    ("verdict_overloaded", .verdict(.error(.overloaded))),
    ("verdict_shutting_down", .verdict(.error(.shuttingDown))),
    ("verdict_internal", .verdict(.error(.internal(message: "bug")))),
    ("verdict_unknown_code", .verdict(.error(.unknownCode(exampleHash)))),
    ("verdict_limit_exceeded", .verdict(.error(.limitExceeded(limit: .gas, requested: 1 << 40, maximum: 10_000_000_000)))),
    ("compact_0", .compact(0)),
    ("compact_1", .compact(1)),
    ("compact_63", .compact(63)),
    ("compact_64", .compact(64)),
    ("compact_16383", .compact(16383)),
    ("compact_16384", .compact(16384)),
    ("compact_1073741823", .compact(1 << 30 - 1)),
    ("compact_1073741824", .compact(1 << 30)),
    ("compact_4294967295", .compact(UInt64(UInt32.max))),
    ("compact_4294967296", .compact(1 << 32)),
    ("compact_18446744073709551615", .compact(.max)),
    ("worker_job", .worker(.job(WorkerJob(
        jobId: 9, blob: exampleCode, input: [0xaa, 0xbb], gasLimit: 1_000_000,
        limits: WorkerLimits(maxGuestMemoryBytes: 16 << 20, maxStackBytes: 64 << 10, engine: .jit, maxOutputBytes: 1 << 20))))),
    ("worker_result_halt", .worker(.result(WorkerResult(
        jobId: 9, outcome: .halt(HaltState(output: [0x2a], gasUsed: 1234, registers: exampleRegisters)),
        compileNanos: 50_000, executeNanos: 480_000)))),
    ("worker_result_panic", .worker(.result(WorkerResult(
        jobId: 10, outcome: .panic(pc: 16), compileNanos: 40_000, executeNanos: 1_000)))),
    ("vector_job", .worker(.vectorJob(VectorJob(
        jobId: 5, program: exampleCode, pageMap: [VectorPages(address: 0x20000, length: 0x1000, isWritable: true)],
        memory: [VectorChunk(address: 0x20000, contents: [0xaa])], registers: exampleRegisters, pc: 0,
        gas: 10_000, engine: .jit)))),
    ("vector_result", .worker(.vectorResult(VectorResult(
        jobId: 5, status: .pageFault(address: 0x21000), pc: 3, registers: exampleRegisters, gas: -1,
        pages: [[0xaa, 0xbb]])))),
    ("diagnostic_job", .worker(.diagnosticJob(WorkerJob(
        jobId: 9, blob: exampleCode, input: [0xaa, 0xbb], gasLimit: 1_000_000,
        limits: WorkerLimits(maxGuestMemoryBytes: 16 << 20, maxStackBytes: 64 << 10, engine: .interpreter, maxOutputBytes: 1 << 20))))),
    ("run_report", .worker(.runReport(RunReport(
        jobId: 9, status: .outOfGas(pc: 16), gasUsed: 1000, registers: exampleRegisters,
        logs: [RunLog(level: 2, target: nil, message: Array("hi".utf8))], compileNanos: 50_000, executeNanos: 1_000)))),
    ("outcome_out_of_gas", .outcome(.outOfGas)),
    ("outcome_page_fault", .outcome(.pageFault(address: 0x10000))),
    ("outcome_bad_code", .outcome(.badCode(message: "bad jump table"))),
    ("outcome_internal_failure", .outcome(.internalFailure(message: "mmap failed"))),
]

/// The exact encoding of each golden example, as hex.
let goldenHex: [String: String] = [
        "client_hello": "10000000010100306578616d706c652d6e6f6465",
        "server_hello": "370000004101003c616c63617472617a642f302e312e3000000001000040000000100000e40b540200000000010000400000000400000000040000",
        "version_mismatch": "0700000042020001000100",
        "validate_inline": "1c00000002010000000000000000100102030408aabb40420f00000000000000",
        "validate_by_hash": "3d0000000202000000000000000128517e4cdf6c90798c1a983b03727ca7743c21a3880672429ccfc5bd15ea5f7200f4010000000000000201d007000000000000",
        "register_code": "0e0000000303000000000000001001020304",
        "code_registered": "2900000044030000000000000028517e4cdf6c90798c1a983b03727ca7743c21a3880672429ccfc5bd15ea5f72",
        "status_request": "09000000040400000000000000",
        "status_report": "4700000045040000000000000014302e312e3080ee360000000000020000000100000000000000030000000100000064000000000000000500000000000000010000000000000007000000",
        "result_valid": "2c00000043010000000000000000042ad2040000000000000f000000000000007800000000000000e001000000000000",
        "result_invalid": "270000004302000000000000000100100000000f000000000000007800000000000000e001000000000000",
        "result_error": "230000004305000000000000000203000000000000000000000000000000000000000000000000",
        "request_failed": "1b000000460300000000000000070000005000000000000000400000000000",
        "protocol_error": "130000007f00013c6672616d6520746f6f206c61726765",
        "protocol_error_with_id": "150000007f01070000000000000003247472756e6361746564",
        "verdict_valid": "00000000000000000000",
        "verdict_panic": "010010000000",
        "verdict_out_of_gas": "0101",
        "verdict_page_fault": "010200000100",
        "verdict_bad_code": "010338626164206a756d70207461626c65",
        "verdict_timed_out": "0200",
        "verdict_worker_died": "020109000000",
        "verdict_sandbox_failure": "02021c736563636f6d70",
        "verdict_overloaded": "0203",
        "verdict_shutting_down": "0204",
        "verdict_internal": "02050c627567",
        "verdict_unknown_code": "020628517e4cdf6c90798c1a983b03727ca7743c21a3880672429ccfc5bd15ea5f72",
        "verdict_limit_exceeded": "020702000000000001000000e40b5402000000",
        "compact_0": "00",
        "compact_1": "04",
        "compact_63": "fc",
        "compact_64": "0101",
        "compact_16383": "fdff",
        "compact_16384": "02000100",
        "compact_1073741823": "feffffff",
        "compact_1073741824": "0300000040",
        "compact_4294967295": "03ffffffff",
        "compact_4294967296": "070000000001",
        "compact_18446744073709551615": "13ffffffffffffffff",
        "worker_job": "32000000800900000000000000100102030408aabb40420f000000000000000001000000000000010000000000010000100000000000",
        "worker_result_halt": "8c00000081090000000000000000042ad2040000000000000000ffff000000000000fefe00000000000000000000000000000000000000000000000000000000000000000000000000000000000000002a000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000050c30000000000000053070000000000",
        "worker_result_panic": "1e000000810a000000000000000110000000409c000000000000e803000000000000",
        "vector_job": "94000000820500000000000000100102030404000002000010000001040000020004aa0000ffff000000000000fefe00000000000000000000000000000000000000000000000000000000000000000000000000000000000000002a000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000102700000000000001",
        "vector_result": "860000008305000000000000000300100200030000000000ffff000000000000fefe00000000000000000000000000000000000000000000000000000000000000000000000000000000000000002a0000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000ffffffffffffffff0408aabb",
        "diagnostic_job": "32000000840900000000000000100102030408aabb40420f000000000000000001000000000000010000000000000000100000000000",
        "run_report": "9b0000008509000000000000000210000000e8030000000000000000ffff000000000000fefe00000000000000000000000000000000000000000000000000000000000000000000000000000000000000002a00000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000402000000000000000008686950c3000000000000e803000000000000",
        "outcome_out_of_gas": "02",
        "outcome_page_fault": "0300000100",
        "outcome_bad_code": "0438626164206a756d70207461626c65",
        "outcome_internal_failure": "052c6d6d6170206661696c6564",
]
