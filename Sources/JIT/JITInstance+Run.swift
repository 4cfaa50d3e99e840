import CShims
import PVM

extension JITInstance {
    /// Runs until the machine exits; same contract as `Interpreter.run()`.
    public func run() -> ExitReason {
        if let done = finished { return done }
        if let interpreter { return runInterpreter(interpreter) }
        guard position >= 0 else {
            let reason = trapAtInvalidStart(gas: &gas)
            finished = reason
            return reason
        }
        if owedSurplus > 0 {
            // Resuming inside a chained block after a page fault: pay again for the blocks it
            // runs into (refunded at the fault), or let the interpreter go on from here.
            if gas < owedSurplus { return bail(at: position, charged: true) }
            gas -= owedSurplus
            owedSurplus = 0
        }
        let codeStart = UInt64(UInt(bitPattern: code.address))
        let rc = alcatraz_set_gs_base(UInt(bitPattern: memory.base))
        precondition(rc == 0, "arch_prctl(ARCH_SET_GS) failed: errno \(rc)")
        while true {
            var offset = Int(compiled.bodyOffsets[position])
            if mustCharge {
                if compiled.entryOffsets[position] != compiled.bodyOffsets[position] {
                    offset = Int(compiled.entryOffsets[position])   // its prologue charges the block
                } else {
                    // Entered mid-block (a start pc that is not a block start): charge the rest of
                    // the block here, as the interpreter does.
                    let cost = Int64(blockCost(from: position))
                    if gas < cost { return end(.outOfGas, at: position) }
                    // A chained block's rest also pays for the blocks it runs into.
                    let surplus = compiled.surplus(at: position)
                    if gas < cost + surplus { return bail(at: position) }
                    gas -= cost + surplus
                }
                mustCharge = false
            }
            slot(ContextLayout.entryTarget).storeBytes(of: codeStart + UInt64(offset), as: UInt64.self)
            alcatraz_jit_set_active(region)
            alcatraz_jit_call(UInt(codeStart) + UInt(compiled.trampoline))
            alcatraz_jit_set_active(nil)
            let exitCode = ExitCode(rawValue: slot(ContextLayout.exitCode).load(as: UInt64.self))
            let index = Int(slot(ContextLayout.exitIndex).load(as: UInt64.self))
            let ins = instruction(at: index)
            switch exitCode {
            case .halt: return end(.halt, at: index, refund: true)
            case .panic, .none: return end(.panic, at: index, refund: true)
            case .outOfGas:
                mustCharge = true
                return end(.outOfGas, at: index)
            case .bail:
                return bail(at: index)
            case .hostCall:
                pc = ins.pc
                position = index + 1
                return .hostCall(id: ins.immX)
            case .sbrk:
                var regs = registers
                regs[Int(ins.d)] = memory.sbrk(regs[Int(ins.a)])
                registers = regs
                position = index + 1
            case .memoryFault:
                var regs = registers
                let access = MemoryAccess(ins, regs)
                if let reason = memory.fault(access.address, access.size, write: access.isStore) {
                    // No partial effect: registers and memory are as before the instruction.
                    position = index
                    owedSurplus = compiled.surplus(at: index)
                    return end(reason, at: index, refund: true)
                }
                // Every byte is accessible but the access wraps past 2^32, which the hardware
                // mapping cannot express: do it here, with the interpreter's rules.
                if access.isStore {
                    _ = memory.store(access.address, access.size, access.value)
                } else if let raw = memory.load(access.address, access.size) {
                    regs[Int(ins.a)] = access.extend(raw)
                    registers = regs
                }
                position = index + 1
            }
        }
    }

    /// A chained charge does not fit at the block starting at instruction `index` (the state is
    /// as before it): the gas left is less than the chain, and the interpreter, over the same
    /// memory, finishes the run exactly; this instance forwards to it from now on.
    /// `charged`: the run stopped inside the block, which is paid for.
    func bail(at index: Int, charged: Bool = false) -> ExitReason {
        owedSurplus = 0
        let interpreter = Interpreter(program: DecodedProgram(blob), memory: memory, registers: registers,
                                      gas: gas, pc: compiled.pcs[index], charged: charged)
        self.interpreter = interpreter
        bails += 1
        return runInterpreter(interpreter)
    }

    /// Runs the interpreter that took over, with the registers and gas the embedder may have
    /// changed since the last exit, and mirrors its state back.
    func runInterpreter(_ interpreter: Interpreter) -> ExitReason {
        interpreter.registers = registers
        interpreter.gas = gas
        let reason = interpreter.run()
        registers = interpreter.registers
        gas = interpreter.gas
        pc = interpreter.pc
        switch reason {
        case .halt, .panic, .outOfGas: finished = reason
        default: break
        }
        return reason
    }

    /// The instruction at index `index`, decoded again from the blob (exits are rare).
    func instruction(at index: Int) -> Instruction {
        blob.decode(at: Int(compiled.pcs[index]))
    }

    /// The gas of the rest of the block from instruction `index` to its end (a valid terminator
    /// or an invalid instruction, which every block has: the list ends with a trap).
    func blockCost(from index: Int) -> Int {
        var i = index
        while true {
            let ins = instruction(at: i)
            if !ins.isValid || ins.opcode.isTerminator { return i - index + 1 }
            i += 1
        }
    }

    /// Records an exit at instruction `index`; halt, panic and out-of-gas are final. `refund`:
    /// the run ends inside the block, so gas paid in advance for chained blocks goes back.
    func end(_ reason: ExitReason, at index: Int, refund: Bool = false) -> ExitReason {
        pc = compiled.pcs[index]
        if refund { gas += compiled.surplus(at: index) }
        switch reason {
        case .halt, .panic, .outOfGas: finished = reason
        default: break
        }
        return reason
    }
}

/// The guest memory access an instruction makes, computed from the registers before it.
struct MemoryAccess {
    var address: UInt32 = 0
    var size: UInt32 = 1
    var isStore = false
    var value: UInt64 = 0
    /// For loads: sign-extend from `size` bytes.
    var signed = false

    init(_ ins: Instruction, _ r: [UInt64]) {
        let raw = ins.opcode.rawValue
        let kind: UInt8
        switch raw {
        case 30...33: address = UInt32(truncatingIfNeeded: ins.immX); value = ins.immY; isStore = true; kind = (raw - 30) * 2
        case 52...58: address = UInt32(truncatingIfNeeded: ins.immX); kind = raw - 52
        case 59...62: address = UInt32(truncatingIfNeeded: ins.immX); value = r[Int(ins.a)]; isStore = true; kind = (raw - 59) * 2
        case 70...73: address = UInt32(truncatingIfNeeded: r[Int(ins.a)] &+ ins.immX); value = ins.immY; isStore = true; kind = (raw - 70) * 2
        case 120...123: address = UInt32(truncatingIfNeeded: r[Int(ins.b)] &+ ins.immX); value = r[Int(ins.a)]; isStore = true; kind = (raw - 120) * 2
        default: address = UInt32(truncatingIfNeeded: r[Int(ins.b)] &+ ins.immX); kind = raw - 124
        }
        // kind: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 u64 (stores use the even ones).
        size = kind < 2 ? 1 : kind < 4 ? 2 : kind < 6 ? 4 : 8
        signed = kind & 1 == 1
    }

    func extend(_ raw: UInt64) -> UInt64 {
        guard signed else { return raw }
        switch size {
        case 1: return UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: raw)))
        case 2: return UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: raw)))
        default: return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: raw)))
        }
    }
}
