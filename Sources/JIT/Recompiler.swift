import PVM
#if canImport(Glibc)
import Glibc
#endif

/// A read-only view of a table of `UInt32`s that a `CompiledProgram` owns: entry i is at
/// `base[i * stride]` (tables written together are interleaved, so that the pages a compile
/// touches, and the kernel zeroes, are only as many as the entries need).
struct UInt32Table: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt32>
    let count: Int
    let stride: Int
    @inline(__always) subscript(i: Int) -> UInt32 { base[i &* stride] }
}

/// Machine code for one program, position-independent, plus the tables the runtime needs.
/// Entries are indexed as `CodeScanner` numbers them (instruction index).
///
/// The code and the tables stay in the buffers the recompiler wrote them to (no copies):
/// `JITInstance` makes the code buffer executable in place.
public struct CompiledProgram: @unchecked Sendable {
    /// The code buffer: `codeSize` bytes of code from its start, read-write until a
    /// `JITInstance` makes it executable.
    let code: PageBuffer
    /// The number of bytes of code.
    public let codeSize: Int
    /// Offset of the entry trampoline (a C-callable `void (void)` function).
    let trampoline: Int
    /// Offset where each instruction's charge prologue starts (equal to `bodyOffsets` when the
    /// instruction is not a block entry).
    let entryOffsets: UInt32Table
    /// Offset of each instruction's own code, after any charge prologue.
    let bodyOffsets: UInt32Table
    /// The pc of each instruction (ascending), to decode it again on the rare exits that need
    /// its operands, and to find the instruction at a pc.
    let pcs: UInt32Table
    /// For each jump-table slot, the code offset of its target's entry, or -1 when the target is
    /// not a block start (a `djump` to it panics).
    let jumpEntries: [Int32]
    /// Native offsets of every guest load and store, ascending, with their instruction indices
    /// (interleaved pairs, as the fault handler reads them: `alcatraz_jit_region`).
    let faultOffsets: UInt32Table
    let faultIndices: UInt32Table
    /// Owns the five tables above: one record (pc, entry, body) per instruction, then the
    /// fault pairs.
    let tables: PageBuffer
    /// Offset of the stub a memory fault is redirected to.
    let faultStub: Int
    /// Offset of the stub that panics at the dynamic jump whose instruction index is in the
    /// context (`ContextLayout.djumpFrom`): the native table's entry for a bad target.
    let djumpPanic: Int
    /// The blocks whose prologue also pays for the blocks they are chained to, by first
    /// instruction (see `Recompiler.resolveCharges`).
    let prepaid: [PrepaidBlock]

    /// The gas paid in advance, at instruction `index`, for blocks not yet entered: it goes back
    /// to the guest when the run ends inside this block.
    func surplus(at index: Int) -> Int64 {
        var lo = 0, hi = prepaid.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(prepaid[mid].index) <= index { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return 0 }
        let b = prepaid[lo - 1]
        return index < Int(b.index) + Int(b.cost) ? Int64(b.surplus) : 0
    }

    /// The index of the instruction at `pc`, or nil when no entry starts there.
    func index(ofPC pc: UInt32) -> Int? {
        var lo = 0, hi = pcs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pcs[mid] < pc { lo = mid + 1 } else { hi = mid }
        }
        return lo < pcs.count && pcs[lo] == pc ? lo : nil
    }
}

/// A block whose charge covers more than itself: its first instruction, its own cost (its
/// number of instructions) and the rest of the charge.
struct PrepaidBlock {
    let index: UInt32
    let cost: UInt32
    let surplus: UInt32
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
/// `gs:` displacements. Every block entry starts with `sub r15, charge; jl oog` and the
/// out-of-gas stub undoes the subtraction, so a block that does not fit leaves no trace.
/// (`jl`, not `js`: gas < charge, as the interpreter tests it, also when the subtraction
/// overflows, which a negative starting gas near Int64.min makes it do.)
/// (The gas counter is written back to the context at every exit.)
public final class Recompiler {
    /// Guest register i lives in `guestRegs[i]`.
    static let guestRegs: [Reg] = [.rbx, .rcx, .rsi, .rdi, .rbp, .r8, .r9, .r10, .r11, .r12, .r13, .r14, .rdx]
    /// The gas counter while guest code runs.
    static let gasReg: Reg = .r15
    static let calleeSaved: [Reg] = [.rbx, .rbp, .r12, .r13, .r14, .r15]

    let blob: ProgramBlob
    let a: X86Assembler

