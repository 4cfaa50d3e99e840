import PVM

/// Builds a program blob from Swift, for tests and random-program generators.
///
/// ```swift
/// var b = ProgramBuilder()
/// let loop = b.makeLabel()
/// b.emit(.load_imm, .r1, 10)
/// b.bind(loop)
/// b.emit(.add_imm_64, .r1, .r1, -1)
/// b.emit(.branch_ne_imm, .r1, 0, .label(loop))
/// b.emit(.jump_ind, .ra, 0)
/// let blob = b.build()
/// ```
///
/// Operands are given in the assembler's source order (destination first). Passing operands of
/// the wrong kind or number, or a register above 12, is a programming error and traps; so does
/// `build()` when a label is used but never bound. `buildChecked()` reports layout errors instead.
public struct ProgramBuilder: Sendable {
    /// A code position, bound with `bind(_:)`.
    public struct Label: Hashable, Sendable {
        let id: Int
    }

    /// One operand of `emit`.
    public enum Operand: Sendable, Equatable, ExpressibleByIntegerLiteral {
        /// A register, 0…12.
        case reg(UInt8)
        /// An immediate. For the ≤32-bit fields, values 2^31…2^32−1 are taken as their 32-bit
        /// two's-complement pattern; anything else must be a sign-extended 32-bit value.
        case imm(UInt64)
        /// A branch target: a label.
        case label(Label)
        /// A branch target: an absolute pc, which may be anywhere (even outside the code).
        case pc(Int64)
        /// An immediate: the dynamic jump address 2·(i+1) of the label's jump-table entry i,
        /// adding an entry at the end of the table if the label has none yet.
        case jumpAddress(Label)

        public init(integerLiteral value: Int64) { self = .imm(UInt64(bitPattern: value)) }

        /// A register by index.
        public static func r(_ i: Int) -> Operand { .reg(UInt8(i)) }
        public static let r0 = Operand.reg(0), r1 = Operand.reg(1), r2 = Operand.reg(2), r3 = Operand.reg(3)
        public static let r4 = Operand.reg(4), r5 = Operand.reg(5), r6 = Operand.reg(6), r7 = Operand.reg(7)
        public static let r8 = Operand.reg(8), r9 = Operand.reg(9), r10 = Operand.reg(10)
        public static let r11 = Operand.reg(11), r12 = Operand.reg(12)
        public static let ra = r0, sp = r1, t0 = r2, t1 = r3, t2 = r4, s0 = r5, s1 = r6
        public static let a0 = r7, a1 = r8, a2 = r9, a3 = r10, a4 = r11, a5 = r12
    }

    var section = CodeSection()
    var jumpIndex: [Int: Int] = [:]

    public init() {}

    /// Creates a label, not yet bound to a position.
    public mutating func makeLabel(_ name: String? = nil) -> Label {
        Label(id: section.newLabel(name ?? "L\(section.labelNames.count)"))
    }

    /// Binds `label` to the current position (the pc of whatever is emitted next).
    public mutating func bind(_ label: Label) {
        section.items.append(.label(label.id))
    }

    /// Creates a label bound to the current position.
    public mutating func label(_ name: String? = nil) -> Label {
        let l = makeLabel(name)
        bind(l)
        return l
    }

    /// Appends an instruction. `widths` optionally forces the byte width (0…4) of each
    /// variable-length field (immediates and offsets, in encoding order; nil = minimal).
    public mutating func emit(_ op: Opcode, _ operands: Operand..., widths: [Int?] = []) {
        emit(op, operands: operands, widths: widths)
    }

    /// Appends an instruction (array form of `emit(_:_:widths:)`).
    public mutating func emit(_ op: Opcode, operands: [Operand], widths: [Int?] = []) {
        let kinds = op.form.operandKinds
        precondition(operands.count == kinds.count,
                     "\(op.name) takes \(kinds.count) operands (\(op.form.operandSyntax)), got \(operands.count)")
        let fields = op.form.variableFields
        precondition(widths.isEmpty || widths.count == fields.count,
                     "\(op.name) has \(fields.count) variable-length fields, got \(widths.count) widths")
        precondition(widths.allSatisfy { $0 == nil || (0...4).contains($0!) }, "widths must be 0…4")
        var regs: [UInt8] = []
        var imms: [UInt64] = []
        var target: CodeTarget?
        for (operand, kind) in zip(operands, kinds) {
            switch (kind, operand) {
            case (.register, .reg(let r)):
                precondition(r <= 12, "register r\(r) out of range (r0…r12)")
                regs.append(r)
            case (.immediate, .imm(let v)):
                guard let value = immediate32(Int128(v)) else {
                    preconditionFailure("\(op.name): immediate 0x\(String(v, radix: 16)) is not a 32-bit value")
                }
                imms.append(value)
            case (.immediate, .jumpAddress(let l)), (.immediate64, .jumpAddress(let l)):
                imms.append(jumpAddress(of: l))
            case (.immediate64, .imm(let v)):
                imms.append(v)
            case (.target, .label(let l)):
                target = .label(l.id)
            case (.target, .pc(let pc)):
                target = .absolute(pc)
            default:
                preconditionFailure("\(op.name) \(op.form.operandSyntax): operand \(operand) is not a \(kind)")
            }
        }
        let machine = MachineInstruction(opcode: op, registers: regs, immediates: imms)
        let forced = widths.isEmpty ? [Int?](repeating: nil, count: fields.count) : widths
        section.items.append(.instruction(PendingInstruction(machine: machine, target: target,
                                                             forcedWidths: forced, location: nil)))
    }

    /// Appends raw bytes as one instruction: the bitmask bit is set on the first byte only.
    public mutating func rawInstruction(_ bytes: [UInt8]) {
        section.items.append(.bytes(bytes, marked: true))
    }

    /// Appends raw bytes with no bitmask bits set.
    public mutating func rawBytes(_ bytes: [UInt8]) {
        section.items.append(.bytes(bytes, marked: false))
    }

    /// Appends a jump-table entry for `label` and returns its dynamic jump address 2·(i+1).
    @discardableResult
    public mutating func addJumpTableEntry(_ label: Label) -> UInt64 {
        section.jumpTable.append((.label(label.id), nil))
        if jumpIndex[label.id] == nil { jumpIndex[label.id] = section.jumpTable.count - 1 }
        return UInt64(2 * section.jumpTable.count)
    }

    /// Appends a jump-table entry holding an arbitrary pc and returns its dynamic jump address.
    @discardableResult
    public mutating func addJumpTableEntry(pc: UInt32) -> UInt64 {
        section.jumpTable.append((.absolute(Int64(pc)), nil))
        return UInt64(2 * section.jumpTable.count)
    }

    /// The dynamic jump address of the label's first jump-table entry, adding one if needed.
    public mutating func jumpAddress(of label: Label) -> UInt64 {
        if let i = jumpIndex[label.id] { return UInt64(2 * (i + 1)) }
        return addJumpTableEntry(label)
    }

    /// Lays out and encodes the program; traps on an unbound label or an offset that does not
    /// fit (see `buildChecked()`).
    public func build() -> ProgramBlob {
        do {
            return try section.link()
        } catch {
            preconditionFailure("ProgramBuilder: \(error.message)")
        }
    }

    /// Lays out and encodes the program, reporting errors (line and column are 0).
    public func buildChecked() throws(AssemblyError) -> ProgramBlob {
        try section.link()
    }
}
