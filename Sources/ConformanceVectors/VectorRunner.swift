import JIT
import PVM

/// Something that can build a machine in a test vector's initial state: the interpreter, the
/// recompiler, or either inside a sandbox.
public protocol VectorEngine: Sendable {
    var name: String { get }
    /// Creates a machine for `blob` with the vector's page map, memory, registers, gas and pc.
    func instantiate(_ vector: TestVector, blob: ProgramBlob) throws -> any PVMInstance
}

/// The reference interpreter as a vector engine.
public struct InterpreterEngine: VectorEngine {
    public init() {}
    public var name: String { "interpreter" }

    public func instantiate(_ vector: TestVector, blob: ProgramBlob) throws -> any PVMInstance {
        let memory = try GuestMemory()
        for entry in vector.initialPageMap {
            memory.map(address: entry.address, length: entry.length, access: entry.isWritable ? .write : .read)
        }
        for chunk in vector.initialMemory { memory.initialize(chunk.contents, at: chunk.address) }
        return Interpreter(program: DecodedProgram(blob), memory: memory, registers: vector.initialRegs,
                           gas: vector.initialGas, pc: vector.initialPC)
    }
}

/// The x86-64 recompiler as a vector engine.
public struct RecompilerEngine: VectorEngine {
    public init() {}
    public var name: String { "jit" }

    public func instantiate(_ vector: TestVector, blob: ProgramBlob) throws -> any PVMInstance {
        try JITInstance(program: DecodedProgram(blob), registers: vector.initialRegs, gas: vector.initialGas,
                        pc: vector.initialPC) { memory in
            for entry in vector.initialPageMap {
                memory.map(address: entry.address, length: entry.length, access: entry.isWritable ? .write : .read)
            }
            for chunk in vector.initialMemory { memory.initialize(chunk.contents, at: chunk.address) }
        }
    }
}

/// The observable end state of a vector run.
public struct VectorOutcome: Equatable, Sendable {
    public init(status: String, pc: UInt32, registers: [UInt64], gas: Int64, pageFaultAddress: UInt32?, memory: [[UInt8]]) {
        self.status = status
        self.pc = pc
        self.registers = registers
        self.gas = gas
        self.pageFaultAddress = pageFaultAddress
        self.memory = memory
    }

    public var status: String
    public var pc: UInt32
    public var registers: [UInt64]
    public var gas: Int64
    public var pageFaultAddress: UInt32?
    /// The bytes of every page in the vector's page map, in page-map order.
    public var memory: [[UInt8]]
}

public enum VectorRunner {
    /// Runs `vector` on `engine` to its end. Host calls are not part of the v0.4 vectors: one ends
    /// the run with status `host-call`.
    public static func run(_ vector: TestVector, on engine: any VectorEngine) throws -> VectorOutcome {
        let blob: ProgramBlob
        do {
            blob = try ProgramBlob(decoding: vector.program)
        } catch {
            return outcomeOfUndecodableBlob(vector)
        }
        let machine = try engine.instantiate(vector, blob: blob)
        let reason = machine.run()
        var status: String
        var faultAddress: UInt32? = nil
        switch reason {
        case .halt: status = "halt"
        case .panic: status = "panic"
        case .outOfGas: status = "out-of-gas"
        case .pageFault(let address): status = "page-fault"; faultAddress = address
        case .hostCall(let id): status = "host-call(\(id))"
        }
        var pages: [[UInt8]] = []
        for entry in vector.initialPageMap {
            pages.append(machine.readMemory(entry.address, count: Int(entry.length)) ?? [])
        }
        return VectorOutcome(status: status, pc: machine.pc, registers: machine.registers, gas: machine.gas,
                             pageFaultAddress: faultAddress, memory: pages)
    }

    /// GP: a blob that does not decode panics without running.
    public static func outcomeOfUndecodableBlob(_ vector: TestVector) -> VectorOutcome {
        VectorOutcome(status: "panic", pc: vector.initialPC, registers: vector.initialRegs,
                      gas: vector.initialGas, pageFaultAddress: nil, memory: initialMemory(vector))
    }

    static func initialMemory(_ vector: TestVector) -> [[UInt8]] {
        memoryImage(vector, chunks: vector.initialMemory)
    }

    /// The page-map regions filled with `chunks`, zero elsewhere.
    static func memoryImage(_ vector: TestVector, chunks: [TestVector.MemoryChunk]) -> [[UInt8]] {
        vector.initialPageMap.map { entry in
            var bytes = [UInt8](repeating: 0, count: Int(entry.length))
            for chunk in chunks {
                for (k, byte) in chunk.contents.enumerated() {
                    let a = UInt64(chunk.address) + UInt64(k)
                    if a >= UInt64(entry.address) && a < UInt64(entry.address) + UInt64(entry.length) {
                        bytes[Int(a - UInt64(entry.address))] = byte
                    }
                }
            }
            return bytes
        }
    }

    /// The outcome the vector expects.
    public static func expected(_ vector: TestVector) -> VectorOutcome {
        VectorOutcome(status: vector.expectedStatus, pc: vector.expectedPC, registers: vector.expectedRegs,
                      gas: vector.expectedGas, pageFaultAddress: vector.expectedPageFaultAddress,
                      memory: memoryImage(vector, chunks: vector.expectedMemory))
    }

    /// Human-readable differences between two outcomes (empty when equal).
    public static func diff(expected e: VectorOutcome, actual a: VectorOutcome,
                            labels: (String, String) = ("expected", "actual")) -> [String] {
        var lines: [String] = []
        let (le, la) = labels
        if e.status != a.status { lines.append("status: \(le) \(e.status), \(la) \(a.status)") }
        if e.pc != a.pc { lines.append("pc: \(le) \(e.pc), \(la) \(a.pc)") }
        if e.gas != a.gas { lines.append("gas: \(le) \(e.gas), \(la) \(a.gas)") }
        if e.pageFaultAddress != a.pageFaultAddress {
            lines.append("page-fault address: \(le) \(hexOpt(e.pageFaultAddress)), \(la) \(hexOpt(a.pageFaultAddress))")
        }
        for r in 0..<min(e.registers.count, a.registers.count) where e.registers[r] != a.registers[r] {
            lines.append("r\(r): \(le) 0x\(String(e.registers[r], radix: 16)), \(la) 0x\(String(a.registers[r], radix: 16))")
        }
        for (p, (ep, ap)) in zip(e.memory, a.memory).enumerated() where ep != ap {
            let differing = zip(ep, ap).enumerated().filter { $0.element.0 != $0.element.1 }
            let shown = differing.prefix(4).map { "+\($0.offset): \(le) \($0.element.0) \(la) \($0.element.1)" }
            lines.append("memory region \(p): \(differing.count) bytes differ (\(shown.joined(separator: ", ")))")
        }
        return lines
    }

    static func hexOpt(_ v: UInt32?) -> String { v.map { "0x" + String($0, radix: 16) } ?? "none" }
}
