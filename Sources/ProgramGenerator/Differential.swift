#if canImport(Glibc)
import Glibc
#endif
import PVM
import PVMAssembler

/// Builds a machine for a generated program: the machine and the guest memory it runs over.
/// The differential driver is engine-agnostic; the JIT's factory lives with its users (tests and
/// `alcatraz-fuzz`), so this target depends only on PVM and PVMAssembler.
public typealias EngineFactory = @Sendable (GeneratedProgram) throws -> (any PVMInstance, GuestMemory)

/// A disagreement between two engines, with everything needed to reproduce it.
public struct Difference: Error, CustomStringConvertible, Sendable {
    public var program: GeneratedProgram
    /// Which exit (0-based) differed.
    public var exit: Int
    public var lines: [String]

    public var description: String {
        "DIFFERENCE at exit \(exit):\n" + lines.map { "  " + $0 }.joined(separator: "\n")
            + "\n--- reproducer ---\n" + program.description
    }
}

/// What a run did, for tests that assert the expected outcome.
public struct DifferentialOutcome: Sendable {
    /// Every exit in order (the last one is final unless `maxExits` stopped the run).
    public var exits: [ExitReason]
    public var pc: UInt32
    public var registers: [UInt64]
    public var gas: Int64
    /// The reference's accessible watched pages at the end, by page address.
    public var pages: [UInt32: [UInt8]] = [:]
    public var final: ExitReason { exits.last! }
}

public enum Differential {
    /// The reference interpreter over fresh memory.
    public static let interpreter: EngineFactory = { program in
        let memory = try GuestMemory()
        program.setUp(memory)
        let machine = Interpreter(program: DecodedProgram(program.blob), memory: memory,
                                  registers: program.registers, gas: program.gas, pc: program.pc)
        return (machine, memory)
    }

    /// Runs `program` on both engines in lock step and compares after every exit: exit reason, pc,
    /// registers, gas, heap end, and the access and bytes of every watched page. Host calls are
    /// served identically in both (a deterministic register, gas and memory update); page faults
    /// are served by mapping the page writable, `faultsToServe` times.
    ///
    /// - Returns: the reference's outcome.
    /// - Throws: `Difference` on any disagreement (including one engine failing to instantiate).
    @discardableResult
    public static func check(_ program: GeneratedProgram, reference: EngineFactory = interpreter,
                             candidate: EngineFactory) throws(Difference) -> DifferentialOutcome {
        func fail(_ exit: Int, _ lines: [String]) -> Difference { Difference(program: program, exit: exit, lines: lines) }
        let ref: (any PVMInstance, GuestMemory), cand: (any PVMInstance, GuestMemory)
        do {
            ref = try reference(program)
            cand = try candidate(program)
        } catch {
            throw fail(0, ["could not instantiate: \(error)"])
        }
        let (r, rm) = ref, (c, cm) = cand
        var watched = program.watchedPages
        var exits: [ExitReason] = []
        var faultsLeft = program.faultsToServe
        var step = 0
        while true {
            let er = r.run()
            let ec = c.run()
            exits.append(er)
            var lines = compare(r, rm, c, cm, watched)
            if er != ec { lines.insert("exit: reference \(er), candidate \(ec)", at: 0) }
            if !lines.isEmpty { throw fail(step, lines) }
            step += 1
            var resume = false
            switch er {
            case .hostCall(let id):
                serveHostCall(id, r, salt: program.hostSalt)
                serveHostCall(id, c, salt: program.hostSalt)
                resume = true
            case .pageFault(let address):
                if faultsLeft > 0 {
                    faultsLeft -= 1
                    rm.map(address: address, length: GuestMemory.pageSize, access: .write)
                    cm.map(address: address, length: GuestMemory.pageSize, access: .write)
                    if !watched.contains(address) { watched.append(address) }
                    resume = true
                }
            case .halt, .panic, .outOfGas:
                // Final: running again must report the same exit and change nothing.
                let again = (r.run(), c.run())
                if again.0 != er || again.1 != ec {
                    throw fail(step, ["exit after a final exit: reference \(again.0), candidate \(again.1), first \(er)"])
                }
                let lines = compare(r, rm, c, cm, watched)
                if !lines.isEmpty { throw fail(step, ["after re-running a finished machine:"] + lines) }
            }
            if !resume || step >= program.maxExits { break }
        }
        var outcome = DifferentialOutcome(exits: exits, pc: r.pc, registers: r.registers, gas: r.gas)
        for page in watched where rm.access(at: page) != .none {
            outcome.pages[page] = Array(UnsafeRawBufferPointer(start: rm.base + Int(page), count: Int(GuestMemory.pageSize)))
        }
        return outcome
    }

