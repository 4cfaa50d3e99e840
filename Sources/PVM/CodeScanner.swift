/// The sequential decoding of a program blob, one entry at a time, in pc order: every position
/// whose bitmask bit is set, plus a synthetic `trap` wherever sequential execution lands on a
/// position that is not an instruction start (after a skip capped at 24, or at the end of the
/// code). This is the single definition of the instruction list both engines use:
/// `DecodedProgram` stores what it yields for the interpreter, and the recompiler compiles it as
/// it goes, without storing it.
///
/// Reads come unchecked from a zero-padded copy of the code (ζ), and the bitmask, packed into
/// 64-bit words right after it, is tested 64 positions at a time.
public struct CodeScanner: ~Copyable {
    /// What `next(into:)` tells about the entry it produced.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The entry starts a basic block (a member of ϖ): a valid branch or jump target.
        @inlinable public static var blockStart: Flags { Flags(rawValue: 1) }
        /// The entry is the last of its block: a valid terminator, an invalid opcode, or a
        /// synthetic trap. A block's gas cost is the number of entries up to this one.
        @inlinable public static var endsBlock: Flags { Flags(rawValue: 2) }
        /// The entry is a valid terminator (so the next entry starts a block when it follows
        /// directly).
        @inlinable public static var terminator: Flags { Flags(rawValue: 4) }
        /// The entry is a branch or jump with a static target (`Instruction.target`).
        @inlinable public static var staticTarget: Flags { Flags(rawValue: 8) }
    }

    /// The number of code bytes.
    public let codeLength: Int
    /// Owns `padded` and `mask`.
    private let storage: PageBuffer
    private let padded: UnsafeMutableRawPointer
    /// The bitmask, bit p of word p / 64 for position p; zero past the code.
    private let mask: UnsafeMutablePointer<UInt64>
    private let maskWords: Int
    /// The next bitmask position to decode (≥ codeLength once the code is exhausted).
    private var pc = 0
    /// The set bitmask positions after `pc` in word `wordIndex` of the mask (`pc`'s word, or
    /// the last word searched), lowest first: taking the lowest, `following()`, is the scan's
    /// only step from one instruction to the next, a register operation or two rather than a
    /// load of the mask word that depends on the previous step's result.
    private var bits: UInt64 = 0
    private var wordIndex = 0
    /// A synthetic trap owed before the instruction at `pc`, or -1.
    private var pendingTrap = -1
    private var finished = false
    /// The number of entries produced so far (the index of the next one).
    public private(set) var count = 0
    private var previousEndsBlock = true
    private var previousNext = 0
    /// `descriptors`, fetched once.
    private let descriptorTable: UnsafePointer<UInt16>

    /// Per opcode byte: 0 for bytes that are not opcodes, else `valid | terminator? |
    /// staticTarget?` (the bits of `Flags` shifted left by one, bit 0 = valid) in the low byte
    /// and the `Opcode` value (its in-memory representation) in the high byte: one load tells
    /// both.
    nonisolated(unsafe) private static let descriptors: UnsafePointer<UInt16> = {
        let table = UnsafeMutablePointer<UInt16>.allocate(capacity: 256)
        for byte in 0..<256 {
            guard let op = Opcode(rawValue: UInt8(byte)) else { table[byte] = 0; continue }
            precondition(MemoryLayout<Opcode>.size == 1)
            var d = UInt16(unsafeBitCast(op, to: UInt8.self)) << 8 | 1
            if op.isTerminator {
                d |= UInt16(Flags.endsBlock.rawValue | Flags.terminator.rawValue) << 1
                if op.form == .offset || op.form == .regImmOffset || op.form == .regRegOffset {
                    d |= UInt16(Flags.staticTarget.rawValue) << 1
                }
            }
            table[byte] = d
        }
        return UnsafePointer(table)
    }()

    public init(_ blob: ProgramBlob) {
        let n = blob.code.count
        codeLength = n
        // The padded code and, after it, the packed bitmask, in one zero-filled buffer: the
        // padding needs no writes, and for code under about 1.8 MB the whole buffer is one
        // huge page.
        let maskOffset = (n + PaddedCodeReader.padding + 63) & ~63
        let words = (n + 63) / 64
        let storage = PageBuffer(byteCount: maskOffset + words * 8 + 8)
        let padded = storage.base
        blob.code.withUnsafeBytes { if let p = $0.baseAddress { padded.copyMemory(from: p, byteCount: n) } }
        let mask = (storage.base + maskOffset).bindMemory(to: UInt64.self, capacity: words + 1)
        blob.bitmask.withUnsafeBytes { bools in
            guard let b = bools.baseAddress else { return }
            // Eight Bools (bytes of 0 or 1) to eight bits: the multiply moves byte j's low bit
            // to bit 56 + j without carries (each bit lands at a distinct position).
            var p = 0
            while p + 8 <= n {
                let v = b.loadUnaligned(fromByteOffset: p, as: UInt64.self)
                let byte = (v &* 0x0102_0408_1020_4080) >> 56
                mask[p >> 6] |= byte << UInt64(p & 63)
                p += 8
            }
            while p < n {
                if b.load(fromByteOffset: p, as: UInt8.self) != 0 { mask[p >> 6] |= 1 << UInt64(p & 63) }
                p += 1
            }
        }
        self.storage = storage
        self.padded = padded
        self.mask = mask
        maskWords = words
        descriptorTable = CodeScanner.descriptors
        // The first instruction start is the lowest set bit of the whole mask.
        bits = words > 0 ? mask[0] : 0
        pc = n > 0 ? following() : 0
    }

    /// An upper bound on the number of entries (each real instruction with its synthetic trap
    /// spans at least 26 bytes, so there are at most `codeLength + 1`).
    public var maximumCount: Int { codeLength + 2 }

    /// The set bitmask position after the current one (codeLength if none), which it makes the
    /// current one; at the start, the first set position.
    @inline(__always)
    private mutating func following() -> Int {
        let b = bits
        if _fastPath(b != 0) {
            bits = b & (b &- 1)
            return wordIndex &<< 6 &+ b.trailingZeroBitCount
        }
        return followingInLaterWords()
    }

    @inline(never)
    private mutating func followingInLaterWords() -> Int {
        var w = wordIndex + 1
        while w < maskWords {
            let b = mask[w]
            if b != 0 {
                wordIndex = w
                bits = b & (b &- 1)
                return w << 6 + b.trailingZeroBitCount
            }
            w += 1
        }
        wordIndex = maskWords
        bits = 0
        return codeLength
    }

    /// Writes the next entry into `ins` and returns its flags, or returns nil after the final
    /// trap at pc = codeLength (always the last entry).
    public mutating func next(into ins: inout Instruction) -> Flags? {
        advance(into: &ins, decodingOperands: true)
    }

    /// As `next(into:)`, but leaves the operands (`a`, `b`, `d`, `immX`, `immY`) unset for the
    /// caller to decode with `operands`, whose form it knows once it has dispatched on the
    /// opcode: a consumer that switches on the opcode anyway (the recompiler) then dispatches
    /// once per instruction instead of twice (the form switch is an indirect branch that
    /// mispredicts on most instructions of real code).
    public mutating func nextUndecoded(into ins: inout Instruction) -> Flags? {
        advance(into: &ins, decodingOperands: false)
    }

    /// The operand decoder over this scanner's padded code, for `nextUndecoded(into:)`.
    public var operands: OperandDecoder { OperandDecoder(z: PaddedCodeReader(bytes: UnsafeRawPointer(padded))) }

    @inline(__always)
    private mutating func advance(into ins: inout Instruction, decodingOperands: Bool) -> Flags? {
        if pendingTrap >= 0 {
            let at = pendingTrap
            pendingTrap = -1
            ins = Instruction(opcode: .trap, rawOpcode: padded.load(fromByteOffset: at, as: UInt8.self), isValid: false,
                              pc: UInt32(at), length: UInt32(1 + min(24, pc - at - 1)))
            previousEndsBlock = false
            count += 1
            return .endsBlock
        }
        if pc >= codeLength {
            if finished { return nil }
            finished = true
            ins = Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: UInt32(codeLength), length: 1)
            count += 1
            return .endsBlock
        }
        let at = pc
        let next = following()
        let gap = next &- at &- 1
        let skip = gap < 24 ? gap : 24
        let byte = padded.load(fromByteOffset: at, as: UInt8.self)
        let entry = descriptorTable[Int(byte)]
        let kind = UInt8(truncatingIfNeeded: entry)
        let flags: Flags
        if kind != 0 {
            let op = unsafeBitCast(UInt8(truncatingIfNeeded: entry &>> 8), to: Opcode.self)
            ins = Instruction(opcode: op, rawOpcode: byte, isValid: true, pc: UInt32(at), length: UInt32(1 + skip))
            if decodingOperands {
                decodeOperands(op.form, at: at, skip: skip, PaddedCodeReader(bytes: UnsafeRawPointer(padded)), into: &ins)
            }
            let isStart = (count == 0 && at == 0) || (previousEndsBlock && previousNext == at && count > 0)
            flags = Flags(rawValue: kind >> 1 | (isStart ? Flags.blockStart.rawValue : 0))
            previousEndsBlock = kind & (Flags.terminator.rawValue << 1) != 0
        } else {
            ins = Instruction(opcode: .trap, rawOpcode: byte, isValid: false, pc: UInt32(at), length: UInt32(1 + skip))
            flags = .endsBlock
            previousEndsBlock = false
        }
        let fall = at &+ 1 &+ skip
        previousNext = fall
        if fall < next { pendingTrap = fall }
        pc = next
        count &+= 1
        return flags
    }
}

/// Decodes the operands of an instruction that `CodeScanner.nextUndecoded(into:)` produced,
/// given its form (`Opcode.form`). Inlined into the caller, a constant form folds away the
/// decoder's own switch.
public struct OperandDecoder {
    @usableFromInline let z: PaddedCodeReader

    @inlinable @inline(__always)
    init(z: PaddedCodeReader) { self.z = z }

    /// Fills `ins`'s operands; `form` must be `ins.opcode.form` (and `ins` a valid instruction).
    /// Transparent, so that it is inlined even into a caller past the optimizer's inlining
    /// size limits (the recompiler's one big switch).
    @_transparent
    public func decode(_ form: OperandForm, into ins: inout Instruction) {
        decodeOperands(form, at: Int(ins.pc), skip: Int(ins.skipPlusOne) &- 1, z, into: &ins)
    }
}
