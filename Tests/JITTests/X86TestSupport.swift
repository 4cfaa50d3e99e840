// Test support for the x86-64 assembler: an independent decoder (GNU objdump from binutils),
// expected-text helpers in objdump's Intel syntax, and `Form`, which batches many encodings of
// one instruction form into a single buffer and a single objdump call.
//
// The expected text is built from the test's own description of each operand (register names,
// operand sizes, memory operand parts), never from the assembler's internals, so an encoding
// bug shows up as a textual mismatch or a wrong instruction boundary.

import Foundation
import JIT
import Testing

/// One instruction as objdump decoded it.
struct Decoded {
    var offset: Int
    var bytes: String
    /// Normalised text: single spaces, no trailing `# target` comment, no `+0x0` displacement.
    var text: String
    /// objdump's `# 0x...` comment (the absolute target of a rip-relative operand), if any.
    var comment: String?
}

enum ObjDump {
    static let path = "/usr/bin/objdump"

    /// Disassembles `code` as raw x86-64 with Intel syntax.
    static func disassemble(_ code: [UInt8]) throws -> [Decoded] {
        let dir = FileManager.default.temporaryDirectory
        let file = dir.appendingPathComponent("alcatraz-x86-\(UUID().uuidString).bin")
        try Data(code).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        // -z: do not collapse runs of zero bytes into "..."; --insn-width: keep every
        // instruction (up to 15 bytes) on one line.
        p.arguments = ["-D", "-b", "binary", "-mi386:x86-64", "-M", "intel", "-z", "--insn-width=16", file.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw DisassemblerError.failed(p.terminationStatus) }
        return parse(String(decoding: data, as: UTF8.self))
    }

    static func parse(_ output: String) -> [Decoded] {
        var result: [Decoded] = []
        result.reserveCapacity(output.utf8.count / 48)
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].hasSuffix(":"),
                  let offset = Int(parts[0].dropLast().trimmingCharacters(in: .whitespaces), radix: 16)
            else { continue }
            var text = String(parts[2])
            var comment: String?
            if let hash = text.range(of: "#") {
                comment = text[hash.upperBound...].trimmingCharacters(in: .whitespaces)
                text = String(text[..<hash.lowerBound])
            }
            result.append(Decoded(offset: offset, bytes: parts[1].trimmingCharacters(in: .whitespaces),
                                  text: normalise(text), comment: comment))
        }
        return result
    }

    /// Collapses whitespace and drops the explicit zero displacement objdump prints for
    /// `[rbp+0x0]`-style operands (a disp8 of 0 is how such operands must be encoded).
    static func normalise(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            .replacingOccurrences(of: "+0x0]", with: "]")
    }
}

enum DisassemblerError: Error {
    case failed(Int32)
}

/// A batch of encodings of one instruction form, checked against objdump in one call.
///
/// Emit an instruction with `a`, then call `expect` with its expected Intel text; `verify`
/// checks that objdump finds exactly one instruction per `expect`, starting and ending where
/// the assembler put it, with the expected text.
final class Form {
    let name: String
    let a = X86Assembler(initialCapacity: 1 << 16)
    private var entries: [(start: Int, end: Int, text: () -> String)] = []
    private var last = 0

    init(_ name: String) {
        self.name = name
    }

    /// Records the expected text of the instruction emitted since the previous call. The text
    /// is evaluated in `verify`, after all labels are bound, so it can name label offsets.
    func expect(_ text: @autoclosure @escaping () -> String) {
        entries.append((last, a.position, text))
        last = a.position
    }

    var count: Int { entries.count }

    /// Emits `n` bytes of padding as separate `nop(length:)` calls of at most 9 bytes, each
    /// with its expected text (objdump's spelling of the recommended multi-byte nops).
    func nops(_ n: Int) {
        let texts = ["", "nop", "xchg ax,ax", "nop DWORD PTR [rax]", "nop DWORD PTR [rax]",
                     "nop DWORD PTR [rax+rax*1]", "nop WORD PTR [rax+rax*1]", "nop DWORD PTR [rax]",
                     "nop DWORD PTR [rax+rax*1]", "nop WORD PTR [rax+rax*1]"]
        var left = n
        while left > 0 {
            let k = min(left, 9)
            a.nop(length: k)
            expect(texts[k])
            left -= k
        }
    }

