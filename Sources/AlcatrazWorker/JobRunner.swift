// The job itself, after the lockdown: decode, build the machine (interpreter or JIT), seal
// executable memory, run, answer. Everything here runs under the seccomp allowlist, so it may
// only compute, map memory, set the GS base, read the clock and talk on the job socket.
import JIT
import PVM
import Sandbox
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A failure that ends the job without a program verdict.
enum JobFailure: Error {
    /// The memory budget (RLIMIT_DATA) refused a mapping: exit with `WorkerExitCode.memoryLimit`.
    case memoryLimit
    /// Anything else the worker could not do; reported as `internalFailure`.
    case internalFailure(String)
}

/// The clock behind the compile and execute timings (vDSO; the allowlist has a fallback row).
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

enum JobRunner {
    /// Off only while the spawner warms up (WarmUp.swift): a worker always seals.
    nonisolated(unsafe) static var sealsExecutableMemory = true

    /// Answers one request; nil for a message that is not a request (the worker then exits 3).
    static func answer(_ message: WorkerMessage) throws(JobFailure) -> WorkerMessage? {
        switch message {
        case let .job(job): return .result(try result(job))
        case let .diagnosticJob(job): return .runReport(try report(job))
        case let .vectorJob(job): return .vectorResult(try run(job))
        case .result, .vectorResult, .runReport: return nil
        }
    }

    // MARK: - Standard programs

    /// How a standard-program run went, before it is put in either answer.
    enum Run {
        case finished(InvocationResult)
        case badCode(String)
        case internalFailure(String)
        case limitExceeded(LimitKind, requested: UInt64, maximum: UInt64)
    }

    /// Ends the job from inside the run, with `run` as its end: what the guest's `sbrk` does when
    /// it would pass the job's memory budget (see `MemoryBudget`). `runJob` sets it to answer the
    /// request accordingly and end the process.
    nonisolated(unsafe) static var endRun: @Sendable (_ run: Run) -> Never = { _ in
        exitImmediately(WorkerExitCode.memoryLimit)
    }

    static func execute(_ job: WorkerJob) throws(JobFailure) -> (run: Run, compileNanos: UInt64, executeNanos: UInt64) {
        let start = monotonicNanos()
        let program: StandardProgram
        do {
            // Decoded by the program format alone (and the 2^32 layout bound): the job's caps
            // below are the operator's, and passing them is not a judgement on the program.
            program = try StandardProgram(decoding: job.blob, limits: ProgramLimits(maxStackSize: .max, maxGuestMemory: .max))
        } catch {
            return (.badCode(error.description), monotonicNanos() - start, 0)
        }
        if UInt64(program.stackSize) > job.limits.maxStackBytes {
            return (.limitExceeded(.stackBytes, requested: UInt64(program.stackSize), maximum: job.limits.maxStackBytes),
                    monotonicNanos() - start, 0)
        }
        if program.layout.initialMemory > job.limits.maxGuestMemoryBytes {
            return (.limitExceeded(.guestMemoryBytes, requested: program.layout.initialMemory,
                                   maximum: job.limits.maxGuestMemoryBytes), monotonicNanos() - start, 0)
        }
        let maximum = job.limits.maxGuestMemoryBytes, endRun = endRun
        let budget = MemoryBudget(maxBytes: maximum) { requested in
            endRun(.limitExceeded(.guestMemoryBytes, requested: requested, maximum: maximum))
        }
        guard job.input.count <= GuestABI.maxInput else {
            return (.internalFailure("the input is \(job.input.count) bytes; at most \(GuestABI.maxInput) are allowed"),
                    monotonicNanos() - start, 0)
        }
        let gas = Int64(clamping: job.gasLimit)
        let machine = try instantiate(job.limits.engine) { memory in
            memory.load(program, input: job.input, budget: budget)
        } make: { memory throws in
            let registers = program.layout.initialRegisters(inputLength: UInt32(job.input.count))
            switch job.limits.engine {
            case .interpreter:
                return Interpreter(program: DecodedProgram(program.blob), memory: memory!, registers: registers, gas: gas)
            case .jit:
                return try JITInstance(standard: program, input: job.input, gas: gas, budget: budget)
            }
        }
        let compiled = monotonicNanos()
        let result = GuestABI.invoke(machine, initialGas: gas)
        let executed = monotonicNanos()
        // Not torn down here: unmapping the guest memory and the code would delay the answer,
        // and the process ends right after it (see `retired`). Unless the output is large: its
        // copy in the answer then needs the memory budget more than the answer needs the time.
        var largeOutput = false
        if case let .halt(output) = result.status {
            if UInt64(output.count) > job.limits.maxOutputBytes {
                // Too large for the client's answer frame: no verdict can be delivered.
                return (.limitExceeded(.outputBytes, requested: UInt64(output.count), maximum: job.limits.maxOutputBytes),
                        compiled - start, executed - compiled)
            }
            largeOutput = output.count > retainedOutputLimit
        }
        if !largeOutput { retired.append(machine) }
        return (.finished(result), compiled - start, executed - compiled)
    }

