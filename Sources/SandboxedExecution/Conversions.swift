// Between the in-process types (PVM's InvocationResult, the conformance runner's vectors and
// outcomes) and the internal worker messages, so that sandboxed runs print and compare exactly
// like in-process runs.
import ConformanceVectors
import PVM
import WireProtocol

/// A standard program run in a sandbox failed before a verdict on the program.
public enum SandboxedProgramError: Error, Equatable, CustomStringConvertible {
    case badCode(String)
    case internalFailure(String)
    /// The program needs more than the job's limits allow (not a judgement on it).
    case limitExceeded(limit: LimitKind, requested: UInt64, maximum: UInt64)

    public var description: String {
        switch self {
        case let .badCode(m): "bad code: \(m)"
        case let .internalFailure(m): "the worker could not run the job: \(m)"
        case let .limitExceeded(limit, requested, maximum):
            "beyond this worker's limits (not a verdict on the program): \(limit) \(requested), at most \(maximum)"
        }
    }
}

extension RunReport {
    /// The in-process result this report describes.
    public func invocationResult() throws(SandboxedProgramError) -> InvocationResult {
        let s: InvocationResult.Status
        switch status {
        case let .halt(output): s = .halt(output: output)
        case let .panic(pc): s = .panic(pc: pc)
        case let .outOfGas(pc): s = .outOfGas(pc: pc)
        case let .pageFault(pc, address): s = .pageFault(pc: pc, address: address)
        case let .badCode(message): throw .badCode(message)
        case let .internalFailure(message): throw .internalFailure(message)
        case let .limitExceeded(limit, requested, maximum):
            throw .limitExceeded(limit: limit, requested: requested, maximum: maximum)
        }
        return InvocationResult(status: s, gasUsed: gasUsed, registers: registers,
                                logs: logs.map { LogMessage(level: $0.level, target: $0.target, message: $0.message) })
    }
}

extension WorkerJob {
    /// A job for `program` with the limits the command-line tool uses in-process.
    public init(jobId: UInt64, program: StandardProgram, input: [UInt8], gas: Int64, engine: Engine,
                limits: ProgramLimits = ProgramLimits()) {
        self.init(jobId: jobId, blob: program.encoded(), input: input, gasLimit: UInt64(max(gas, 0)),
                  limits: WorkerLimits(maxGuestMemoryBytes: UInt64(limits.maxGuestMemory),
                                       maxStackBytes: UInt64(limits.maxStackSize), engine: engine))
    }
}

extension VectorJob {
    /// The vector's initial state as a job.
    public init(jobId: UInt64, vector: TestVector, engine: Engine) {
        self.init(jobId: jobId, program: vector.program,
                  pageMap: vector.initialPageMap.map { VectorPages(address: $0.address, length: $0.length, isWritable: $0.isWritable) },
                  memory: vector.initialMemory.map { VectorChunk(address: $0.address, contents: $0.contents) },
                  registers: vector.initialRegs, pc: vector.initialPC, gas: vector.initialGas, engine: engine)
    }
}

extension SandboxedExecutor {
    /// Runs `vector` in a locked-down worker and returns what `VectorRunner.run` returns in-process.
    public func run(_ vector: TestVector, engine: Engine, jobId: UInt64 = 0) throws -> VectorOutcome {
        let result = try run(VectorJob(jobId: jobId, vector: vector, engine: engine))
        var faultAddress: UInt32? = nil
        let status: String
        switch result.status {
        case .halt: status = "halt"
        case .panic: status = "panic"
        case .outOfGas: status = "out-of-gas"
        case let .pageFault(address): status = "page-fault"; faultAddress = address
        case let .hostCall(id): status = "host-call(\(id))"
        case .badCode: return VectorRunner.outcomeOfUndecodableBlob(vector)
        case let .internalFailure(message): throw SandboxedProgramError.internalFailure(message)
        }
        return VectorOutcome(status: status, pc: result.pc, registers: result.registers, gas: result.gas,
                             pageFaultAddress: faultAddress, memory: result.pages)
    }
}
