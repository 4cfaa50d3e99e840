// Step `capabilities`: the worker is root inside its user namespace, which gives it every
// capability over the namespaces it owns (that is how it could mount and pivot_root). Now all
// of them go, in every set, and the securebits make sure they cannot come back.
import CCap
import CShims
#if canImport(Glibc)
import Glibc
#endif

enum Capabilities {
    /// SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_CAP_AMBIENT_RAISE, each with its
    /// _LOCKED bit, and SECBIT_KEEP_CAPS off but locked (linux/securebits.h). NOROOT: being
    /// uid 0 grants nothing on execve; NO_SETUID_FIXUP: no uid change adjusts capabilities;
    /// the locks make the bits permanent, for this process and anything it could create.
    static let lockedSecurebits: UInt32 =
        (1 << 0) | (1 << 1)  // NOROOT, NOROOT_LOCKED
        | (1 << 2) | (1 << 3)  // NO_SETUID_FIXUP, NO_SETUID_FIXUP_LOCKED
        | (1 << 5)  // KEEP_CAPS_LOCKED (KEEP_CAPS itself off)
        | (1 << 6) | (1 << 7)  // NO_CAP_AMBIENT_RAISE, NO_CAP_AMBIENT_RAISE_LOCKED

    /// Locks the securebits, empties the bounding and ambient sets, then drops the effective,
    /// permitted and inheritable sets. Order matters: securebits and the bounding set need
    /// CAP_SETPCAP, so they go before the final drop.
    static func dropAll() throws(LockdownError) {
        guard cap_set_secbits(lockedSecurebits) == 0 else { throw LockdownError(.capabilities, errno: currentErrno) }
        // cap_max_bits is what this kernel knows (the headers may know fewer or more).
        let count = cap_max_bits()
        for cap in 0..<count {
            guard cap_drop_bound(cap) == 0 else { throw LockdownError(.capabilities, errno: currentErrno) }
        }
        // One PR_CAP_AMBIENT_CLEAR_ALL (libcap's cap_reset_ambient first asks about every
        // capability, one prctl each).
        guard sb_prctl(PR_CAP_AMBIENT, UInt(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0) == 0 else {
            throw LockdownError(.capabilities, errno: currentErrno)
        }
        guard let empty = cap_init() else { throw LockdownError(.capabilities, errno: currentErrno) }
        // SAFETY: `empty` came from cap_init and is freed exactly once, here.
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        guard cap_set_proc(empty) == 0 else { throw LockdownError(.capabilities, errno: currentErrno) }
        // Verify: read the sets back and compare with the empty set (cap_compare is 0 when equal).
        guard let current = cap_get_proc() else { throw LockdownError(.capabilities, errno: currentErrno) }
        // SAFETY: `current` came from cap_get_proc and is freed exactly once, here.
        defer { cap_free(UnsafeMutableRawPointer(current)) }
        if cap_compare(current, empty) != 0 { throw LockdownError(.capabilities, errno: EPERM) }
    }
}
