// Step `rootFilesystem`: the worker's `/` becomes an empty, read-only tmpfs and the host's
// filesystem is detached from its mount namespace entirely (not hidden under a chroot, which
// a process with CAP_SYS_CHROOT in its namespace could leave).
import CShims
#if canImport(Glibc)
import Glibc
#endif

enum Mounts {
    /// Flags of the new root: read-only from birth, nothing on it can be a device, setuid
    /// binary or executable (there is nothing on it at all; the flags stop a later remount).
    static let newRootFlags = UInt(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

    /// Mounts an empty read-only tmpfs on `mountpoint` (in this private mount namespace),
    /// makes it the root with pivot_root, detaches the old root, and changes to `/`.
    static func pivotIntoEmptyRoot(mountpoint: String) throws(LockdownError) {
        // A few KiB and two inodes: the root directory is all it will ever hold.
        guard mount("alcatraz-root", mountpoint, "tmpfs", newRootFlags, "size=4k,nr_inodes=2,mode=0555") == 0
        else { throw LockdownError(.rootFilesystem, errno: currentErrno) }
        guard chdir(mountpoint) == 0 else { throw LockdownError(.rootFilesystem, errno: currentErrno) }
        // pivot_root(".", ".") needs no put_old directory (the read-only tmpfs could not hold
        // one): the old root ends up stacked on top of the new one at "/", and the detach
        // below removes it together with every mount under it. Documented in pivot_root(2).
        // War story: the mounts copied into a user-namespace-owned mount namespace are
        // "locked" to their parents; they cannot be unmounted one by one, but detaching the
        // whole old tree at once is allowed, which is what MNT_DETACH on "." does here.
        guard sb_pivot_root(".", ".") == 0 else { throw LockdownError(.rootFilesystem, errno: currentErrno) }
        guard umount2(".", Int32(MNT_DETACH)) == 0 else { throw LockdownError(.rootFilesystem, errno: currentErrno) }
        guard chdir("/") == 0 else { throw LockdownError(.rootFilesystem, errno: currentErrno) }
    }

    /// The root a spawner prepared (see `LockdownConfig.rootPreparedBySpawner`): checked, not
    /// trusted. It must be a read-only tmpfs whose root directory is empty (two links: "." and
    /// the parent's entry), and the process must be at it.
    static func verifyEmptyRoot() throws(LockdownError) {
        let verdict = sb_root_is_empty_readonly_tmpfs()
        if verdict < 0 { throw LockdownError(.rootFilesystem, errno: currentErrno) }
        guard verdict == 1, chdir("/") == 0 else { throw LockdownError(.rootFilesystem, errno: EPERM) }
    }
}
