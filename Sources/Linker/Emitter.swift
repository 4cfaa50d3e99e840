import PVM

/// A compact PVM code emitter for the linker: instructions with fixed immediates and
/// label-relative branch targets, laid out with minimal branch-offset widths.
///
/// Layout is the usual growth iteration: every offset starts at 0 bytes and only grows, to the
/// minimal width of its current value, until nothing changes.
struct Emitter {
    struct Inst {
        var op: Opcode
        var a: UInt8 = 0
        var b: UInt8 = 0
        var d: UInt8 = 0
        var immX: UInt64 = 0
        var immY: UInt64 = 0
        /// Label (index into `labelPos`) of the branch target, or -1.
        var target: Int32 = -1
    }

    var insts: [Inst] = []
    /// For each label: the index of the instruction it is bound before, or -1 if unbound.
    var labelPos: [Int32]
    /// The labels of the jump-table entries, in table order.
    var jumpTable: [Int32] = []
    /// For each label, its jump-table index, or -1.
    var jumpIndex: [Int32]

    init(labels: Int) {
        labelPos = [Int32](repeating: -1, count: labels)
        jumpIndex = [Int32](repeating: -1, count: labels)
    }

    var lastIsTerminator: Bool { insts.last.map { $0.op.isTerminator } ?? true }

    mutating func bind(_ label: Int) { labelPos[label] = Int32(insts.count) }

    /// The dynamic jump address 2·(i+1) of the label's jump-table entry, adding one if needed.
    mutating func jumpAddress(_ label: Int) -> UInt64 {
        if jumpIndex[label] < 0 {
            jumpTable.append(Int32(label))
            jumpIndex[label] = Int32(jumpTable.count - 1)
        }
        return UInt64(2 * (Int(jumpIndex[label]) + 1))
    }

    @inline(__always) mutating func emit(_ i: Inst) { insts.append(i) }

    // Forms, in assembler source order (destination first).
    mutating func op0(_ op: Opcode) { emit(Inst(op: op)) }
    mutating func imm(_ op: Opcode, _ x: UInt64) { emit(Inst(op: op, immX: x)) }
    mutating func jump(_ label: Int) { emit(Inst(op: .jump, target: Int32(label))) }
    /// regImm (50–62): rA, imm.
    mutating func ri(_ op: Opcode, _ a: UInt8, _ x: UInt64) { emit(Inst(op: op, a: a, immX: x)) }
    /// regRegImm (120–161): rA, rB, imm.
    mutating func rri(_ op: Opcode, _ a: UInt8, _ b: UInt8, _ x: UInt64) { emit(Inst(op: op, a: a, b: b, immX: x)) }
    /// regRegReg (190–230): rD, rA, rB.
    mutating func rrr(_ op: Opcode, _ d: UInt8, _ a: UInt8, _ b: UInt8) { emit(Inst(op: op, a: a, b: b, d: d)) }
    /// regReg (100–111): rD, rA.
    mutating func rr(_ op: Opcode, _ d: UInt8, _ a: UInt8) { emit(Inst(op: op, a: a, d: d)) }
    /// regRegOffset (170–175): rA, rB, target.
    mutating func branch(_ op: Opcode, _ a: UInt8, _ b: UInt8, _ label: Int) {
        emit(Inst(op: op, a: a, b: b, target: Int32(label)))
    }
    /// regImmOffset (80–90): rA, imm, target.
    mutating func branchImm(_ op: Opcode, _ a: UInt8, _ x: UInt64, _ label: Int) {
        emit(Inst(op: op, a: a, immX: x, target: Int32(label)))
    }
    /// regImmImm (70–73): rA, immX, immY.
    mutating func rii(_ op: Opcode, _ a: UInt8, _ x: UInt64, _ y: UInt64) { emit(Inst(op: op, a: a, immX: x, immY: y)) }
    /// immImm (30–33): immX, immY.
    mutating func ii(_ op: Opcode, _ x: UInt64, _ y: UInt64) { emit(Inst(op: op, immX: x, immY: y)) }
    /// regRegImmImm (180): rA, rB, immX, immY.
    mutating func rrii(_ op: Opcode, _ a: UInt8, _ b: UInt8, _ x: UInt64, _ y: UInt64) {
        emit(Inst(op: op, a: a, b: b, immX: x, immY: y))
    }

    /// Loads a 64-bit constant with the shortest instruction.
    mutating func loadConstant(_ r: UInt8, _ v: UInt64) {
        if minimalWidth(v) != nil { ri(.load_imm, r, v) } else { emit(Inst(op: .load_imm_64, a: r, immX: v)) }
    }

