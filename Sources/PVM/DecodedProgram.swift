/// A program blob analysed once for execution: every reachable instruction decoded in pc order,
/// basic-block starts (ϖ), per-instruction block gas, and branch and jump-table targets resolved to
/// instruction indices. Both the interpreter and the recompiler start from this.
///
/// The instruction list holds, in pc order, every position whose bitmask bit is set, plus a
/// synthetic `trap` wherever sequential execution lands on a position that is not an instruction
/// start (after a skip capped at 24, or at the end of the code). So the instruction that follows
/// entry `i` in sequence is always entry `i + 1`, and the list always ends with a `trap`.
public struct DecodedProgram: Sendable {
    public let blob: ProgramBlob
    /// The instructions in pc order (see the type's documentation).
    public let instructions: [Instruction]
    /// Gas charged on entering a block at instruction `i`: the number of instructions from `i` up
    /// to and including the block's terminator (a trap or invalid instruction counts as one).
    public let blockCost: [UInt32]
    /// For each instruction, the index of its static branch target if that target is a block
    /// start, else -1 (a taken branch to it panics).
    public let branchTarget: [Int32]
    /// For each jump-table entry, the index of the instruction it names if that is a block start,
    /// else -1 (a `djump` to it panics).
    public let jumpTarget: [Int32]
    /// Whether each instruction index is a basic-block start (a member of ϖ).
    public let isBlockStart: [Bool]
    private let indexOfPC: [Int32]

    public init(_ blob: ProgramBlob) {
        self.blob = blob
        let n = blob.code.count
        // One pass over the code with unchecked reads from a zero-padded copy (ζ).
        let padded = UnsafeMutableRawPointer.allocate(byteCount: n + PaddedCodeReader.padding, alignment: 8)
        defer { padded.deallocate() }
        blob.code.withUnsafeBytes { if let p = $0.baseAddress { padded.copyMemory(from: p, byteCount: n) } }
        (padded + n).initializeMemory(as: UInt8.self, repeating: 0, count: PaddedCodeReader.padding)
        let reader = PaddedCodeReader(bytes: UnsafeRawPointer(padded))
        let bytes = UnsafeRawPointer(padded).assumingMemoryBound(to: UInt8.self)

        var list: [Instruction] = []
        list.reserveCapacity(n / 3 + 2)
        var index = [Int32](repeating: -1, count: n + 1)
        blob.bitmask.withUnsafeBufferPointer { mask in
            index.withUnsafeMutableBufferPointer { index in
                var pc = 0
                while pc < n && !mask[pc] { pc += 1 }
                while pc < n {
                    var next = pc + 1
                    while next < n && !mask[next] { next += 1 }
                    let skip = min(24, next - pc - 1)
                    index[pc] = Int32(list.count)
                    if let op = Opcode(rawValue: bytes[pc]) {
                        list.append(decodeOperands(op, at: pc, skip: skip, reader))
                    } else {
                        list.append(Instruction(opcode: .trap, rawOpcode: bytes[pc], isValid: false,
                                                pc: UInt32(pc), length: UInt32(1 + skip)))
                    }
                    let fall = pc + 1 + skip
                    if fall < next {
                        // skip was capped at 24 before the next set bit: execution lands on a byte
                        // that is not an instruction start, which executes as trap.
                        index[fall] = Int32(list.count)
                        list.append(Instruction(opcode: .trap, rawOpcode: bytes[fall], isValid: false,
                                                pc: UInt32(fall), length: UInt32(1 + min(24, next - fall - 1))))
                    }
                    pc = next
                }
                index[n] = Int32(list.count)
            }
        }
        list.append(Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: UInt32(n), length: 1))

        var starts = [Bool](repeating: false, count: list.count)
        if let first = list.first, first.pc == 0, first.isValid { starts[0] = true }
        for i in 0..<(list.count - 1) where list[i].isValid && list[i].opcode.isTerminator {
            if list[i + 1].isValid && list[i + 1].pc == list[i].nextPC { starts[i + 1] = true }
        }
        var cost = [UInt32](repeating: 1, count: list.count)
        for i in stride(from: list.count - 2, through: 0, by: -1) {
            let ins = list[i]
            if ins.isValid && !ins.opcode.isTerminator { cost[i] = cost[i + 1] &+ 1 }
        }
        func resolve(_ target: Int64) -> Int32 {
            guard target >= 0, target < Int64(n) else { return -1 }
            let i = index[Int(target)]
            return i >= 0 && starts[Int(i)] ? i : -1
        }
        var branches = [Int32](repeating: -1, count: list.count)
        for (i, ins) in list.enumerated() where ins.isValid {
            switch ins.opcode.form {
            case .offset, .regImmOffset, .regRegOffset: branches[i] = resolve(ins.target)
            default: break
            }
        }
        self.instructions = list
        self.blockCost = cost
        self.branchTarget = branches
        self.jumpTarget = blob.jumpTable.map { resolve(Int64($0)) }
        self.isBlockStart = starts
        self.indexOfPC = index
    }

    /// The instruction index at `pc`, or nil when `pc` is not the start of a listed instruction.
    public func index(ofPC pc: UInt32) -> Int? {
        guard Int(pc) < indexOfPC.count else { return nil }
        let i = indexOfPC[Int(pc)]
        return i >= 0 ? Int(i) : nil
    }

    /// Whether `pc` is a basic-block start (ϖ).
    public func isBlockStart(pc: UInt32) -> Bool {
        guard let i = index(ofPC: pc) else { return false }
        return isBlockStart[i]
    }
}
