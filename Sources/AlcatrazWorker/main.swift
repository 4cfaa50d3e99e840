// alcatraz-worker: the production worker executable.
//   alcatraz-worker spawner [memory=N reserve=N slack=N cpu=N]
//       the spawner process, started once by the supervisor (SpawnerClient); forks workers
//   alcatraz-worker check-sandbox
//       prints the kernel self-check table (exit code 1 if a feature is missing)
//   alcatraz-worker warm-up
//       runs the spawner's warm-up job in this process and says whether it gave the expected
//       answer on every engine (exit code 1 if not; a test runs it)
// It links Sandbox, PVM, JIT and WireProtocol, and no Foundation. Each worker runs exactly one
// job: lockdown, one framed request, one framed answer, exit 0.
//
// Exit codes of a worker (the supervisor learns them from the spawner's report):
//   0 the answer was written; 3 no well-formed request arrived; 5 the answer could not be
//   written; 99 memory budget exhausted (WorkerExitCode.memoryLimit); 100+ lockdown failed.
import CShims
import PVM
import Sandbox
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

func say(_ text: String) {
    _ = text.withCString { write(1, $0, strlen($0)) }
}

/// Step "job preparation", before seccomp: what the job needs that the allowlist refuses later,
/// and what can be done before the job arrives. The JIT's SIGSEGV/SIGBUS handler (rt_sigaction
/// is not on the allowlist); the guest address space, context and page table of the job's
/// machine (`GuestMemory.prepareSpare`) and the compiler's code buffer and small buffers
/// (`PageBuffer.prepareSpares`): system calls and page faults that would otherwise be on the
/// job's path (this runs at the background priority). Guest pages and code are mapped
/// after seccomp with the mmap/mprotect rows, which keep W^X.
func prepareJob() -> Int32 {
    let e = alcatraz_jit_install_fault_handler()
    if e != 0 { return e }
    // Only speed depends on these: without them the job maps its own memory.
    GuestMemory.prepareSpare()
    PageBuffer.prepareSpares()
    return 0
}

func readFully(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        // SAFETY: read writes at most count - got bytes at offset got of a count-byte buffer.
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return nil }
        got += n
    }
    return out
}

func writeFully(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
        // SAFETY: write reads count - sent bytes at offset sent of the array: in bounds.
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        sent += n
    }
    return true
}

/// The job loop, after seccomp: exactly one request, one answer. A worker never runs a second
/// job (its memory, code and signal state are the last job's).
func runJob(_ jobFD: Int32) -> Int32 {
    guard let header = readFully(jobFD, Frame.headerSize) else { return 3 }
    let length = UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24
    guard length > 0, length <= WorkerMessage.maximumRequestBytes, let payload = readFully(jobFD, Int(length)),
          let request = try? WorkerMessage.decode(payload)
    else { return 3 }
    JobRunner.endRun = { run in
        // Inside the run (the guest's `sbrk`): answer as if the job had ended here, and exit.
        let written = JobRunner.answer(request, ended: run).map { writeFully(jobFD, Frame.encode($0)) } ?? false
        exitImmediately(written ? 0 : 5)
    }
    let answer: WorkerMessage?
    do throws(JobFailure) {
        answer = try JobRunner.answer(request)
    } catch {
        switch error {
        case .memoryLimit: return WorkerExitCode.memoryLimit
        case let .internalFailure(message): answer = failureAnswer(request, message)
        }
    }
    guard let answer else { return 3 }
    let written = writeFully(jobFD, Frame.encode(answer))
    // What is left (unmapping guest memory, tearing down the namespaces) no request waits for.
    WorkerPriority.background()
    return written ? 0 : 5
}

/// The answer to `request` when the worker could not run it.
func failureAnswer(_ request: WorkerMessage, _ message: String) -> WorkerMessage? {
    let zero = [UInt64](repeating: 0, count: HaltState.registerCount)
    switch request {
    case let .job(job):
        return .result(WorkerResult(jobId: job.jobId, outcome: .internalFailure(message: message), compileNanos: 0, executeNanos: 0))
    case let .diagnosticJob(job):
        return .runReport(RunReport(jobId: job.jobId, status: .internalFailure(message: message), gasUsed: 0,
                                    registers: zero, logs: [], compileNanos: 0, executeNanos: 0))
    case let .vectorJob(job):
        return .vectorResult(VectorResult(jobId: job.jobId, status: .internalFailure(message: message), pc: job.pc,
                                          registers: job.registers, gas: job.gas, pages: []))
    case .result, .vectorResult, .runReport:
        return nil
    }
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "spawner":
    // A failed warm-up costs only speed (each worker then fills its caches itself): report it
    // on stderr, where the supervisor's log collects the spawner's diagnostics, and go on.
    let program = WorkerProgram(warmUp: {
        if let problem = WarmUp.run() {
            _ = "alcatraz spawner: warm-up: \(problem)\n".withCString { write(2, $0, strlen($0)) }
        }
    }, prepare: prepareJob, main: runJob)
    exit(Spawner.run(arguments: Array(args.dropFirst()), program: program))
case "warm-up":
    if let problem = WarmUp.run() {
        say("warm-up failed: \(problem)\n")
        exit(1)
    }
    say("warm-up ok\n")
    exit(0)
case "check-sandbox":
    let results = SandboxCheck.run()
    say(SandboxCheck.table(results))
    say(SandboxCheck.optionalFeatures())
    exit(results.allSatisfy(\.ok) ? 0 : 1)
default:
    say("usage: alcatraz-worker spawner [memory=N reserve=N slack=N cpu=N] | check-sandbox | warm-up\n")
    exit(64)
}
