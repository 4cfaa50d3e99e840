#define _GNU_SOURCE
#include <sys/vfs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "sandbox_shims.h"
#include <link.h>
#include <sys/timerfd.h>
#include <time.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

_Static_assert(SB_CLONE_NEWNS == CLONE_NEWNS, "CLONE_NEWNS");
_Static_assert(SB_CLONE_NEWCGROUP == CLONE_NEWCGROUP, "CLONE_NEWCGROUP");
_Static_assert(SB_CLONE_NEWUTS == CLONE_NEWUTS, "CLONE_NEWUTS");
_Static_assert(SB_CLONE_NEWIPC == CLONE_NEWIPC, "CLONE_NEWIPC");
_Static_assert(SB_CLONE_NEWUSER == CLONE_NEWUSER, "CLONE_NEWUSER");
_Static_assert(SB_CLONE_NEWPID == CLONE_NEWPID, "CLONE_NEWPID");
_Static_assert(SB_CLONE_NEWNET == CLONE_NEWNET, "CLONE_NEWNET");

_Static_assert(SB_RLIMIT_CPU == RLIMIT_CPU && SB_RLIMIT_FSIZE == RLIMIT_FSIZE && SB_RLIMIT_DATA == RLIMIT_DATA, "rlimit");
_Static_assert(SB_RLIMIT_CORE == RLIMIT_CORE && SB_RLIMIT_NPROC == RLIMIT_NPROC && SB_RLIMIT_NOFILE == RLIMIT_NOFILE, "rlimit");
_Static_assert(SB_RLIMIT_MEMLOCK == RLIMIT_MEMLOCK && SB_RLIMIT_AS == RLIMIT_AS && SB_RLIMIT_LOCKS == RLIMIT_LOCKS, "rlimit");
_Static_assert(SB_RLIMIT_MSGQUEUE == RLIMIT_MSGQUEUE && SB_RLIMIT_NICE == RLIMIT_NICE && SB_RLIMIT_RTPRIO == RLIMIT_RTPRIO, "rlimit");

int sb_unshare(int flags) { return unshare(flags); }

int sb_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}

int sb_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}

pid_t sb_fork(void) { return fork(); }

int sb_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

int sb_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int sb_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int sb_timerfd_arm(int fd, uint64_t deadline_ns) {
    struct itimerspec when = {0};
    // 0 would disarm: a deadline at the epoch of the clock has passed anyway, so fire at once.
    if (deadline_ns == 0) deadline_ns = 1;
    when.it_value.tv_sec = (time_t)(deadline_ns / 1000000000u);
    when.it_value.tv_nsec = (long)(deadline_ns % 1000000000u);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &when, NULL);
}

int sb_setns(int fd, int nstype) { return setns(fd, nstype); }

#define SB_MAX_FDS 4

ssize_t sb_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > SB_MAX_FDS) { errno = EINVAL; return -1; }
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(int) * SB_MAX_FDS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t sb_recv_with_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds) {
    *nfds = 0;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(int) * SB_MAX_FDS)]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            // Never leak a descriptor we have no room for: close the surplus.
            if (*nfds < maxfds) fds[(*nfds)++] = data[i]; else close(data[i]);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) { errno = EMSGSIZE; return -1; }
    return n;
}

int sb_sigchld_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int sb_reset_signals(void) {
    // War story: the Swift runtime installs crash handlers (SIGSEGV, SIGILL, SIGBUS, SIGFPE,
    // SIGTRAP, SIGABRT...) that, on a crash, try to start the swift-backtrace helper. In a
    // locked-down worker that spawn is a clone(2) the filter kills, so every crash was
    // reported as a seccomp violation. A worker starts with every disposition at default;
    // the JIT installs its own fault handler in its prepare step, before seccomp.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        // Signals 32 and 33 are glibc-internal (cancellation, setxid): EINVAL, skip them.
        (void)sigaction(sig, &dfl, NULL);
    }
    // And no alternate signal stack left from the runtime: the JIT's fault handler runs on the
    // thread's own stack (see alcatraz_jit_install_fault_handler).
    stack_t none = { .ss_sp = NULL, .ss_flags = SS_DISABLE, .ss_size = 0 };
    (void)sigaltstack(&none, NULL);
    sigset_t set;
    sigemptyset(&set);
    return sigprocmask(SIG_SETMASK, &set, NULL);
}

int sb_unblock_signals(void) {
    stack_t none = { .ss_sp = NULL, .ss_flags = SS_DISABLE, .ss_size = 0 };
    (void)sigaltstack(&none, NULL);
    sigset_t set;
    sigemptyset(&set);
    return sigprocmask(SIG_SETMASK, &set, NULL);
}

int sb_seccomp_seal_exec(void) {
    // Kill the process on mmap/mprotect/pkey_mprotect whose prot (argument 2 in all three)
    // has PROT_EXEC; allow everything else (the lockdown filter below still applies: the
    // kernel runs every stacked filter and takes the most restrictive verdict).
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pkey_mprotect, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        // Low 32 bits of args[2] on little-endian x86-64; PROT_EXEC lives there.
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = (unsigned short)(sizeof code / sizeof code[0]), .filter = code };
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int64_t sb_call_code(const void *entry) {
    int64_t (*fn)(void) = (int64_t (*)(void))entry;
    return fn();
}

long sb_syscall_number_of_seccomp(void) { return SYS_seccomp; }

