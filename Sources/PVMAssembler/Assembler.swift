import PVM

/// The PVM text assembler (syntax: docs/assembly.md).
///
/// Assembly runs in three steps: `Parser` checks the syntax line by line and collects statements
/// and label definitions; `resolve` gives data labels their guest addresses, builds the jump
/// table and evaluates every immediate; `CodeSection.link()` lays the code out, choosing the
/// branch-offset widths, and encodes it.
public enum Assembler {
    /// Assembles a source text into a standard program (code, data sections, stack and heap sizes).
    public static func assemble(_ source: String) throws(AssemblyError) -> StandardProgram {
        var parser = Parser()
        try parser.parse(source)
        return try resolve(parser)
    }

    /// Assembles a source text and returns only its program blob (the code and jump table).
    /// Data directives are still allowed; their labels resolve as in `assemble(_:)`.
    public static func assembleBlob(_ source: String) throws(AssemblyError) -> ProgramBlob {
        try assemble(source).blob
    }

    static func resolve(_ p: Parser) throws(AssemblyError) -> StandardProgram {
        let roSize = p.dataSize[.readOnly]!
        let rwSize = p.dataSize[.readWrite]!
        guard roSize <= 0xFF_FFFF, rwSize <= 0xFF_FFFF,
              GuestMemoryLayout.fits(readOnly: UInt64(roSize), readWrite: UInt64(rwSize),
                                     heapPages: UInt64(p.heapPages), stack: UInt64(p.stackSize)) else {
            throw AssemblyError(p.lastSizeLocation, "the data sections, heap pages and stack do not fit the standard memory layout (each data section < 16 MiB, and 5·64 KiB + Q(ro) + Q(rw + heap) + Q(stack) + 16 MiB ≤ 4 GiB)")
        }
        let layout = GuestMemoryLayout(readOnlySize: UInt32(roSize), readWriteSize: UInt32(rwSize),
                                       extraHeapPages: p.heapPages, stackSize: p.stackSize)

        var section = CodeSection()
        var labelID: [String: Int] = [:]
        for statement in p.code {
            if case .label(let name, _) = statement { labelID[name] = section.newLabel(name) }
        }

        func codeLabel(_ name: String, _ loc: SourceLocation) throws(AssemblyError) -> Int {
            if let id = labelID[name] { return id }
            if p.labels[name] != nil {
                throw AssemblyError(loc, "'\(name)' is a data label: expected a code label")
            }
            throw AssemblyError(loc, "undefined label '\(name)'")
        }
        func target(_ o: LocatedOperand) throws(AssemblyError) -> CodeTarget {
            switch o.operand {
            case .absolute(let pc):
                guard pc >= Int128(Int64.min) && pc <= Int128(Int64.max) else {
                    throw AssemblyError(o.location, "@\(pc) out of range: expected a 64-bit pc")
                }
                return .absolute(Int64(pc))
            case .expression(let e):
                guard case .address(let name) = e.symbol else { break }
                return .label(try codeLabel(name, o.location))
            default: break
            }
            throw AssemblyError(o.location, "expected a label or @pc")
        }

        // Jump table: explicit entries, then one for each `&label` that has none, in order of use.
        var jumpIndex: [String: Int] = [:]
        for entry in p.jumpTable {
            let t = try target(entry)
            if case .expression(let e) = entry.operand, case .address(let name) = e.symbol, jumpIndex[name] == nil {
                jumpIndex[name] = section.jumpTable.count
            }
            section.jumpTable.append((t, entry.location))
        }
        for (name, loc) in p.jumpAddressUses where jumpIndex[name] == nil {
            jumpIndex[name] = section.jumpTable.count
            section.jumpTable.append((.label(try codeLabel(name, loc)), loc))
        }

        func evaluate(_ e: Expression, at loc: SourceLocation) throws(AssemblyError) -> Int128 {
            let symbolLoc = e.symbolLocation ?? loc
            switch e.symbol {
            case nil:
                return e.constant
            case .jumpAddress(let name):
                _ = try codeLabel(name, symbolLoc)
                return Int128(2 * (jumpIndex[name]! + 1)) + e.constant
            case .address(let name):
                guard let def = p.labels[name] else { throw AssemblyError(symbolLoc, "undefined label '\(name)'") }
                switch def.section {
                case .code:
                    throw AssemblyError(symbolLoc, "'\(name)' is a code label: write &\(name) for its jump address, or use it as a branch target")
                case .readOnly:
                    return Int128(GuestMemoryLayout.readOnlyStart) + Int128(def.offset) + e.constant
                case .readWrite:
                    return Int128(layout.heapBase) + Int128(def.offset) + e.constant
                }
            }
        }

        for statement in p.code {
            switch statement {
            case .label(let name, _):
                section.items.append(.label(labelID[name]!))
            case .bytes(let b, let marked):
                section.items.append(.bytes(b, marked: marked))
            case .instruction(let op, let operands, let widths, let loc):
                var regs: [UInt8] = []
                var imms: [UInt64] = []
                var branch: CodeTarget?
                for (o, kind) in zip(operands, op.form.operandKinds) {
                    switch (kind, o.operand) {
                    case (.register, .register(let r)):
                        regs.append(r)
                    case (.immediate, .expression(let e)):
                        let v = try evaluate(e, at: o.location)
                        guard let value = immediate32(v) else {
                            throw AssemblyError(o.location, "immediate \(v) out of range for '\(op.name)': expected a 32-bit value (−2^31 … 2^32−1, or a sign-extended 64-bit pattern)")
                        }
                        imms.append(value)
                    case (.immediate64, .expression(let e)):
                        let v = try evaluate(e, at: o.location)
                        guard let value = immediate64(v) else {
                            throw AssemblyError(o.location, "immediate \(v) out of range for '\(op.name)': expected a 64-bit value (−2^63 … 2^64−1)")
                        }
                        imms.append(value)
                    case (.target, _):
                        branch = try target(o)
                    default:
                        throw AssemblyError(o.location, "unexpected operand for '\(op.name)'")
                    }
                }
                let machine = MachineInstruction(opcode: op, registers: regs, immediates: imms)
                section.items.append(.instruction(PendingInstruction(machine: machine, target: branch,
                                                                     forcedWidths: widths, location: loc)))
            }
        }

        var sections: [Section: [UInt8]] = [:]
        for s in [Section.readOnly, .readWrite] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(p.dataSize[s]!)
            for item in p.data[s]! {
                switch item {
                case .bytes(let b):
                    bytes += b
                case .value(let width, let e, let loc):
                    let v = try evaluate(e, at: loc)
                    let bits = 8 * width
                    guard v >= -(Int128(1) << (bits - 1)) && v < (Int128(1) << bits) else {
                        throw AssemblyError(loc, "value \(v) out of range: expected a \(bits)-bit value (−2^\(bits - 1) … 2^\(bits)−1)")
                    }
                    for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
                }
            }
            sections[s] = bytes
        }

        let blob = try section.link()
        return StandardProgram(readOnlyData: sections[.readOnly]!, readWriteData: sections[.readWrite]!,
                               extraHeapPages: p.heapPages, stackSize: p.stackSize, blob: blob)
    }
}

/// A position in assembler source: 1-based line and column (columns count UTF-8 bytes).
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// An error found while assembling: where it is and what was expected there.
public struct AssemblyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based source line (0 when the error comes from a `ProgramBuilder` without source).
    public var line: Int
    /// The 1-based column of the offending token.
    public var column: Int
    /// What went wrong, naming what was expected.
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    init(_ location: SourceLocation?, _ message: String) {
        self.line = location?.line ?? 0
        self.column = location?.column ?? 0
        self.message = message
    }

    public var description: String { "\(line):\(column): error: \(message)" }
}
