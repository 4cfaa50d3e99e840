import PVM
import PVMAssembler

/// Generates random, valid PVM test cases from a seed: programs over all 139 opcodes with
/// boundary operands, branches and dynamic jumps of every kind (valid, to non-block-starts,
/// mid-instruction, bad slots, halt), random page maps with read-only / writable / unmapped pages
/// near 64 KiB and 2^32, accesses at page boundaries and wrapping past 2^32, `sbrk`, host calls,
/// hostile raw bytes (invalid opcodes, long skips, code ending mid-instruction) and gas limits at
/// block boundaries.
///
/// "Valid" means every blob decodes: the machines must agree on whatever it does.
public struct ProgramGenerator: Sendable {
    /// Upper bounds on the program shape. Smaller programs run faster in debug builds.
    public var maxBlocks: Int
    public var maxBlockLength: Int

    public init(maxBlocks: Int = 8, maxBlockLength: Int = 8) {
        self.maxBlocks = maxBlocks
        self.maxBlockLength = maxBlockLength
    }

    /// The test case for `seed`. Deterministic.
    public func generate(seed: UInt64) -> GeneratedProgram {
        var s = Session(seed: seed, maxBlocks: maxBlocks, maxBlockLength: maxBlockLength)
        return s.make()
    }
}

/// Boundary values shared by registers and immediates.
enum Pool {
    static let values64: [UInt64] = [
        0, 1, 2, 3, 7, 8, 31, 32, 33, 63, 64, 65, 0xFF, 0x80, 0xFFFF, 0x8000,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x1_FFFF_FFFF,
        0xFFFF_FFFF_8000_0000, 0xFFFF_FFFF_7FFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFE,
        0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0001, 0x0123_4567_89AB_CDEF,
        0xFFFF_0000, 0xFEFE_0000, 0xFEFF_0000, 0x10000, 0xFFFF, 0xFFFF_FFFF_FFFF_FF80,
    ]
    static let imm32: [Int32] = [
        0, 1, -1, 2, -2, 7, 8, 31, 32, 63, 64, 0x7F, -0x80, 0xFF, 0x7FFF, -0x8000, 0xFFFF,
        Int32.max, Int32.min, Int32.min + 1, Int32.max - 1, 0x10000, -0x10000, 4095, 4096, -4096,
    ]
    static let invalidOpcodes: [UInt8] = (0...255).map { UInt8($0) }.filter { Opcode(rawValue: $0) == nil }
}

/// The state of one generation.
struct Session {
    var rng: SplitMix64
    let seed: UInt64
    let maxBlocks: Int
    let maxBlockLength: Int
    var b = ProgramBuilder()
    var pages: [UInt32: GuestMemory.Access] = [:]
    /// Addresses worth accessing: page edges of the page map, their neighbours, wrap-arounds.
    var addresses: [UInt32] = []
    var blockLabels: [ProgramBuilder.Label] = []
    /// Labels bound in the middle of blocks (not block starts).
    var midLabels: [ProgramBuilder.Label] = []
    var unboundMid: [ProgramBuilder.Label] = []
    var jumpTableCount = 0
    var estimatedSize = 0
    var heapTop: UInt32 = 0
    var heapLimit: UInt32 = 0

    init(seed: UInt64, maxBlocks: Int, maxBlockLength: Int) {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        self.maxBlocks = maxBlocks
        self.maxBlockLength = maxBlockLength
    }

    // MARK: - Values

    mutating func reg() -> UInt8 {
        // Guest r1 and r12 live in rcx and rdx in the recompiler: the shift count and the mul/div
        // register. Bias towards them.
        if rng.chance(25) { return rng.chance(50) ? 1 : 12 }
        return UInt8(rng.below(13))
    }

    mutating func value64() -> UInt64 {
        switch rng.below(10) {
        case 0...3: return rng.pick(Pool.values64)
        case 4: return UInt64(bitPattern: Int64(rng.pick(Pool.imm32)))
        case 5: return UInt64(rng.pick(addresses))
        case 6: return rng.next()
        case 7: return UInt64(rng.below(256))
        case 8: return rng.pick(Pool.values64) &+ UInt64(bitPattern: Int64(rng.within(-2...2)))
        default: return UInt64(rng.next() & 0xFFFF_FFFF)
        }
    }