int64_t sb_clone_floor_nanos(int flags, int64_t *teardown_nanos) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    // Raw clone with a NULL stack behaves like fork (the child runs on a copy of this stack).
    long pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        char ready = 'R';
        (void)write(p[1], &ready, 1);
        _exit(0);
    }
    int64_t result = -1;
    if (pid > 0) {
        char byte;
        if (read(p[0], &byte, 1) == 1) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            result = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
        }
        int status;
        while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR) {}
        struct timespec t2;
        clock_gettime(CLOCK_MONOTONIC, &t2);
        if (teardown_nanos) *teardown_nanos = (int64_t)(t2.tv_sec - t1.tv_sec) * 1000000000 + (t2.tv_nsec - t1.tv_nsec);
    }
    close(p[0]);
    close(p[1]);
    return result;
}


int sb_set_mdwe(void) {
    /* PR_SET_MDWE = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1 (Linux 6.3+; older headers lack them). */
    return prctl(65, 1UL, 0UL, 0UL, 0UL) == 0 ? 0 : errno;
}

int sb_has_mdwe(void) {
    /* PR_GET_MDWE = 66: EINVAL on kernels that do not know it. */
    return prctl(66, 0UL, 0UL, 0UL, 0UL) >= 0;
}

/* The main program's code and read-only data, moved into transparent huge pages. A worker is a
 * fork of the spawner, and fork does not copy the page-table entries of file-backed mappings
 * (mm/memory.c, vma_needs_copy), so every worker takes a page fault on the first touch of each
 * 4 KiB page of code or constant data it uses: dozens per job, each a trip through the kernel.
 * Anonymous huge pages are different: fork copies one entry per 2 MiB, and the child never
 * faults on them. So the spawner, once, before its first fork, copies each read-only segment
 * of its program (the worker binary is linked with 2 MiB segment alignment) into a huge-page-
 * backed anonymous mapping (MADV_HUGEPAGE, MADV_COLLAPSE), gives it the segment's protection,
 * and moves it over the original with mremap (same bytes at the same addresses; the kernel
 * swaps the mapping inside one system call). A segment's last 2 MiB is included when the
 * address space after it is free up to the boundary (zeros there, as in the hole before).
 * Writable segments are left alone: their first write in each worker would copy 2 MiB.
 * Returns the bytes moved, or -errno of the first segment the kernel could not give huge pages
 * (that segment is left as it was). */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define SB_MAX_SEGMENTS 8
struct main_segments { int count; uintptr_t start[SB_MAX_SEGMENTS], end[SB_MAX_SEGMENTS]; int prot[SB_MAX_SEGMENTS]; };

static int find_main_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0') return 0;   /* the main program only */
    struct main_segments *m = data;
    for (int i = 0; i < info->dlpi_phnum && m->count < SB_MAX_SEGMENTS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || ph->p_memsz == 0) continue;
        m->start[m->count] = (uintptr_t)info->dlpi_addr + ph->p_vaddr;
        m->end[m->count] = m->start[m->count] + ph->p_memsz;
        m->prot[m->count] = (ph->p_flags & PF_R ? PROT_READ : 0) | (ph->p_flags & PF_X ? PROT_EXEC : 0);
        m->count++;
    }
    return 1;
}

static int64_t move_to_huge_pages(uintptr_t segment_start, uintptr_t segment_end, int prot) {
    const uintptr_t huge = 2u << 20, page = 4096;
    uintptr_t start = (segment_start + huge - 1) & ~(huge - 1);
    uintptr_t end = segment_end & ~(huge - 1);
    uintptr_t mapped_end = (segment_end + page - 1) & ~(page - 1);
    uintptr_t up = (segment_end + huge - 1) & ~(huge - 1);
    if (up == mapped_end) {
        end = up;
    } else if (up > mapped_end) {
        /* Is [mapped_end, up) free? Then the last 2 MiB can be one huge page too. */
        void *probe = mmap((void *)mapped_end, up - mapped_end, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (probe == (void *)mapped_end) { munmap(probe, up - mapped_end); end = up; }
        else if (probe != MAP_FAILED) munmap(probe, up - mapped_end);
    }
    if (end <= start) return 0;
    size_t length = end - start;
    size_t present = (segment_end < end ? segment_end : end) - start;
    unsigned char *raw = mmap(NULL, length + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return -errno;
    unsigned char *copy = (unsigned char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
    if (copy > raw) munmap(raw, (size_t)(copy - raw));
    if (copy + length < raw + length + huge) munmap(copy + length, (size_t)(raw + length + huge - (copy + length)));
    int e = 0;
    if (madvise(copy, length, MADV_HUGEPAGE) != 0) e = errno;
    if (e == 0) {
        memcpy(copy, (const void *)start, present);
        if (madvise(copy, length, MADV_COLLAPSE) != 0) e = errno;
    }
    if (e == 0 && mprotect(copy, length, prot) != 0) e = errno;
    if (e == 0 && mremap(copy, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)start) == MAP_FAILED) e = errno;
    if (e != 0) {
        munmap(copy, length);
        return -e;
    }
    return (int64_t)length;
}

int64_t sb_move_text_to_huge_pages(void) {
    struct main_segments m = { 0 };
    dl_iterate_phdr(find_main_segments, &m);
    int64_t moved = 0;
    for (int i = 0; i < m.count; i++) {
        int64_t r = move_to_huge_pages(m.start[i], m.end[i], m.prot[i]);
        if (r < 0) return r;
        moved += r;
    }
    return moved;
}

int sb_huge_pages_available(void) {
    const size_t huge = 2u << 20;
    unsigned char *raw = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return errno;
    unsigned char *p = (unsigned char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    int e = 0;
    if (madvise(p, huge, MADV_HUGEPAGE) != 0) e = errno;
    if (e == 0) {
        memset(p, 1, huge);
        if (madvise(p, huge, MADV_COLLAPSE) != 0) e = errno;
    }
    munmap(raw, 2 * huge);
    return e;
}
