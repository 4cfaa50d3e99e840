// Step timing: a measuring mode of the spawner (`alcatraz-worker spawner step-timing …`, used by
// `alcatraz-spawn-bench --steps`), never enabled by the supervisor. Each worker stamps
// CLOCK_MONOTONIC after every lockdown step into a slot of a MAP_SHARED page the spawner mapped
// before forking it; the spawner reads the slot when it reaps the worker and, at shutdown,
// prints the median time of every phase to its stderr. The shared page is the reason it is a
// benchmark-only mode: in production no two workers share a writable page.
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Where the stamps of one worker go, and the phases they delimit.
struct StepTiming {
    /// Stamps per slot: 0 request received, 1 before fork (parent), 2 fork returned (parent),
    /// 3 reply sent (parent), 4 first instruction of the child, 5 + step: end of that step,
    /// 5 + steps: about to write the ready byte.
    static let stampsPerSlot = 32
    static let slots = 1024
    static let childStart = 4
    static let firstStep = 5
    static var readyIndex: Int { 5 + LockdownStep.allCases.count }

    let base: UnsafeMutablePointer<UInt64>
    private(set) var samples: [[UInt64]] = []

    init?() {
        let bytes = Self.stampsPerSlot * Self.slots * MemoryLayout<UInt64>.size
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED
        else { return nil }
        base = p.bindMemory(to: UInt64.self, capacity: Self.stampsPerSlot * Self.slots)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    func slot(_ workerID: UInt32) -> UnsafeMutablePointer<UInt64> {
        base + Int(workerID % UInt32(Self.slots)) * Self.stampsPerSlot
    }

    func stamp(_ workerID: UInt32, _ index: Int) { slot(workerID)[index] = Self.now() }

    /// Copies a reaped worker's stamps (only complete ones: a worker killed before ready is skipped).
    mutating func collect(_ workerID: UInt32) {
        let s = slot(workerID)
        let stamps = (0..<Self.stampsPerSlot).map { s[$0] }
        if stamps[Self.readyIndex] != 0 && stamps[1] != 0 { samples.append(stamps) }
        for i in 0..<Self.stampsPerSlot { s[i] = 0 }
    }

    /// The median of every phase in microseconds, as a table.
    func report() -> String {
        guard !samples.isEmpty else { return "step timing: no complete worker\n" }
        func median(_ from: Int, _ to: Int) -> Double {
            let d = samples.map { Double(Int64(bitPattern: $0[to] &- $0[from])) / 1000 }.sorted()
            return d[d.count / 2]
        }
        var rows: [(String, Double)] = [
            ("request received -> fork called (parent)", median(0, 1)),
            ("fork (parent: call -> return)", median(1, 2)),
            ("fork return -> reply sent (parent)", median(2, 3)),
            ("fork called -> child runs", median(1, Self.childStart)),
        ]
        var previous = Self.childStart
        for step in LockdownStep.allCases {
            rows.append(("step: \(step)", median(previous, 5 + Int(step.rawValue))))
            previous = 5 + Int(step.rawValue)
        }
                rows.append(("total: fork called -> ready", median(1, Self.readyIndex)))
        var text = "step timing over \(samples.count) workers (median, microseconds):\n"
        for (name, value) in rows {
            let rounded = (value * 10).rounded() / 10
            text += "  " + name + String(repeating: " ", count: max(0, 44 - name.count)) + " \(rounded)\n"
        }
        return text
    }
}
