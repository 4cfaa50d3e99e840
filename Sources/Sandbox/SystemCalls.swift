// The one place where interrupted system calls are retried, plus the small I/O helpers the
// lockdown, the spawner and its client share. No Foundation: this code also runs in workers.
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's current errno, as a plain number (what every error here carries).
@inline(__always)
var currentErrno: Int32 { errno }

/// Runs `body` until it does not fail with EINTR. Returns its result; on failure (-1) the
/// caller reads `currentErrno`. This is the only EINTR loop in the target: call sites never
/// retry by hand (a signal arriving in the spawner's poll, a SIGCHLD during a blocking read...).
@inline(__always)
func retryingOnEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// Writes all of `bytes` to `fd`. Returns 0, or the errno of the failing write (EPIPE on a
/// short write to a closed peer shows up as EPIPE; MSG_NOSIGNAL is not available for write(2),
/// so processes using this ignore SIGPIPE or write to sockets whose peer they own).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
    var offset = 0
    while offset < bytes.count {
        // SAFETY: write reads `count - offset` bytes starting at `offset` < count: in bounds.
        let n = bytes.withUnsafeBytes { buffer in
            retryingOnEINTR { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
        }
        if n < 0 { return currentErrno }
        if n == 0 { return EPIPE }
        offset += n
    }
    return 0
}

/// Reads exactly `count` bytes from `fd`. Returns nil on EOF before `count` bytes or on error
/// (errno is then left set; EOF leaves it 0).
func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
    var result = [UInt8](repeating: 0, count: count)
    var offset = 0
    while offset < count {
        // SAFETY: read writes at most `count - offset` bytes starting at `offset`: in bounds.
        let n = result.withUnsafeMutableBytes { buffer in
            retryingOnEINTR { read(fd, buffer.baseAddress! + offset, count - offset) }
        }
        if n <= 0 {
            if n == 0 { errno = 0 }
            return nil
        }
        offset += n
    }
    return result
}

/// Little-endian encoding helpers for the fixed-size control and harness records.
extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        // SAFETY: copies the bytes of a local integer; the pointer does not escape.
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    func readLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v = T.zero
        // SAFETY: writes size-of-T bytes into a local T; the caller guarantees offset + size <= count.
        Swift.withUnsafeMutableBytes(of: &v) { dst in
            for i in 0..<MemoryLayout<T>.size { dst[i] = self[offset + i] }
        }
        return T(littleEndian: v)
    }
}

/// Terminates the process immediately with `code` through exit_group(2), skipping atexit
/// handlers and stdio flushing. War story: after the seccomp filter is in place, `exit()` would
/// flush stdout with a write(1, ...) that the filter answers with a kill, turning every clean
/// exit into a "seccomp violation". Workers always leave through here.
public func exitImmediately(_ code: Int32) -> Never {
    _exit(code)
}

/// A one-shot CLOCK_MONOTONIC timer as a descriptor to poll (timerfd): the supervisor's pool
/// thread sleeps in poll(2), and a thread that hands a job to a worker behind its back arms
/// this so that the job's deadline still wakes it.
public final class DeadlineTimer: Sendable {
    /// Readable (POLLIN) once the armed time has passed, until `drain`.
    public let descriptor: Int32

    /// - Returns: nil when the kernel refuses a timerfd (the caller then wakes the pool itself).
    public init?() {
        let fd = sb_timerfd_create()
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Expires once at `deadline` (monotonic ns), replacing any earlier setting. False if the
    /// kernel refused (it does not for a valid descriptor).
    public func arm(at deadline: UInt64) -> Bool { sb_timerfd_arm(descriptor, deadline) == 0 }

    /// Clears the readable state after an expiry.
    public func drain() {
        var count: UInt64 = 0
        _ = read(descriptor, &count, 8)
    }
}
