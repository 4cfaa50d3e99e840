/// The guest ABI for candidate validation (docs/guest-abi.md): a standard program entered at pc 0
/// with its input in the argument region, host calls `gas` and `log`, and the output read from
/// memory[φ7 ..< φ7+φ8] on halt (JAM Ψ_M marshalling).
public enum GuestABI {
    /// Gas every host call costs, charged before it runs (GP 0.7.2: g = 10).
    public static let hostCallCost: Int64 = 10
    /// `gas` (GP id 0): φ7 ← gas remaining after the call's own cost.
    public static let gasCall: UInt64 = 0
    /// `log` (JIP-1, id 100): level φ7, target φ8/φ9, message φ10/φ11; φ7 ← WHAT.
    public static let logCall: UInt64 = 100
    /// GP host-call result WHAT (2^64 − 2): "name unknown".
    public static let what: UInt64 = UInt64.max - 1
    /// The largest input (GP Z_I = 2^24 bytes).
    public static let maxInput = 1 << 24
    /// How many log messages a run keeps (later ones are charged and dropped).
    public static let maxLogMessages = 256
    /// The longest log target or message kept, in bytes (longer ones are cut).
    public static let maxLogBytes = 4096

    /// Runs `machine` (already loaded with a standard program and its input) to its end, serving
    /// host calls. The result is deterministic: it depends only on the program, input and gas.
    public static func invoke(_ machine: any PVMInstance, initialGas: Int64) -> InvocationResult {
        var logs: [LogMessage] = []
        while true {
            let reason = machine.run()
            let status: InvocationResult.Status
            switch reason {
            case .hostCall(let id):
                guard machine.gas >= hostCallCost else {
                    status = .outOfGas(pc: machine.pc)
                    return finish(machine, status, initialGas, logs)
                }
                machine.gas -= hostCallCost
                serve(id, machine, &logs)
                continue
            case .halt:
                let regs = machine.registers
                let address = regs[7], length = regs[8]
                var output: [UInt8] = []
                if address < 1 << 32, length <= 1 << 32,
                   let bytes = machine.readMemory(UInt32(address), count: Int(length)) {
                    output = bytes
                }
                status = .halt(output: output)
            case .panic: status = .panic(pc: machine.pc)
            case .outOfGas: status = .outOfGas(pc: machine.pc)
            case .pageFault(let address): status = .pageFault(pc: machine.pc, address: address)
            }
            return finish(machine, status, initialGas, logs)
        }
    }

    static func finish(_ m: any PVMInstance, _ status: InvocationResult.Status, _ initialGas: Int64,
                       _ logs: [LogMessage]) -> InvocationResult {
        InvocationResult(status: status, gasUsed: UInt64(initialGas - max(m.gas, 0)), registers: m.registers,
                         logs: logs)
    }

    static func serve(_ id: UInt64, _ machine: any PVMInstance, _ logs: inout [LogMessage]) {
        var regs = machine.registers
        switch id {
        case gasCall:
            regs[7] = UInt64(machine.gas)
        case logCall:
            if logs.count < maxLogMessages, let message = read(machine, regs[10], regs[11]) {
                var target: [UInt8]? = nil
                var valid = true
                if regs[8] != 0 || regs[9] != 0 {
                    target = read(machine, regs[8], regs[9])
                    valid = target != nil
                }
                if valid { logs.append(LogMessage(level: regs[7], target: target, message: message)) }
            }
            regs[7] = what
        default:
            regs[7] = what
        }
        machine.registers = regs
    }

    /// Reads at most `maxLogBytes` of a guest range, or nil if the range is not readable.
    static func read(_ machine: any PVMInstance, _ address: UInt64, _ length: UInt64) -> [UInt8]? {
        guard address < 1 << 32, length <= 1 << 32, address + length <= 1 << 32 else { return nil }
        // Check the whole range is readable (JIP-1: no effect on invalid memory), keep a prefix.
        guard length == 0 || machine.readMemory(UInt32(address + length - 1), count: 1) != nil,
              let prefix = machine.readMemory(UInt32(address), count: Int(min(length, UInt64(maxLogBytes))))
        else { return nil }
        if length > UInt64(maxLogBytes) {
            // Every page in between must be readable too.
            var page = (address >> 12) + 1
            while page < (address + length - 1) >> 12 {
                if machine.readMemory(UInt32(page << 12), count: 1) == nil { return nil }
                page += 1
            }
        }
        return prefix
    }
}