    /// Disassembles everything and compares. Returns the decoded instructions for extra checks.
    @discardableResult
    func verify(sourceLocation: SourceLocation = #_sourceLocation) throws -> [Decoded] {
        a.finalize()
        let code = a.bytes
        let decoded = try ObjDump.disassemble(code)
        if ProcessInfo.processInfo.environment["X86_TEST_COUNTS"] != nil {
            print("\(name): \(entries.count) instructions, \(code.count) bytes")
        }
        var failures = 0
        #expect(decoded.count == entries.count, "\(name): \(decoded.count) decoded, \(entries.count) expected",
                sourceLocation: sourceLocation)
        for (i, e) in entries.enumerated() where failures < 20 {
            guard i < decoded.count else { break }
            let d = decoded[i]
            let nextOffset = i + 1 < decoded.count ? decoded[i + 1].offset : code.count
            let expected = e.text()
            if d.offset != e.start || nextOffset != e.end || d.text != expected {
                failures += 1
                let bytes = code[e.start..<e.end].map { String(format: "%02x", $0) }.joined(separator: " ")
                Issue.record("\(name) #\(i): expected '\(expected)' [\(bytes)] at \(e.start)..<\(e.end), objdump: '\(d.text)' [\(d.bytes)] at \(d.offset)..<\(nextOffset)",
                             sourceLocation: sourceLocation)
            }
        }
        return decoded
    }
}

// MARK: Expected-text helpers (objdump Intel syntax)

let sizes: [OperandSize] = [.byte, .word, .dword, .qword]
let wideSizes: [OperandSize] = [.word, .dword, .qword]
let allRegs = Reg.allCases
let indexRegs = Reg.allCases.filter { $0 != .rsp }

private let names64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                       "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
private let names32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                       "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"]
private let names16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                       "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"]
private let names8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                      "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"]

/// The register's name at the given size.
func name(_ r: Reg, _ s: OperandSize) -> String {
    switch s {
    case .byte: return names8[Int(r.rawValue)]
    case .word: return names16[Int(r.rawValue)]
    case .dword: return names32[Int(r.rawValue)]
    case .qword: return names64[Int(r.rawValue)]
    }
}

/// objdump's size keyword for a memory operand.
func ptr(_ s: OperandSize) -> String {
    switch s {
    case .byte: return "BYTE PTR "
    case .word: return "WORD PTR "
    case .dword: return "DWORD PTR "
    case .qword: return "QWORD PTR "
    }
}

/// An immediate as objdump prints it: hexadecimal, as the unsigned value of the operand size
/// (so -128 at qword is 0xffffffffffffff80).
func hex(_ v: Int64, _ s: OperandSize) -> String {
    let bits = s.bytes * 8
    let u = bits == 64 ? UInt64(bitPattern: v) : UInt64(bitPattern: v) & ((1 << UInt64(bits)) - 1)
    return "0x" + String(u, radix: 16)
}

/// The Jcc/SETcc/CMOVcc mnemonic suffix of each condition, in encoding order.
let conditionNames = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]

/// A memory operand described independently of `Mem`, with its expected text.
struct MemCase {
    var base: Reg?
    var index: Reg?
    var scale: Scale
    var disp: Int32

    var mem: Mem {
        if let base, let index { return Mem(base: base, index: index, scale: scale, disp: disp) }
        if let base { return Mem(base: base, disp: disp) }
        return Mem(index: index!, scale: scale, disp: disp)
    }

    /// `[base+index*scale+disp]` in objdump's spelling (a zero displacement left out).
    var text: String {
        var s = "["
        if let base { s += name(base, .qword) }
        if let index {
            if base != nil { s += "+" }
            s += "\(name(index, .qword))*\(scale.factor)"
        }
        if disp > 0 { s += "+0x" + String(disp, radix: 16) }
        if disp < 0 { s += "-0x" + String(-Int64(disp), radix: 16) }
        return s + "]"
    }

    /// Every base (and no base), every index (and none), every scale, for each displacement.
    static func all(disps: [Int32]) -> [MemCase] {
        var result: [MemCase] = []
        for disp in disps {
            for base in [nil] + allRegs.map(Optional.some) {
                if base != nil { result.append(MemCase(base: base, index: nil, scale: .x1, disp: disp)) }
                for index in indexRegs {
                    for scale in Scale.allCases {
                        result.append(MemCase(base: base, index: index, scale: scale, disp: disp))
                    }
                }
            }
        }
        return result
    }

    /// Every base with and without an index, and a no-base operand, for a few displacements:
    /// enough to exercise the REX.X/REX.B bits and every mod/SIB special case in forms that
    /// share the ModRM encoder with the exhaustively tested ones.
    static let representative: [MemCase] = {
        var result: [MemCase] = []
        for disp: Int32 in [0, -128, 0x12345678] {
            for base in allRegs {
                result.append(MemCase(base: base, index: nil, scale: .x1, disp: disp))
                result.append(MemCase(base: base, index: base == .r12 ? .r13 : .r12, scale: .x8, disp: disp))
            }
            result.append(MemCase(base: nil, index: .rbp, scale: .x2, disp: disp))
        }
        return result
    }()

    /// The displacements of the exhaustive sweep: zero, ±1, the disp8 edges and beyond, large.
    static let sweepDisps: [Int32] = [0, 1, -1, 127, 128, -128, -129, 0x12345678, Int32.min]
}
