// Internal worker messages for the command-line tool's sandboxed runs (`alcatraz run --sandbox`,
// `alcatraz vectors --sandbox`). The daemon never sends them: its jobs are `WorkerJob`s, whose
// `WorkerResult` keeps only what a verdict needs. These carry the whole end state, so that a
// run in a locked-down worker can be compared with an in-process run field by field.
//
//   0x82 VectorJob        supervisor -> worker   a conformance vector's initial machine state
//   0x83 VectorResult     worker -> supervisor   its end state (status, pc, registers, gas, pages)
//   0x84 WorkerJob        supervisor -> worker   a standard program, answered by a RunReport
//   0x85 RunReport        worker -> supervisor   the whole `InvocationResult` and timings

/// A page-map region of a vector job: `length` bytes from `address` (both page-aligned).
public struct VectorPages: Sendable, Equatable, ScaleCodable {
    public var address: UInt32
    public var length: UInt32
    public var isWritable: Bool

    public init(address: UInt32, length: UInt32, isWritable: Bool) {
        self.address = address
        self.length = length
        self.isWritable = isWritable
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(address)
        encoder.write(length)
        encoder.writeBool(isWritable)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        address = try decoder.read(UInt32.self, "VectorPages.address")
        length = try decoder.read(UInt32.self, "VectorPages.length")
        isWritable = try decoder.readBool("VectorPages.isWritable")
    }
}

/// Bytes written at `address` before the run, whatever the page access.
public struct VectorChunk: Sendable, Equatable, ScaleCodable {
    public var address: UInt32
    public var contents: [UInt8]

    public init(address: UInt32, contents: [UInt8]) {
        self.address = address
        self.contents = contents
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(address)
        encoder.writeByteVector(contents)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        address = try decoder.read(UInt32.self, "VectorChunk.address")
        contents = try decoder.readByteVector("VectorChunk.contents")
    }
}

/// Run a raw PVM program blob (not a standard program) from an arbitrary machine state, as the
/// JAM PVM test vectors describe it, until its first exit.
public struct VectorJob: Sendable, Equatable, ScaleCodable {
    public var jobId: UInt64
    /// The program blob (GP `deblob` format: jump table, code, bitmask).
    public var program: [UInt8]
    public var pageMap: [VectorPages]
    public var memory: [VectorChunk]
    /// The 13 registers, encoded as `[u64; 13]`.
    public var registers: [UInt64]
    public var pc: UInt32
    /// Signed: encoded as `i64` (two's complement, little-endian).
    public var gas: Int64
    public var engine: Engine

    public init(jobId: UInt64, program: [UInt8], pageMap: [VectorPages], memory: [VectorChunk],
                registers: [UInt64], pc: UInt32, gas: Int64, engine: Engine) {
        precondition(registers.count == HaltState.registerCount, "a PVM has 13 registers")
        self.jobId = jobId
        self.program = program
        self.pageMap = pageMap
        self.memory = memory
        self.registers = registers
        self.pc = pc
        self.gas = gas
        self.engine = engine
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(jobId)
        encoder.writeByteVector(program)
        encoder.writeCompact(UInt64(pageMap.count))
        for entry in pageMap { encoder.write(entry) }
        encoder.writeCompact(UInt64(memory.count))
        for chunk in memory { encoder.write(chunk) }
        for register in registers { encoder.write(register) }
        encoder.write(pc)
        encoder.write(gas)
        encoder.write(engine)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        jobId = try decoder.read(UInt64.self, "VectorJob.jobId")
        program = try decoder.readByteVector("VectorJob.program")
        let pages = try decoder.readLength("VectorJob.pageMap", minimumElementSize: 9)
        pageMap = []
        for _ in 0..<pages { pageMap.append(try decoder.read(VectorPages.self)) }
        let chunks = try decoder.readLength("VectorJob.memory", minimumElementSize: 5)
        memory = []
        for _ in 0..<chunks { memory.append(try decoder.read(VectorChunk.self)) }
        registers = try readRegisters(&decoder, "VectorJob.registers")
        pc = try decoder.read(UInt32.self, "VectorJob.pc")
        gas = try decoder.read(Int64.self, "VectorJob.gas")
        engine = try decoder.read(Engine.self)
    }
}