    /// Machines whose run is over, kept until the process exits: a worker runs one job, and
    /// its exit frees everything at once, after the answer and at the background priority.
    nonisolated(unsafe) static var retired: [any PVMInstance] = []
    /// Outputs above this size release their machine before the answer is encoded.
    static let retainedOutputLimit = 64 << 10

    /// The answer to `message` for a run that ended as `run` before it could be timed.
    static func answer(_ message: WorkerMessage, ended run: Run) -> WorkerMessage? {
        switch message {
        case let .job(job): .result(result(job, run, compile: 0, execute: 0))
        case let .diagnosticJob(job): .runReport(report(job, run, compile: 0, execute: 0))
        case .vectorJob, .result, .vectorResult, .runReport: nil
        }
    }

    static func result(_ job: WorkerJob) throws(JobFailure) -> WorkerResult {
        let (run, compile, execute) = try execute(job)
        return result(job, run, compile: compile, execute: execute)
    }

    static func result(_ job: WorkerJob, _ run: Run, compile: UInt64, execute: UInt64) -> WorkerResult {
        let outcome: JobOutcome
        switch run {
        case let .badCode(message): outcome = .badCode(message: message)
        case let .internalFailure(message): outcome = .internalFailure(message: message)
        case let .limitExceeded(limit, requested, maximum):
            outcome = .limitExceeded(limit: limit, requested: requested, maximum: maximum)
        case let .finished(r):
            switch r.status {
            case let .halt(output):
                outcome = .halt(HaltState(output: output, gasUsed: r.gasUsed, registers: r.registers))
            case let .panic(pc): outcome = .panic(pc: pc)
            case .outOfGas: outcome = .outOfGas
            case let .pageFault(_, address): outcome = .pageFault(address: address)
            }
        }
        return WorkerResult(jobId: job.jobId, outcome: outcome, compileNanos: compile, executeNanos: execute)
    }

    static func report(_ job: WorkerJob) throws(JobFailure) -> RunReport {
        let (run, compile, execute) = try execute(job)
        return report(job, run, compile: compile, execute: execute)
    }

    static func report(_ job: WorkerJob, _ run: Run, compile: UInt64, execute: UInt64) -> RunReport {
        let zero = [UInt64](repeating: 0, count: HaltState.registerCount)
        func failed(_ status: RunStatus) -> RunReport {
            RunReport(jobId: job.jobId, status: status, gasUsed: 0, registers: zero, logs: [],
                      compileNanos: compile, executeNanos: execute)
        }
        switch run {
        case let .badCode(message): return failed(.badCode(message: message))
        case let .internalFailure(message): return failed(.internalFailure(message: message))
        case let .limitExceeded(limit, requested, maximum):
            return failed(.limitExceeded(limit: limit, requested: requested, maximum: maximum))
        case let .finished(r):
            let status: RunStatus
            switch r.status {
            case let .halt(output): status = .halt(output: output)
            case let .panic(pc): status = .panic(pc: pc)
            case let .outOfGas(pc): status = .outOfGas(pc: pc)
            case let .pageFault(pc, address): status = .pageFault(pc: pc, address: address)
            }
            return RunReport(jobId: job.jobId, status: status, gasUsed: r.gasUsed, registers: r.registers,
                             logs: r.logs.map { RunLog(level: $0.level, target: $0.target, message: $0.message) },
                             compileNanos: compile, executeNanos: execute)
        }
    }

