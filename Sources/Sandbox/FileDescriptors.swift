// Step `fileDescriptors`: the worker holds exactly one descriptor, its job socket, at a fixed
// number. Everything else the spawner had (its control socket, signalfd, the supervisor's
// stderr) is closed, so a compromised worker cannot write to or read from anything but its job.
import CShims
#if canImport(Glibc)
import Glibc
#endif

enum FileDescriptors {
    /// Moves `source` to `target` and closes every other descriptor, 0, 1 and 2 included.
    static func renumberAndCloseOthers(from source: Int32, to target: Int32) throws(LockdownError) {
        if source != target {
            // dup3 rather than dup2: a worker never execs, but if it ever did, the job fd
            // must not leak. (dup2(fd, fd) would also silently keep a stale CLOEXEC flag.)
            if sb_dup3(source, target, O_CLOEXEC) < 0 {
                throw LockdownError(.fileDescriptors, errno: currentErrno)
            }
        }
        // close_range does in one call what a loop over /proc/self/fd would need a directory
        // fd and many closes for, and cannot miss a descriptor that is being created meanwhile
        // (there is no other thread, but the rule keeps holding if that changes).
        if target > 0 && sb_close_range(0, UInt32(target - 1), 0) != 0 {
            throw LockdownError(.fileDescriptors, errno: currentErrno)
        }
        if sb_close_range(UInt32(target + 1), UInt32.max, 0) != 0 {
            throw LockdownError(.fileDescriptors, errno: currentErrno)
        }
        // The job socket must really be there: a wrong fd number from the spawner would
        // otherwise only show up as a read error after seccomp.
        if fcntl(target, F_GETFD) < 0 { throw LockdownError(.fileDescriptors, errno: currentErrno) }
    }
}
