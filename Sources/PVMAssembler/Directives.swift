/// The directives of the assembler (see docs/assembly.md).
extension Parser {
    mutating func directive(_ name: String, _ args: [LocatedOperand], at loc: SourceLocation) throws(AssemblyError) {
        if let (_, wloc) = pendingWidths {
            throw AssemblyError(wloc, ".imm_width must be followed by an instruction, found '\(name)' on line \(loc.line)")
        }
        func count(_ n: Int) throws(AssemblyError) {
            guard args.count == n else {
                let at = args.count > n ? args[n].location : loc
                throw AssemblyError(at, "'\(name)' expects \(n == 0 ? "no operands" : "\(n) operand\(n == 1 ? "" : "s")"), found \(args.count)")
            }
        }
        func atLeastOne() throws(AssemblyError) {
            guard !args.isEmpty else { throw AssemblyError(loc, "'\(name)' expects at least one operand") }
        }
        func inData() throws(AssemblyError) {
            guard section != .code else {
                throw AssemblyError(loc, "'\(name)' outside a data section: expected .ro_data or .rw_data first (use .raw_bytes for bytes in code)")
            }
        }
        func inCode() throws(AssemblyError) {
            guard section == .code else {
                throw AssemblyError(loc, "'\(name)' in a data section: expected .code first")
            }
        }
        switch name {
        case ".code", ".ro_data", ".rw_data":
            try count(0)
            section = name == ".code" ? .code : name == ".ro_data" ? .readOnly : .readWrite
        case ".stack_size":
            try count(1)
            stackSize = UInt32(try Self.constant(args[0], in: 0...0xFF_FFFF, what: "a stack size of 0 … 2^24−1 bytes"))
            lastSizeLocation = loc
        case ".heap_pages":
            try count(1)
            heapPages = UInt32(try Self.constant(args[0], in: 0...0xFFFF, what: "a page count of 0 … 65535"))
            lastSizeLocation = loc
        case ".byte", ".u8", ".u16", ".u32", ".u64":
            try inData()
            try atLeastOne()
            let width = name == ".u16" ? 2 : name == ".u32" ? 4 : name == ".u64" ? 8 : 1
            for a in args {
                guard case .expression(let e) = a.operand else {
                    throw AssemblyError(a.location, "expected a number or label for '\(name)'")
                }
                if case .jumpAddress(let label) = e.symbol { jumpAddressUses.append((label, e.symbolLocation ?? a.location)) }
                appendData(.value(width: width, e, a.location), size: width, at: loc)
            }
        case ".ascii":
            try inData()
            try atLeastOne()
            for a in args {
                guard case .string(let s) = a.operand else {
                    throw AssemblyError(a.location, "expected a string in double quotes for '.ascii'")
                }
                appendData(.bytes(s), size: s.count, at: loc)
            }
        case ".zero":
            try inData()
            try count(1)
            let n = Int(try Self.constant(args[0], in: 0...0xFF_FFFF, what: "a byte count of 0 … 2^24−1"))
            appendData(.bytes([UInt8](repeating: 0, count: n)), size: n, at: loc)
        case ".align":
            try inData()
            try count(1)
            let n = Int(try Self.constant(args[0], in: 1...4096, what: "an alignment of 1 … 4096"))
            let size = dataSize[section]!
            let pad = (n - size % n) % n
            appendData(.bytes([UInt8](repeating: 0, count: pad)), size: pad, at: loc)
        case ".jump_table":
            try inCode()
            try atLeastOne()
            for a in args {
                switch a.operand {
                case .absolute:
                    jumpTable.append(a)
                case .expression(let e):
                    guard case .address = e.symbol, e.constant == 0 else {
                        throw AssemblyError(a.location, "expected a code label or @pc for a jump-table entry")
                    }
                    jumpTable.append(a)
                default:
                    throw AssemblyError(a.location, "expected a code label or @pc for a jump-table entry")
                }
            }
        case ".raw_instruction", ".raw_bytes":
            try inCode()
            try atLeastOne()
            var bytes: [UInt8] = []
            for a in args { bytes.append(UInt8(try Self.constant(a, in: 0...255, what: "a byte value 0 … 255"))) }
            code.append(.bytes(bytes, marked: name == ".raw_instruction"))
        case ".imm_width":
            try inCode()
            try atLeastOne()
            guard args.count <= 2 else { throw AssemblyError(args[2].location, "'.imm_width' expects 1 or 2 widths") }
            var widths: [Int?] = []
            for a in args {
                if a.operand == .star { widths.append(nil); continue }
                widths.append(Int(try Self.constant(a, in: 0...4, what: "a width of 0 … 4 bytes, or *")))
            }
            pendingWidths = (widths, loc)
        default:
            throw AssemblyError(loc, "unknown directive '\(name)': expected one of .code, .ro_data, .rw_data, .stack_size, .heap_pages, .byte, .u16, .u32, .u64, .ascii, .zero, .align, .jump_table, .raw_instruction, .raw_bytes, .imm_width")
        }
    }

    private mutating func appendData(_ item: DataItem, size: Int, at loc: SourceLocation) {
        data[section]!.append(item)
        dataSize[section]! += size
        lastSizeLocation = loc
    }

    /// A plain number operand within `range`.
    static func constant(_ a: LocatedOperand, in range: ClosedRange<Int128>, what: String) throws(AssemblyError) -> Int128 {
        guard case .expression(let e) = a.operand, e.symbol == nil else {
            throw AssemblyError(a.location, "expected a number: \(what)")
        }
        guard range.contains(e.constant) else {
            throw AssemblyError(a.location, "value \(e.constant) out of range: expected \(what)")
        }
        return e.constant
    }
}
