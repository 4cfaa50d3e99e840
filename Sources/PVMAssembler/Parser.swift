import PVM

/// An immediate expression: an optional symbol plus a constant, e.g. `msg + 4`, `&handler`, `-1`.
struct Expression: Sendable, Equatable {
    enum Symbol: Sendable, Equatable {
        /// A data label: its guest address.
        case address(String)
        /// `&label`: the dynamic jump address of a code label's jump-table entry.
        case jumpAddress(String)
    }

    var symbol: Symbol?
    var symbolLocation: SourceLocation?
    var constant: Int128 = 0
}

/// One operand as written, before its kind is checked against the instruction form.
enum SourceOperand: Sendable, Equatable {
    case register(UInt8)
    case expression(Expression)
    /// `@pc`: an absolute code position.
    case absolute(Int128)
    /// `*` (in `.imm_width`: the minimal width).
    case star
    case string([UInt8])
}

struct LocatedOperand: Sendable {
    var operand: SourceOperand
    var location: SourceLocation
}

/// The sections of a source file.
enum Section: Sendable, Equatable {
    case code, readOnly, readWrite

    var directive: String {
        switch self {
        case .code: return ".code"
        case .readOnly: return ".ro_data"
        case .readWrite: return ".rw_data"
        }
    }
}

/// A statement of the code section, names unresolved.
enum CodeStatement: Sendable {
    case label(String, SourceLocation)
    case instruction(Opcode, [LocatedOperand], widths: [Int?], SourceLocation)
    case bytes([UInt8], marked: Bool)
}

/// One piece of a data section.
enum DataItem: Sendable {
    case bytes([UInt8])
    /// A little-endian value of `width` bytes, computed once labels are known.
    case value(width: Int, Expression, SourceLocation)
}

/// Where a label was defined.
struct LabelDefinition: Sendable {
    var section: Section
    /// Byte offset within its data section (unused for code labels).
    var offset: Int
    var location: SourceLocation
}

/// The first pass over the source: checks syntax and operand shapes, and collects statements,
/// data and label definitions. Names are resolved by `Assembler` afterwards.
struct Parser {
    var code: [CodeStatement] = []
    var data: [Section: [DataItem]] = [.readOnly: [], .readWrite: []]
    var dataSize: [Section: Int] = [.readOnly: 0, .readWrite: 0]
    var labels: [String: LabelDefinition] = [:]
    /// Explicit `.jump_table` entries, in order.
    var jumpTable: [LocatedOperand] = []
    /// Code labels used as `&label`, in order of first use.
    var jumpAddressUses: [(String, SourceLocation)] = []
    var stackSize: UInt32 = 0
    var heapPages: UInt32 = 0
    /// Where the size-determining directives were, for layout errors.
    var lastSizeLocation = SourceLocation(line: 1, column: 1)

    var section: Section = .code
    var pendingWidths: ([Int?], SourceLocation)?

