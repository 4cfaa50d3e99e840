import Foundation
import Linker
import PVM
import XCTest

/// Differential testing of the whole toolchain: seeded random C programs (integer expressions of
/// every width and operator, loops, switches, calls, function pointers, stack and global arrays)
/// compiled for the PVM at several optimisation levels and natively must give identical output.
final class RandomProgramTests: XCTestCase {
    struct Generator {
        var rng: SplitMix
        let functions: Int
        /// At most one call per function and none inside loops, so that a call tree stays a chain.
        var callMade = false

        mutating func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

        mutating func constant() -> String {
            switch pick(6) {
            case 0: return "0x\(String(rng.next(), radix: 16))ull"
            case 1: return "\(pick(64))ull"
            case 2: return "0x\(String(rng.next() & 0xFFFF_FFFF, radix: 16))ull"
            case 3: return "(uint64_t)-\(1 + pick(5000))ll"
            case 4: return ["0ull", "1ull", "0x8000000000000000ull", "0xFFFFFFFFFFFFFFFFull", "0x7FFFFFFFull", "0x80000000ull"][pick(6)]
            default: return "\(pick(4096))ull"
            }
        }

        mutating func expr(_ depth: Int, _ vars: [String]) -> String {
            if depth == 0 || pick(5) == 0 { return pick(3) == 0 ? constant() : vars[pick(vars.count)] }
            let x = expr(depth - 1, vars), y = expr(depth - 1, vars)
            switch pick(26) {
            case 0: return "(\(x) + \(y))"
            case 1: return "(\(x) - \(y))"
            case 2: return "(\(x) * \(y))"
            case 3: return "(\(x) & \(y))"
            case 4: return "(\(x) | \(y))"
            case 5: return "(\(x) ^ \(y))"
            case 6: return "(\(x) << (\(y) & 63))"
            case 7: return "(\(x) >> (\(y) & 63))"
            case 8: return "(uint64_t)((int64_t)\(x) >> (\(y) & 63))"
            case 9: return "udiv(\(x), \(y))"
            case 10: return "urem(\(x), \(y))"
            case 11: return "sdiv(\(x), \(y))"
            case 12: return "srem(\(x), \(y))"
            case 13: return "(uint64_t)(\(x) < \(y))"
            case 14: return "(uint64_t)((int64_t)\(x) <= (int64_t)\(y))"
            case 15: return "(\(x) > \(y) ? \(x) : \(y))"
            case 16: return "(uint64_t)(int64_t)(int32_t)((uint32_t)\(x) + (uint32_t)\(y))"
            case 17: return "(uint64_t)(uint32_t)((uint32_t)\(x) * (uint32_t)\(y))"
            case 18: return "(uint64_t)(int64_t)(int32_t)((uint32_t)\(x) >> (\(y) & 31))"
            case 19: return "(uint64_t)((int32_t)\(x) >> (\(y) & 31))"
            case 20: return "udiv32(\(x), \(y))"
            case 21: return "sdiv32(\(x), \(y))"
            case 22: return "rotl(\(x), \(y))"
            case 23: return "(uint64_t)__builtin_popcountll(\(x))"
            case 24: return "mulhu(\(x), \(y))"
            default: return "(uint64_t)(int64_t)(int16_t)(\(x) ^ (\(y) >> 7))"
            }
        }

        /// `vars` may be read; only a, b, c and d are ever assigned (loop counters stay untouched).
        mutating func statement(_ depth: Int, _ vars: [String], _ fn: Int, _ indent: String, inLoop: Bool = false) -> String {
            let v = ["a", "b", "c", "d"][pick(4)]
            switch depth == 0 ? 0 : pick(8) {
            case 0, 1, 2: return "\(indent)\(v) = \(expr(3, vars));\n"
            case 3:
                let k = "k\(depth)"
                return "\(indent)for (uint64_t \(k) = 0; \(k) < \(1 + pick(6)); \(k)++) {\n"
                    + statement(depth - 1, vars + [k], fn, indent + "  ", inLoop: true)
                    + statement(depth - 1, vars + [k], fn, indent + "  ", inLoop: true) + "\(indent)}\n"
            case 4:
                return "\(indent)if (\(expr(2, vars)) \(["<", ">", "==", "!="][pick(4)]) \(expr(2, vars))) {\n"
                    + statement(depth - 1, vars, fn, indent + "  ", inLoop: inLoop) + "\(indent)} else {\n"
                    + statement(depth - 1, vars, fn, indent + "  ", inLoop: inLoop) + "\(indent)}\n"
            case 5:
                var s = "\(indent)switch (\(expr(2, vars)) % 9) {\n"
                for c in 0..<8 where pick(4) != 0 { s += "\(indent)case \(c): \(v) = \(expr(2, vars)); break;\n" }
                return s + "\(indent)default: \(v) ^= \(constant()); break;\n\(indent)}\n"
            case 6:
                if fn > 0 && !inLoop && !callMade {
                    callMade = true
                    let callee = pick(fn)
                    return pick(2) == 0 ? "\(indent)\(v) += f\(callee)(\(expr(2, vars)), \(expr(2, vars)));\n"
                        : "\(indent)\(v) ^= table[\(expr(1, vars)) % \(fn)](\(expr(2, vars)), \(v));\n"
                }
                return "\(indent)\(v) = \(expr(2, vars));\n"
            default:
                return "\(indent)arr[\(expr(1, vars)) & 31] = \(expr(2, vars)); \(v) += arr[\(expr(1, vars)) & 31] + glob[\(v) & 15]; glob[\(pick(16))] ^= \(v);\n"
            }
        }

