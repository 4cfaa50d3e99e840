// Differential testing of the recompiler against the reference interpreter: random valid programs
// from ProgramGenerator, run in lock step, compared after every exit (docs/testing.md).
import JIT
import PVM
import PVMAssembler
import ProgramGenerator
import XCTest

/// The recompiler as a differential-driver engine.
let jitEngine: EngineFactory = { program in
    let machine = try JITInstance(program: DecodedProgram(program.blob), registers: program.registers,
                                  gas: program.gas, pc: program.pc) { program.setUp($0) }
    return (machine, machine.memory)
}

final class DifferentialFuzzTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(JITInstance.isSupported, "this CPU cannot run the recompiler")
    }

    /// 10,000 random programs, 0 differences. Seeds are fixed, so a failure reproduces with
    /// `alcatraz-fuzz --programs 1 --seed <seed>`.
    func testTenThousandRandomProgramsAgree() {
        let generator = ProgramGenerator()
        var finals: [String: Int] = [:]
        var failures = 0
        for seed in UInt64(0)..<10_000 {
            let program = generator.generate(seed: seed)
            do throws(Difference) {
                let outcome = try Differential.check(program, candidate: jitEngine)
                finals[String(describing: outcome.final).split(separator: " ").first.map(String.init) ?? "", default: 0] += 1
            } catch {
                failures += 1
                if failures <= 3 { XCTFail(error.description) }
            }
        }
        XCTAssertEqual(failures, 0, "programs with differences")
        // The mix of exits shows the generator reaches every kind of end.
        for kind in ["halt", "panic", "out-of-gas", "page-fault"] {
            XCTAssertGreaterThan(finals[kind, default: 0], 50, "too few runs ending in \(kind): \(finals)")
        }
    }

    /// The generator is deterministic and, over a modest number of seeds, emits every one of the
    /// 139 opcodes as a valid instruction.
    func testGeneratorIsDeterministicAndCoversEveryOpcode() {
        let generator = ProgramGenerator()
        var seen = Set<Opcode>()
        var invalid = 0, longSkips = 0, jumpTables = 0
        for seed in UInt64(0)..<2_000 {
            let p = generator.generate(seed: seed)
            if seed < 50 {
                let again = generator.generate(seed: seed)
                XCTAssertEqual(p.blob, again.blob)
                XCTAssertEqual(p.registers, again.registers)
                XCTAssertEqual(p.pages, again.pages)
                XCTAssertEqual(p.gas, again.gas)
            }
            if !p.blob.jumpTable.isEmpty { jumpTables += 1 }
            for ins in DecodedProgram(p.blob).instructions {
                if ins.isValid { seen.insert(ins.opcode) } else { invalid += 1 }
                if ins.length > 17 { longSkips += 1 }
            }
        }
        XCTAssertEqual(seen.count, Opcode.allCases.count,
                       "never generated: \(Opcode.allCases.filter { !seen.contains($0) })")
        XCTAssertGreaterThan(invalid, 100)
        XCTAssertGreaterThan(longSkips, 50)
        XCTAssertGreaterThan(jumpTables, 500)
        XCTAssertNotEqual(generator.generate(seed: 1).blob, generator.generate(seed: 2).blob)
    }
}