/// A JIP-1 debug message.
public struct LogMessage: Equatable, Sendable {
    public var level: UInt64
    public var target: [UInt8]?
    public var message: [UInt8]

    public init(level: UInt64, target: [UInt8]?, message: [UInt8]) {
        self.level = level
        self.target = target
        self.message = message
    }
}

/// The outcome of running a standard program to its end.
public struct InvocationResult: Equatable, Sendable {
    public enum Status: Equatable, Sendable {
        /// Halted; the output is memory[φ7 ..< φ7+φ8], or empty when that range is not readable.
        case halt(output: [UInt8])
        case panic(pc: UInt32)
        case outOfGas(pc: UInt32)
        case pageFault(pc: UInt32, address: UInt32)
    }

    public var status: Status
    /// Gas used: initial gas minus what remains.
    public var gasUsed: UInt64
    public var registers: [UInt64]
    public var logs: [LogMessage]

    public init(status: Status, gasUsed: UInt64, registers: [UInt64], logs: [LogMessage]) {
        self.status = status
        self.gasUsed = gasUsed
        self.registers = registers
        self.logs = logs
    }
}

/// An embedder's cap on the guest memory of a standard program (read-only and read-write data,
/// heap and stack, each rounded up to pages; the input is not counted), which must never change
/// what the guest sees: `sbrk` answers by the memory layout alone (SPEC.md §sbrk), and an `sbrk`
/// that the layout allows but would take the guest past `maxBytes` does not return: `exceeded`
/// gets the bytes the guest asked for and ends the run without a verdict on the program (the
/// worker answers `limitExceeded(guestMemoryBytes)` and exits). So the verdict on a program never
/// depends on an operator's configuration: a budget can only turn a run into "not judged here".
public struct MemoryBudget: Sendable {
    public var maxBytes: UInt64
    public var exceeded: @Sendable (_ requestedBytes: UInt64) -> Never

    public init(maxBytes: UInt64, exceeded: @escaping @Sendable (_ requestedBytes: UInt64) -> Never) {
        self.maxBytes = maxBytes
        self.exceeded = exceeded
    }
}

extension GuestMemory {
    /// Maps and fills a standard program's regions (SPEC.md §2.12) with `input` in the argument
    /// region; `sbrk` may grow the heap up to one zone below the stack, under `budget` if given.
    public func load(_ program: StandardProgram, input: [UInt8], budget: MemoryBudget? = nil) {
        let layout = program.layout
        let page = GuestMemoryLayout.page
        func aligned(_ n: Int) -> UInt32 { UInt32((UInt64(n) + page - 1) / page * page) }
        map(address: GuestMemoryLayout.readOnlyStart, length: aligned(program.readOnlyData.count), access: .read)
        initialize(program.readOnlyData, at: GuestMemoryLayout.readOnlyStart)
        map(address: layout.heapBase, length: layout.heapEnd - layout.heapBase, access: .write)
        initialize(program.readWriteData, at: layout.heapBase)
        map(address: layout.stackBottom, length: GuestMemoryLayout.stackTop - layout.stackBottom, access: .write)
        map(address: GuestMemoryLayout.argumentStart, length: aligned(input.count), access: .read)
        initialize(input, at: GuestMemoryLayout.argumentStart)
        setHeap(top: layout.heapEnd, limit: layout.heapLimit)
        if let budget {
            let end = layout.heapLimit(maxGuestMemory: Int(clamping: budget.maxBytes))
            setBudget(budget, heapEnd: end, bytesBelowHeapEnd: Int64(layout.initialMemory) - Int64(layout.heapEnd))
        }
    }
}

extension Interpreter {
    /// An interpreter for a standard program with `input`, at pc 0, over fresh guest memory.
    public convenience init(standard program: StandardProgram, input: [UInt8], gas: Int64,
                            budget: MemoryBudget? = nil) throws(MemoryError) {
        precondition(input.count <= GuestABI.maxInput, "input is limited to 16 MiB (GP Z_I)")
        let memory = try GuestMemory()
        memory.load(program, input: input, budget: budget)
        self.init(program: DecodedProgram(program.blob), memory: memory,
                  registers: program.layout.initialRegisters(inputLength: UInt32(input.count)), gas: gas)
    }
}