    init(blob: ProgramBlob, a: X86Assembler) {
        self.blob = blob
        self.a = a
    }
    /// The entries of the basic blocks seen so far, by pc (set for the duration of `run`).
    var blockEntries: BlockEntries! = nil
    /// The pc of the instruction being compiled.
    var currentPC: Int64 = 0
    /// Static branches to patch once every block start is known: where the rel32 field is,
    /// the target pc, and the branching instruction (for the panic of a bad target).
    var branchFixups: [(field: Int, target: Int64, index: Int)] = []
    /// The static jump (`jump`, `load_imm_jump`) that closed the block just compiled, if any:
    /// its rel32 field and target pc. Set by `jump(toTarget:from:)`, read when the block ends.
    var closingJump: (field: Int, target: Int64) = (-1, -1)
    var closingIsFallthrough = false
    /// Whether the open block has an exit that resumes inside it (`ecalli`, `sbrk`).
    var blockResumes = false
    /// Native offsets of guest loads and stores with their instruction indices, interleaved
    /// (at most one per instruction), `faultCount` so far.
    var faults = UnsafeMutablePointer<UInt32>(bitPattern: 4)!
    var faultCount = 0
    // Shared exits.
    var panicExit = Label(id: 0), haltExit = Label(id: 0), hostExit = Label(id: 0)
    var oogExit = Label(id: 0), sbrkExit = Label(id: 0), djumpPanicLabel = Label(id: 0)
    var commonExit = Label(id: 0), djump = Label(id: 0), bailExit = Label(id: 0)

    /// The bytes of a block's charge prologue, `sub r15, imm32; jl rel32`, and where its
    /// immediate is.
    static let chargeSize = 13, chargeImmediateOffset = 3
    /// The most gas one prologue charges for a chain of blocks (see `resolveCharges`).
    static let maximumChainCharge: Int32 = 1 << 16

    /// A basic block with a charge prologue, recorded by the pass and resolved after it.
    struct BlockCharge {
        /// Code offset of the prologue's imm32 (entry + `chargeImmediateOffset`); its `jl` rel32
        /// (to the block's out-of-gas stub) follows at `immediate + 6`.
        var immediate: Int32
        /// Its first instruction and its cost (= its number of instructions).
        var index: Int32
        var cost: Int32
        /// The rel32 field of the static jump that closes it, and that jump's target pc;
        /// -1 when it does not end with one or may not be chained (it has an exit that resumes).
        var jumpField: Int32
        var target: Int32
        /// The closing jump is a `fallthrough`'s nop, to become a jump only if chained.
        var isFallthrough = false
        /// What its prologue charges: `cost`, plus the charge of the block it is chained to.
        var charge: Int32 = 0
        /// The record of the block its closing jump is chained to (enters past the prologue), or -1.
        var next: Int32 = -1
    }

    /// The most native bytes one byte of guest code has been measured to need: 74, for code
    /// that is all 0xCC with every bitmask bit set (one-byte `div_s_64`s whose operands all
    /// decode to guest r12, which lives in rdx; the largest of every opcode and of random
    /// mixes of them and terminators, `docs/operations.md`), rounded up.
    public static let worstCaseNativeBytesPerCodeByte = 80

    /// Compiles `blob` in one pass over its code, decoding as it goes (no instruction list is
    /// built). Linear in the size of the code.
    ///
    /// The code buffer starts at 4 native bytes per guest byte (typical code needs about 3.2)
    /// and reserves address space for the worst case, so that growing never copies it and
    /// never holds two buffers at once (`PageBuffer`'s `reserving`). More than 2 GiB of native
    /// code (a rel32's reach) is a precondition failure (`X86Assembler.maximumCodeSize`).
    public static func compile(_ blob: ProgramBlob) -> CompiledProgram {
        let n = blob.code.count
        let assembler = X86Assembler(initialCapacity: n * 4 + 4096,
                                     reservingCapacity: n * worstCaseNativeBytesPerCodeByte + (64 << 10))
        return Recompiler(blob: blob, a: assembler).run()
    }

    /// `guestRegs` packed four bits a register, guest register 0 in the low nibble, so that a
    /// lookup is a shift and a mask, with no array access (`BlockEntriesTests` checks the two agree).
    static let packedGuestRegs: UInt64 = 0x2_E_D_C_B_A_9_8_5_7_6_1_3

