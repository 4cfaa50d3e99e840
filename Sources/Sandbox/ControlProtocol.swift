// The spawner's control socket: fixed-size little-endian records on a SOCK_SEQPACKET
// socketpair (one record per packet, so no framing; SCM_RIGHTS descriptors travel with the
// record they belong to). Only the supervisor and the spawner hold its two ends.
//
//   op 1 spawn request   supervisor -> spawner, fds: [the worker's end of its job socket]
//   op 2 spawned         spawner -> supervisor, fds: [pidfd] (none where the kernel lacks pidfds)
//   op 3 spawn failed    spawner -> supervisor, with errno
//   op 4 exited          spawner -> supervisor, with the wait4 status and rusage
//
// Worker -> supervisor, on the job socket, before anything of the job protocol:
//   0x52 ('R')                          lockdown complete, the worker waits for its job
//   0xEE, step (u8), errno (i32 LE)     lockdown failed (then exit code 100 + step)
#if canImport(Glibc)
import Glibc
#endif

enum ControlMessage: Equatable {
    case spawnRequest
    case spawned(workerID: UInt32, pid: Int32)
    case spawnFailed(errno: Int32)
    case exited(WorkerExitReport)

    static let size = 32

    var bytes: [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(ControlMessage.size)
        switch self {
        case .spawnRequest:
            b.appendLE(UInt32(1)); b.appendLE(UInt32(0)); b.appendLE(Int32(0)); b.appendLE(Int32(0))
            b.appendLE(UInt64(0)); b.appendLE(UInt64(0))
        case let .spawned(id, pid):
            b.appendLE(UInt32(2)); b.appendLE(id); b.appendLE(pid); b.appendLE(Int32(0))
            b.appendLE(UInt64(0)); b.appendLE(UInt64(0))
        case let .spawnFailed(e):
            b.appendLE(UInt32(3)); b.appendLE(UInt32(0)); b.appendLE(Int32(0)); b.appendLE(e)
            b.appendLE(UInt64(0)); b.appendLE(UInt64(0))
        case let .exited(r):
            b.appendLE(UInt32(4)); b.appendLE(r.workerID); b.appendLE(r.pid); b.appendLE(r.waitStatus)
            b.appendLE(r.cpuMicroseconds); b.appendLE(r.maxRSSKiB)
        }
        return b
    }

    init?(bytes b: [UInt8]) {
        guard b.count == ControlMessage.size else { return nil }
        let id = b.readLE(UInt32.self, at: 4), pid = b.readLE(Int32.self, at: 8)
        let value = b.readLE(Int32.self, at: 12)
        switch b.readLE(UInt32.self, at: 0) {
        case 1: self = .spawnRequest
        case 2: self = .spawned(workerID: id, pid: pid)
        case 3: self = .spawnFailed(errno: value)
        case 4:
            self = .exited(WorkerExitReport(
                workerID: id, pid: pid, waitStatus: value,
                cpuMicroseconds: b.readLE(UInt64.self, at: 16), maxRSSKiB: b.readLE(UInt64.self, at: 24)))
        default: return nil
        }
    }
}

/// The first byte(s) a worker writes on its job socket.
enum WorkerHello {
    static let ready: UInt8 = 0x52
    static let lockdownFailed: UInt8 = 0xEE

    static func failureRecord(_ error: LockdownError) -> [UInt8] {
        var b: [UInt8] = [lockdownFailed, UInt8(truncatingIfNeeded: error.step.rawValue)]
        b.appendLE(error.errno)
        return b
    }
}