    /// Lays the code out and encodes it. `labelName` names a label in error messages.
    func build() throws(LinkError) -> ProgramBlob {
        let n = insts.count
        // Size without branch offsets, and the current offset width (branches only).
        var base = [UInt8](repeating: 0, count: n)
        var offW = [UInt8](repeating: 0, count: n)
        var isBranch = [Bool](repeating: false, count: n)
        for k in 0..<n {
            let ins = insts[k]
            let form = ins.op.form
            var size = 1
            switch form {
            case .none: break
            case .imm: size += minimalWidth(ins.immX)!
            case .regImm64: size += 9
            case .immImm, .regImmImm: size += 1 + minimalWidth(ins.immX)! + minimalWidth(ins.immY)!
            case .offset: isBranch[k] = true
            case .regImm, .regRegImm: size += 1 + minimalWidth(ins.immX)!
            case .regImmOffset: size += 1 + minimalWidth(ins.immX)!; isBranch[k] = true
            case .regReg: size += 1
            case .regRegOffset: size += 1; isBranch[k] = true
            case .regRegImmImm: size += 2 + minimalWidth(ins.immX)! + minimalWidth(ins.immY)!
            case .regRegReg: size += 2
            }
            base[k] = UInt8(size)
            if isBranch[k] && labelPos[Int(ins.target)] < 0 {
                throw LinkError(.layout, "internal error: branch to an unbound label")
            }
        }
        var pcs = [Int](repeating: 0, count: n + 1)
        while true {
            var pc = 0
            for k in 0..<n {
                pcs[k] = pc
                pc += Int(base[k]) + Int(offW[k])
            }
            pcs[n] = pc
            var changed = false
            for k in 0..<n where isBranch[k] {
                let offset = Int64(pcs[Int(labelPos[Int(insts[k].target)])] - pcs[k])
                let w = UInt8(minimalWidth(UInt64(bitPattern: offset)) ?? 4)
                if w > offW[k] { offW[k] = w; changed = true }
            }
            if !changed { break }
        }
        let codeSize = pcs[n]
        guard codeSize < 1 << 31 else { throw LinkError(.layout, "the translated code is \(codeSize) bytes, too large for a PVM program") }
        var code = [UInt8](repeating: 0, count: codeSize)
        var mask = [Bool](repeating: false, count: codeSize)
        code.withUnsafeMutableBufferPointer { out in
            for k in 0..<n {
                let ins = insts[k]
                var p = pcs[k]
                mask[p] = true
                @inline(__always) func byte(_ v: UInt8) { out[p] = v; p += 1 }
                @inline(__always) func put(_ v: UInt64, _ w: Int) {
                    var i = 0
                    while i < w { out[p] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))); p += 1; i += 1 }
                }
                let off = isBranch[k] ? UInt64(bitPattern: Int64(pcs[Int(labelPos[Int(ins.target)])] - pcs[k])) : 0
                let ow = Int(offW[k])
                byte(ins.op.rawValue)
                switch ins.op.form {
                case .none: break
                case .imm: put(ins.immX, minimalWidth(ins.immX)!)
                case .regImm64: byte(ins.a); put(ins.immX, 8)
                case .immImm:
                    let wx = minimalWidth(ins.immX)!
                    byte(UInt8(wx)); put(ins.immX, wx); put(ins.immY, minimalWidth(ins.immY)!)
                case .offset: put(off, ow)
                case .regImm: byte(ins.a); put(ins.immX, minimalWidth(ins.immX)!)
                case .regRegImm: byte(ins.a | ins.b << 4); put(ins.immX, minimalWidth(ins.immX)!)
                case .regImmImm:
                    let wx = minimalWidth(ins.immX)!
                    byte(ins.a | UInt8(wx) << 4); put(ins.immX, wx); put(ins.immY, minimalWidth(ins.immY)!)
                case .regImmOffset:
                    let wx = minimalWidth(ins.immX)!
                    byte(ins.a | UInt8(wx) << 4); put(ins.immX, wx); put(off, ow)
                case .regReg: byte(ins.d | ins.a << 4)
                case .regRegOffset: byte(ins.a | ins.b << 4); put(off, ow)
                case .regRegImmImm:
                    let wx = minimalWidth(ins.immX)!
                    byte(ins.a | ins.b << 4); byte(UInt8(wx)); put(ins.immX, wx); put(ins.immY, minimalWidth(ins.immY)!)
                case .regRegReg: byte(ins.a | ins.b << 4); byte(ins.d)
                }
            }
        }
        var table: [UInt32] = []
        table.reserveCapacity(jumpTable.count)
        for label in jumpTable {
            let pos = labelPos[Int(label)]
            guard pos >= 0 else { throw LinkError(.layout, "internal error: jump-table entry for an unbound label") }
            table.append(UInt32(pcs[Int(pos)]))
        }
        return ProgramBlob(jumpTable: table, code: code, bitmask: mask)
    }
}

/// The smallest number of bytes (0 to 4) whose sign extension gives `v`, or nil if `v` is not a
/// sign-extended 32-bit value.
@inline(__always) func minimalWidth(_ v: UInt64) -> Int? {
    let s = Int64(bitPattern: v)
    if s == 0 { return 0 }
    if s >= -0x80 && s < 0x80 { return 1 }
    if s >= -0x8000 && s < 0x8000 { return 2 }
    if s >= -0x80_0000 && s < 0x80_0000 { return 3 }
    if s >= -0x8000_0000 && s < 0x8000_0000 { return 4 }
    return nil
}
