// The lockdown steps' system calls (see include/lockdown.h for why they are in C). Each
// function returns 0 or the errno of the first call that failed; none allocates except libcap's
// small capability-state objects in the capabilities step.
#define _GNU_SOURCE
#include "lockdown.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(SB_STEP_COUNT == 16, "LockdownStep has 16 cases");
_Static_assert(SB_WORKER_CLONE_FLAGS == (CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP),
               "the worker's clone flags");

pid_t sb_fork_into_namespaces(int flags) {
    return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0UL, 0UL, 0UL, 0UL);
}

static int fail(void) { return errno != 0 ? errno : EIO; }

static int write_text(int dirfd, const char *relative, const char *absolute, const char *text) {
    int fd;
    do {
        fd = dirfd >= 0 ? openat(dirfd, relative, O_WRONLY | O_CLOEXEC) : open(absolute, O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return fail();
    size_t length = strlen(text), done = 0;
    while (done < length) {
        ssize_t n = write(fd, text + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int e = n < 0 ? fail() : EIO; close(fd); return e; }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}

// Becomes uid/gid (all three ids each) with no supplementary groups, as root in the caller's
// user namespace. Supplementary groups first: after setresuid root's could not be dropped.
// War story: a uid change resets the "dumpable" flag to fs.suid_dumpable (0), which makes
// /proc/self/* owned by global root; the process then gets EACCES opening its own uid_map.
// Dumpable again until the maps are written (whoever writes them turns it off).
// Second war story: a credential change also clears PR_SET_PDEATHSIG, so it is armed here,
// after the switch: a worker must die with its spawner, the spawner with its supervisor.
static int dumpable_with_death_signal(void) {
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return fail();
    return 0;
}

int sb_become(uint32_t uid, uint32_t gid) {
    errno = 0;
    if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) return fail();
    return dumpable_with_death_signal();
}

// Step outsideIdentity. A root caller first becomes nobody in its user namespace, then creates
// the worker's user namespace: inside it is root (with capabilities only over its own
// namespaces), outside it is an unprivileged uid owning no file. (The production spawner has
// already become nobody in a user namespace of its own, so for its workers this step only
// re-arms the parent-death signal and the dumpable flag.)
static int outside_identity(const struct sb_lockdown_plan *plan, struct sb_lockdown_state *state) {
    if (plan->namespaces_cloned) {
        // Already in the new user namespace, where getuid() is the overflow id until the maps
        // exist: the ids to map to are the spawner's, recorded in the plan.
        state->outside_uid = plan->outside_uid;
        state->outside_gid = plan->outside_gid;
        return dumpable_with_death_signal();
    }
    state->outside_uid = getuid();
    state->outside_gid = getgid();
    if (geteuid() == 0 && plan->drop_identity) {
        int e = sb_become(plan->outside_uid, plan->outside_gid);
        if (e != 0) return e;
        state->outside_uid = plan->outside_uid;
        state->outside_gid = plan->outside_gid;
        return 0;
    }
    return dumpable_with_death_signal();
}

// Inside 0 maps to the outside identity, one id each, nothing else. The process writes its own
// maps, so the kernel only allows mapping its own euid/egid, and the gid map only after
// setgroups is denied (otherwise an unprivileged user could drop a group used in a deny-ACL).
// "0 <id> 1\n" without printf: a fresh fork faults in every page of libc it runs for the first
// time, and vfprintf is several.
static void id_map_line(char out[24], uint32_t id) {
    char digits[10];
    int n = 0;
    do { digits[n++] = (char)('0' + id % 10); id /= 10; } while (id != 0);
    int i = 0;
    out[i++] = '0';
    out[i++] = ' ';
    while (n > 0) out[i++] = digits[--n];
    out[i++] = ' ';
    out[i++] = '1';
    out[i++] = '\n';
    out[i] = 0;
}

int sb_write_id_maps(int proc_fd, uint32_t uid, uint32_t gid) {
    char uid_map[24], gid_map[24];
    id_map_line(uid_map, uid);
    id_map_line(gid_map, gid);
    int e = write_text(proc_fd, "self/setgroups", "/proc/self/setgroups", "deny");
    if (e == 0) e = write_text(proc_fd, "self/uid_map", "/proc/self/uid_map", uid_map);
    if (e == 0) e = write_text(proc_fd, "self/gid_map", "/proc/self/gid_map", gid_map);
    return e;
}

// A private copy of the mount table, recursively made private so that the tmpfs and pivot_root
// that follow never propagate to the host (pivot_root requires unshared parents anyway).
int sb_unshare_mount_private(void) {
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return fail();
    return 0;
}

// Read-only from birth; nothing on it can be a device, setuid binary or executable (there is
// nothing on it at all; the flags stop a later remount). A few KiB and two inodes.
int sb_pivot_into_empty_root(const char *mountpoint) {
    if (mount("alcatraz-root", mountpoint, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=4k,nr_inodes=2,mode=0555") != 0) return fail();
    if (chdir(mountpoint) != 0) return fail();
    // pivot_root(".", ".") needs no put_old directory (the read-only tmpfs could not hold one):
    // the old root ends up stacked on top of the new one at "/", and the detach below removes
    // it with every mount under it (documented in pivot_root(2)). War story: the mounts copied
    // into a user-namespace-owned mount namespace are "locked" to their parents and cannot be
    // unmounted one by one, but detaching the whole old tree at once is allowed.
    if (syscall(SYS_pivot_root, ".", ".") != 0) return fail();
    if (umount2(".", MNT_DETACH) != 0) return fail();
    if (chdir("/") != 0) return fail();
    return 0;
}

// The root a spawner prepared: checked, not trusted. It must be a read-only tmpfs whose root
// directory is empty (two links: "." and the parent's entry), and the process must be at it.
static int verify_empty_root(void) {
    struct statfs fs;
    struct stat st;
    if (statfs("/", &fs) != 0 || stat("/", &st) != 0) return fail();
    if ((unsigned long)fs.f_type != 0x01021994UL /* TMPFS_MAGIC */ || !(fs.f_flags & ST_RDONLY) || st.st_nlink != 2)
        return EPERM;
    if (chdir("/") != 0) return fail();
    return 0;
}

// The worker holds exactly one descriptor, its job socket, at a fixed number; everything the
// spawner had (control socket, signalfd, the supervisor's stderr) is closed.
static int file_descriptors(int source, int target) {
    // dup3 rather than dup2: a worker never execs, but if it ever did the job fd must not leak
    // (and dup2(fd, fd) would silently keep a stale CLOEXEC flag).
    if (source != target && dup3(source, target, O_CLOEXEC) < 0) return fail();
    // close_range: one call, and it cannot miss a descriptor being created meanwhile.
    if (target > 0 && syscall(SYS_close_range, 0u, (unsigned)(target - 1), 0u) != 0) return fail();
    if (syscall(SYS_close_range, (unsigned)(target + 1), ~0u, 0u) != 0) return fail();
    // The job socket must really be there: a wrong number would only show up after seccomp.
    if (fcntl(target, F_GETFD) < 0) return fail();
    return 0;
}

// Every capability goes, in every set, and the securebits make sure none can come back.
// Order matters: securebits and the bounding set need CAP_SETPCAP, so they go first.
// `empty` is a cap_init() state the plan's builder allocated before the fork: libcap would
// otherwise malloc in the child, and a fresh fork pays a copy-on-write fault for each malloc
// arena page it touches.
static int capabilities(uint32_t securebits, cap_t empty) {
    if (empty == NULL) return EINVAL;
    if (cap_set_secbits(securebits) != 0) return fail();
    // cap_max_bits: what this kernel knows (the headers may know fewer or more).
    for (cap_value_t cap = 0; cap < (cap_value_t)cap_max_bits(); cap++) {
        if (cap_drop_bound(cap) != 0) return fail();
    }
    // One PR_CAP_AMBIENT_CLEAR_ALL (libcap's cap_reset_ambient asks about every capability).
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return fail();
    if (cap_set_proc(empty) != 0) return fail();
    // Verify with the kernel's own answer (capget, no allocation): every set empty.
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0xff, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) return fail();
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        if (data[i].effective != 0 || data[i].permitted != 0 || data[i].inheritable != 0) return EPERM;
    }
    return 0;
}

void *sb_empty_capabilities(void) { return cap_init(); }
void sb_free_capabilities(void *caps) { if (caps != NULL) cap_free(caps); }

static int seccomp_filter(const struct sb_lockdown_plan *plan) {
    size_t length = plan->seccomp_program_length;
    if (plan->seccomp_program == NULL || length == 0 || length % sizeof(struct sock_filter) != 0 ||
        length / sizeof(struct sock_filter) > BPF_MAXINSNS) return EINVAL;
    struct sock_fprog prog = { .len = (unsigned short)(length / sizeof(struct sock_filter)),
                               .filter = (struct sock_filter *)plan->seccomp_program };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return fail();
    return 0;
}

int sb_lockdown_step(const struct sb_lockdown_plan *plan, int step, int source_job_fd,
                     struct sb_lockdown_state *state) {
    errno = 0;
    switch (step) {
    case SB_STEP_OUTSIDE_IDENTITY: return outside_identity(plan, state);
    case SB_STEP_PID_NAMESPACE: return plan->require_pid1 && getpid() != 1 ? EINVAL : 0;
    case SB_STEP_USER_NAMESPACE:
        if (plan->namespaces_cloned) return 0;
        return unshare(CLONE_NEWUSER) == 0 ? 0 : fail();
    case SB_STEP_ID_MAPS: {
        int e = sb_write_id_maps(plan->proc_fd, state->outside_uid, state->outside_gid);
        if (e != 0) return e;
        // Maps written: nothing outside needs our /proc files any more, and a non-dumpable
        // process cannot be ptrace-attached by other processes of the same uid.
        return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : fail();
    }
    case SB_STEP_MOUNT_NAMESPACE:
        if (plan->namespaces_cloned) {
            return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : fail();
        }
        return sb_unshare_mount_private();
    case SB_STEP_IPC_NAMESPACE:
        if (plan->namespaces_cloned) return 0;
        return unshare(CLONE_NEWIPC) == 0 ? 0 : fail();
    case SB_STEP_UTS_NAMESPACE:
        if (!plan->namespaces_cloned && unshare(CLONE_NEWUTS) != 0) return fail();
        return sethostname(plan->hostname, strlen(plan->hostname)) == 0 ? 0 : fail();
    case SB_STEP_CGROUP_NAMESPACE:
        if (plan->namespaces_cloned) return 0;
        return unshare(CLONE_NEWCGROUP) == 0 ? 0 : fail();
    case SB_STEP_FILE_DESCRIPTORS: return file_descriptors(source_job_fd, plan->job_fd);
    case SB_STEP_ROOT_FILESYSTEM:
        return plan->root_prepared ? verify_empty_root() : sb_pivot_into_empty_root(plan->new_root_mountpoint);
    case SB_STEP_ENVIRONMENT:
        // The spawner is exec'd with an empty environment already; this drops what it set since.
        return clearenv() == 0 ? 0 : fail();
    case SB_STEP_RESOURCE_LIMITS:
        for (int i = 0; i < plan->rlimit_count && i < SB_MAX_RLIMITS; i++) {
            struct rlimit r = { .rlim_cur = plan->rlimits[i].value, .rlim_max = plan->rlimits[i].value };
            if (setrlimit(plan->rlimits[i].resource, &r) != 0) return fail();
        }
        return 0;
    case SB_STEP_CAPABILITIES: return capabilities(plan->securebits, (cap_t)plan->empty_capabilities);
    case SB_STEP_NO_NEW_PRIVILEGES: return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : fail();
    case SB_STEP_PREPARE_JOB: return 0;
    case SB_STEP_SECCOMP: return seccomp_filter(plan);
    default: return EINVAL;
    }
}

int sb_lockdown_run(const struct sb_lockdown_plan *plan, int first, int last, int source_job_fd,
                    struct sb_lockdown_state *state, int *failed_step, uint64_t *stamps) {
    for (int step = first; step <= last; step++) {
        int e = sb_lockdown_step(plan, step, source_job_fd, state);
        if (e != 0) {
            *failed_step = step;
            return e;
        }
        if (stamps != NULL) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            stamps[step] = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
        }
    }
    return 0;
}