    func run() -> CompiledProgram {
        var scanner = CodeScanner(blob)
        let n = scanner.codeLength
        let capacity = scanner.maximumCount
        // Every per-pc and per-instruction table, in zero-filled pages (see `PageBuffer`): only
        // the pages actually written are ever touched. The per-instruction tables are one record
        // of three per instruction, and the fault pairs follow the largest possible record
        // table: the pages touched are those of `count` records and `faultCount` pairs.
        let blockEntries = BlockEntries(codeLength: n)
        self.blockEntries = blockEntries
        defer { self.blockEntries = nil }
        let tables = PageBuffer(byteCount: 5 * 4 * capacity)
        let records = tables.base.bindMemory(to: UInt32.self, capacity: 5 * capacity)
        faults = records + 3 * capacity
        faultCount = 0
        panicExit = a.newLabel(); haltExit = a.newLabel(); hostExit = a.newLabel(); oogExit = a.newLabel()
        sbrkExit = a.newLabel(); djumpPanicLabel = a.newLabel(); commonExit = a.newLabel(); djump = a.newLabel()
        bailExit = a.newLabel()
        branchFixups.reserveCapacity(n / 16)
        let trampoline = emitTrampolineAndExits()
        let faultStub = a.position
        a.mov(.qword, Mem.context(ContextLayout.exitCode), imm: Int32(ExitCode.memoryFault.rawValue))
        a.mov(.qword, .rax, Mem.context(ContextLayout.faultIndex))
        a.jmp(commonExit)
        emitDynamicJump()
        let djumpPanic = a.offset(of: djumpPanicLabel)!

        // Every charged block, in code order; their out-of-gas stubs go after the code.
        var blocks: [BlockCharge] = []
        blocks.reserveCapacity(n / 16)
        var ins = Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: 0, length: 1)
        var afterTerminator = true
        // The open block's charge: where its immediate is (its `jl` field follows), and its
        // first instruction; -1 when the open block has no charge (it follows an invalid
        // instruction, so control never falls into it).
        var chargeImmediate = -1, chargeIndex = 0
        var i = 0
        let operands = scanner.operands
        while let flags = scanner.nextUndecoded(into: &ins) {
            records[3 &* i] = ins.pc
            currentPC = Int64(ins.pc)
            // A block start is always charged (below), by the record appended when it ends.
            if flags.contains(.blockStart) { blockEntries.add(pc: Int(ins.pc), entry: a.position, record: blocks.count) }
            records[3 &* i &+ 1] = UInt32(a.position)
            // Control can arrive here from elsewhere (a branch, a jump, the end of the previous
            // block): charge this block. Its charge is known after the pass (`resolveCharges`),
            // so the immediate is always 32 bits, patched then.
            if flags.contains(.blockStart) || afterTerminator {
                // sub r15, imm32 (49 81 EF, the charge patched later); jl rel32 (0F 8C, to the
                // block's stub, patched later): written as 8 + 5 bytes. jl (gas < charge, signed)
                // holds across an overflowing subtraction, where js would not.
                chargeImmediate = a.position + Recompiler.chargeImmediateOffset
                a.emit(raw: 0x0F00_0000_00EF_8149, bytes: 8)
                a.emit(raw: 0x8C, bytes: 5)
                chargeIndex = i
                blockResumes = false
            }
            records[3 &* i &+ 2] = UInt32(a.position)
            emit(&ins, index: i, operands)
            if flags.contains(.endsBlock) {
                if chargeImmediate >= 0 {
                    let chainable = closingJump.field >= 0 && !blockResumes
                    // A target pc that does not fit 31 bits is outside any code: not chained.
                    let target = chainable ? Int32(clamping: closingJump.target) : -1
                    blocks.append(BlockCharge(immediate: Int32(chargeImmediate),
                                              index: Int32(chargeIndex), cost: Int32(clamping: i - chargeIndex + 1),
                                              jumpField: target >= 0 ? Int32(closingJump.field) : -1, target: target,
                                              isFallthrough: closingIsFallthrough))
                    chargeImmediate = -1
                }
                closingJump = (-1, -1)
                closingIsFallthrough = false
            }
            afterTerminator = flags.contains(.terminator)
            i += 1
        }
        let count = i
        resolveCharges(&blocks)
        let bailOffset = a.offset(of: bailExit)!, oogOffset = a.offset(of: oogExit)!
        var prepaid: [PrepaidBlock] = []
        // The rel32 fields patched below cannot wrap: the assembler holds at most 2 GiB - 1
        // bytes (`X86Assembler.maximumCodeSize`, checked where its buffer grows), so the distance
        // between any two offsets fits.
        for b in blocks {
            a.patchUInt32(at: Int(b.immediate), UInt32(bitPattern: b.charge))
            let jlField = Int(b.immediate) + 6
            a.patchUInt32(at: jlField, UInt32(truncatingIfNeeded: a.position - (jlField + 4)))
            // The stub undoes the whole charge: the state is as before the block. When the
            // block alone would have fitted, the exact end is left to the interpreter (a bail).
            // add r15, imm8/imm32 (49 83 C7 / 49 81 C7); mov eax, imm32 (B8); jmp rel32 (E9).
            let exit = b.charge > b.cost ? bailOffset : oogOffset
            if b.charge <= 127 {
                a.emit(raw: 0x00C7_8349 | UInt64(UInt32(bitPattern: b.charge)) << 24, bytes: 4)
            } else {
                a.emit(raw: 0x00C7_8149 | UInt64(UInt32(bitPattern: b.charge)) << 24, bytes: 7)
            }
            a.emit(raw: 0xB8 | UInt64(UInt32(bitPattern: b.index)) << 8, bytes: 5)
            a.emit(raw: 0xE9 | UInt64(UInt32(truncatingIfNeeded: exit - (a.position + 5))) << 8, bytes: 5)
            if b.charge > b.cost {
                prepaid.append(PrepaidBlock(index: UInt32(b.index), cost: UInt32(b.cost),
                                            surplus: UInt32(b.charge - b.cost)))
            }
        }
        // Static branches: to the target's entry when it starts a block, else to a panic at the
        // branching instruction.
        for f in branchFixups {
            var target = blockEntries.entry(at: f.target) ?? -1
            if target < 0 {
                target = a.position
                exit(to: panicExit, index: f.index)
            }
            a.patchUInt32(at: f.field, UInt32(truncatingIfNeeded: target - (f.field + 4)))
        }
        // A chained jump enters its target past the prologue: its charge was paid with this block's.
        for b in blocks where b.next >= 0 {
            let body = Int(blocks[Int(b.next)].immediate) - Recompiler.chargeImmediateOffset + Recompiler.chargeSize
            if b.isFallthrough { a.patchByte(at: Int(b.jumpField) - 1, 0xE9) }
            a.patchUInt32(at: Int(b.jumpField), UInt32(truncatingIfNeeded: body - (Int(b.jumpField) + 4)))
        }
        let jumpEntries = blob.jumpTable.map { pc -> Int32 in
            Int32(blockEntries.entry(at: Int64(pc)) ?? -1)
        }
        a.finalize()
        return CompiledProgram(code: a.buffer, codeSize: a.position, trampoline: trampoline,
                               entryOffsets: UInt32Table(base: records + 1, count: count, stride: 3),
                               bodyOffsets: UInt32Table(base: records + 2, count: count, stride: 3),
                               pcs: UInt32Table(base: records, count: count, stride: 3),
                               jumpEntries: jumpEntries,
                               faultOffsets: UInt32Table(base: faults, count: faultCount, stride: 2),
                               faultIndices: UInt32Table(base: faults + 1, count: faultCount, stride: 2),
                               tables: tables, faultStub: faultStub, djumpPanic: djumpPanic, prepaid: prepaid)
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
        exit(bailExit, .bail)
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
    /// the CPU to predict, as a `switch` or a return needs), with the target address in eax
    /// (zero-extended: the callers compute it with a 32-bit `lea`). The native jump table has an
    /// entry for every address up to 2·slots + 1 (`ContextLayout.tableEntries`): the GP's valid
    /// targets (a != 0, a even, a/2 <= slots) hold their block's entry, the others the panic
    /// stub, so one unsigned compare is the whole check. Addresses past the table go to `djump`,
    /// the shared slow path, which tells the halt address from a panic.
    func dynamicJump(from index: Int) {
        let slots = blob.jumpTable.count
        a.mov(.dword, Mem.context(ContextLayout.djumpFrom), imm: Int32(index))
        guard slots > 0 else {
            a.jmp(djump)
            return
        }
        a.cmp(.dword, .rax, imm: Int32(clamping: ContextLayout.tableEntries(slots: slots) - 1))
        a.jcc(.above, djump)
        a.jmp(Mem.context(index: .rax, scale: .x8, disp: ContextLayout.jumpTable(slots: slots)))
    }

