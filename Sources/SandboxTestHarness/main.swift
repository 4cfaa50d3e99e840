// alcatraz-sandbox-harness: a TEST-ONLY worker executable. Never ship or start it in
// production: it runs raw machine code received on its job socket. It exists so that the
// attack tests exercise exactly the production lockdown (same Spawner, same lockDown, same
// allowlist) with an attacker who already has arbitrary code execution.
//
// Job protocol (after the worker's ready byte):
//   request:  flags (u32 LE), length (u32 LE), `length` bytes of x86-64 code
//             flags bit 0: seal executable memory (Seccomp.sealExecutableMemory) before the call
//             flags bit 1: report a -ENOMEM result as the memory-limit exit code
//   response: 'D', rax (i64 LE) after the code returned with `ret`; exit code 0
// The code is called as `int64_t (*)(void)`; it may clobber caller-saved registers only.
import CShims
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// The code area, mapped RW before seccomp (prepare) and flipped to RX after the code is in:
/// never writable and executable at once, as the allowlist demands.
final class CodeArea {
    static let size = 64 * 1024
    var base: UnsafeMutableRawPointer?
}

// The worker is single-threaded: prepare and runJob run one after the other on its only thread.
nonisolated(unsafe) let area = CodeArea()

func prepare() -> Int32 {
    // Like the production worker's prepare step: the JIT's fault handler is in place, so the
    // attack and crash tests run with the same signal dispositions.
    let rc = alcatraz_jit_install_fault_handler()
    if rc != 0 { return rc }
    // SAFETY: an anonymous private mapping owned by this process for its whole life.
    let p = mmap(nil, CodeArea.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if p == MAP_FAILED { return errno }
    area.base = p
    return 0
}

func readU32(_ fd: Int32) -> UInt32? {
    guard let b = readExactly(fd, 4) else { return nil }
    return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
}

func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        // SAFETY: read writes at most count - got bytes at offset got of a count-byte buffer.
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
        if n <= 0 { return nil }
        got += n
    }
    return out
}

func runJob(_ jobFD: Int32) -> Int32 {
    guard let flags = readU32(jobFD), let length = readU32(jobFD), length <= CodeArea.size,
          let code = readExactly(jobFD, Int(length)), let base = area.base
    else { return 3 }
    // SAFETY: `base` is the RW code area of CodeArea.size bytes and `code` fits in it.
    code.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    guard mprotect(base, CodeArea.size, PROT_READ | PROT_EXEC) == 0 else { return 4 }
    if flags & 1 != 0 && Seccomp.sealExecutableMemory() != 0 { return 5 }
    // SAFETY: not safe by design: this is the attacker's code, which is the point of the test.
    let rax = sb_call_code(base)
    if flags & 2 != 0 && rax == -Int64(ENOMEM) { return WorkerExitCode.memoryLimit }
    var response: [UInt8] = [0x44]
    for i in 0..<8 { response.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: rax) >> (8 * UInt64(i)))) }
    var sent = 0
    while sent < response.count {
        // SAFETY: write reads count - sent bytes at offset sent: in bounds.
        let n = response.withUnsafeBytes { write(jobFD, $0.baseAddress! + sent, $0.count - sent) }
        if n <= 0 { return 6 }
        sent += n
    }
    return 0
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.first == "spawner" else {
    let message = "usage: alcatraz-sandbox-harness spawner [memory=N reserve=N slack=N cpu=N]\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(64)
}
exit(Spawner.run(arguments: Array(args.dropFirst()), program: WorkerProgram(prepare: prepare, main: runJob)))
