// Step `capabilities`: the worker is root inside its user namespace, which gives it every
// capability over the namespaces it owns (that is how it could mount and pivot_root). Then all
// of them go, in every set (bounding, ambient, effective, permitted, inheritable, through
// libcap: CLockdown/lockdown.c), and the securebits below make sure none can come back.

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
}
