// alcatraz-spawn-bench: how fast locked-down workers can be had, against the floor of a bare
// clone() with the same namespaces, measured in the same run and interleaved in rounds so that
// both see the same machine load.
//
//   alcatraz-spawn-bench [--workers N] [--rounds R] [--worker PATH] [--steps]
//
// --steps: the spawner also stamps every lockdown step of every worker and prints the median
// of each phase when it exits (a measuring mode: see Sources/Sandbox/StepTiming.swift).
//
// Worker: the supervisor's request to the spawner (with the worker's end of its job socket) ->
// fork -> full lockdown (user, mount, IPC,
// UTS, cgroup namespaces, PID namespace from the spawner, fd renumbering, tmpfs + pivot_root,
// rlimits, capabilities, no_new_privs, JIT fault handler, seccomp) -> the ready byte read by
// the supervisor. Then SIGKILL through the pidfd and the spawner's exit report.
// Floor: clone(CLONE_NEWUSER|NEWNS|NEWPID|NEWIPC|NEWUTS|NEWCGROUP) from this process -> the
// child writes one byte on a pipe -> the parent reads it; then exit and waitpid.
// Per second: one after another, including the teardown, for both (so the same accounting):
// for the floor, the child's exit and waitpid; for a worker, SIGKILL until its pidfd reports it
// dead. The spawner reaps the worker and sends its exit report (CPU time) meanwhile; the bench
// reads that report once the next worker is ready, inside the timed loop.
import CShims
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ values: [UInt64]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? Double(s[s.count / 2]) : Double(s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fail(_ message: String) -> Never {
    _ = "alcatraz-spawn-bench: \(message)\n".withCString { write(2, $0, strlen($0)) }
    exit(1)
}

func formatted(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let have = text.distance(from: dot, to: text.endIndex) - 1
        if have < decimals { text += String(repeating: "0", count: decimals - have) }
    }
    return text
}

var workers = 200
var rounds = 5
var stepTiming = false
var workerPath: String = {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    return exe.lastIndex(of: "/").map { String(exe[...$0]) + "alcatraz-worker" } ?? "alcatraz-worker"
}()
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    if flag == "--steps" { stepTiming = true; continue }
    guard let value = arguments.first else { fail("\(flag) needs a value") }
    arguments.removeFirst()
    switch flag {
    case "--workers": workers = Int(value) ?? workers
    case "--rounds": rounds = Int(value) ?? rounds
    case "--worker": workerPath = value
    default: fail("unknown option \(flag); usage: alcatraz-spawn-bench [--workers N] [--rounds R] [--worker PATH] [--steps]")
    }
}

let namespaces = SB_CLONE_NEWUSER | SB_CLONE_NEWNS | SB_CLONE_NEWPID | SB_CLONE_NEWIPC | SB_CLONE_NEWUTS | SB_CLONE_NEWCGROUP
let client: SpawnerClient
do {
    client = try SpawnerClient(executablePath: workerPath,
                               arguments: stepTiming ? ["spawner", "step-timing"] : ["spawner"])
} catch {
    fail("\(error)")
}
var workerLatency: [UInt64] = [], floorLatency: [UInt64] = []
var workerCPU: [UInt64] = []
var workerTeardown: [UInt64] = [], floorTeardown: [UInt64] = []
var workerWall: UInt64 = 0, floorWall: UInt64 = 0
/// Blocks until the worker has exited (its pidfd turns readable). Where the kernel has no
/// pidfds, waits for the spawner's exit report instead and returns true (report consumed).
@MainActor func waitUntilDead(_ w: WorkerHandle) -> Bool {
    guard w.pidFD >= 0 else {
        do { workerCPU.append(try client.waitForExit(w).report.cpuMicroseconds) } catch { fail("\(error)") }
        return true
    }
    var p = pollfd(fd: w.pidFD, events: Int16(POLLIN), revents: 0)
    while poll(&p, 1, -1) < 0 && errno == EINTR {}
    return false
}
let perRound = max(1, workers / rounds)
// Warm up both paths (page cache, the spawner's first fork) outside the measurement.
for _ in 0..<5 {
    _ = sb_clone_floor_nanos(namespaces, nil)
    if let w = try? client.requestWorker() { try? client.waitUntilReady(w); client.kill(w); _ = try? client.waitForOutcome(w) }
}
for _ in 0..<rounds {
    let floorStart = now()
    for _ in 0..<perRound {
        var teardown: Int64 = 0
        let ns = sb_clone_floor_nanos(namespaces, &teardown)
        if ns < 0 { fail("clone with namespaces failed: errno \(errno) (run as root, or enable user namespaces)") }
        floorLatency.append(UInt64(ns))
        floorTeardown.append(UInt64(max(teardown, 0)))
    }
    floorWall += now() - floorStart
    let workerStart = now()
    // The previous worker, killed and seen dead through its pidfd, whose exit report (sent by
    // the spawner after it reaps it) is collected once the next worker is ready: the reaping
    // overlaps the next spawn, as in the daemon, and every report is still read inside the
    // timed loop.
    var previous: WorkerHandle?
    for _ in 0..<perRound {
        let t0 = now()
        do {
            let w = try client.requestReadyWorker()
            workerLatency.append(now() - t0)
            if let p = previous { workerCPU.append(try client.waitForExit(p).report.cpuMicroseconds) }
            let t1 = now()
            client.kill(w)
            let reported = waitUntilDead(w)
            workerTeardown.append(now() - t1)
            previous = reported ? nil : w
        } catch {
            fail("\(error)")
        }
    }
    if let p = previous {
        do { workerCPU.append(try client.waitForExit(p).report.cpuMicroseconds) } catch { fail("\(error)") }
    }
    workerWall += now() - workerStart
}
client.shutdown()

let wMedian = median(workerLatency), fMedian = median(floorLatency)
let wRate = Double(workerLatency.count) / (Double(workerWall) / 1e9)
let fRate = Double(floorLatency.count) / (Double(floorWall) / 1e9)
print("samples: \(workerLatency.count) workers, \(floorLatency.count) bare clones, in \(rounds) interleaved rounds")
print("                              median fork-to-ready   per second (incl. teardown)")
print("locked-down worker            \(formatted(wMedian / 1e6, 3)) ms               \(formatted(wRate, 0))")
print("bare clone(), same namespaces \(formatted(fMedian / 1e6, 3)) ms               \(formatted(fRate, 0))")
print("teardown (kill or exit -> reaped), median: worker \(formatted(median(workerTeardown) / 1e6, 3)) ms, bare clone \(formatted(median(floorTeardown) / 1e6, 3)) ms")
print("worker CPU time, fork to exit (wait4 rusage, median): \(formatted(median(workerCPU) / 1000, 3)) ms")
print("ratio (worker / floor)        \(formatted(wMedian / fMedian, 2))x latency, \(formatted(fRate / wRate, 2))x throughput")
