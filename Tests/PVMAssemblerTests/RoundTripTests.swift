import Foundation
import PVM
import XCTest

@testable import PVMAssembler

/// Disassemble → assemble over the 307 conformance-vector programs and hand-made hostile blobs.
final class RoundTripTests: XCTestCase {
    static let vectorDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors/pvm/programs")

    /// (name, raw program bytes) of every vector.
    static func vectorPrograms() throws -> [(String, [UInt8])] {
        let files = try FileManager.default.contentsOfDirectory(atPath: vectorDirectory.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try files.map { file in
            let data = try Data(contentsOf: vectorDirectory.appendingPathComponent(file))
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let program = try XCTUnwrap(json["program"] as? [Int], "\(file): no program")
            return (file, program.map { UInt8($0) })
        }
    }

    /// Every pc's decoding, including positions that are not instruction starts.
    func decodedInstructions(_ blob: ProgramBlob) -> [Instruction] {
        (0...blob.code.count).map { blob.decode(at: $0) }
    }

    func testAllVectorProgramsRoundTrip() throws {
        let programs = try Self.vectorPrograms()
        XCTAssertEqual(programs.count, 307)
        var rawLines = 0
        var withRaw: [String] = []
        for (name, bytes) in programs {
            let blob = try ProgramBlob(decoding: bytes)
            let text = Disassembler.disassemble(blob)
            let again: ProgramBlob
            do {
                again = try Assembler.assembleBlob(text)
            } catch {
                XCTFail("\(name): \(error)\n\(text)")
                continue
            }
            XCTAssertEqual(decodedInstructions(again), decodedInstructions(blob), "\(name)\n\(text)")
            XCTAssertEqual(again.jumpTable, blob.jumpTable, name)
            XCTAssertEqual(again.code, blob.code, "\(name)\n\(text)")
            XCTAssertEqual(again.bitmask, blob.bitmask, name)
            // The blob bytes too, whenever the vector's jump-table entry size is the minimal one.
            if blob.encoded().count == bytes.count {
                XCTAssertEqual(again.encoded(), bytes, name)
            }
            let raw = text.split(separator: "\n").filter { $0.contains(".raw_") }.count
            if raw > 0 { withRaw.append(name) }
            rawLines += raw
        }
        // The vectors are all canonically encoded: every instruction must print as a mnemonic
        // (this also catches an encoder bug, which would make the disassembler fall back to raw).
        XCTAssertEqual(withRaw, [], "vectors disassembled with raw bytes")
        print("vector round trip: \(programs.count) programs, \(withRaw.count) with raw lines (\(rawLines) lines): \(withRaw)")
    }

    func testVectorDisassemblyIsReadable() throws {
        let bytes = try XCTUnwrap(Self.vectorPrograms().first { $0.0 == "inst_add_32.json" }).1
        let text = Disassembler.disassemble(try ProgramBlob(decoding: bytes))
        XCTAssertEqual(text, "    add_32 r9, r7, r8                   ; pc 0\n")
    }

    func testHostileBlobsRoundTrip() throws {
        let blobs: [ProgramBlob] = [
            // Undefined opcode, clamped register nibble (0xF), unmarked leading bytes.
            ProgramBlob(jumpTable: [], code: [0xFF, 0x02, 0x64, 0xF1, 0x33], bitmask: [false, true, true, false, true]),
            // Non-minimal immediate (load_imm r1, 5 in 4 bytes) and a trailing junk byte on move_reg.
            ProgramBlob(jumpTable: [3, 1000], code: [51, 1, 5, 0, 0, 0, 100, 0x21, 0x99],
                        bitmask: [true, false, false, false, false, false, true, false, false]),
            // A branch to the middle of an instruction and one past the end; skip longer than 24.
            ProgramBlob(jumpTable: [], code: [170, 0x10, 3, 40, 0x7F] + [UInt8](repeating: 0, count: 30),
                        bitmask: [true, false, false, true] + [Bool](repeating: false, count: 31)),
            // load_imm_64 cut short by the next instruction.
            ProgramBlob(jumpTable: [], code: [20, 1, 1, 2, 0], bitmask: [true, false, false, false, true]),
            ProgramBlob(jumpTable: [], code: [], bitmask: []),
        ]
        for blob in blobs {
            let text = Disassembler.disassemble(blob)
            XCTAssertEqual(try Assembler.assembleBlob(text), blob, text)
        }
    }

    /// A branch whose 2-byte offset is minimal only because of its own size: the smallest
    /// consistent layout would use 1 byte, so the disassembler must pin the width.
    func testSelfSustainingBranchWidth() throws {
        // branch_eq r1, r2 with a 2-byte offset 128 at pc 0, 124 bytes of move_reg, trap at 128.
        var code: [UInt8] = [170, 0x21, 128, 0]
        var mask = [true, false, false, false]
        for _ in 0..<62 { code += [100, 0x21]; mask += [true, false] }
        code.append(0)
        mask.append(true)
        let blob = ProgramBlob(jumpTable: [], code: code, bitmask: mask)
        XCTAssertEqual(blob.decode(at: 0).target, 128)
        let text = Disassembler.disassemble(blob)
        XCTAssertTrue(text.contains(".imm_width 2"), text)
        XCTAssertEqual(try Assembler.assembleBlob(text), blob)
        // Without the pin the assembler picks the 1-byte layout.
        let unpinned = text.split(separator: "\n").filter { !$0.contains(".imm_width") }.joined(separator: "\n")
        XCTAssertEqual(try Assembler.assembleBlob(unpinned).code.count, code.count - 1)
    }

    /// Random canonical programs: builder → disassemble → assemble gives the same blob.
    func testRandomProgramsRoundTrip() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<200 {
            let blob = RandomPrograms.make(&rng, count: 1 + Int(rng.next() % 60))
            let text = Disassembler.disassemble(blob)
            XCTAssertEqual(try Assembler.assembleBlob(text), blob, text)
            XCTAssertFalse(text.contains(".raw_"), text)
        }
    }

