import Foundation
import JIT
import PVM
import PVMAssembler

/// Generates large programs with a realistic instruction mix and times the JIT's front end
/// (`DecodedProgram`) and back end (`Recompiler.compile`) on them.
enum CodeGenerator {
    typealias R = ProgramBuilder.Operand

    static let alu3: [Opcode] = [.add_64, .sub_64, .xor, .and, .or, .mul_64, .add_32, .sub_32,
                                 .shlo_l_64, .shlo_r_64, .shar_r_64, .set_lt_u, .cmov_nz, .min_u,
                                 .mul_32, .rot_l_64]
    static let aluImm: [Opcode] = [.add_imm_64, .add_imm_32, .xor_imm, .and_imm, .or_imm, .mul_imm_64,
                                   .shlo_l_imm_64, .shlo_r_imm_64, .shar_r_imm_32, .set_lt_u_imm]
    static let loads: [Opcode] = [.load_ind_u64, .load_ind_u32, .load_ind_u8, .load_ind_i32, .load_ind_u16]
    static let stores: [Opcode] = [.store_ind_u64, .store_ind_u32, .store_ind_u8]
    static let branchImm: [Opcode] = [.branch_ne_imm, .branch_eq_imm, .branch_lt_u_imm, .branch_ge_s_imm]
    static let branchReg: [Opcode] = [.branch_ne, .branch_lt_u, .branch_ge_s, .branch_eq]

    /// A program of `instructions` instructions in basic blocks of 4–12 (mean 8) body
    /// instructions: ~50% three-register ALU, ~20% ALU with an immediate, ~15% loads, ~10%
    /// stores, ~5% load_imm/move_reg; every block ends in a conditional branch (65%) or a jump
    /// (20%) to a block start within ±64 blocks, a fallthrough (10%) or a dynamic jump through
    /// the jump table (5%).
    static func generate(instructions target: Int, seed: UInt64 = 1) -> ProgramBlob {
        var rng = SplitMix64(state: seed)
        var b = ProgramBuilder()
        var labels: [ProgramBuilder.Label] = []
        func label(_ i: Int) -> ProgramBuilder.Label {
            while labels.count <= i { labels.append(b.makeLabel()) }
            return labels[i]
        }
        func reg() -> R { .r(2 + rng.below(11)) }            // r2…r12; ra and sp stay meaningful
        func imm() -> R {
            switch rng.below(4) {
            case 0: return .imm(UInt64(rng.below(16)))         // 1 byte
            case 1: return .imm(UInt64(rng.below(4096)))       // 2 bytes
            case 2: return .imm(UInt64(bitPattern: -Int64(rng.below(1 << 20))))
            default: return .imm(rng.next() & 0x7FFF_FFFF)    // 4 bytes
            }
        }
        var emitted = 0, block = 0
        while emitted < target {
            b.bind(label(block))
            let body = 4 + rng.below(9)
            for _ in 0..<body {
                let p = rng.below(100)
                if p < 50 {
                    b.emit(alu3[rng.below(alu3.count)], reg(), reg(), reg())
                } else if p < 70 {
                    b.emit(aluImm[rng.below(aluImm.count)], reg(), reg(), .imm(UInt64(rng.below(64))))
                } else if p < 85 {
                    b.emit(loads[rng.below(loads.count)], reg(), .sp, .imm(UInt64(8 * rng.below(64))))
                } else if p < 95 {
                    b.emit(stores[rng.below(stores.count)], reg(), .sp, .imm(UInt64(8 * rng.below(64))))
                } else if p < 98 {
                    b.emit(.load_imm, reg(), imm())
                } else {
                    b.emit(.move_reg, reg(), reg())
                }
            }
            emitted += body + 1
            let to = max(0, block + rng.below(129) - 64)
            let p = rng.below(100)
            if p < 35 {
                b.emit(branchImm[rng.below(branchImm.count)], reg(), imm(), .label(label(to)))
            } else if p < 65 {
                b.emit(branchReg[rng.below(branchReg.count)], reg(), reg(), .label(label(to)))
            } else if p < 85 {
                b.emit(.jump, .label(label(to)))
            } else if p < 95 {
                b.emit(.fallthrough)
            } else {
                let r = reg()                                   // a computed jump
                b.emit(.load_imm, r, .jumpAddress(label(to)))
                b.emit(.jump_ind, r, 0)
                emitted += 1
            }
            block += 1
        }
        // Blocks named past the end all land on the final halt.
        b.bind(label(block))
        for l in labels[(block + 1)...] { b.bind(l) }
        b.emit(.jump_ind, .ra, 0)
        return b.build()
    }

    /// A program of about `bytes` bytes of code: sized from a pilot run's bytes per instruction.
    static func generate(codeBytes bytes: Int) -> ProgramBlob {
        let pilot = generate(instructions: 20_000, seed: 7)
        let perInstruction = Double(pilot.code.count) / Double(DecodedProgram(pilot).instructions.count)
        return generate(instructions: Int(Double(bytes) / perInstruction))
    }
}

struct CompileResult: Codable {
    var targetMB: Int
    var codeBytes: Int
    var instructions: Int
    var nativeBytes: Int
    /// Parsing the blob's bytes (`ProgramBlob(decoding:)`); not part of the total.
    var parse: Summary
    var decode: Summary
    var compile: Summary
    /// decode + compile.
    var total: Summary
    /// `Recompiler.compile` as the first compile of a fresh process (`--compile-once`), as a
    /// worker does it: every buffer it writes is new memory, faulted in as it is touched.
    var cold: Summary
    var coldCPU: Summary
    var totalCPU: Summary
    /// The phases on the thread CPU clock: under load, their minimum is the steadiest figure.
    var decodeCPU: Summary
    var compileCPU: Summary
    /// Guest code MB/s (10^6 bytes) and ns per guest instruction, from the median total.
    var mbPerSecond: Double
    var mbPerSecondBest: Double
    var nsPerInstruction: Double
    var compileOnlyMBPerSecond: Double
}