    /// The slow path of `dynamicJump`: eax = a target address past the table.
    func emitDynamicJump() {
        a.bind(djump)
        a.cmp(.dword, .rax, imm: Int32(bitPattern: GuestMemoryLayout.haltAddress))
        a.jcc(.notEqual, djumpPanicLabel)
        a.mov(.dword, .rax, Mem.context(ContextLayout.djumpFrom))
        a.jmp(haltExit)
    }

    /// Jumps to the exit `label` with instruction index `index` in eax.
    func exit(to label: Label, index: Int) {
        a.mov(.dword, .rax, imm: Int32(index))
        a.jmp(label)
    }

    /// Jumps to the block starting at code position `target`, or panics at instruction `index`
    /// when no block starts there. A block already seen is jumped to directly; any other target
    /// is patched after the pass. The jump is always rel32 (and recorded as the block's closing
    /// jump), so that `resolveCharges` can retarget it past its target's prologue.
    func jump(toTarget target: Int64, from index: Int) {
        a.emit(byte: 0xE9)
        closingJump = (a.position, target)
        if let offset = knownEntry(target) {
            // In reach: the code is never larger than 2 GiB - 1 (`X86Assembler.maximumCodeSize`).
            a.emit(uint32: UInt32(truncatingIfNeeded: offset - (a.position + 4)))
        } else {
            branchFixups.append((a.position, target, index))
            a.emit(uint32: 0)
        }
    }