        mutating func program() -> String {
            var s = """
            #include "alcatraz.h"
            typedef uint64_t u64;
            static u64 glob[16];
            static inline u64 udiv(u64 a, u64 b) { return b ? a / b : a; }
            static inline u64 urem(u64 a, u64 b) { return b ? a % b : a; }
            static inline u64 sdiv(u64 a, u64 b) { int64_t x = (int64_t)a, y = (int64_t)b; return (y == 0 || (x == INT64_MIN && y == -1)) ? a : (u64)(x / y); }
            static inline u64 srem(u64 a, u64 b) { int64_t x = (int64_t)a, y = (int64_t)b; return (y == 0 || (x == INT64_MIN && y == -1)) ? b : (u64)(x % y); }
            static inline u64 udiv32(u64 a, u64 b) { uint32_t x = (uint32_t)a, y = (uint32_t)b; return y ? (u64)(int64_t)(int32_t)(x / y) : 7; }
            static inline u64 sdiv32(u64 a, u64 b) { int32_t x = (int32_t)a, y = (int32_t)b; return (y == 0 || (x == INT32_MIN && y == -1)) ? 9 : (u64)(int64_t)(x % y + x / y); }
            static inline u64 rotl(u64 a, u64 b) { unsigned r = (unsigned)(b & 63); return r ? (a << r) | (a >> (64 - r)) : a; }
            static inline u64 mulhu(u64 a, u64 b) { return (u64)(((unsigned __int128)a * b) >> 64); }

            """
            for f in 0..<functions {
                if f > 0 { s += "static u64 (*const table\(f)[])(u64, u64);\n" }
                callMade = false
                s += "__attribute__((noinline)) static u64 f\(f)(u64 a, u64 b) {\n  u64 c = a ^ 0x5555, d = b + \(f);\n  u64 arr[32];\n  for (int i = 0; i < 32; i++) arr[i] = a * (u64)i + b;\n"
                let body = (0..<(3 + pick(4))).map { _ in statement(2, ["a", "b", "c", "d"], f, "  ") }.joined()
                s += body.replacingOccurrences(of: "table[", with: "table\(f)[") + "  return a + 3 * b + 5 * c + 7 * d + arr[d & 31];\n}\n"
                if f > 0 { s += "static u64 (*const table\(f)[])(u64, u64) = {" + (0..<f).map { "f\($0)" }.joined(separator: ", ") + "};\n" }
            }
            s += """
            static unsigned char out[\(8 * functions)];
            ALCATRAZ_ENTRY(run)
            static alc_output run(const unsigned char *in, unsigned long len) {
                alc_reader r = alc_reader_init(in, len);
                u64 a = alc_read_u64(&r), b = alc_read_u64(&r);
                alc_writer w = alc_writer_init(out, sizeof out);
                for (int i = 0; i < 16; i++) glob[i] = a * (u64)i;
            """
            for f in 0..<functions { s += "    alc_write_le(&w, f\(f)(a + \(f), b ^ \(f)), 8);\n" }
            return s + "    return alc_writer_output(&w);\n}\n"
        }
    }

    func testRandomPrograms() throws {
        try XCTSkipUnless(GuestBuild.available, "the RISC-V toolchain (clang, ld.lld) is not installed")
        let inputs: [[UInt8]] = [le64(0) + le64(0), le64(1) + le64(UInt64.max), le64(0x8000_0000_0000_0000) + le64(0xFFFF_FFFF),
                                 le64(0x0123_4567_89AB_CDEF) + le64(0xFEDC_BA98_7654_3210)]
        // LINKER_RANDOM_SEEDS=N runs more programs (the suite runs 6).
        let seeds = UInt64(ProcessInfo.processInfo.environment["LINKER_RANDOM_SEEDS"].flatMap { Int($0) } ?? 6)
        for seed in UInt64(1)...max(1, seeds) {
            var g = Generator(rng: SplitMix(seed: seed * 7919), functions: 12)
            let src = GuestBuild.scratch.appendingPathComponent("random\(seed).c")
            try g.program().write(to: src, atomically: true, encoding: .utf8)
            let native = try GuestBuild.native(src.path)
            for flags in ["-O2", "-O0", "-Os"] {
                let program = try Linker.link(elf: try GuestBuild.elf(src.path, extraFlags: flags))
                for input in inputs {
                    let r = try GuestBuild.runBoth(program, input: input, gas: 200_000_000)
                    let expected = try GuestBuild.runNative(native, input: input)
                    XCTAssertEqual(r.status, .halt(output: expected), "seed \(seed) \(flags): \(src.path)")
                }
            }
        }
    }
}