enum CompileBench {
    /// Times one compile of the blob in `path` in this process, and prints "wall cpu" (ns):
    /// the child side of the cold measurement.
    static func compileOnce(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchError("cannot read \(path)") }
        let blob = try ProgramBlob(decoding: [UInt8](data))
        let (compiled, c) = Span.measure { Recompiler.compile(blob) }
        precondition(compiled.codeSize > 0)
        print(c.wall, c.cpu)
    }

    /// Times `reps` compiles (after one untimed) of the program in `path`, a standard program
    /// (`alcatraz asm`, `alcatraz link`) or a bare blob, in this process, and prints the
    /// medians and minima: the compile speed of any program, e.g. one with a particular
    /// instruction mix.
    static func compileFile(path: String, reps: Int) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchError("cannot read \(path)") }
        let bytes = [UInt8](data)
        let blob: ProgramBlob
        if let program = try? StandardProgram(decoding: bytes) { blob = program.blob } else { blob = try ProgramBlob(decoding: bytes) }
        let instructions = DecodedProgram(blob).instructions.count
        var wall: [Double] = [], cpu: [Double] = []
        for r in 0...reps {
            let (compiled, c) = Span.measure { Recompiler.compile(blob) }
            precondition(compiled.codeSize > 0)
            if r > 0 { wall.append(Double(c.wall)); cpu.append(Double(c.cpu)) }
        }
        let w = Summary(wall), c = Summary(cpu)
        print("\(path): \(blob.code.count) bytes of code, \(instructions) instructions, \(reps) compiles")
        print("wall ms median \(fixed(w.median / 1e6, 2)) min \(fixed(w.min / 1e6, 2)); cpu ms median \(fixed(c.median / 1e6, 2)) min \(fixed(c.min / 1e6, 2))")
        print("MB/s (median wall) \(fixed(Double(blob.code.count) / w.median * 1e3, 1)); ns/instr \(fixed(w.median / Double(instructions), 1)) (min cpu \(fixed(c.min / Double(instructions), 1)))")
    }

    /// `reps` cold compiles of `bytes`, each in a fresh `alcatraz-bench --compile-once` process.
    static func cold(_ bytes: [UInt8], reps: Int) throws -> [Span] {
        let path = NSTemporaryDirectory() + "alcatraz-bench-\(getpid()).blob"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw BenchError("cannot write \(path)") }
        defer { try? FileManager.default.removeItem(atPath: path) }
        var spans: [Span] = []
        for _ in 0..<reps {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = ["--compile-once", path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
            guard p.terminationStatus == 0, f.count == 2 else { throw BenchError("--compile-once failed: \(text)") }
            spans.append(Span(wall: f[0], cpu: f[1]))
        }
        return spans
    }

    static func run(megabytes: Int, reps: Int, log: (String) -> Void) throws -> CompileResult {
        let (blob, genTime) = Span.measure { CodeGenerator.generate(codeBytes: megabytes * 1_000_000) }
        let bytes = blob.encoded()
        log("  generated \(blob.code.count) bytes of code in \(fixed(Double(genTime.wall) / 1e9, 1)) s")
        var parse: [Span] = [], decode: [Span] = [], compile: [Span] = []
        var instructions = 0, native = 0
        for r in 0...reps {   // rep 0 is an untimed warm-up
            let (parsed, p) = try Span.measure { try ProgramBlob(decoding: bytes) }
            guard parsed == blob else { throw BenchError("the generated blob does not round-trip") }
            // The JIT decodes as it compiles (Recompiler.compile takes the blob); the
            // interpreter's decoded form is timed separately, for comparison, not in the total.
            let (compiled, c) = Span.measure { Recompiler.compile(parsed) }
            let (decoded, d) = Span.measure { DecodedProgram(parsed) }
            instructions = decoded.instructions.count
            native = compiled.codeSize
            if r > 0 {
                parse.append(p); decode.append(d); compile.append(c)
                log("  \(megabytes) MB rep \(r)/\(reps): decode \(fixed(Double(d.wall) / 1e6, 1)) ms, compile \(fixed(Double(c.wall) / 1e6, 1)) ms")
            }
        }
        let totals = compile
        let cold = try CompileBench.cold(bytes, reps: reps)
        log("  \(megabytes) MB cold: " + cold.map { fixed(Double($0.wall) / 1e6, 1) }.joined(separator: ", ") + " ms")
        let total = Summary(wall: totals)
        let compileOnly = Summary(wall: compile)
        let mb = Double(blob.code.count) / 1e6
        return CompileResult(targetMB: megabytes, codeBytes: blob.code.count, instructions: instructions,
                             nativeBytes: native, parse: Summary(wall: parse), decode: Summary(wall: decode),
                             compile: compileOnly, total: total, cold: Summary(wall: cold), coldCPU: Summary(cpu: cold),
                             totalCPU: Summary(cpu: totals),
                             decodeCPU: Summary(cpu: decode), compileCPU: Summary(cpu: compile),
                             mbPerSecond: mb / (total.median / 1e9), mbPerSecondBest: mb / (total.min / 1e9),
                             nsPerInstruction: total.median / Double(instructions),
                             compileOnlyMBPerSecond: mb / (compileOnly.median / 1e9))
    }
}
