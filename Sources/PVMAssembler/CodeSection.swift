import PVM

/// Where a branch or a jump-table entry points.
enum CodeTarget: Sendable, Equatable {
    /// A label, by index into `CodeSection.labelNames`.
    case label(Int)
    /// An absolute pc, possibly outside the code (hostile programs).
    case absolute(Int64)
}

/// An instruction waiting for layout: its operands are known except the branch offset.
struct PendingInstruction: Sendable {
    var machine: MachineInstruction
    var target: CodeTarget?
    /// One entry per variable-length field: a forced width (`.imm_width`) or nil for minimal.
    var forcedWidths: [Int?]
    var location: SourceLocation?
}

/// One element of the code section, in order.
enum CodeItem: Sendable {
    case instruction(PendingInstruction)
    /// Raw bytes; `marked` sets the bitmask bit of the first byte (`.raw_instruction`).
    case bytes([UInt8], marked: Bool)
    /// Binds a label to the current position.
    case label(Int)
}

/// The code of a program before layout: instructions, raw bytes, labels and jump-table entries.
/// `link()` chooses the branch-offset widths and produces the blob.
///
/// Layout: every offset starts at 0 bytes and only grows, to the minimal width of its current
/// offset, until nothing changes. Growing an instruction can only lengthen the distance a
/// branch spans, so widths never need to shrink; the loop ends after at most 4 growths per
/// branch, and every offset ends at the minimal width for its final value.
struct CodeSection: Sendable {
    var items: [CodeItem] = []
    var labelNames: [String] = []
    var jumpTable: [(target: CodeTarget, location: SourceLocation?)] = []

    mutating func newLabel(_ name: String) -> Int {
        labelNames.append(name)
        return labelNames.count - 1
    }

    /// Lays the code out and encodes it.
    func link() throws(AssemblyError) -> ProgramBlob {
        // Widths of every instruction's variable-length fields, indexed like `items`.
        var widths = [[Int]](repeating: [], count: items.count)
        for (k, item) in items.enumerated() {
            guard case .instruction(let ins) = item else { continue }
            let fields = ins.machine.opcode.form.variableFields
            var w: [Int] = []
            for (i, field) in fields.enumerated() {
                if let forced = ins.forcedWidths[i] {
                    if field != .offset && !fits(ins.machine.value(of: field), width: forced) {
                        throw AssemblyError(ins.location, "immediate \(formatImmediate(ins.machine.value(of: field))) does not fit in the \(forced) bytes set by .imm_width")
                    }
                    w.append(forced)
                } else if field == .offset {
                    w.append(0)
                } else {
                    guard let m = minimalWidth(ins.machine.value(of: field)) else {
                        throw AssemblyError(ins.location, "immediate \(formatImmediate(ins.machine.value(of: field))) is not a sign-extended 32-bit value")
                    }
                    w.append(m)
                }
            }
            widths[k] = w
        }

        var pcs = [Int](repeating: 0, count: items.count)
        var labelPC = [Int?](repeating: nil, count: labelNames.count)
        var codeSize = 0
        func resolve(_ t: CodeTarget, _ loc: SourceLocation?) throws(AssemblyError) -> Int64 {
            switch t {
            case .absolute(let pc): return pc
            case .label(let id):
                guard let pc = labelPC[id] else { throw AssemblyError(loc, "undefined label '\(labelNames[id])'") }
                return Int64(pc)
            }
        }
        while true {
            var pc = 0
            for (k, item) in items.enumerated() {
                pcs[k] = pc
                switch item {
                case .label(let id): labelPC[id] = pc
                case .bytes(let b, _): pc += b.count
                case .instruction(let ins): pc += ins.machine.size(widths: widths[k])
                }
            }
            codeSize = pc
            var changed = false
            for (k, item) in items.enumerated() {
                guard case .instruction(let ins) = item, let target = ins.target else { continue }
                let fields = ins.machine.opcode.form.variableFields
                guard let i = fields.firstIndex(of: .offset), ins.forcedWidths[i] == nil else { continue }
                let offset = try resolve(target, ins.location) - Int64(pcs[k])
                guard let w = minimalWidth(UInt64(bitPattern: offset)) else {
                    throw AssemblyError(ins.location, "branch offset \(offset) does not fit in 32 bits")
                }
                if w > widths[k][i] {
                    widths[k][i] = w
                    changed = true
                }
            }
            if !changed { break }
        }

        var code: [UInt8] = []
        code.reserveCapacity(codeSize)
        var mask: [Bool] = []
        mask.reserveCapacity(codeSize)
        for (k, item) in items.enumerated() {
            switch item {
            case .label: continue
            case .bytes(let b, let marked):
                code += b
                for j in 0..<b.count { mask.append(marked && j == 0) }
            case .instruction(var ins):
                if let target = ins.target {
                    ins.machine.offset = try resolve(target, ins.location) - Int64(pcs[k])
                    let i = ins.machine.opcode.form.variableFields.firstIndex(of: .offset)!
                    guard fits(UInt64(bitPattern: ins.machine.offset), width: widths[k][i]) else {
                        throw AssemblyError(ins.location, "branch offset \(ins.machine.offset) does not fit in the \(widths[k][i]) bytes set by .imm_width")
                    }
                }
                let start = code.count
                ins.machine.encode(widths: widths[k], into: &code)
                mask.append(true)
                for _ in (start + 1)..<code.count { mask.append(false) }
            }
        }
        guard code.count <= Int(UInt32.max) else { throw AssemblyError(nil, "code larger than 2^32 bytes") }

        var table: [UInt32] = []
        table.reserveCapacity(jumpTable.count)
        for entry in jumpTable {
            let pc = try resolve(entry.target, entry.location)
            guard pc >= 0 && pc <= Int64(UInt32.max) else {
                throw AssemblyError(entry.location, "jump-table entry @\(pc) is outside 0 … 2^32−1")
            }
            table.append(UInt32(pc))
        }
        return ProgramBlob(jumpTable: table, code: code, bitmask: mask)
    }
}

/// Formats an immediate as the disassembler prints it: signed decimal when small, hex otherwise.
func formatImmediate(_ v: UInt64) -> String {
    let s = Int64(bitPattern: v)
    if s > -0x10000 && s < 0x10000 { return String(s) }
    return s < 0 ? "-0x" + String(s.magnitude, radix: 16) : "0x" + String(v, radix: 16)
}

/// Formats a 64-bit immediate unsigned: decimal when small, hex otherwise.
func formatImmediate64(_ v: UInt64) -> String {
    v < 0x10000 ? String(v) : "0x" + String(v, radix: 16)
}
