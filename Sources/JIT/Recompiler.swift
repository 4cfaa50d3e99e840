import PVM

/// Machine code for one program, position-independent, plus the tables the runtime needs.
public struct CompiledProgram: Sendable {
    /// The code, to be copied into an executable mapping.
    public let code: [UInt8]
    /// Offset of the entry trampoline (a C-callable `void (void)` function).
    let trampoline: Int
    /// Offset where each instruction's charge prologue starts (equal to `bodyOffsets` when the
    /// instruction is not a block entry).
    let entryOffsets: [UInt32]
    /// Offset of each instruction's own code, after any charge prologue.
    let bodyOffsets: [UInt32]
    /// Native offsets of every guest load and store, ascending, with their instruction indices.
    let faultOffsets: [UInt32]
    let faultIndices: [UInt32]
    /// Offset of the stub a memory fault is redirected to.
    let faultStub: Int
    /// Offset of the stub that panics for the instruction index in edx (bad dynamic jumps).
    let djumpPanic: Int
}

/// The one-pass recompiler from a decoded PVM program to x86-64.
///
/// All 13 guest registers live in host registers for the whole run, and so does the gas counter
/// (r15), so a block's charge is a register subtract with no memory dependency chain. That leaves
/// one scratch register, rax; guest r12 lives in rdx and is saved around the few instructions that
/// need rdx (one-operand `mul`/`div`). rsp is the host stack: guest code only pushes and pops
/// around those.
/// Guest memory is addressed as `gs:[addr32]` with the address-size prefix, so a 32-bit guest
/// address wraps mod 2^32 for free and needs no base register; the context lives at negative
/// `gs:` displacements. Every block entry starts with `sub qword gs:[gas], cost; js oog` and the
/// out-of-gas stub undoes the subtraction, so a block that does not fit leaves no trace.
/// (The gas counter is written back to the context at every exit.)
public final class Recompiler {
    /// Guest register i lives in `guestRegs[i]`.
    static let guestRegs: [Reg] = [.rbx, .rcx, .rsi, .rdi, .rbp, .r8, .r9, .r10, .r11, .r12, .r13, .r14, .rdx]
    /// The gas counter while guest code runs.
    static let gasReg: Reg = .r15
    static let calleeSaved: [Reg] = [.rbx, .rbp, .r12, .r13, .r14, .r15]

    let program: DecodedProgram
    let a: X86Assembler

    init(program: DecodedProgram, a: X86Assembler) {
        self.program = program
        self.a = a
    }
    /// Label of each basic-block start (the only places branches and jump tables name); the
    /// entries of other instructions are never used.
    var entry: [Label] = []
    var faultOffsets: [UInt32] = []
    var faultIndices: [UInt32] = []
    // Shared exits.
    var panicExit = Label(id: 0), haltExit = Label(id: 0), hostExit = Label(id: 0)
    var oogExit = Label(id: 0), sbrkExit = Label(id: 0), djumpPanicLabel = Label(id: 0)
    var commonExit = Label(id: 0), djump = Label(id: 0)

    /// Compiles `program`. Linear in the number of instructions.
    public static func compile(_ program: DecodedProgram) -> CompiledProgram {
        Recompiler(program: program, a: X86Assembler(initialCapacity: program.instructions.count * 12 + 1024)).run()
    }

    @inline(__always) func g(_ i: UInt8) -> Reg { Recompiler.guestRegs[Int(i)] }

    func run() -> CompiledProgram {
        let count = program.instructions.count
        var labels = [Label](repeating: Label(id: 0), count: count)
        program.isBlockStart.withUnsafeBufferPointer { starts in
            for i in 0..<count where starts[i] { labels[i] = a.newLabel() }
        }
        entry = labels
        panicExit = a.newLabel(); haltExit = a.newLabel(); hostExit = a.newLabel(); oogExit = a.newLabel()
        sbrkExit = a.newLabel(); djumpPanicLabel = a.newLabel(); commonExit = a.newLabel(); djump = a.newLabel()
        faultOffsets.reserveCapacity(count / 4)
        faultIndices.reserveCapacity(count / 4)
        let trampoline = emitTrampolineAndExits()
        let faultStub = a.position
        a.mov(.qword, Mem.context(ContextLayout.exitCode), imm: Int32(ExitCode.memoryFault.rawValue))
        a.mov(.qword, .rax, Mem.context(ContextLayout.faultIndex))
        a.jmp(commonExit)
        emitDynamicJump()
        let djumpPanic = a.offset(of: djumpPanicLabel)!

        let entryOffsets = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        let bodyOffsets = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        defer { entryOffsets.deallocate(); bodyOffsets.deallocate() }
        // Out-of-gas stubs go after the code: (where the `js` displacement is, instruction, cost).
        var gasStubs: [(patch: Int, index: Int, cost: Int32)] = []
        gasStubs.reserveCapacity(count / 4)
        program.instructions.withUnsafeBufferPointer { instructions in
            program.isBlockStart.withUnsafeBufferPointer { starts in
                program.blockCost.withUnsafeBufferPointer { costs in
                    program.branchTarget.withUnsafeBufferPointer { targets in
                        var afterTerminator = true
                        for i in 0..<count {
                            let ins = instructions[i]
                            if starts[i] { a.bind(entry[i]) }
                            entryOffsets[i] = UInt32(a.position)
                            // Control can arrive here from elsewhere (a branch, a jump, the end of
                            // the previous block): charge this block.
                            if starts[i] || afterTerminator {
                                let cost = Int32(clamping: costs[i])
                                a.sub(.qword, Recompiler.gasReg, imm: cost)
                                // js rel32 to this block's stub, patched once the stubs exist.
                                a.emit(byte: 0x0F)
                                a.emit(byte: 0x88)
                                gasStubs.append((a.position, i, cost))
                                a.emit(uint32: 0)
                            }
                            bodyOffsets[i] = UInt32(a.position)
                            emit(ins, index: i, target: targets[i])
                            afterTerminator = ins.isValid && ins.opcode.isTerminator
                        }
                    }
                }
            }
        }
        for stub in gasStubs {
            a.patchUInt32(at: stub.patch, UInt32(truncatingIfNeeded: a.position - (stub.patch + 4)))
            a.add(.qword, Recompiler.gasReg, imm: stub.cost)
            a.mov(.dword, .rax, imm: Int32(stub.index))
            a.jmp(oogExit)
        }
        a.finalize()
        return CompiledProgram(code: a.bytes, trampoline: trampoline,
                               entryOffsets: Array(UnsafeBufferPointer(start: entryOffsets, count: count)),
                               bodyOffsets: Array(UnsafeBufferPointer(start: bodyOffsets, count: count)),
                               faultOffsets: faultOffsets, faultIndices: faultIndices,
                               faultStub: faultStub, djumpPanic: djumpPanic)
    }