    /// Runs `program` on one engine alone, serving exits as `check` does (for calibrating gas).
    public static func runAlone(_ program: GeneratedProgram, on factory: EngineFactory = interpreter) throws -> DifferentialOutcome {
        let (m, memory) = try factory(program)
        var exits: [ExitReason] = []
        var faultsLeft = program.faultsToServe
        while true {
            let e = m.run()
            exits.append(e)
            var resume = false
            switch e {
            case .hostCall(let id):
                serveHostCall(id, m, salt: program.hostSalt)
                resume = true
            case .pageFault(let address):
                if faultsLeft > 0 {
                    faultsLeft -= 1
                    memory.map(address: address, length: GuestMemory.pageSize, access: .write)
                    resume = true
                }
            default: break
            }
            if !resume || exits.count >= program.maxExits { break }
        }
        return DifferentialOutcome(exits: exits, pc: m.pc, registers: m.registers, gas: m.gas)
    }

    /// A deterministic host call: mixes the id into φ7, bumps another register, charges some gas
    /// (never below 0), and writes 4 bytes at φ9 if that is writable.
    public static func serveHostCall(_ id: UInt64, _ m: any PVMInstance, salt: UInt64) {
        var regs = m.registers
        regs[7] = (regs[7] ^ id ^ salt) &* 0x9E37_79B9_7F4A_7C15
        regs[Int(id % 13)] &+= 1
        m.registers = regs
        m.gas -= min(m.gas, Int64(id % 16))
        let v = UInt32(truncatingIfNeeded: regs[7])
        _ = m.writeMemory(UInt32(truncatingIfNeeded: regs[9]),
                          [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)])
    }

    /// Differences in the observable state (empty when equal).
    static func compare(_ r: any PVMInstance, _ rm: GuestMemory, _ c: any PVMInstance, _ cm: GuestMemory,
                        _ watched: [UInt32]) -> [String] {
        var lines: [String] = []
        if r.pc != c.pc { lines.append("pc: reference \(r.pc), candidate \(c.pc)") }
        if r.gas != c.gas { lines.append("gas: reference \(r.gas), candidate \(c.gas)") }
        let rr = r.registers, cr = c.registers
        for i in 0..<13 where rr[i] != cr[i] {
            lines.append("r\(i): reference 0x\(String(rr[i], radix: 16)), candidate 0x\(String(cr[i], radix: 16))")
        }
        if rm.heapTop != cm.heapTop {
            lines.append("heap end: reference 0x\(String(rm.heapTop, radix: 16)), candidate 0x\(String(cm.heapTop, radix: 16))")
        }
        for page in watched {
            let ra = rm.access(at: page), ca = cm.access(at: page)
            if ra != ca {
                lines.append("page 0x\(String(page, radix: 16)) access: reference \(ra), candidate \(ca)")
                continue
            }
            if ra == .none { continue }
            let p = rm.base + Int(page), q = cm.base + Int(page)
            if memcmp(p, q, Int(GuestMemory.pageSize)) != 0 {
                var shown: [String] = []
                var count = 0
                for k in 0..<Int(GuestMemory.pageSize) {
                    let x = p.load(fromByteOffset: k, as: UInt8.self), y = q.load(fromByteOffset: k, as: UInt8.self)
                    if x != y {
                        count += 1
                        if shown.count < 8 { shown.append("0x\(String(page + UInt32(k), radix: 16)): \(x) vs \(y)") }
                    }
                }
                lines.append("page 0x\(String(page, radix: 16)): \(count) bytes differ (reference vs candidate: \(shown.joined(separator: ", ")))")
            }
        }
        return lines
    }
}
