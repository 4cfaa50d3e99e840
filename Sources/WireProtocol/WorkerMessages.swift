// Internal messages between the daemon's supervisor and its sandboxed worker processes.
// Same framing and codec as the client protocol, own tag space 0x80...0xbf, never seen by
// nodes. Versioned together with the daemon binary (supervisor and worker are one build),
// so there is no handshake.

/// A message between supervisor and worker. Tags: 0x80 job (supervisor to worker),
/// 0x81 result (worker to supervisor); 0x82...0x85 are the command-line tool's diagnostic
/// runs (DiagnosticMessages.swift).
public enum WorkerMessage: Sendable, Equatable, ScaleCodable {
    /// 0x80: supervisor to worker.
    case job(WorkerJob)
    /// 0x81: worker to supervisor.
    case result(WorkerResult)
    /// 0x82: supervisor to worker; a conformance vector's machine state.
    case vectorJob(VectorJob)
    /// 0x83: worker to supervisor; the vector run's end state.
    case vectorResult(VectorResult)
    /// 0x84: supervisor to worker; a `WorkerJob` to be answered with a `RunReport`.
    case diagnosticJob(WorkerJob)
    /// 0x85: worker to supervisor.
    case runReport(RunReport)

    /// Tag bytes of the variants.
    public enum Tag {
        public static let job: UInt8 = 0x80
        public static let result: UInt8 = 0x81
        public static let vectorJob: UInt8 = 0x82
        public static let vectorResult: UInt8 = 0x83
        public static let diagnosticJob: UInt8 = 0x84
        public static let runReport: UInt8 = 0x85
    }

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .job(job):
            encoder.writeTag(Tag.job)
            encoder.write(job)
        case let .result(result):
            encoder.writeTag(Tag.result)
            encoder.write(result)
        case let .vectorJob(job):
            encoder.writeTag(Tag.vectorJob)
            encoder.write(job)
        case let .vectorResult(result):
            encoder.writeTag(Tag.vectorResult)
            encoder.write(result)
        case let .diagnosticJob(job):
            encoder.writeTag(Tag.diagnosticJob)
            encoder.write(job)
        case let .runReport(report):
            encoder.writeTag(Tag.runReport)
            encoder.write(report)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("WorkerMessage")
        switch tag {
        case Tag.job: self = .job(try decoder.read(WorkerJob.self))
        case Tag.result: self = .result(try decoder.read(WorkerResult.self))
        case Tag.vectorJob: self = .vectorJob(try decoder.read(VectorJob.self))
        case Tag.vectorResult: self = .vectorResult(try decoder.read(VectorResult.self))
        case Tag.diagnosticJob: self = .diagnosticJob(try decoder.read(WorkerJob.self))
        case Tag.runReport: self = .runReport(try decoder.read(RunReport.self))
        default: throw decoder.unknownTag(tag, "WorkerMessage")
        }
    }
}

/// Which execution engine the worker uses. Encoded as a one-byte enum.
public enum Engine: UInt8, Sendable, Equatable, CaseIterable, ScaleCodable {
    /// The reference interpreter.
    case interpreter = 0
    /// The x86-64 recompiler.
    case jit = 1

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeTag(rawValue)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("Engine")
        guard let value = Engine(rawValue: tag) else { throw decoder.unknownTag(tag, "Engine") }
        self = value
    }
}

/// Resource limits for one job.
public struct WorkerLimits: Sendable, Equatable, ScaleCodable {
    /// Bytes of guest memory the program may map.
    public var maxGuestMemoryBytes: UInt64
    /// Bytes of guest stack.
    public var maxStackBytes: UInt64
    public var engine: Engine
    /// The largest output a halt may deliver: what one answer frame to the client can carry.
    public var maxOutputBytes: UInt64

    public init(maxGuestMemoryBytes: UInt64, maxStackBytes: UInt64, engine: Engine, maxOutputBytes: UInt64 = .max) {
        self.maxGuestMemoryBytes = maxGuestMemoryBytes
        self.maxStackBytes = maxStackBytes
        self.engine = engine
        self.maxOutputBytes = maxOutputBytes
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(maxGuestMemoryBytes)
        encoder.write(maxStackBytes)
        encoder.write(engine)
        encoder.write(maxOutputBytes)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        maxGuestMemoryBytes = try decoder.read(UInt64.self, "WorkerLimits.maxGuestMemoryBytes")
        maxStackBytes = try decoder.read(UInt64.self, "WorkerLimits.maxStackBytes")
        engine = try decoder.read(Engine.self)
        maxOutputBytes = try decoder.read(UInt64.self, "WorkerLimits.maxOutputBytes")
    }
}