    /// The entry trampoline (C ABI, no arguments) and the shared exits. Every exit arrives with the
    /// guest instruction index in eax.
    func emitTrampolineAndExits() -> Int {
        let start = a.position
        for r in Recompiler.calleeSaved { a.push(r) }
        a.mov(.qword, Mem.context(ContextLayout.savedStack), .rsp)
        for (i, r) in Recompiler.guestRegs.enumerated() { a.mov(.qword, r, Mem.context(ContextLayout.register(i))) }
        a.mov(.qword, Recompiler.gasReg, Mem.context(ContextLayout.gas))
        a.jmp(Mem.context(ContextLayout.entryTarget))

        func exit(_ label: Label, _ code: ExitCode) {
            a.bind(label)
            a.mov(.qword, Mem.context(ContextLayout.exitCode), imm: Int32(code.rawValue))
            a.jmp(commonExit)
        }
        exit(panicExit, .panic)
        exit(haltExit, .halt)
        exit(hostExit, .hostCall)
        exit(oogExit, .outOfGas)
        exit(sbrkExit, .sbrk)
        // Bad dynamic jumps: the jumping instruction's index is in the context.
        a.bind(djumpPanicLabel)
        a.mov(.dword, .rax, Mem.context(ContextLayout.djumpFrom))
        a.jmp(panicExit)

        a.bind(commonExit)
        a.mov(.qword, Mem.context(ContextLayout.exitIndex), .rax)
        for (i, r) in Recompiler.guestRegs.enumerated() { a.mov(.qword, Mem.context(ContextLayout.register(i)), r) }
        a.mov(.qword, Mem.context(ContextLayout.gas), Recompiler.gasReg)
        a.mov(.qword, .rsp, Mem.context(ContextLayout.savedStack))
        for r in Recompiler.calleeSaved.reversed() { a.pop(r) }
        a.ret()
        return start
    }

    /// GP djump, inline at each jumping site (so that every site has its own indirect branch for
    /// the CPU to predict, as a `switch` or a return needs), with the target address in eax.
    /// `ror eax, 1` turns an even address a into a/2 and sets bit 31 of an odd one; minus one,
    /// an unsigned compare with slots - 1 then accepts exactly the GP's valid targets
    /// (a != 0, a even, a/2 <= slots). Everything else goes to `djump`, the shared slow path,
    /// which tells the halt address (0xFFFF0000 becomes 0x7FFF7FFF) from a panic.
    func dynamicJump(from index: Int) {
        let slots = program.jumpTarget.count
        a.mov(.dword, Mem.context(ContextLayout.djumpFrom), imm: Int32(index))
        a.ror(.dword, .rax, imm: 1)
        a.sub(.dword, .rax, imm: 1)
        guard slots > 0 else {
            a.jmp(djump)
            return
        }
        a.cmp(.dword, .rax, imm: Int32(clamping: slots - 1))
        a.jcc(.above, djump)
        // Slot s (1-based) holds the native address of its target's entry, or of djumpPanic.
        a.jmp(Mem.context(index: .rax, scale: .x8, disp: ContextLayout.jumpTable(slots: slots)))
    }

    /// The slow path of `dynamicJump`: eax = (target ror 1) - 1, outside the table.
    func emitDynamicJump() {
        a.bind(djump)
        a.cmp(.dword, .rax, imm: Int32(bitPattern: GuestMemoryLayout.haltAddress >> 1 &- 1))
        a.jcc(.notEqual, djumpPanicLabel)
        a.mov(.dword, .rax, Mem.context(ContextLayout.djumpFrom))
        a.jmp(haltExit)
    }

    /// Records that the next emitted instruction accesses guest memory for instruction `index`.
    func markFault(_ index: Int) {
        faultOffsets.append(UInt32(a.position))
        faultIndices.append(UInt32(index))
    }

    /// Jumps to the exit `label` with instruction index `index` in eax.
    func exit(to label: Label, index: Int) {
        a.mov(.dword, .rax, imm: Int32(index))
        a.jmp(label)
    }

    /// Branches to instruction `target` (its entry, which charges its block), or panics when the
    /// target is not a block start.
    func jump(toTarget target: Int32, from index: Int) {
        if target < 0 { exit(to: panicExit, index: index) } else { a.jmp(entry[Int(target)]) }
    }
}
