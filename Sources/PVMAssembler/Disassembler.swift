import PVM

/// The PVM disassembler: prints programs in the assembler's syntax (docs/assembly.md).
///
/// `Assembler.assemble(Disassembler.disassemble(x))` reproduces `x` exactly, for any blob:
/// - instructions whose bytes the assembler reproduces (registers ≤ 12, unused nibbles zero, no
///   trailing bytes) print as mnemonics, with `.imm_width` when an immediate or offset is wider
///   than necessary;
/// - anything else (undefined opcodes, clamped registers, junk bytes) prints as
///   `.raw_instruction` / `.raw_bytes`.
///
/// Branch targets and jump-table entries print as labels `L<pc>` when they land on a printed
/// position, else as `@pc`. Every line ends with its pc in a comment.
public enum Disassembler {
    /// Disassembles a program blob: a `.jump_table` line (if any), then the code.
    public static func disassemble(_ blob: ProgramBlob) -> String {
        var out = ""
        write(blob, into: &out)
        return out
    }

    /// Disassembles a standard program: sizes, data sections as `.byte` lines, then the code.
    public static func disassemble(_ program: StandardProgram) -> String {
        var out = ""
        if program.stackSize != 0 { out += ".stack_size \(program.stackSize)\n" }
        if program.extraHeapPages != 0 { out += ".heap_pages \(program.extraHeapPages)\n" }
        for (directive, bytes, base) in [(".ro_data", program.readOnlyData, GuestMemoryLayout.readOnlyStart),
                                         (".rw_data", program.readWriteData, program.layout.heapBase)] where !bytes.isEmpty {
            out += directive + "\n"
            var i = 0
            while i < bytes.count {
                let chunk = bytes[i..<min(i + 16, bytes.count)]
                line("    .byte " + chunk.map(hexByte).joined(separator: ", "),
                     comment: "0x" + String(UInt64(base) + UInt64(i), radix: 16), into: &out)
                i += 16
            }
        }
        if !out.isEmpty { out += ".code\n" }
        write(program.blob, into: &out)
        return out
    }

    /// One printed piece of the code.
    private enum Segment {
        case instruction(pc: Int, MachineInstruction, widths: [Int])
        case raw(pc: Int, [UInt8], marked: Bool)
    }

    private static func write(_ blob: ProgramBlob, into out: inout String) {
        let segments = split(blob)
        let text = render(blob, segments, forceOffsetWidths: false)
        // The assembler picks the smallest consistent branch layout; in rare layouts with a branch
        // whose own growth makes it need its width, that differs. Pin the offset widths then.
        if let again = try? Assembler.assembleBlob(text), again == blob {
            out += text
        } else {
            out += render(blob, segments, forceOffsetWidths: true)
        }
    }

    /// Cuts the code at every set bitmask bit and classifies each piece.
    private static func split(_ blob: ProgramBlob) -> [Segment] {
        let code = blob.code
        var starts: [Int] = []
        for (i, bit) in blob.bitmask.enumerated() where bit { starts.append(i) }
        var segments: [Segment] = []
        let first = starts.first ?? code.count
        if first > 0 { segments.append(.raw(pc: 0, Array(code[0..<first]), marked: false)) }
        for (k, start) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1] : code.count
            let bytes = Array(code[start..<end])
            guard let op = Opcode.table[Int(code[start])] else {
                segments.append(.raw(pc: start, bytes, marked: true))
                continue
            }
            let machine = MachineInstruction(decoded: blob.decode(at: start))
            let widths = blob.fieldWidths(at: start, form: op.form)
            var encoded: [UInt8] = []
            machine.encode(widths: widths, into: &encoded)
            if encoded == bytes {
                segments.append(.instruction(pc: start, machine, widths: widths))
            } else {
                segments.append(.raw(pc: start, bytes, marked: true))
            }
        }
        return segments
    }

    private static func render(_ blob: ProgramBlob, _ segments: [Segment], forceOffsetWidths: Bool) -> String {
        // Positions a label can name: every segment start and the end of the code.
        var printable = Set<Int>([blob.code.count])
        for s in segments {
            switch s {
            case .instruction(let pc, _, _), .raw(let pc, _, _): printable.insert(pc)
            }
        }
        var labeled = Set<Int>()
        func name(_ target: Int64) -> String {
            if target >= 0 && target <= Int64(Int.max), printable.contains(Int(target)) {
                labeled.insert(Int(target))
                return "L\(target)"
            }
            return "@\(target)"
        }

        var out = ""
        let entries = blob.jumpTable.map { name(Int64($0)) }
        var i = 0
        while i < entries.count {
            line("    .jump_table " + entries[i..<min(i + 8, entries.count)].joined(separator: ", "),
                 comment: "entries \(i)…\(min(i + 8, entries.count) - 1)", into: &out)
            i += 8
        }
        var body: [(pc: Int, text: String)] = []
        for s in segments {
            switch s {
            case .instruction(let pc, let m, let widths):
                let form = m.opcode.form
                let hasOffset = form.variableFields.contains(.offset)
                if widths != m.minimalWidths().map({ $0 ?? 4 }) || (forceOffsetWidths && hasOffset) {
                    body.append((pc, ".imm_width " + widths.map(String.init).joined(separator: ", ")))
                }
                var regs = m.registersInSourceOrder.makeIterator()
                var imms = [m.immX, m.immY].makeIterator()
                let operands = form.operandKinds.map { kind -> String in
                    switch kind {
                    case .register: return "r\(regs.next()!)"
                    case .immediate: return formatImmediate(imms.next()!)
                    case .immediate64: return formatImmediate64(imms.next()!)
                    case .target: return name(Int64(pc) + m.offset)
                    }
                }
                body.append((pc, m.opcode.name + (operands.isEmpty ? "" : " " + operands.joined(separator: ", "))))
            case .raw(let pc, let bytes, let marked):
                var at = 0
                while at < bytes.count {
                    let n = min(16, bytes.count - at)
                    let directive = marked && at == 0 ? ".raw_instruction " : ".raw_bytes "
                    body.append((pc + at, directive + bytes[at..<(at + n)].map(hexByte).joined(separator: ", ")))
                    at += n
                }
            }
        }
        var previousPC = -1
        for (pc, text) in body {
            if pc != previousPC && labeled.contains(pc) { out += "L\(pc):\n" }
            previousPC = pc
            line("    " + text, comment: "pc \(pc)", into: &out)
        }
        if labeled.contains(blob.code.count) && previousPC != blob.code.count { out += "L\(blob.code.count):\n" }
        return out
    }

    private static func line(_ text: String, comment: String, into out: inout String) {
        out += text
        out += String(repeating: " ", count: max(1, 40 - text.count))
        out += "; " + comment + "\n"
    }

    private static func hexByte(_ b: UInt8) -> String {
        (b < 16 ? "0x0" : "0x") + String(b, radix: 16)
    }
}
