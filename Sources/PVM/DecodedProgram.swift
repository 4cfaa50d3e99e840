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
        // One forward pass over the code, with unchecked reads from a zero-padded copy (ζ), that
        // produces the instruction list, ϖ and the block costs together. Only branch targets need
        // a second look, once every instruction index is known.
        let padded = UnsafeMutableRawPointer.allocate(byteCount: n + PaddedCodeReader.padding, alignment: 8)
        defer { padded.deallocate() }
        blob.code.withUnsafeBytes { if let p = $0.baseAddress { padded.copyMemory(from: p, byteCount: n) } }
        (padded + n).initializeMemory(as: UInt8.self, repeating: 0, count: PaddedCodeReader.padding)
        let reader = PaddedCodeReader(bytes: UnsafeRawPointer(padded))
        let bytes = UnsafeRawPointer(padded).assumingMemoryBound(to: UInt8.self)

        let capacity = n + 2
        let starts = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
        let cost = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer { starts.deallocate(); cost.deallocate() }
        var index = [Int32](repeating: -1, count: n + 1)
        var branchSites: [(entry: Int32, target: Int64)] = []
        let table = Opcode.table

        let list = [Instruction](unsafeUninitializedCapacity: capacity) { list, count in
            var blockBegin = 0
            var previousEndsBlock = true       // a valid terminator came just before (or nothing did)
            var previousNext = 0
            /// Appends an entry and closes its block if it ends one.
            @inline(__always) func add(_ ins: Instruction, _ endsBlock: Bool, _ isStart: Bool) {
                list.baseAddress!.advanced(by: count).initialize(to: ins)
                close(endsBlock, isStart)
            }
            /// Records the entry just written at `count`.
            @inline(__always) func close(_ endsBlock: Bool, _ isStart: Bool) {
                starts[count] = isStart
                if endsBlock {
                    var j = blockBegin
                    while j <= count { cost[j] = UInt32(truncatingIfNeeded: count - j + 1); j += 1 }
                    blockBegin = count + 1
                }
                count += 1
            }
            blob.bitmask.withUnsafeBufferPointer { mask in
                index.withUnsafeMutableBufferPointer { index in
                    table.withUnsafeBufferPointer { table in
                        /// The first set bitmask position at or after `from` (n if none). Bools are
                        /// bytes of 0 or 1: eight are tested at once.
                        @inline(__always) func nextSet(_ from: Int) -> Int {
                            var p = from
                            let base = UnsafeRawPointer(mask.baseAddress!)
                            while p + 8 <= n {
                                let word = base.loadUnaligned(fromByteOffset: p, as: UInt64.self)
                                if word != 0 { return p + word.trailingZeroBitCount / 8 }
                                p += 8
                            }
                            while p < n && !mask[p] { p += 1 }
                            return p
                        }
                        var pc = n > 0 ? nextSet(0) : 0
                        while pc < n {
                            let next = nextSet(pc + 1)
                            let skip = min(24, next - pc - 1)
                            index[pc] = Int32(count)
                            if let op = table[Int(bytes[pc])] {
                                let slot = list.baseAddress!.advanced(by: count)
                                slot.initialize(to: Instruction(opcode: op, rawOpcode: op.rawValue, isValid: true,
                                                                pc: UInt32(pc), length: UInt32(1 + skip)))
                                decodeOperands(op, at: pc, skip: skip, reader, into: &slot.pointee)
                                let terminator = op.isTerminator
                                let isStart = (count == 0 && pc == 0) || (previousEndsBlock && previousNext == pc && count > 0)
                                if terminator, op.form == .offset || op.form == .regImmOffset || op.form == .regRegOffset {
                                    branchSites.append((Int32(count), slot.pointee.target))
                                }
                                close(terminator, isStart)
                                previousEndsBlock = terminator
                            } else {
                                add(Instruction(opcode: .trap, rawOpcode: bytes[pc], isValid: false,
                                                pc: UInt32(pc), length: UInt32(1 + skip)), true, false)
                                previousEndsBlock = false
                            }
                            let fall = pc + 1 + skip
                            previousNext = fall
                            if fall < next {
                                // skip was capped at 24 before the next set bit: execution lands on
                                // a byte that is not an instruction start, which executes as trap.
                                index[fall] = Int32(count)
                                add(Instruction(opcode: .trap, rawOpcode: bytes[fall], isValid: false,
                                                pc: UInt32(fall), length: UInt32(1 + min(24, next - fall - 1))), true, false)
                                previousEndsBlock = false
                            }
                            pc = next
                        }
                        index[n] = Int32(count)
                    }
                }
            }
            add(Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: UInt32(n), length: 1), true, false)
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