    /// Parses a whole source text.
    mutating func parse(_ source: String) throws(AssemblyError) {
        var number = 0
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            try parseLine(try Lexer.tokenize(line, number: number))
        }
        if let (_, loc) = pendingWidths {
            throw AssemblyError(loc, ".imm_width must be followed by an instruction")
        }
    }

    private mutating func parseLine(_ tokens: [Token]) throws(AssemblyError) {
        var rest = tokens[...]
        // Labels: `name:` (several may precede a statement).
        while rest.count >= 2, case .identifier(let name) = rest.first!.kind,
              rest[rest.startIndex + 1].kind == .punctuation(":") {
            try defineLabel(name, at: rest.first!.location)
            rest = rest.dropFirst(2)
        }
        guard let head = rest.first else { return }
        let operands = try Self.splitOperands(rest.dropFirst(), after: head)
        switch head.kind {
        case .directive(let name):
            try directive(name, operands, at: head.location)
        case .identifier(let name):
            guard let op = Opcode(name: name) else {
                throw AssemblyError(head.location, "unknown mnemonic '\(name)': expected an instruction name (e.g. add_64, load_imm) or a directive")
            }
            try instruction(op, operands, at: head.location)
        default:
            throw AssemblyError(head.location, "expected a label, an instruction or a directive, found \(head.quoted)")
        }
    }

    private mutating func defineLabel(_ name: String, at loc: SourceLocation) throws(AssemblyError) {
        if RegisterName.parse(name) != nil {
            throw AssemblyError(loc, "'\(name)' is a register name: expected a label name")
        }
        if let previous = labels[name] {
            throw AssemblyError(loc, "duplicate label '\(name)' (first defined at line \(previous.location.line))")
        }
        labels[name] = LabelDefinition(section: section, offset: dataSize[section] ?? 0, location: loc)
        if section == .code { code.append(.label(name, loc)) }
    }

    private mutating func instruction(_ op: Opcode, _ operands: [LocatedOperand], at loc: SourceLocation) throws(AssemblyError) {
        guard section == .code else {
            throw AssemblyError(loc, "instruction '\(op.name)' in a data section: expected data directives, or .code before instructions")
        }
        let kinds = op.form.operandKinds
        guard operands.count == kinds.count else {
            let syntax = kinds.isEmpty ? "no operands" : "\(kinds.count) operand\(kinds.count == 1 ? "" : "s") (\(op.form.operandSyntax))"
            let at = operands.count > kinds.count ? operands[kinds.count].location : loc
            throw AssemblyError(at, "'\(op.name)' expects \(syntax), found \(operands.count)")
        }
        let names = op.form.operandSyntax.split(separator: ",").map { $0.trimmingSpaces }
        for (i, (operand, kind)) in zip(operands, kinds).enumerated() {
            try Self.check(operand, is: kind, role: names[i], of: op)
            if case .expression(let e) = operand.operand, case .jumpAddress(let name) = e.symbol {
                jumpAddressUses.append((name, e.symbolLocation ?? operand.location))
            }
        }
        var widths = [Int?](repeating: nil, count: op.form.variableFields.count)
        if let (forced, wloc) = pendingWidths {
            guard forced.count <= widths.count else {
                throw AssemblyError(wloc, ".imm_width gives \(forced.count) widths but '\(op.name)' has \(widths.count) variable-length field\(widths.count == 1 ? "" : "s")")
            }
            for (i, w) in forced.enumerated() { widths[i] = w }
            pendingWidths = nil
        }
        code.append(.instruction(op, operands, widths: widths, loc))
    }

    /// Checks that an operand has the shape its position needs.
    private static func check(_ o: LocatedOperand, is kind: OperandKind, role: String, of op: Opcode) throws(AssemblyError) {
        let context = "operand \(role) of '\(op.name) \(op.form.operandSyntax)'"
        switch (kind, o.operand) {
        case (.register, .register), (.immediate, .expression), (.immediate64, .expression), (.target, .absolute):
            return
        case (.target, .expression(let e)):
            if case .address = e.symbol, e.constant == 0 { return }
            throw AssemblyError(o.location, "expected a label or @pc for \(context)")
        case (.register, .expression(let e)):
            if case .address(let name) = e.symbol, RegisterName.looksLikeRegister(name) {
                throw AssemblyError(o.location, "bad register '\(name)': expected r0…r12 or ra, sp, t0…t2, s0, s1, a0…a5")
            }
            throw AssemblyError(o.location, "expected a register (r0…r12 or an alias) for \(context)")
        case (.register, _):
            throw AssemblyError(o.location, "expected a register (r0…r12 or an alias) for \(context)")
        case (.immediate, _), (.immediate64, _):
            throw AssemblyError(o.location, "expected an immediate (number, data label or &label) for \(context)")
        case (.target, _):
            throw AssemblyError(o.location, "expected a label or @pc for \(context)")
        }
    }

    // MARK: Operands

    /// Splits the tokens after a mnemonic or directive at commas and parses each operand.
    static func splitOperands(_ tokens: ArraySlice<Token>, after head: Token) throws(AssemblyError) -> [LocatedOperand] {
        guard !tokens.isEmpty else { return [] }
        var result: [LocatedOperand] = []
        var group: [Token] = []
        var previous = head
        for t in tokens {
            if t.kind == .punctuation(",") {
                guard !group.isEmpty else { throw AssemblyError(t.location, "expected an operand before ','") }
                result.append(try operand(group))
                group = []
            } else {
                group.append(t)
            }
            previous = t
        }
        guard !group.isEmpty else {
            throw AssemblyError(SourceLocation(line: previous.location.line, column: previous.location.column + 1),
                                "expected an operand after ','")
        }
        result.append(try operand(group))
        return result
    }

    /// Parses one operand: a register, `@pc`, `*`, a string, or an expression
    /// `[-]number | name | &name` followed by any number of `+ number` / `- number`.
    static func operand(_ t: [Token]) throws(AssemblyError) -> LocatedOperand {
        let loc = t[0].location
        if t.count == 1 {
            switch t[0].kind {
            case .identifier(let name):
                if let r = RegisterName.parse(name) { return LocatedOperand(operand: .register(r), location: loc) }
            case .punctuation("*"): return LocatedOperand(operand: .star, location: loc)
            case .string(let s): return LocatedOperand(operand: .string(s), location: loc)
            default: break
            }
        }
        var i = 0
        func signedNumber() throws(AssemblyError) -> Int128 {
            var negative = false
            if i < t.count, t[i].kind == .punctuation("-") || t[i].kind == .punctuation("+") {
                negative = t[i].kind == .punctuation("-")
                i += 1
            }
            guard i < t.count, case .number(let n) = t[i].kind else {
                throw AssemblyError(i < t.count ? t[i].location : t[t.count - 1].location, "expected a number\(i < t.count ? ", found \(t[i].quoted)" : "")")
            }
            i += 1
            return negative ? -Int128(n) : Int128(n)
        }
        if t[0].kind == .punctuation("@") {
            i = 1
            let pc = try signedNumber()
            guard i == t.count else { throw AssemblyError(t[i].location, "expected ',' or end of line after @pc, found \(t[i].quoted)") }
            return LocatedOperand(operand: .absolute(pc), location: loc)
        }
        var e = Expression()
        switch t[0].kind {
        case .identifier(let name):
            if RegisterName.parse(name) != nil {
                throw AssemblyError(loc, "register '\(name)' in an expression: expected a number or label")
            }
            e.symbol = .address(name)
            e.symbolLocation = loc
            i = 1
        case .punctuation("&"):
            guard t.count > 1, case .identifier(let name) = t[1].kind else {
                throw AssemblyError(t.count > 1 ? t[1].location : loc, "expected a code label after '&'")
            }
            e.symbol = .jumpAddress(name)
            e.symbolLocation = t[1].location
            i = 2
        default:
            e.constant = try signedNumber()
        }
        while i < t.count {
            guard t[i].kind == .punctuation("+") || t[i].kind == .punctuation("-") else {
                throw AssemblyError(t[i].location, "expected ',', '+', '-' or end of line, found \(t[i].quoted)")
            }
            e.constant += try signedNumber()
        }
        return LocatedOperand(operand: .expression(e), location: loc)
    }
}

extension Substring {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