    /// Branches whose offset is at a width boundary: the layout needs the iteration.
    func testBranchWidthBoundaries() throws {
        for filler in [40, 41, 42, 43, 60, 61, 62, 63, 64, 65, 66, 10_921, 10_922] {
            var b = ProgramBuilder()
            let fwd = b.makeLabel()
            let back = b.label()
            b.emit(.branch_eq, .r1, .r2, .label(fwd))
            for _ in 0..<filler { b.emit(.add_64, .r1, .r2, .r3) }
            b.emit(.jump, .label(back))
            b.bind(fwd)
            b.emit(.trap)
            let blob = b.build()
            let first = blob.decode(at: 0)
            XCTAssertEqual(first.target, Int64(blob.code.count - 1))
            // Minimal: the offset width is the smallest that holds the offset.
            XCTAssertEqual(Int(first.length) - 2, minimalWidth(UInt64(first.target)))
            let text = Disassembler.disassemble(blob)
            XCTAssertEqual(try Assembler.assembleBlob(text), blob)
        }
    }
}

/// A small deterministic generator for tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum RandomPrograms {
    static let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0x7F_FFFF, 0x80_0000, 0x7FFF_FFFF,
                                        ~0, ~0x7F, ~0x80, ~0x7FFF, 0xFFFF_FFFF_8000_0000]

    static func imm(_ rng: inout SplitMix) -> UInt64 {
        rng.next() % 2 == 0 ? interesting[Int(rng.next() % UInt64(interesting.count))]
            : signExtend(rng.next(), bytes: Int(rng.next() % 5))
    }

    /// A random canonical program using every operand form, labels and a jump table.
    static func make(_ rng: inout SplitMix, count: Int) -> ProgramBlob {
        var b = ProgramBuilder()
        let labels = (0...count).map { _ in b.makeLabel() }
        for i in 0..<count {
            b.bind(labels[i])
            let op = Opcode.allCases[Int(rng.next() % UInt64(Opcode.allCases.count))]
            let operands = op.form.operandKinds.map { kind -> ProgramBuilder.Operand in
                switch kind {
                case .register: return .reg(UInt8(rng.next() % 13))
                case .immediate: return .imm(imm(&rng))
                case .immediate64: return .imm(rng.next() >> (rng.next() % 64))
                case .target:
                    return rng.next() % 8 == 0 ? .pc(Int64(rng.next() % 500) - 100)
                        : .label(labels[Int(rng.next() % UInt64(labels.count))])
                }
            }
            b.emit(op, operands: operands)
            if rng.next() % 10 == 0 { b.addJumpTableEntry(labels[Int(rng.next() % UInt64(labels.count))]) }
        }
        b.bind(labels[count])
        return b.build()
    }
}