    /// A ≤32-bit immediate as the machine sees it (sign-extended).
    mutating func imm() -> UInt64 {
        switch rng.below(6) {
        case 0...2: return UInt64(bitPattern: Int64(rng.pick(Pool.imm32)))
        case 3: return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: rng.next())))
        case 4: return UInt64(rng.below(64))
        default: return UInt64(bitPattern: Int64(Int32(bitPattern: rng.pick(addresses))))
        }
    }

    /// A guest address worth accessing.
    mutating func address() -> UInt32 {
        switch rng.below(10) {
        case 0...6: return rng.pick(addresses)
        case 7: return UInt32(truncatingIfNeeded: rng.next())
        case 8: return 0xFFFF_FFF8 &+ UInt32(rng.below(8))
        default: return UInt32(rng.below(0x10000))   // below 64 KiB: panics
        }
    }

    // MARK: - Page map

    mutating func access() -> GuestMemory.Access {
        rng.chance(55) ? .write : (rng.chance(80) ? .read : .none)
    }

    mutating func makePages() {
        func set(_ a: UInt32, _ access: GuestMemory.Access) { pages[a & ~0xFFF] = access }
        // Near 64 KiB.
        if rng.chance(60) {
            set(0x10000, access())
            if rng.chance(50) { set(0x11000, access()) }
        }
        // Page 0 (then accesses below 64 KiB and wrapping past 2^32 can succeed).
        if rng.chance(8) {
            set(0, access())
            set(0xFFFF_F000, access())
        }
        // Near 2^32.
        if rng.chance(50) {
            set(0xFFFF_F000, access())
            if rng.chance(50) { set(0xFFFF_E000, access()) }
        }
        // Adjacent pages with different access, anywhere.
        let clusters = rng.within(1...3)
        for _ in 0..<clusters {
            let base = UInt32(rng.within(0x20...0xFEFF0)) << 12
            let count = rng.within(1...3)
            for k in 0..<count { set(base + UInt32(k) << 12, access()) }
        }
        pages = pages.filter { $0.value != .none }

        // Addresses: every page edge and its neighbours, and a few wrapping ones.
        var set = Set<UInt32>()
        for page in pages.keys {
            for d: UInt32 in [0, 1, 2, 3, 4, 7, 8, 0x800] { set.insert(page &+ d) }
            for d: UInt32 in 1...8 { set.insert(page &+ 0x1000 &- d) }
            for d: UInt32 in [1, 2, 4, 8] { set.insert(page &- d) }
        }
        for a: UInt32 in [0, 1, 0xFFFF, 0xFFF8, 0x10000, 0xFFFF_FFFF, 0xFFFF_FFFC, 0xFFFF_FFF9, 0xFFFF_0000] {
            set.insert(a)
        }
        addresses = set.sorted()

        // Heap for sbrk: somewhere unmapped, growing at most a few pages.
        if rng.chance(70) {
            var top = UInt32(rng.within(0x20...0xFEFF0)) << 12
            if rng.chance(20) { top &+= UInt32(rng.below(4096)) }
            heapTop = top
            heapLimit = top &+ UInt32(rng.below(5 * 4096))
            if heapLimit < heapTop { heapLimit = heapTop }
            for d: UInt32 in [0, 1, 0x1000 - 4, 0x1000] { addresses.append(heapTop &+ d) }
        }
    }

    // MARK: - Program

    mutating func make() -> GeneratedProgram {
        makePages()
        let blocks = rng.within(1...maxBlocks)
        blockLabels = (0..<blocks).map { _ in b.makeLabel() }
        unboundMid = (0..<rng.within(0...3)).map { _ in b.makeLabel() }
        midLabels = unboundMid
        estimatedSize = blocks * (maxBlockLength * 4 + 6)

        // Jump table: valid entries, entries to non-block-starts, arbitrary (mostly mid-instruction) pcs.
        let entries = rng.within(0...6)
        for _ in 0..<entries {
            switch rng.below(10) {
            case 0...5: b.addJumpTableEntry(rng.pick(blockLabels))
            case 6: if let l = midLabels.first { b.addJumpTableEntry(l) } else { b.addJumpTableEntry(blockLabels[0]) }
            case 7: b.addJumpTableEntry(pc: UInt32(rng.below(estimatedSize + 1)))
            case 8: b.addJumpTableEntry(pc: UInt32(truncatingIfNeeded: rng.next()))
            default: b.addJumpTableEntry(pc: 0)
            }
            jumpTableCount += 1
        }

        for k in 0..<blocks {
            b.bind(blockLabels[k])
            let length = rng.below(maxBlockLength + 1)
            for _ in 0..<length {
                if !unboundMid.isEmpty && rng.chance(15) { b.bind(unboundMid.removeLast()) }
                body()
            }
            while let l = unboundMid.popLast() {
                if k == blocks - 1 { b.bind(l); body() } else { unboundMid.append(l); break }
            }
            terminator(last: k == blocks - 1)
        }
        let blob = b.build()

        var registers = (0..<13).map { _ in value64() }
        if rng.chance(10) { registers = [UInt64](repeating: 0, count: 13) }

        var pc: UInt32 = 0
        if rng.chance(10) { pc = UInt32(rng.below(blob.code.count + 3)) }

        let gas: Int64
        switch rng.below(20) {
        case 0: gas = Int64(rng.below(4))
        case 1...5: gas = Int64(rng.below(60))
        case 6: gas = 100_000
        default: gas = Int64(rng.within(100...3000))
        }

        var pageList: [GeneratedProgram.Page] = []
        for (address, access) in pages.sorted(by: { $0.key < $1.key }) {
            let contents: [UInt8] = rng.chance(70) ? rng.bytes(4096) : []
            pageList.append(.init(address: address, access: access, contents: contents))
        }
        var program = GeneratedProgram(seed: seed, blob: blob, pages: pageList, registers: registers, gas: gas, pc: pc,
                                       heapTop: heapTop, heapLimit: heapLimit, hostSalt: rng.next(),
                                       faultsToServe: rng.chance(30) ? rng.within(1...3) : 0, maxExits: 24)
        if rng.chance(12) {
            // Gas exactly sufficient for the whole run, one short (out of gas at the last block
            // boundary), or anything in between (out of gas at some earlier block boundary).
            program.gas = 5000
            if let outcome = try? Differential.runAlone(program) {
                let used = Int64(5000) - outcome.gas
                switch rng.below(3) {
                case 0: program.gas = used
                case 1: program.gas = max(used - 1, 0)
                default: program.gas = Int64(rng.below(Int(used) + 1))
                }
            }
        }
        return program
    }

    /// Optionally forces 4-byte immediates (wider than minimal) for the form's immediate fields.
    mutating func widths(_ form: OperandForm) -> [Int?] {
        guard rng.chance(15) else { return [] }
        switch form {
        case .imm, .regImm, .regRegImm: return [4]
        case .immImm, .regImmImm, .regRegImmImm: return [4, 4]
        case .regImmOffset: return [4, nil]
        default: return []
        }
    }

    mutating func target() -> ProgramBuilder.Operand {
        switch rng.below(20) {
        case 0...13: return .label(rng.pick(blockLabels))
        case 14, 15: return midLabels.isEmpty ? .label(rng.pick(blockLabels)) : .label(rng.pick(midLabels))
        case 16, 17: return .pc(Int64(rng.below(estimatedSize + 1)))
        case 18: return .pc(Int64(rng.within(-3...(-1))))
        default: return .pc(Int64(Int32.max) - Int64(rng.below(3)))
        }
    }

    /// A dynamic jump address: table slots (valid or not), beyond the table, odd, 0, halt, huge.
    mutating func jumpAddress() -> UInt64 {
        let a: UInt32
        switch rng.below(12) {
        case 0...4: a = UInt32(2 * (rng.below(max(jumpTableCount, 1)) + 1))
        case 5: a = UInt32(2 * (jumpTableCount + 1 + rng.below(3)))
        case 6: a = UInt32(2 * rng.below(jumpTableCount + 2) + 1)
        case 7: a = 0
        case 8, 9: a = GuestMemoryLayout.haltAddress
        case 10: a = rng.pick([0xFFFF_0001, 0xFFFF_0002, 0xFFFF_FFFE, 0x8000_0000])
        default: a = UInt32(truncatingIfNeeded: rng.next())
        }
        // Only the low 32 bits of the sum count: random high bits must not matter.
        return rng.chance(30) ? UInt64(a) | (rng.next() << 32) : UInt64(a)
    }

    mutating func loadConstant(_ r: UInt8, _ v: UInt64) {
        if Int64(bitPattern: v) == Int64(Int32(truncatingIfNeeded: v)) && rng.chance(60) {
            b.emit(.load_imm, .reg(r), .imm(v))
        } else {
            b.emit(.load_imm_64, .reg(r), .imm(v))
        }
    }

    // MARK: - Instructions

    mutating func body() {
        switch rng.below(100) {
        case 0...2: hostile()
        case 3...5: b.emit(.ecalli, .imm(rng.chance(70) ? UInt64(rng.below(8)) : imm()))
        case 6...8:
            // sbrk with an interesting size.
            let ra = reg(), rd = rng.chance(30) ? ra : reg()
            if rng.chance(70) {
                loadConstant(ra, rng.pick([0, 1, 4095, 4096, 4097, 8192, 3 * 4096 + 5, 1 << 20, 0xFFFF_FFFF, UInt64.max]))
            }
            b.emit(.sbrk, .reg(rd), .reg(ra))
        case 9...27: memoryAccess()
        default: alu()
        }
    }

    mutating func memoryAccess() {
        let loads: [Opcode] = [.load_u8, .load_i8, .load_u16, .load_i16, .load_u32, .load_i32, .load_u64]
        let stores: [Opcode] = [.store_u8, .store_u16, .store_u32, .store_u64]
        let storeImms: [Opcode] = [.store_imm_u8, .store_imm_u16, .store_imm_u32, .store_imm_u64]
        let indLoads: [Opcode] = [.load_ind_u8, .load_ind_i8, .load_ind_u16, .load_ind_i16, .load_ind_u32,
                                  .load_ind_i32, .load_ind_u64]
        let indStores: [Opcode] = [.store_ind_u8, .store_ind_u16, .store_ind_u32, .store_ind_u64]
        let indStoreImms: [Opcode] = [.store_imm_ind_u8, .store_imm_ind_u16, .store_imm_ind_u32, .store_imm_ind_u64]
        let address = address()
        let direct = UInt64(bitPattern: Int64(Int32(bitPattern: address)))
        switch rng.below(6) {
        case 0:
            let op = rng.pick(loads)
            b.emit(op, operands: [.reg(reg()), .imm(direct)], widths: widths(op.form))
        case 1:
            let op = rng.pick(stores)
            b.emit(op, operands: [.reg(reg()), .imm(direct)], widths: widths(op.form))
        case 2:
            let op = rng.pick(storeImms)
            b.emit(op, operands: [.imm(direct), .imm(imm())], widths: widths(op.form))
        default:
            // Indirect: base + offset, with the base usually set just before.
            let base = reg()
            let offset = rng.chance(50) ? UInt64(bitPattern: Int64(rng.within(-8...8))) : imm()
            if rng.chance(75) {
                var v = UInt64(address) &- offset
                if rng.chance(30) { v = (v & 0xFFFF_FFFF) | (rng.next() << 32) }   // high bits are ignored
                loadConstant(base, v)
            }
            let other = rng.chance(25) ? base : reg()
            switch rng.below(3) {
            case 0:
                let op = rng.pick(indLoads)
                b.emit(op, operands: [.reg(other), .reg(base), .imm(offset)], widths: widths(op.form))
            case 1:
                let op = rng.pick(indStores)
                b.emit(op, operands: [.reg(other), .reg(base), .imm(offset)], widths: widths(op.form))
            default:
                let op = rng.pick(indStoreImms)
                b.emit(op, operands: [.reg(base), .imm(offset), .imm(imm())], widths: widths(op.form))
            }
        }
    }

    /// Every non-memory, non-control opcode.
    static let aluOpcodes: [Opcode] = Opcode.allCases.filter { op in
        !op.isTerminator && !op.accessesMemory && op != .ecalli && op != .sbrk
    }

    mutating func alu() {
        let op = rng.pick(Session.aluOpcodes)
        var a = reg(), c = reg(), d = reg()
        switch rng.below(6) {
        case 0: d = a
        case 1: d = c
        case 2: a = c
        default: break
        }
        // Boundary operand values right before the instruction.
        if rng.chance(35) { loadConstant(a, value64()) }
        if rng.chance(35) { loadConstant(c, value64()) }
        let w = widths(op.form)
        switch op.form {
        case .regImm64: b.emit(op, .reg(a), .imm(value64()))
        case .regImm: b.emit(op, operands: [.reg(a), .imm(imm())], widths: w)   // load_imm
        case .regReg: b.emit(op, .reg(d), .reg(a))
        case .regRegImm: b.emit(op, operands: [.reg(a), .reg(c), .imm(imm())], widths: w)
        case .regRegReg: b.emit(op, .reg(d), .reg(a), .reg(c))
        case .none: b.emit(op)   // (none left: trap and fallthrough are terminators)
        default: preconditionFailure("unexpected ALU form \(op.form) for \(op)")
        }
    }

    /// Hostile encodings: invalid opcodes, skips past 16 (up to 24 and beyond), raw garbage.
    mutating func hostile() {
        switch rng.below(5) {
        case 0: b.rawInstruction([rng.pick(Pool.invalidOpcodes)] + rng.bytes(rng.below(4)))
        case 1:
            // A defined opcode followed by 17…24 operand bytes (skip > 16), registers > 12 included.
            let op = rng.pick(Opcode.allCases.filter { !$0.isTerminator && $0 != .ecalli })
            b.rawInstruction([op.rawValue] + rng.bytes(rng.within(17...24)))
        case 2:
            // Skip capped at 24: the byte after it is not an instruction start (a trap).
            let op = rng.pick(Opcode.allCases.filter { !$0.isTerminator })
            b.rawInstruction([op.rawValue] + rng.bytes(rng.within(25...28)))
        case 3:
            // Any opcode with random short operands (clamped registers, odd immediate lengths).
            let op = rng.pick(Opcode.allCases.filter { !$0.isTerminator })
            b.rawInstruction([op.rawValue] + rng.bytes(rng.below(12)))
        default:
            // Random bytes without bitmask bits: they extend the previous instruction.
            b.rawBytes(rng.bytes(rng.within(1...6)))
        }
    }

    mutating func terminator(last: Bool) {
        let branchImm: [Opcode] = [.branch_eq_imm, .branch_ne_imm, .branch_lt_u_imm, .branch_le_u_imm,
                                   .branch_ge_u_imm, .branch_gt_u_imm, .branch_lt_s_imm, .branch_le_s_imm,
                                   .branch_ge_s_imm, .branch_gt_s_imm]
        let branchReg: [Opcode] = [.branch_eq, .branch_ne, .branch_lt_u, .branch_lt_s, .branch_ge_u, .branch_ge_s]
        if last && rng.chance(20) {
            codeEnd()
            return
        }
        switch rng.below(100) {
        case 0...19: b.emit(.fallthrough)
        case 20...21: b.emit(.trap)
        case 22...29: b.emit(.jump, target())
        case 30...34: b.emit(.load_imm_jump, .reg(reg()), .imm(imm()), target(), widths: widths(.regImmOffset))
        case 35...54:
            let r = reg()
            if rng.chance(30) { loadConstant(r, value64()) }
            b.emit(rng.pick(branchImm), .reg(r), .imm(imm()), target(), widths: widths(.regImmOffset))
        case 55...72:
            let r = reg(), s = rng.chance(15) ? r : reg()
            b.emit(rng.pick(branchReg), .reg(r), .reg(s), target())
        case 73...86:
            // jump_ind: address = (r + imm) mod 2^32.
            let r = reg()
            let offset = rng.chance(50) ? 0 : imm()
            if rng.chance(85) { loadConstant(r, jumpAddress() &- offset) }
            b.emit(.jump_ind, operands: [.reg(r), .imm(offset)], widths: widths(.regImm))
        case 87...97:
            // load_imm_jump_ind: rA = immX; djump(rB + immY) with rB read first (rA = rB allowed).
            let ra = reg(), rb = rng.chance(30) ? ra : reg()
            let offset = rng.chance(50) ? 0 : imm()
            if rng.chance(85) { loadConstant(rb, jumpAddress() &- offset) }
            b.emit(.load_imm_jump_ind, operands: [.reg(ra), .reg(rb), .imm(imm()), .imm(offset)],
                   widths: widths(.regRegImmImm))
        default:
            b.rawInstruction([rng.pick(Pool.invalidOpcodes)])
        }
    }

    /// The end of the code: a non-terminator (implicit trap past the end) or an instruction cut short.
    mutating func codeEnd() {
        if rng.chance(50) {
            alu()
        } else {
            let op = rng.pick(Opcode.allCases.filter { $0.form != .none })
            let full: Int
            switch op.form {
            case .regImm64: full = 9
            case .regRegImmImm: full = 10
            case .immImm, .regImmImm, .regImmOffset: full = 9
            default: full = 5
            }
            b.rawInstruction([op.rawValue] + rng.bytes(rng.below(full)))
        }
    }
}