    /// Chains charges along static jumps. A block that ends with `jump`, `load_imm_jump` or
    /// `fallthrough` to a block start always runs into that block, so its prologue can pay for both, and the jump
    /// enter the target past the target's own prologue: one gas subtraction fewer on the path (the
    /// subtractions are one serial dependency chain through r15, which bounds jump-heavy code such
    /// as an interpreter loop). Chains follow jumps forward and backward, are cut where they would
    /// close a cycle, and charge at most `maximumChainCharge`.
    ///
    /// When a chained charge does not fit, the stub undoes it and exits with `bail`: the gas left
    /// is less than the chain, which the interpreter then runs exactly (it never runs past the
    /// chain, whose blocks always follow one another). A run that ends inside a chained block
    /// (panic, page fault) gets the part paid for blocks not entered back (`surplus(at:)`).
    /// Blocks with exits that resume (`ecalli`, `sbrk`) are never chained from, so a resumed run
    /// never holds gas paid in advance.
    func resolveCharges(_ blockArray: inout [BlockCharge]) {
        blockArray.withUnsafeMutableBufferPointer { blocks in
            for r in blocks.indices where blocks[r].jumpField >= 0 {
                guard let target = blockEntries.block(at: Int64(blocks[r].target)) else { continue }
                assert(Int(blocks[target.record].immediate) == target.entry + Recompiler.chargeImmediateOffset)
                blocks[r].next = Int32(target.record)
            }
            // A record's `charge` is 0 until resolved (every cost is at least 1), -1 while it is on
            // the path being followed.
            var path: [Int32] = []
            path.reserveCapacity(64)
            for start in blocks.indices where blocks[start].charge == 0 {
                path.removeAll(keepingCapacity: true)
                var r = start
                while true {
                    let c = blocks[r].charge
                    if c > 0 { break }
                    if c < 0 { blocks[Int(path.last!)].next = -1; break }   // a cycle: cut it
                    blocks[r].charge = -1
                    path.append(Int32(truncatingIfNeeded: r))
                    guard blocks[r].next >= 0 else { break }
                    r = Int(blocks[r].next)
                }
                var k = path.count - 1
                while k >= 0 {
                    let r = Int(path[k])
                    var charge = blocks[r].cost
                    let next = Int(blocks[r].next)
                    if next >= 0 {
                        if blocks[next].charge <= Recompiler.maximumChainCharge - charge {
                            charge += blocks[next].charge
                        } else {
                            blocks[r].next = -1
                        }
                    }
                    blocks[r].charge = charge
                    k -= 1
                }
            }
        }
    }

    /// The code offset of the entry of the block at `target`, if one has been emitted (only a
    /// target at or before the instruction being compiled can have one).
    @inline(__always) func knownEntry(_ target: Int64) -> Int? {
        guard target <= currentPC else { return nil }
        return blockEntries.entry(at: target)
    }
}

extension Recompiler {
    /// The host register of guest register `i` (0...12).
    @inline(__always) func g(_ i: UInt8) -> Reg { Recompiler.hostRegister(i) }

    /// `guestRegs[i]` for i in 0...12, from `packedGuestRegs`.
    @inline(__always) static func hostRegister(_ i: UInt8) -> Reg {
        unsafeBitCast(UInt8(truncatingIfNeeded: packedGuestRegs >> (UInt64(i & 15) << 2)) & 15, to: Reg.self)
    }

    /// Records that the next emitted instruction accesses guest memory for instruction `index`.
    @inline(__always) func markFault(_ index: Int) {
        faults[2 &* faultCount] = UInt32(a.position)
        faults[2 &* faultCount &+ 1] = UInt32(index)
        faultCount += 1
    }
}
