#ifndef ALCATRAZ_SANDBOX_SHIMS_H
#define ALCATRAZ_SANDBOX_SHIMS_H
// Raw system calls and macros the Sandbox target needs but Swift cannot call directly:
// variadic functions (prctl, syscall), calls glibc does not wrap (pivot_root, pidfd_*),
// fork (marked unavailable in Swift), and the CMSG_* macros of SCM_RIGHTS.
// Every function returns -1 and leaves errno set on failure, like the system call it wraps.
#include <stdint.h>
#include <sys/types.h>
#include <linux/prctl.h>

// Namespace flags of clone(2)/unshare(2): <sched.h> only declares them under _GNU_SOURCE,
// which Swift's Glibc module does not define. Checked against the real ones in the .c file.
#define SB_CLONE_NEWNS 0x00020000
#define SB_CLONE_NEWCGROUP 0x02000000
#define SB_CLONE_NEWUTS 0x04000000
#define SB_CLONE_NEWIPC 0x08000000
#define SB_CLONE_NEWUSER 0x10000000
#define SB_CLONE_NEWPID 0x20000000
#define SB_CLONE_NEWNET 0x40000000

// Resource numbers of setrlimit(2), for the same reason (several are GNU/BSD-only names).
#define SB_RLIMIT_CPU 0
#define SB_RLIMIT_FSIZE 1
#define SB_RLIMIT_DATA 2
#define SB_RLIMIT_CORE 4
#define SB_RLIMIT_NPROC 6
#define SB_RLIMIT_NOFILE 7
#define SB_RLIMIT_MEMLOCK 8
#define SB_RLIMIT_AS 9
#define SB_RLIMIT_LOCKS 10
#define SB_RLIMIT_MSGQUEUE 12
#define SB_RLIMIT_NICE 13
#define SB_RLIMIT_RTPRIO 14

/// unshare(2): a GNU extension hidden from Swift.
int sb_unshare(int flags);

/// prctl(2) with all five arguments spelled out (prctl is variadic in glibc).
int sb_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
/// close_range(2) through syscall(2), independent of the glibc version.
int sb_close_range(unsigned int first, unsigned int last, unsigned int flags);
/// fork(2) (glibc's, so atfork handlers and the cached TID stay right). Unavailable in Swift.
pid_t sb_fork(void);
/// The per-worker part of sb_reset_signals: no alternate signal stack, nothing blocked (the
/// dispositions were reset once, in the spawner, and are inherited).
int sb_unblock_signals(void);
/// pidfd_open(2).
int sb_pidfd_open(pid_t pid, unsigned int flags);
/// pidfd_send_signal(2) with no siginfo.
int sb_pidfd_send_signal(int pidfd, int sig);

// A non-blocking, close-on-exec CLOCK_MONOTONIC timerfd (the supervisor's pool thread polls it).
int sb_timerfd_create(void);
// Arms `fd` to expire once at CLOCK_MONOTONIC time `deadline_ns` (absolute).
int sb_timerfd_arm(int fd, uint64_t deadline_ns);
/// setns(2) (wrapped for symmetry; glibc has it but the header needs _GNU_SOURCE).
int sb_setns(int fd, int nstype);

/// Sends `len` bytes and `nfds` descriptors (SCM_RIGHTS) in one sendmsg on `sock`.
ssize_t sb_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/// Receives up to `len` bytes and up to `maxfds` descriptors (SCM_RIGHTS, O_CLOEXEC) from `sock`.
/// `*nfds` is set to the number of descriptors received. Returns the byte count (0 on EOF).
ssize_t sb_recv_with_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds);

/// Blocks SIGCHLD and returns a non-blocking, close-on-exec signalfd for it.
int sb_sigchld_signalfd(void);
/// A fresh worker's signal state: every disposition default, no alternate stack, nothing blocked.
int sb_reset_signals(void);

/// prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN): from now on no mapping of this process can
/// gain PROT_EXEC (and none can be W+X); it cannot be undone. Returns 0 or the errno
/// (EINVAL: the kernel predates Linux 6.3).
int sb_set_mdwe(void);

/// Whether the kernel knows PR_SET_MDWE (1) or not (0).
int sb_has_mdwe(void);

/// Moves the main program's read-only segments (code, constant data), 2 MiB-aligned parts,
/// into anonymous huge pages (same bytes, same addresses), so that fork copies their
/// page-table entries and children never fault on them. For the spawner, once, before its
/// first fork. Returns the bytes moved, or -errno if huge pages were not available for a
/// segment (which is then left as it was).
int64_t sb_move_text_to_huge_pages(void);

/// Whether this kernel can back a 2 MiB region with a huge page on request (MADV_COLLAPSE,
/// Linux 6.1+; independent of the transparent_hugepage sysfs mode): 0, or the errno
/// (EINVAL: not supported; EAGAIN/ENOMEM: no huge page free right now).
int sb_huge_pages_available(void);

/// Loads the "code sealed" seccomp filter: from now on, mmap and mprotect (and pkey_mprotect)
/// with PROT_EXEC kill the process. It stacks on top of the lockdown allowlist, so it can only
/// take rights away. A hand-written 10-instruction BPF program, so that it can be loaded after
/// the lockdown without libseccomp allocating or calling anything.
int sb_seccomp_seal_exec(void);

/// Calls `entry` as `int64_t (*)(void)` and returns its rax. Test harness only: runs machine
/// code supplied by a test (System V ABI: the code may clobber caller-saved registers only).
int64_t sb_call_code(const void *entry);

/// Benchmark floor: one raw clone(2) with `flags` (namespace flags; SIGCHLD is added) whose child
/// writes one byte on a pipe and exits. Returns the nanoseconds from just before the clone to the
/// parent reading that byte (the bare-clone analogue of a worker's "ready"), or -1.
/// `teardown_nanos` (may be NULL) gets the time from reading the byte to waitpid returning.
int64_t sb_clone_floor_nanos(int flags, int64_t *teardown_nanos);

/// The fixed syscall numbers the policy table refers to, from <sys/syscall.h>.
long sb_syscall_number_of_seccomp(void);
#endif