extension WorkerLimits {
    /// The private writable memory (RLIMIT_DATA) one worker needs, at most, for any job within
    /// these sizes, on either engine: `16 MiB + maxGuestMemoryBytes + 2 × maxInputBytes +
    /// 128 × maxBlobBytes` (saturating). Measured in a locked-down release worker, by bisecting
    /// its budget: the worst program, a blob of nothing but 0xCC code with every bitmask bit set
    /// (74 native bytes per code byte), needs 33 MiB for 256 KiB of blob, 389 MiB for 4 MiB and
    /// 787 MiB for 8 MiB (about 100 bytes per blob byte: the code, grown by at most an eighth,
    /// the recompiler's tables, copies of the blob), plus the guest memory the program
    /// declares, plus about one byte per input byte (two on the interpreter); a tiny program
    /// needs 17 MiB. docs/operations.md has the table.
    public static func memoryNeeded(maxBlobBytes: UInt64, maxInputBytes: UInt64, maxGuestMemoryBytes: UInt64) -> UInt64 {
        var total: UInt64 = 16 << 20
        for (count, perByte) in [(maxGuestMemoryBytes, UInt64(1)), (maxInputBytes, 2), (maxBlobBytes, 128)] {
            let (bytes, o1) = count.multipliedReportingOverflow(by: perByte)
            let (sum, o2) = total.addingReportingOverflow(bytes)
            if o1 || o2 { return .max }
            total = sum
        }
        return total
    }
}

/// Run `blob` on `input`.
public struct WorkerJob: Sendable, Equatable, ScaleCodable {
    /// Chosen by the supervisor; echoed in the result.
    public var jobId: UInt64
    /// The program blob (hashes are resolved by the supervisor).
    public var blob: [UInt8]
    /// The program's input.
    public var input: [UInt8]
    /// Gas available to the run.
    public var gasLimit: UInt64
    /// Resources and engine for the run.
    public var limits: WorkerLimits

    public init(jobId: UInt64, blob: [UInt8], input: [UInt8], gasLimit: UInt64, limits: WorkerLimits) {
        self.jobId = jobId
        self.blob = blob
        self.input = input
        self.gasLimit = gasLimit
        self.limits = limits
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(jobId)
        encoder.writeByteVector(blob)
        encoder.writeByteVector(input)
        encoder.write(gasLimit)
        encoder.write(limits)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        jobId = try decoder.read(UInt64.self, "WorkerJob.jobId")
        blob = try decoder.readByteVector("WorkerJob.blob")
        input = try decoder.readByteVector("WorkerJob.input")
        gasLimit = try decoder.read(UInt64.self, "WorkerJob.gasLimit")
        limits = try decoder.read(WorkerLimits.self)
    }
}

/// Final machine state of a program that halted normally.
public struct HaltState: Sendable, Equatable, ScaleCodable {
    /// Number of PVM registers.
    public static let registerCount = 13

    /// The program's output.
    public var output: [UInt8]
    /// Gas consumed by the run.
    public var gasUsed: UInt64
    /// The 13 registers at the halt, encoded as `[u64; 13]` (no length prefix).
    public let registers: [UInt64]

    /// `registers` must hold exactly `HaltState.registerCount` values.
    public init(output: [UInt8], gasUsed: UInt64, registers: [UInt64]) {
        precondition(registers.count == Self.registerCount, "a PVM has 13 registers")
        self.output = output
        self.gasUsed = gasUsed
        self.registers = registers
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.writeByteVector(output)
        encoder.write(gasUsed)
        for register in registers { encoder.write(register) }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        output = try decoder.readByteVector("HaltState.output")
        gasUsed = try decoder.read(UInt64.self, "HaltState.gasUsed")
        var registers: [UInt64] = []
        registers.reserveCapacity(Self.registerCount)
        for _ in 0..<Self.registerCount {
            registers.append(try decoder.read(UInt64.self, "HaltState.registers"))
        }
        self.registers = registers
    }
}

extension WorkerMessage {
    /// The largest request payload a worker accepts: a 64 MiB code blob (`ProgramLimits.maxCodeSize`)
    /// plus a 16 MiB input and room for the rest. Checked before the payload is read or allocated;
    /// the daemon's config must keep `max_blob_bytes + max_input_bytes` below it.
    public static let maximumRequestBytes: UInt32 = 96 << 20
}

