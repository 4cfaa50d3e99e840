import Foundation
import PVM
import PVMAssembler

/// One execution benchmark: an assembly program in Benchmarks/programs, the input the harness
/// gives it (a u32 LE parameter), and the output a Swift model says it must halt with. A run that
/// does not halt with exactly that output fails the benchmark, on either engine.
struct BenchProgram {
    let name: String
    let what: String
    let parameter: UInt32
    let expectedOutput: [UInt8]
    /// The program's algorithm in Swift, compiled with -O: the native reference the JIT is
    /// compared with (timed side by side, its output checked like the engines').
    let native: (UInt32) -> [UInt8]

    var input: [UInt8] { withUnsafeBytes(of: parameter.littleEndian) { Array($0) } }

    static func all(quick: Bool) -> [BenchProgram] {
        let iterations: UInt32 = quick ? 1_000_000 : 10_000_000
        let sieveN: UInt32 = quick ? 1_000_000 : 10_000_000
        let fibN: UInt32 = quick ? 25 : 32
        return [
            BenchProgram(name: "arith", what: "\(iterations) iterations of a 15-instruction ALU loop",
                         parameter: iterations, expectedOutput: le(Models.arith(iterations)),
                         native: { le(Models.arith($0)) }),
            BenchProgram(name: "sieve", what: "primes below \(sieveN), \(sieveN)-byte sbrk buffer",
                         parameter: sieveN, expectedOutput: le(UInt32(Models.primeCount(below: sieveN))),
                         native: { le(Native.sieve($0)) }),
            BenchProgram(name: "recursion", what: "recursive fib(\(fibN)) on the guest stack",
                         parameter: fibN, expectedOutput: le(Models.fib(fibN)),
                         native: { le(Native.fib(UInt64($0))) }),
        ]
    }

    func load(from directory: String) throws -> StandardProgram {
        let path = directory + "/" + name + ".pvmasm"
        guard let source = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BenchError("cannot read \(path) (run from the repository root or pass --programs DIR)")
        }
        do { return try Assembler.assemble(source) } catch {
            throw BenchError("\(path):\(error)")
        }
    }
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

/// Swift models of the benchmark programs, written independently of the engines.
enum Models {
    /// arith.pvmasm, instruction for instruction.
    static func arith(_ n: UInt32) -> UInt64 {
        var t0: UInt64 = 0x9E37_79B9_7F4A_7C15, t1: UInt64 = 1, s1: UInt64 = 0
        let s0: UInt64 = 0x12345
        for _ in 0..<n {
            t0 &+= s0
            t0 ^= t0 << 13
            t0 ^= t0 >> 7
            t0 ^= t0 << 17
            t1 ^= t0
            t1 &*= 0x5BD1_E995
            s1 &+= (t1 >> 29) | (t1 << 35)
            s1 = (t0 &* s1) &- t1
        }
        return s1
    }

    static func primeCount(below n: UInt32) -> Int {
        guard n > 2 else { return 0 }
        var composite = [Bool](repeating: false, count: Int(n))
        var count = 0
        for i in 2..<Int(n) where !composite[i] {
            count += 1
            var j = i * i
            while j < Int(n) { composite[j] = true; j += i }
        }
        return count
    }

    static func fib(_ n: UInt32) -> UInt64 {
        var a: UInt64 = 0, b: UInt64 = 1
        for _ in 0..<n { (a, b) = (b, a &+ b) }
        return a
    }
}

/// The native references that are not the models themselves: the programs' own algorithms
/// (`Models.arith` already is `arith.pvmasm` instruction for instruction, so it serves as its own).
enum Native {
    /// sieve.pvmasm: a zeroed N-byte buffer from the allocator (fresh pages, as `sbrk` gives the
    /// guest), the same two loops, no bounds checks.
    static func sieve(_ n: UInt32) -> UInt32 {
        let count = Int(n)
        guard let buffer = calloc(max(count, 1), 1)?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        defer { free(buffer) }
        var primes: UInt32 = 0
        var i = 2
        while i < count {
            if buffer[i] == 0 {
                primes &+= 1
                var j = i &* i
                while j < count { buffer[j] = 1; j &+= i }
            }
            i &+= 1
        }
        return primes
    }

    /// recursion.pvmasm: naive recursive Fibonacci (the optimizer may turn one of the two calls
    /// into a loop, which the JIT cannot).
    @inline(never)
    static func fib(_ n: UInt64) -> UInt64 {
        n < 2 ? n : fib(n &- 1) &+ fib(n &- 2)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
