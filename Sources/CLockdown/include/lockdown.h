#ifndef ALCATRAZ_LOCKDOWN_H
#define ALCATRAZ_LOCKDOWN_H
// The worker lockdown's system calls, in C. The order, the reasons for each step and the
// operator-facing errors live in Swift (Sources/Sandbox/Lockdown.swift); this file only does
// the calls. Why C: a worker is a fork of the Swift spawner, and every page the child writes
// costs a copy-on-write fault. Swift code touches many pages (reference counts, malloc
// metadata, runtime caches); the same steps in Swift cost ~0.6 ms per worker on the reference
// machine against ~0.25 ms here (docs/benchmarks.md, "Worker spawn"). So the spawner compiles
// the whole configuration into one `sb_lockdown_plan` before it forks, and the child runs these
// functions on it without allocating.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Step numbers: exactly `LockdownStep`'s raw values (a test checks them one by one).
enum {
    SB_STEP_OUTSIDE_IDENTITY = 0,
    SB_STEP_PID_NAMESPACE = 1,
    SB_STEP_USER_NAMESPACE = 2,
    SB_STEP_ID_MAPS = 3,
    SB_STEP_MOUNT_NAMESPACE = 4,
    SB_STEP_IPC_NAMESPACE = 5,
    SB_STEP_UTS_NAMESPACE = 6,
    SB_STEP_CGROUP_NAMESPACE = 7,
    SB_STEP_FILE_DESCRIPTORS = 8,
    SB_STEP_ROOT_FILESYSTEM = 9,
    SB_STEP_ENVIRONMENT = 10,
    SB_STEP_RESOURCE_LIMITS = 11,
    SB_STEP_CAPABILITIES = 12,
    SB_STEP_NO_NEW_PRIVILEGES = 13,
    SB_STEP_PREPARE_JOB = 14,
    SB_STEP_SECCOMP = 15,
    SB_STEP_COUNT = 16,
};

#define SB_MAX_RLIMITS 16

struct sb_rlimit_entry {
    int resource;
    uint64_t value;
};

/// Everything the steps need, prepared before the fork. Strings are NUL-terminated and owned by
/// whoever built the plan (Swift's `LockdownPlan`), as is the seccomp program.
struct sb_lockdown_plan {
    int job_fd;
    /// Non-zero: a root caller becomes outside_uid/outside_gid before its user namespace exists.
    /// With namespaces_cloned, outside_uid/outside_gid are instead the spawner's own ids, which
    /// the worker's maps map inside-0 to.
    int drop_identity;
    uint32_t outside_uid;
    uint32_t outside_gid;
    /// Non-zero: the process must be PID 1 (of the PID namespace the spawner forked it into).
    int require_pid1;
    /// A descriptor of /proc to write the id maps through, or -1 for the path /proc.
    int proc_fd;
    /// Non-zero: the spawner already left the host filesystem; only verify the empty root.
    int root_prepared;
    /// Non-zero: the spawner forked the worker with sb_fork_into_namespaces(), so the user,
    /// mount, IPC, UTS and cgroup namespaces already exist (clone creates all of them or fails);
    /// their steps then only do what follows the unshare (private mounts, the hostname).
    int namespaces_cloned;
    const char *new_root_mountpoint;
    const char *hostname;
    int rlimit_count;
    struct sb_rlimit_entry rlimits[SB_MAX_RLIMITS];
    /// The securebits to set and lock (see lockdown.c).
    uint32_t securebits;
    /// A libcap `cap_t` from sb_empty_capabilities(), made before the fork.
    void *empty_capabilities;
    /// The allowlist as classic BPF (struct sock_filter records), compiled once by the spawner.
    const void *seccomp_program;
    size_t seccomp_program_length;
};

/// What one step learns and a later one needs: the outside ids, read before the user
/// namespace hides them behind the overflow id.
struct sb_lockdown_state {
    uint32_t outside_uid;
    uint32_t outside_gid;
};

/// Runs one step. Returns 0, or the errno of the call that failed. `source_job_fd` is the job
/// socket as inherited (the file-descriptor step renumbers it to plan->job_fd).
/// SB_STEP_PREPARE_JOB does nothing here: the caller runs the job's own preparation.
int sb_lockdown_step(const struct sb_lockdown_plan *plan, int step, int source_job_fd,
                     struct sb_lockdown_state *state);

/// Runs steps `first` through `last` in order and stops at the first failure, whose step goes
/// to `*failed_step`. Returns 0 or that errno. If `stamps` is not NULL, stamps[step] receives
/// CLOCK_MONOTONIC nanoseconds after each step that succeeded (the spawner's timing mode).
int sb_lockdown_run(const struct sb_lockdown_plan *plan, int first, int last, int source_job_fd,
                    struct sb_lockdown_state *state, int *failed_step, uint64_t *stamps);

/// Namespace flags of the worker's clone when `namespaces_cloned` is set: PID, user, mount, IPC,
/// UTS and cgroup (not network: the spawner's one network namespace is shared).
#define SB_WORKER_CLONE_FLAGS 0x3e020000
/// fork(2) as a raw clone with `flags` (namespace flags) | SIGCHLD: the child runs on a copy of
/// the caller's stack. Single-threaded callers only (glibc's fork handlers do not run).
pid_t sb_fork_into_namespaces(int flags);

/// libcap's empty capability state (cap_init()), for the plan; NULL with errno on failure.
void *sb_empty_capabilities(void);
/// Frees what sb_empty_capabilities returned.
void sb_free_capabilities(void *caps);

/// The building blocks the spawner also uses for itself. Each returns 0 or an errno.
/// Becomes uid/gid with no supplementary groups (needs root in the current user namespace);
/// leaves the process dumpable (for its own uid_map) and re-arms PR_SET_PDEATHSIG(SIGKILL).
int sb_become(uint32_t uid, uint32_t gid);
/// Writes "deny" to setgroups and "0 uid 1" / "0 gid 1" to uid_map and gid_map of this process.
int sb_write_id_maps(int proc_fd, uint32_t uid, uint32_t gid);
/// unshare(CLONE_NEWNS), then every mount made private (recursively).
int sb_unshare_mount_private(void);
/// An empty read-only tmpfs on `mountpoint` becomes "/" (pivot_root); the old root is detached.
int sb_pivot_into_empty_root(const char *mountpoint);
#endif