    // MARK: - Vectors

    static func run(_ job: VectorJob) throws(JobFailure) -> VectorResult {
        func ended(_ status: VectorStatus) -> VectorResult {
            VectorResult(jobId: job.jobId, status: status, pc: job.pc, registers: job.registers, gas: job.gas, pages: [])
        }
        let blob: ProgramBlob
        do {
            blob = try ProgramBlob(decoding: job.program)
        } catch {
            return ended(.badCode(message: "\(error)"))
        }
        // GuestMemory.map traps on unaligned regions: refuse them here instead of crashing.
        for entry in job.pageMap where entry.address % GuestMemory.pageSize != 0 || entry.length % GuestMemory.pageSize != 0 {
            return ended(.internalFailure(message: "page-map region 0x\(String(entry.address, radix: 16)) is not page-aligned"))
        }
        let machine = try instantiate(job.engine) { memory in
            for entry in job.pageMap {
                memory.map(address: entry.address, length: entry.length, access: entry.isWritable ? .write : .read)
            }
            for chunk in job.memory { memory.initialize(chunk.contents, at: chunk.address) }
        } make: { memory throws in
            let program = DecodedProgram(blob)
            switch job.engine {
            case .interpreter:
                return Interpreter(program: program, memory: memory!, registers: job.registers, gas: job.gas, pc: job.pc)
            case .jit:
                return try JITInstance(program: program, registers: job.registers, gas: job.gas, pc: job.pc) { memory in
                    for entry in job.pageMap {
                        memory.map(address: entry.address, length: entry.length, access: entry.isWritable ? .write : .read)
                    }
                    for chunk in job.memory { memory.initialize(chunk.contents, at: chunk.address) }
                }
            }
        }
        let status: VectorStatus
        switch machine.run() {
        case .halt: status = .halt
        case .panic: status = .panic
        case .outOfGas: status = .outOfGas
        case let .pageFault(address): status = .pageFault(address: address)
        case let .hostCall(id): status = .hostCall(id: id)
        }
        let pages = job.pageMap.map { machine.readMemory($0.address, count: Int($0.length)) ?? [] }
        return VectorResult(jobId: job.jobId, status: status, pc: machine.pc, registers: machine.registers,
                            gas: machine.gas, pages: pages)
    }

    // MARK: - Machines

    /// Builds the machine, then seals executable memory: from here on nothing can become
    /// executable, so a JIT bug exploited at run time cannot create new code.
    /// - Parameters:
    ///   - setUp: fills the interpreter's guest memory (the JIT sets up its own inside `make`).
    ///   - make: builds the machine; the interpreter's memory is passed in, nil for the JIT.
    static func instantiate(
        _ engine: Engine, setUp: (GuestMemory) -> Void, make: (GuestMemory?) throws -> any PVMInstance
    ) throws(JobFailure) -> any PVMInstance {
        let machine: any PVMInstance
        do {
            switch engine {
            case .interpreter:
                // Hardware-protected like the JIT's: the interpreter's default (the whole 4 GiB
                // readable and writable, lazily backed) counts as 4 GiB against RLIMIT_DATA.
                // Inaccessible pages are PROT_NONE here; the interpreter's page table decides
                // every access first, so it behaves exactly the same.
                let memory = try GuestMemory(hardwareProtected: true)
                setUp(memory)
                machine = try make(memory)
            case .jit:
                machine = try make(nil)
            }
        } catch let error as MemoryError where error.errno == ENOMEM {
            throw .memoryLimit
        } catch {
            throw .internalFailure("cannot set up the \(engine == .jit ? "recompiler" : "interpreter"): \(error)")
        }
        let rc = sealsExecutableMemory ? Seccomp.sealExecutableMemory() : 0
        if rc != 0 { throw .internalFailure("cannot seal executable memory: errno \(rc)") }
        return machine
    }
}
