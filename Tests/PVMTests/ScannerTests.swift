// The one-pass decoder (`CodeScanner`, which both engines use) against the single-instruction
// decoder (`ProgramBlob.decode(at:)`, bounds-checked, written straight from the GP's operand
// rules): over random code and random bitmasks, every instruction start must decode to the same
// opcode, length and operands. Both engines share the scanner, so a decoding bug there would be
// invisible to the interpreter-against-JIT differential runs: this is its independent check.
import PVM
import XCTest

final class ScannerTests: XCTestCase {
    /// A small deterministic generator (xorshift64*), so that a failure reproduces.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func testEveryInstructionDecodesLikeTheCheckedDecoder() {
        let opcodes = (0...255).compactMap { Opcode(rawValue: UInt8($0)) }
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var compared = 0
        for _ in 0..<3000 {
            let n = 1 + random.below(96)
            var code = (0..<n).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            var mask = (0..<n).map { _ in random.below(100) < 30 }
            mask[0] = true
            // Mostly real opcodes at instruction starts, sometimes bytes that are not opcodes;
            // operand bytes stay random (register nibbles above 12, long immediates, long skips).
            for p in 0..<n where mask[p] && random.below(10) < 9 {
                code[p] = opcodes[random.below(opcodes.count)].rawValue
            }
            let blob = ProgramBlob(jumpTable: [], code: code, bitmask: mask)
            var scanner = CodeScanner(blob)
            var ins = Instruction(opcode: .trap, rawOpcode: 0, isValid: false, pc: 0, length: 1)
            var starts: [UInt32] = []
            while scanner.next(into: &ins) != nil {
                guard ins.isValid else { continue }
                starts.append(ins.pc)
                XCTAssertEqual(ins, blob.decode(at: Int(ins.pc)), "code \(code) mask \(mask) at \(ins.pc)")
                compared += 1
            }
            // Every bitmask position holding an opcode was produced, in order.
            let expected = (0..<n).filter { mask[$0] && Opcode(rawValue: code[$0]) != nil }.map { UInt32($0) }
            XCTAssertEqual(starts, expected)
            // The recompiler's path: entries without operands, then each decoded by its form,
            // gives the same entries and flags.
            var decoding = CodeScanner(blob), undecoded = CodeScanner(blob)
            let operands = undecoded.operands
            var a = ins, b = ins
            while let fa = decoding.next(into: &a) {
                guard let fb = undecoded.nextUndecoded(into: &b) else { XCTFail("undecoded scan ended early"); break }
                XCTAssertEqual(fa, fb)
                if b.isValid { operands.decode(b.opcode.form, into: &b) }
                XCTAssertEqual(a, b, "code \(code) mask \(mask) at \(a.pc)")
            }
            XCTAssertNil(undecoded.nextUndecoded(into: &b))
        }
        XCTAssertGreaterThan(compared, 20_000)
    }
}