/// How a job ended. Tags: 0x00 halt, 0x01 panic, 0x02 outOfGas, 0x03 pageFault,
/// 0x04 badCode, 0x05 internalFailure, 0x06 limitExceeded.
public enum JobOutcome: Sendable, Equatable, ScaleCodable {
    /// The program halted normally.
    case halt(HaltState)
    /// The program trapped at `pc`.
    case panic(pc: UInt32)
    /// The gas limit ran out.
    case outOfGas
    /// The program touched an inaccessible page at `address`.
    case pageFault(address: UInt32)
    /// The blob is malformed.
    case badCode(message: String)
    /// The worker could not run the job (not a property of the program).
    case internalFailure(message: String)
    /// The program needs more than the job's `WorkerLimits` allow (not a judgement on it).
    case limitExceeded(limit: LimitKind, requested: UInt64, maximum: UInt64)

    /// The client-facing verdict for this outcome.
    public var verdict: Verdict {
        switch self {
        case let .halt(state): return .valid(output: state.output, gasUsed: state.gasUsed)
        case let .panic(pc): return .invalid(.panic(pc: pc))
        case .outOfGas: return .invalid(.outOfGas)
        case let .pageFault(address): return .invalid(.pageFault(address: address))
        case let .badCode(message): return .invalid(.badCode(message: message))
        case let .internalFailure(message): return .error(.internal(message: message))
        case let .limitExceeded(limit, requested, maximum):
            return .error(.limitExceeded(limit: limit, requested: requested, maximum: maximum))
        }
    }

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .halt(state):
            encoder.writeTag(0)
            encoder.write(state)
        case let .panic(pc):
            encoder.writeTag(1)
            encoder.write(pc)
        case .outOfGas:
            encoder.writeTag(2)
        case let .pageFault(address):
            encoder.writeTag(3)
            encoder.write(address)
        case let .badCode(message):
            encoder.writeTag(4)
            encoder.writeString(message)
        case let .internalFailure(message):
            encoder.writeTag(5)
            encoder.writeString(message)
        case let .limitExceeded(limit, requested, maximum):
            encoder.writeTag(6)
            encoder.write(limit)
            encoder.write(requested)
            encoder.write(maximum)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("JobOutcome")
        switch tag {
        case 0: self = .halt(try decoder.read(HaltState.self))
        case 1: self = .panic(pc: try decoder.read(UInt32.self, "JobOutcome.panic.pc"))
        case 2: self = .outOfGas
        case 3: self = .pageFault(address: try decoder.read(UInt32.self, "JobOutcome.pageFault.address"))
        case 4: self = .badCode(message: try decoder.readString("JobOutcome.badCode.message"))
        case 5: self = .internalFailure(message: try decoder.readString("JobOutcome.internalFailure.message"))
        case 6:
            let limit = try decoder.read(LimitKind.self)
            let requested = try decoder.read(UInt64.self, "JobOutcome.limitExceeded.requested")
            self = .limitExceeded(limit: limit, requested: requested,
                                  maximum: try decoder.read(UInt64.self, "JobOutcome.limitExceeded.maximum"))
        default: throw decoder.unknownTag(tag, "JobOutcome")
        }
    }
}

/// The worker's answer to a `WorkerJob`.
public struct WorkerResult: Sendable, Equatable, ScaleCodable {
    /// Of the `WorkerJob`.
    public var jobId: UInt64
    /// How the run ended.
    public var outcome: JobOutcome
    /// Nanoseconds spent decoding/compiling the blob.
    public var compileNanos: UInt64
    /// Nanoseconds spent running the guest.
    public var executeNanos: UInt64

    public init(jobId: UInt64, outcome: JobOutcome, compileNanos: UInt64, executeNanos: UInt64) {
        self.jobId = jobId
        self.outcome = outcome
        self.compileNanos = compileNanos
        self.executeNanos = executeNanos
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(jobId)
        encoder.write(outcome)
        encoder.write(compileNanos)
        encoder.write(executeNanos)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        jobId = try decoder.read(UInt64.self, "WorkerResult.jobId")
        outcome = try decoder.read(JobOutcome.self)
        compileNanos = try decoder.read(UInt64.self, "WorkerResult.compileNanos")
        executeNanos = try decoder.read(UInt64.self, "WorkerResult.executeNanos")
    }
}
