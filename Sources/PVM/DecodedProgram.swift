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
        var scanner = CodeScanner(blob)
        let capacity = scanner.maximumCount
        let starts = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
        let cost = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer { starts.deallocate(); cost.deallocate() }
        var index = [Int32](repeating: -1, count: n + 1)
        var branchSites: [(entry: Int32, target: Int64)] = []
        let list = [Instruction](unsafeUninitializedCapacity: capacity) { list, count in
            var blockBegin = 0
            var ins = Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: 0, length: 1)
            index.withUnsafeMutableBufferPointer { index in
                while let flags = scanner.next(into: &ins) {
                    list.baseAddress!.advanced(by: count).initialize(to: ins)
                    index[Int(ins.pc)] = Int32(count)
                    starts[count] = flags.contains(.blockStart)
                    if flags.contains(.staticTarget) { branchSites.append((Int32(count), ins.target)) }
                    if flags.contains(.endsBlock) {
                        var j = blockBegin
                        while j <= count { cost[j] = UInt32(truncatingIfNeeded: count - j + 1); j += 1 }
                        blockBegin = count + 1
                    }
                    count += 1
                }
            }
        }

        let isStart = Array(UnsafeBufferPointer(start: starts, count: list.count))
        func resolve(_ target: Int64) -> Int32 {
            guard target >= 0, target < Int64(n) else { return -1 }
            let i = index[Int(target)]
            return i >= 0 && isStart[Int(i)] ? i : -1
        }
        var branches = [Int32](repeating: -1, count: list.count)
        for site in branchSites { branches[Int(site.entry)] = resolve(site.target) }
        self.instructions = list
        self.blockCost = Array(UnsafeBufferPointer(start: cost, count: list.count))
        self.branchTarget = branches
        self.jumpTarget = blob.jumpTable.map { resolve(Int64($0)) }
        self.isBlockStart = isStart
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