/// How a vector run ended. Tags: 0x00 halt, 0x01 panic, 0x02 outOfGas, 0x03 pageFault,
/// 0x04 hostCall, 0x05 badCode (the blob does not decode; nothing ran), 0x06 internalFailure.
public enum VectorStatus: Sendable, Equatable, ScaleCodable {
    case halt
    case panic
    case outOfGas
    case pageFault(address: UInt32)
    case hostCall(id: UInt64)
    case badCode(message: String)
    case internalFailure(message: String)

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case .halt: encoder.writeTag(0)
        case .panic: encoder.writeTag(1)
        case .outOfGas: encoder.writeTag(2)
        case let .pageFault(address):
            encoder.writeTag(3)
            encoder.write(address)
        case let .hostCall(id):
            encoder.writeTag(4)
            encoder.write(id)
        case let .badCode(message):
            encoder.writeTag(5)
            encoder.writeString(message)
        case let .internalFailure(message):
            encoder.writeTag(6)
            encoder.writeString(message)
        }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        let tag = try decoder.readTag("VectorStatus")
        switch tag {
        case 0: self = .halt
        case 1: self = .panic
        case 2: self = .outOfGas
        case 3: self = .pageFault(address: try decoder.read(UInt32.self, "VectorStatus.pageFault.address"))
        case 4: self = .hostCall(id: try decoder.read(UInt64.self, "VectorStatus.hostCall.id"))
        case 5: self = .badCode(message: try decoder.readString("VectorStatus.badCode.message"))
        case 6: self = .internalFailure(message: try decoder.readString("VectorStatus.internalFailure.message"))
        default: throw decoder.unknownTag(tag, "VectorStatus")
        }
    }
}

/// The end state of a vector run.
public struct VectorResult: Sendable, Equatable, ScaleCodable {
    public var jobId: UInt64
    public var status: VectorStatus
    public var pc: UInt32
    /// `[u64; 13]`.
    public var registers: [UInt64]
    /// `i64`.
    public var gas: Int64
    /// The bytes of each page-map region, in the job's order; empty where not readable.
    public var pages: [[UInt8]]

    public init(jobId: UInt64, status: VectorStatus, pc: UInt32, registers: [UInt64], gas: Int64, pages: [[UInt8]]) {
        precondition(registers.count == HaltState.registerCount, "a PVM has 13 registers")
        self.jobId = jobId
        self.status = status
        self.pc = pc
        self.registers = registers
        self.gas = gas
        self.pages = pages
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(jobId)
        encoder.write(status)
        encoder.write(pc)
        for register in registers { encoder.write(register) }
        encoder.write(gas)
        encoder.writeCompact(UInt64(pages.count))
        for page in pages { encoder.writeByteVector(page) }
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        jobId = try decoder.read(UInt64.self, "VectorResult.jobId")
        status = try decoder.read(VectorStatus.self)
        pc = try decoder.read(UInt32.self, "VectorResult.pc")
        registers = try readRegisters(&decoder, "VectorResult.registers")
        gas = try decoder.read(Int64.self, "VectorResult.gas")
        let count = try decoder.readLength("VectorResult.pages")
        pages = []
        for _ in 0..<count { pages.append(try decoder.readByteVector("VectorResult.pages")) }
    }
}

/// How a standard-program run ended, with every pc. Tags: 0x00 halt, 0x01 panic, 0x02 outOfGas,
/// 0x03 pageFault, 0x04 badCode, 0x05 internalFailure, 0x06 limitExceeded.
public enum RunStatus: Sendable, Equatable, ScaleCodable {
    case halt(output: [UInt8])
    case panic(pc: UInt32)
    case outOfGas(pc: UInt32)
    case pageFault(pc: UInt32, address: UInt32)
    case badCode(message: String)
    case internalFailure(message: String)
    /// The program needs more than the job's `WorkerLimits` allow (not a judgement on it).
    case limitExceeded(limit: LimitKind, requested: UInt64, maximum: UInt64)

