// Charges chained along static jumps and `fallthrough` (Recompiler.resolveCharges): a block that
// always runs into the next pays for both in one prologue. Every program here runs on both engines
// in lock step for every gas limit from 0 to past what it needs, so each possible out-of-gas point
// is compared, including those where the chained charge does not fit and the run goes over to the
// interpreter ("bail").
import JIT
import PVM
import PVMAssembler
import ProgramGenerator
import XCTest

final class ChainedChargeTests: XCTestCase {
    // The halt address and the writable page are the hostile programs' ones.
    static let halt = HostileProgramTests.halt
    static let rw = HostileProgramTests.rw
    static let unmapped: UInt32 = 0x30000

    override func setUpWithError() throws {
        try XCTSkipUnless(JITInstance.isSupported, "this CPU cannot run the recompiler")
    }

    /// The JIT machines a sweep made, to count their bails.
    final class Machines: @unchecked Sendable {
        let lock = NSLock()
        var all: [JITInstance] = []
    }

    /// Runs `blob` on both engines with every gas limit in `gasLimits`; returns how many runs
    /// went over to the interpreter and the final exits seen.
    @discardableResult
    func sweep(_ blob: ProgramBlob, gasLimits: some Sequence<Int64>, registers: [UInt64]? = nil,
               pc: UInt32 = 0, faultsToServe: Int = 0, file: StaticString = #filePath, line: UInt = #line) -> (bails: Int, finals: Set<String>) {
        var regs = registers ?? [UInt64](repeating: 0, count: 13)
        if registers == nil { regs[0] = ChainedChargeTests.halt }
        let machines = Machines()
        let factory: EngineFactory = { program in
            let m = try JITInstance(program: DecodedProgram(program.blob), registers: program.registers,
                                    gas: program.gas, pc: program.pc) { program.setUp($0) }
            machines.lock.lock(); machines.all.append(m); machines.lock.unlock()
            return (m, m.memory)
        }
        let pages = [GeneratedProgram.Page(address: ChainedChargeTests.rw, access: .write)]
        var finals: Set<String> = []
        for gas in gasLimits {
            let program = GeneratedProgram(seed: 0, blob: blob, pages: pages, registers: regs, gas: gas, pc: pc,
                                           faultsToServe: faultsToServe)
            do throws(Difference) {
                let outcome = try Differential.check(program, candidate: factory)
                finals.insert(String(describing: outcome.final).split(separator: " ").first.map(String.init) ?? "")
            } catch {
                XCTFail("gas \(gas): " + error.description, file: file, line: line)
                return (0, finals)
            }
        }
        return (machines.all.reduce(0) { $0 + $1.bails }, finals)
    }

    /// The gas a run of `blob` uses to its end on the interpreter with plenty of gas.
    func gasNeeded(_ blob: ProgramBlob, registers: [UInt64]? = nil, faultsToServe: Int = 0) throws -> Int64 {
        var regs = registers ?? [UInt64](repeating: 0, count: 13)
        if registers == nil { regs[0] = ChainedChargeTests.halt }
        let program = GeneratedProgram(seed: 0, blob: blob, pages: [.init(address: ChainedChargeTests.rw, access: .write)],
                                       registers: regs, gas: 1_000_000, faultsToServe: faultsToServe)
        let outcome = try Differential.runAlone(program)
        return 1_000_000 - outcome.gas
    }

    func testJumpsForwardAndBackwardFallthroughAndCallsChainExactly() throws {
        var b = ProgramBuilder()
        let a = b.makeLabel(), a2 = b.makeLabel(), bb = b.makeLabel(), c = b.makeLabel(), d = b.makeLabel()
        b.emit(.load_imm, .r1, 3)
        b.emit(.load_imm, .r7, .imm(UInt64(ChainedChargeTests.rw)))
        b.emit(.jump, .label(a))                    // forward
        b.bind(bb)
        b.emit(.add_imm_64, .r2, .r2, 1)
        b.emit(.store_ind_u32, .r2, .r7, 0)
        b.emit(.jump, .label(c))                    // forward, into a call
        b.bind(a)
        b.emit(.add_imm_64, .r3, .r3, 1)
        b.emit(.fallthrough)                        // into a2
        b.bind(a2)
        b.emit(.add_imm_64, .r4, .r4, 2)
        b.emit(.jump, .label(bb))                   // backward
        b.bind(c)
        b.emit(.add_imm_64, .r1, .r1, -1)
        b.emit(.load_imm_jump, .r5, 7, .label(d))   // a call, forward
        b.bind(d)
        b.emit(.branch_ne_imm, .r1, 0, .label(a))   // the loop: conditional, not chained
        b.emit(.jump_ind, .r0, 0)
        let blob = b.build()
        let need = try gasNeeded(blob)
        let result = sweep(blob, gasLimits: 0...(need + 2))
        XCTAssertEqual(result.finals, ["out-of-gas", "halt"])
        XCTAssertGreaterThan(result.bails, 0, "some limits end inside a chain, on the interpreter")
        // Started in the middle of the first block: the rest of it, and the block it runs into,
        // are charged before the first instruction.
        let second = DecodedProgram(blob).instructions[1].pc
        let fromMiddle = sweep(blob, gasLimits: 0...(need + 2), pc: second)
        XCTAssertGreaterThan(fromMiddle.bails, 0)
    }

