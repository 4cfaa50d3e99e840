/// The reference interpreter: one `switch` over pre-decoded instructions, GP 0.7.2 semantics, gas
/// charged per basic block on entry (SPEC.md §1.5).
///
/// Execution state lives in this object between calls to `run()`: after a `.hostCall` exit the
/// embedder may read and change registers, gas and memory, then call `run()` again, which resumes
/// after the `ecalli` without charging gas again (its block was charged on entry).
public final class Interpreter: PVMInstance {
    public let program: DecodedProgram
    public let memory: GuestMemory
    public var gas: Int64
    /// The pc of the instruction that caused the last exit (or the start pc before the first run).
    public internal(set) var pc: UInt32

    let ops: UnsafeMutableBufferPointer<InterpreterOp>
    let regs: UnsafeMutablePointer<UInt64>
    /// Instruction index where `run()` continues, or -1 when the start pc is not an instruction.
    var position: Int
    /// Whether the block at `position` still has to be charged.
    var mustCharge = true
    /// Set once the machine halted, panicked or ran out of gas: further `run()` calls repeat it.
    var finished: ExitReason?

    /// Prepares to run `program` from `pc` with the given registers and gas over `memory`.
    /// `charged`: the block at `pc` is already paid for (a run taken over mid-block, as after a
    /// page fault), so the first `run()` does not charge it.
    public init(program: DecodedProgram, memory: GuestMemory, registers: [UInt64], gas: Int64, pc: UInt32 = 0,
                charged: Bool = false) {
        precondition(registers.count == 13, "the PVM has 13 registers")
        self.program = program
        self.memory = memory
        self.gas = gas
        self.pc = pc
        regs = .allocate(capacity: 13)
        regs.initialize(from: registers, count: 13)
        ops = .allocate(capacity: program.instructions.count)
        for (i, ins) in program.instructions.enumerated() {
            ops[i] = InterpreterOp(ins, cost: program.blockCost[i], target: program.branchTarget[i])
        }
        position = program.index(ofPC: pc) ?? -1
        mustCharge = !charged
    }

    deinit {
        regs.deallocate()
        ops.deallocate()
    }

    public var registers: [UInt64] {
        get { Array(UnsafeBufferPointer(start: regs, count: 13)) }
        set {
            precondition(newValue.count == 13, "the PVM has 13 registers")
            regs.update(from: newValue, count: 13)
        }
    }

    public func readMemory(_ address: UInt32, count: Int) -> [UInt8]? { memory.read(address, count: count) }

    public func writeMemory(_ address: UInt32, _ bytes: [UInt8]) -> Bool { memory.write(address, bytes) }

    /// Runs until the machine exits. See the type's documentation for host calls.
    public func run() -> ExitReason {
        if let done = finished { return done }
        guard position >= 0 else {
            let reason = trapAtInvalidStart(gas: &gas)
            finished = reason
            return reason
        }
        let reason = execute()
        switch reason {
        case .halt, .panic, .outOfGas: finished = reason
        case .pageFault, .hostCall: break
        }
        return reason
    }
}
