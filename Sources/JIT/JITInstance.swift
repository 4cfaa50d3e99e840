import CShims
import PVM

#if canImport(Glibc)
import Glibc
#endif

/// Why the recompiler cannot run on this host or for this program.
public struct JITError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Compiled code in its own mapping: the recompiler's buffer, written while read-write, then
/// made read-execute in place. It is never writable and executable at the same time.
final class CodeMapping {
    let buffer: PageBuffer
    var address: UnsafeMutableRawPointer { buffer.base }

    init(_ compiled: CompiledProgram) throws(JITError) {
        buffer = compiled.code
        let e = buffer.makeExecutable(byteCount: compiled.codeSize)
        guard e == 0 else { throw JITError(description: "cannot make code executable: errno \(e)") }
    }
}

/// A program compiled to x86-64 and ready to run, with its own guest memory (hardware-protected)
/// and context. Behaves exactly like `Interpreter` (same exits, pcs, registers, gas, memory).
public final class JITInstance: PVMInstance {
    /// The program, kept to decode the instruction of an exit again when its operands are needed.
    public let blob: ProgramBlob
    public let memory: GuestMemory
    let compiled: CompiledProgram
    let code: CodeMapping
    let context: UnsafeMutableRawPointer   // = memory.base (offsets are negative)
    let region: UnsafeMutablePointer<alcatraz_jit_region>

    public internal(set) var pc: UInt32
    /// Where the next `run()` continues: an instruction index, and whether its block is charged.
    var position: Int
    var mustCharge = true
    var finished: ExitReason?
    /// The interpreter that finishes the run after a chained charge did not fit (`bail(at:)`).
    var interpreter: Interpreter?
    /// Gas refunded at a page fault inside a chained block, charged again when the run resumes.
    var owedSurplus: Int64 = 0
    /// How many times the run went over to the interpreter (0 or 1; for tests and the fuzzer).
    public internal(set) var bails = 0

    /// Whether this CPU has what the generated code uses: POPCNT, LZCNT, BMI1 (tzcnt, andn) and
    /// BMI2 (rorx, shlx, shrx, sarx): every x86-64 CPU since 2013 (Intel Haswell, AMD Excavator
    /// and Zen).
    public static var isSupported: Bool {
        let f = alcatraz_cpu_features()
        return f & 0xF == 0xF
    }

    /// Compiles `blob` and sets up its memory; `setUp` maps pages and fills memory before the
    /// first run (the memory is hardware-protected: use `GuestMemory.map` and `initialize`).
    public init(blob: ProgramBlob, registers: [UInt64], gas: Int64, pc: UInt32 = 0,
                setUp: (GuestMemory) throws -> Void) throws {
        guard JITInstance.isSupported else {
            throw JITError(description: "this CPU lacks POPCNT, LZCNT, BMI1 or BMI2, which the recompiler needs")
        }
        precondition(registers.count == 13, "the PVM has 13 registers")
        let rc = alcatraz_jit_install_fault_handler()
        guard rc == 0 else { throw JITError(description: "cannot install the fault handler: errno \(rc)") }
        self.blob = blob
        let slots = blob.jumpTable.count
        memory = try GuestMemory(hardwareProtected: true, contextSize: ContextLayout.size(jumpTableSlots: slots))
        try setUp(memory)
        compiled = Recompiler.compile(blob)
        code = try CodeMapping(compiled)
        context = memory.base
        self.pc = pc
        position = compiled.index(ofPC: pc) ?? -1

        let codeStart = UInt(bitPattern: code.address)
        region = .allocate(capacity: 1)
        region.initialize(to: alcatraz_jit_region())
        // Jump table by target address: 2s → the entry of slot s's target (or the bad-djump
        // panic stub when no block starts there); 0 and odd addresses → the panic stub.
        let table = context + Int(ContextLayout.jumpTable(slots: slots))
        let panicStub = UInt64(codeStart) + UInt64(compiled.djumpPanic)
        for address in 0..<ContextLayout.tableEntries(slots: slots) {
            var target = panicStub
            if address >= 2, address % 2 == 0, case let entry = compiled.jumpEntries[address / 2 - 1], entry >= 0 {
                target = UInt64(codeStart) + UInt64(entry)
            }
            table.storeBytes(of: target, toByteOffset: address * 8, as: UInt64.self)
        }
        region.pointee.code_start = codeStart
        region.pointee.code_end = codeStart + UInt(compiled.codeSize)
        region.pointee.fault_offsets = UnsafePointer(compiled.faultOffsets.base)
        region.pointee.fault_indices = UnsafePointer(compiled.faultIndices.base)
        region.pointee.fault_count = UInt32(compiled.faultOffsets.count)
        region.pointee.fault_stub = codeStart + UInt(compiled.faultStub)
        region.pointee.fault_slot = (context + Int(ContextLayout.faultIndex)).assumingMemoryBound(to: UInt64.self)
        self.registers = registers
        self.gas = gas
    }

    /// Compiles the blob of a decoded program (the same as `init(blob:…)`; the decoded form is
    /// not used).
    public convenience init(program: DecodedProgram, registers: [UInt64], gas: Int64, pc: UInt32 = 0,
                            setUp: (GuestMemory) throws -> Void) throws {
        try self.init(blob: program.blob, registers: registers, gas: gas, pc: pc, setUp: setUp)
    }

    deinit {
        region.deallocate()
    }

    @inline(__always) func slot(_ offset: Int32) -> UnsafeMutableRawPointer { context + Int(offset) }

    public var registers: [UInt64] {
        get { (0..<13).map { slot(ContextLayout.register($0)).load(as: UInt64.self) } }
        set {
            precondition(newValue.count == 13, "the PVM has 13 registers")
            for (i, v) in newValue.enumerated() { slot(ContextLayout.register(i)).storeBytes(of: v, as: UInt64.self) }
        }
    }

    public var gas: Int64 {
        get { slot(ContextLayout.gas).load(as: Int64.self) }
        set { slot(ContextLayout.gas).storeBytes(of: newValue, as: Int64.self) }
    }

    public func readMemory(_ address: UInt32, count: Int) -> [UInt8]? { memory.read(address, count: count) }

    public func writeMemory(_ address: UInt32, _ bytes: [UInt8]) -> Bool { memory.write(address, bytes) }
}

extension JITInstance {
    /// A compiled standard program with `input`, at pc 0, over fresh hardware-protected memory.
    public convenience init(standard program: StandardProgram, input: [UInt8], gas: Int64,
                            budget: MemoryBudget? = nil) throws {
        precondition(input.count <= GuestABI.maxInput, "input is limited to 16 MiB (GP Z_I)")
        try self.init(blob: program.blob,
                      registers: program.layout.initialRegisters(inputLength: UInt32(input.count)), gas: gas) { memory in
            memory.load(program, input: input, budget: budget)
        }
    }
}