    func testCyclesOfJumpsRunOutOfGasExactly() throws {
        // A block that jumps to itself, and a cycle of three entered in its middle.
        var b = ProgramBuilder()
        let top = b.makeLabel()
        b.bind(top)
        b.emit(.add_imm_64, .r2, .r2, 1)
        b.emit(.jump, .label(top))
        sweep(b.build(), gasLimits: 0...40)

        var c = ProgramBuilder()
        let x = c.makeLabel(), y = c.makeLabel(), z = c.makeLabel()
        c.emit(.jump, .label(y))
        c.bind(x)
        c.emit(.add_imm_64, .r2, .r2, 1)
        c.emit(.jump, .label(y))
        c.bind(y)
        c.emit(.add_imm_64, .r3, .r3, 1)
        c.emit(.add_imm_64, .r3, .r3, 1)
        c.emit(.fallthrough)
        c.bind(z)
        c.emit(.add_imm_64, .r4, .r4, 1)
        c.emit(.jump, .label(x))
        let result = sweep(c.build(), gasLimits: 0...60)
        XCTAssertEqual(result.finals, ["out-of-gas"])
        XCTAssertGreaterThan(result.bails, 0)
    }

    func testEndsInsideChainedBlocksGiveBackTheGasPaidAhead() throws {
        // A page fault (final, or served and resumed) and a panic (an access in the 64 KiB zone),
        // each in a block whose prologue also paid for the block it jumps to.
        for ending in 0..<3 {
            var b = ProgramBuilder()
            let loop = b.makeLabel(), tail = b.makeLabel()
            b.emit(.load_imm, .r8, .imm(UInt64(ChainedChargeTests.unmapped)))
            b.emit(.load_imm, .r9, 5)
            b.emit(.fallthrough)
            b.bind(loop)
            b.emit(.add_imm_64, .r2, .r2, 1)
            switch ending {
            case 0: b.emit(.store_ind_u32, .r9, .r8, 4)
            case 1: b.emit(.load_ind_u32, .r3, .r8, 0)
            default: b.emit(.load_u8, .r3, 0x100)
            }
            b.emit(.add_imm_64, .r2, .r2, 1)
            b.emit(.add_imm_64, .r8, .r8, 4096)
            b.emit(.jump, .label(tail))
            b.bind(tail)
            b.emit(.add_imm_64, .r4, .r4, 1)
            b.emit(.add_imm_64, .r4, .r4, 1)
            b.emit(.branch_ne_imm, .r2, 40, .label(loop))
            b.emit(.jump_ind, .r0, 0)
            for faults in [0, 1, 3] {
                let result = sweep(b.build(), gasLimits: 0...60, faultsToServe: faults)
                XCTAssert(result.finals.contains(ending == 2 ? "panic" : "page-fault"), "\(result.finals)")
            }
        }
        // A trap at the end of a chain target, and a jump to a pc that is not a block start.
        var c = ProgramBuilder()
        let t = c.makeLabel(), mid = c.makeLabel()
        c.emit(.add_imm_64, .r2, .r2, 1)
        c.emit(.jump, .label(t))
        c.bind(t)
        c.emit(.add_imm_64, .r2, .r2, 1)
        c.emit(.branch_eq_imm, .r2, 5, .label(mid))
        c.emit(.add_imm_64, .r2, .r2, 1)
        c.bind(mid)
        c.emit(.add_imm_64, .r2, .r2, 1)
        c.emit(.jump, .label(mid))    // mid is not a block start: panic
        let result = sweep(c.build(), gasLimits: 0...20)
        XCTAssertEqual(result.finals, ["out-of-gas", "panic"])
    }

    func testHostCallsInChainTargetsAndSources() throws {
        // ecalli in a block that is jumped to (a chain target) and in one that jumps (not
        // chained from: a run that resumes must not hold gas paid ahead).
        var b = ProgramBuilder()
        let target = b.makeLabel(), back = b.makeLabel()
        b.emit(.load_imm, .r9, .imm(UInt64(ChainedChargeTests.rw)))
        b.emit(.load_imm, .r1, 4)
        b.emit(.jump, .label(target))
        b.bind(back)
        b.emit(.add_imm_64, .r1, .r1, -1)
        b.emit(.ecalli, 3)
        b.emit(.add_imm_64, .r2, .r2, 1)
        b.emit(.jump, .label(target))
        b.bind(target)
        b.emit(.ecalli, 5)
        b.emit(.add_imm_64, .r3, .r3, 1)
        b.emit(.branch_ne_imm, .r1, 0, .label(back))
        b.emit(.jump_ind, .r0, 0)
        var regs = [UInt64](repeating: 0, count: 13)
        regs[0] = ChainedChargeTests.halt
        regs[9] = UInt64(ChainedChargeTests.rw)
        sweep(b.build(), gasLimits: 0...80, registers: regs)
    }

    func testAChainLongerThanTheCapRunsExactly() throws {
        // 70,000 one-instruction blocks, each jumping to the next: more than one prologue may
        // charge (`maximumChainCharge`).
        var b = ProgramBuilder()
        for _ in 0..<70_000 {
            let next = b.makeLabel()
            b.emit(.jump, .label(next))
            b.bind(next)
        }
        b.emit(.jump_ind, .r0, 0)
        let limits: [Int64] = [0, 1, 2, 4_463, 4_464, 4_465, 65_535, 65_536, 65_537, 70_000, 70_001, 70_002]
        let result = sweep(b.build(), gasLimits: limits)
        XCTAssertEqual(result.finals, ["out-of-gas", "halt"])
    }
}