    public func encode(to encoder: inout ScaleEncoder) {
        switch self {
        case let .halt(output):
            encoder.writeTag(0)
            encoder.writeByteVector(output)
        case let .panic(pc):
            encoder.writeTag(1)
            encoder.write(pc)
        case let .outOfGas(pc):
            encoder.writeTag(2)
            encoder.write(pc)
        case let .pageFault(pc, address):
            encoder.writeTag(3)
            encoder.write(pc)
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
        let tag = try decoder.readTag("RunStatus")
        switch tag {
        case 0: self = .halt(output: try decoder.readByteVector("RunStatus.halt.output"))
        case 1: self = .panic(pc: try decoder.read(UInt32.self, "RunStatus.panic.pc"))
        case 2: self = .outOfGas(pc: try decoder.read(UInt32.self, "RunStatus.outOfGas.pc"))
        case 3:
            let pc = try decoder.read(UInt32.self, "RunStatus.pageFault.pc")
            self = .pageFault(pc: pc, address: try decoder.read(UInt32.self, "RunStatus.pageFault.address"))
        case 4: self = .badCode(message: try decoder.readString("RunStatus.badCode.message"))
        case 5: self = .internalFailure(message: try decoder.readString("RunStatus.internalFailure.message"))
        case 6:
            let limit = try decoder.read(LimitKind.self)
            let requested = try decoder.read(UInt64.self, "RunStatus.limitExceeded.requested")
            self = .limitExceeded(limit: limit, requested: requested,
                                  maximum: try decoder.read(UInt64.self, "RunStatus.limitExceeded.maximum"))
        default: throw decoder.unknownTag(tag, "RunStatus")
        }
    }
}

/// A JIP-1 log message of a run: level, optional target, message.
public struct RunLog: Sendable, Equatable, ScaleCodable {
    public var level: UInt64
    public var target: [UInt8]?
    public var message: [UInt8]

    public init(level: UInt64, target: [UInt8]?, message: [UInt8]) {
        self.level = level
        self.target = target
        self.message = message
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(level)
        encoder.writeOption(target) { $0.writeByteVector($1) }
        encoder.writeByteVector(message)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        level = try decoder.read(UInt64.self, "RunLog.level")
        target = try decoder.readOption("RunLog.target") { (d: inout ScaleDecoder) throws(WireError) -> [UInt8] in
            try d.readByteVector("RunLog.target")
        }
        message = try decoder.readByteVector("RunLog.message")
    }
}

/// The worker's answer to a diagnostic `WorkerJob` (tag 0x84): the whole end state.
public struct RunReport: Sendable, Equatable, ScaleCodable {
    public var jobId: UInt64
    public var status: RunStatus
    public var gasUsed: UInt64
    /// `[u64; 13]`; all zero for badCode and internalFailure.
    public var registers: [UInt64]
    public var logs: [RunLog]
    public var compileNanos: UInt64
    public var executeNanos: UInt64

    public init(jobId: UInt64, status: RunStatus, gasUsed: UInt64, registers: [UInt64], logs: [RunLog],
                compileNanos: UInt64, executeNanos: UInt64) {
        precondition(registers.count == HaltState.registerCount, "a PVM has 13 registers")
        self.jobId = jobId
        self.status = status
        self.gasUsed = gasUsed
        self.registers = registers
        self.logs = logs
        self.compileNanos = compileNanos
        self.executeNanos = executeNanos
    }

    public func encode(to encoder: inout ScaleEncoder) {
        encoder.write(jobId)
        encoder.write(status)
        encoder.write(gasUsed)
        for register in registers { encoder.write(register) }
        encoder.writeCompact(UInt64(logs.count))
        for log in logs { encoder.write(log) }
        encoder.write(compileNanos)
        encoder.write(executeNanos)
    }

    public init(from decoder: inout ScaleDecoder) throws(WireError) {
        jobId = try decoder.read(UInt64.self, "RunReport.jobId")
        status = try decoder.read(RunStatus.self)
        gasUsed = try decoder.read(UInt64.self, "RunReport.gasUsed")
        registers = try readRegisters(&decoder, "RunReport.registers")
        let count = try decoder.readLength("RunReport.logs", minimumElementSize: 10)
        logs = []
        for _ in 0..<count { logs.append(try decoder.read(RunLog.self)) }
        compileNanos = try decoder.read(UInt64.self, "RunReport.compileNanos")
        executeNanos = try decoder.read(UInt64.self, "RunReport.executeNanos")
    }
}

/// Reads `[u64; 13]`.
func readRegisters(_ decoder: inout ScaleDecoder, _ what: String) throws(WireError) -> [UInt64] {
    var registers: [UInt64] = []
    registers.reserveCapacity(HaltState.registerCount)
    for _ in 0..<HaltState.registerCount { registers.append(try decoder.read(UInt64.self, what)) }
    return registers
}
