// alcatraz-worker: the production worker executable.
//   alcatraz-worker spawner [memory=N reserve=N slack=N cpu=N]
//       the spawner process, started once by the supervisor (SpawnerClient); forks workers
//   alcatraz-worker check-sandbox
//       prints the kernel self-check table (exit code 1 if a feature is missing)
// It links only Sandbox (no Foundation). The job itself (decode, compile, run, respond) plugs
// into `WorkerProgram` once the JIT and WireProtocol targets are wired in.
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

func say(_ text: String) {
    _ = text.withCString { write(1, $0, strlen($0)) }
}

/// Placeholder job loop: reads one frame (u32 LE length + payload, at most 64 MiB) and answers
/// with an empty frame. TODO(integration): decode the request, compile with JIT, run, reply.
func runJob(_ jobFD: Int32) -> Int32 {
    var header = [UInt8](repeating: 0, count: 4)
    var got = 0
    while got < 4 {
        // SAFETY: read writes at most 4 - got bytes at offset got of a 4-byte buffer.
        let n = header.withUnsafeMutableBytes { read(jobFD, $0.baseAddress! + got, 4 - got) }
        if n <= 0 { return 3 }
        got += n
    }
    let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
    guard length <= 64 << 20 else { return 4 }
    var payload = [UInt8](repeating: 0, count: max(length, 1))
    got = 0
    while got < length {
        // SAFETY: read writes at most length - got bytes at offset got of a length-byte buffer.
        let n = payload.withUnsafeMutableBytes { read(jobFD, $0.baseAddress! + got, length - got) }
        if n <= 0 { return 3 }
        got += n
    }
    let empty: [UInt8] = [0, 0, 0, 0]
    // SAFETY: write reads 4 bytes of a 4-byte array.
    return empty.withUnsafeBytes { write(jobFD, $0.baseAddress!, 4) } == 4 ? 0 : 5
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "spawner":
    exit(Spawner.run(arguments: Array(args.dropFirst()), program: WorkerProgram(main: runJob)))
case "check-sandbox":
    let results = SandboxCheck.run()
    say(SandboxCheck.table(results))
    exit(results.allSatisfy(\.ok) ? 0 : 1)
default:
    say("usage: alcatraz-worker spawner [memory=N reserve=N slack=N cpu=N] | check-sandbox\n")
    exit(64)
}
