#if canImport(Glibc)
import Glibc
#endif

/// Clocks and summary statistics. Wall time is the headline figure; the thread's CPU time is
/// kept alongside so a run on a loaded machine can be told apart from a slow engine.
enum Clock {
    /// Monotonic wall time in nanoseconds.
    @inline(__always) static func wall() -> UInt64 { read(CLOCK_MONOTONIC) }
    /// CPU time consumed by this thread, in nanoseconds.
    @inline(__always) static func cpu() -> UInt64 { read(CLOCK_THREAD_CPUTIME_ID) }

    @inline(__always) static func read(_ id: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(id, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A wall/CPU time pair, in nanoseconds.
struct Span {
    var wall: UInt64
    var cpu: UInt64

    static func measure<T>(_ body: () throws -> T) rethrows -> (T, Span) {
        let w0 = Clock.wall(), c0 = Clock.cpu()
        let value = try body()
        let c1 = Clock.cpu(), w1 = Clock.wall()
        return (value, Span(wall: w1 - w0, cpu: c1 - c0))
    }
}

/// Median and minimum of repeated samples (nanoseconds).
struct Summary: Codable {
    var samples: [Double]
    var median: Double
    var min: Double
    var max: Double

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "no samples")
        samples = values
        let s = values.sorted()
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        min = s.first!
        max = s.last!
    }

    init(wall spans: [Span]) { self.init(spans.map { Double($0.wall) }) }
    init(cpu spans: [Span]) { self.init(spans.map { Double($0.cpu) }) }
}

/// A small deterministic PRNG (SplitMix64) for the code generator.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
