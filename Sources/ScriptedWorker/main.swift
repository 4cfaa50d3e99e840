// alcatraz-scripted-worker: a TEST-ONLY worker executable. Never configure it in production:
// it does not run the program. It exists so that the daemon's end-to-end tests exercise real
// sandboxed worker processes (same Spawner, lockdown and seccomp allowlist as alcatraz-worker)
// whose behaviour the test chooses. It reads one WorkerJob and treats the job's *input* as a
// script:
//   "hang"          spin until killed (the wall-clock timeout)
//   "spin:N"        spin N milliseconds, then answer like the default
//   "crash"         write to address 0 (SIGSEGV: the worker died)
//   "syscall"       make a forbidden system call (a seccomp kill)
//   "exit"          exit with code 7 and no result
//   "garbage"       answer with a frame that is not a WorkerResult
//   "wrongjob"      answer with a result for another job id
//   "linger"        answer like the default, then stay alive until the supervisor closes
//                   its end of the job socket (the answer must not wait for the exit)
//   "panic" | "oog" | "fault" | "badcode"   answer that invalid outcome
//   anything else   halt with output = input, gasUsed = 100
//   alcatraz-scripted-worker spawner [limits...]
import Sandbox
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

func readAll(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
        if n <= 0 { return nil }
        got += n
    }
    return out
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n <= 0 { return false }
        done += n
    }
    return true
}

func nowMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}

func spin(millis: UInt64) {
    let end = nowMillis() + millis
    while nowMillis() < end {}
}

func runJob(_ fd: Int32) -> Int32 {
    guard let header = readAll(fd, 4) else { return 3 }
    let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
    guard length > 0, length <= 64 << 20, let payload = readAll(fd, length),
          case let .job(job)? = try? WorkerMessage.decode(payload)
    else { return 4 }
    let script = String(decoding: job.input, as: UTF8.self)
    var outcome = JobOutcome.halt(HaltState(output: job.input, gasUsed: 100, registers: Array(repeating: 0, count: 13)))
    var answeredJob = job.jobId
    var lingers = false
    switch script {
    case "hang":
        while true { spin(millis: 1000) }
    case "crash":
        let null = UnsafeMutablePointer<UInt8>(bitPattern: 8)!
        null.pointee = 1
    case "syscall":
        _ = getppid()
    case "exit":
        return 7
    case "garbage":
        return writeAll(fd, [3, 0, 0, 0, 0x99, 0x98, 0x97]) ? 0 : 5
    case "wrongjob": answeredJob &+= 1
    case "linger": lingers = true
    case "panic": outcome = .panic(pc: 16)
    case "oog": outcome = .outOfGas
    case "fault": outcome = .pageFault(address: 0x10000)
    case "badcode": outcome = .badCode(message: "scripted bad code")
    default:
        if script.hasPrefix("spin:"), let ms = UInt64(script.dropFirst(5)) { spin(millis: ms) }
    }
    let result = WorkerResult(jobId: answeredJob, outcome: outcome, compileNanos: 1000, executeNanos: 2000)
    guard writeAll(fd, Frame.encode(WorkerMessage.result(result))) else { return 5 }
    if lingers {
        var byte: UInt8 = 0
        while read(fd, &byte, 1) > 0 {}
    }
    return 0
}

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "spawner" {
    exit(Spawner.run(arguments: Array(args.dropFirst()), program: WorkerProgram(main: runJob)))
}
_ = "usage: alcatraz-scripted-worker spawner [limits]\n".withCString { write(2, $0, strlen($0)) }
exit(64)
