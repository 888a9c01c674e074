#ifndef CLIBUV_SHIM_H
#define CLIBUV_SHIM_H
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

/// The calling thread's kernel id (glibc's gettid, which Swift's Glibc module does not export).
static inline int clibuv_gettid(void) { return (int)syscall(SYS_gettid); }

/// Fills `buffer` with `length` random bytes from the kernel (getrandom); the bytes filled, or -1 with errno set.
static inline long clibuv_random(void *buffer, size_t length) { return syscall(SYS_getrandom, buffer, length, 0); }

/* A GNU extension that Swift's Glibc module does not export. */
extern int pipe2(int pipefd[2], int flags);

#include <sys/wait.h>
#include <sys/socket.h>

/// The pid and uid of the process that connected Unix socket `fd` (SO_PEERCRED, whose struct ucred glibc hides
/// without _GNU_SOURCE); the pid is 0 and the uid (unsigned)-1 when unknown.
static inline int clibuv_unix_peer_credentials(int fd, unsigned *uid) {
    struct { int pid; unsigned uid; unsigned gid; } credentials = {0, (unsigned)-1, (unsigned)-1};
    socklen_t length = sizeof credentials;
    *uid = (unsigned)-1;
    if (getsockopt(fd, SOL_SOCKET, 17 /* SO_PEERCRED */, &credentials, &length) != 0) return 0;
    *uid = credentials.uid;
    return credentials.pid;
}

/// The pid of a child that has exited and is waiting to be reaped, left unreaped (WNOWAIT); 0 when there is
/// none, -1 with errno set (ECHILD when the process has no children).
static inline pid_t clibuv_peek_exited_child(void) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid;
}

/// Whether child `pid` has exited and waits to be reaped (it is left unreaped).
static inline int clibuv_child_exited(pid_t pid) {
    siginfo_t info;
    info.si_pid = 0;
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

/// Adds SA_NOCLDSTOP to the installed SIGCHLD handler, so that children stopping or continuing (every freeze
/// and thaw in `signal` mode) raise no signal; exits still do.
static inline void clibuv_sigchld_exits_only(void) {
    struct sigaction action;
    if (sigaction(SIGCHLD, NULL, &action) != 0) return;
    if (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN) return;
    action.sa_flags |= SA_NOCLDSTOP;
    sigaction(SIGCHLD, &action, NULL);
}

/* A GNU extension that Swift's Glibc module does not export. */
extern int fallocate(int fd, int mode, off_t offset, off_t len);

/// Frees the storage of the first `length` bytes of file `fd` without changing its size or offsets
/// (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE); 0 or -1 with errno set.
static inline int clibuv_punch_hole(int fd, off_t length) { return fallocate(fd, 0x02 | 0x01, 0, length); }

/// Sets process `pid`'s open-file limit (soft and hard) to `limit`; 0 or -1 with errno set.
static inline int clibuv_set_file_limit(pid_t pid, unsigned long limit) {
    struct rlimit value = {limit, limit};
    return (int)syscall(SYS_prlimit64, pid, RLIMIT_NOFILE, &value, NULL);
}

/* glibc defines it only for _GNU_SOURCE (glibc 2.26). */
#ifndef POSIX_SPAWN_SETSID
#define POSIX_SPAWN_SETSID 0x80
#endif

/* A GNU extension (glibc 2.29) that Swift's Glibc module does not export. */
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *__restrict actions,
                                                const char *__restrict path);

/// Starts `path` (an absolute path) with `argv` and `envp` as uv_spawn does with UV_PROCESS_DETACHED, but with
/// glibc's posix_spawn, which clones with CLONE_VFORK instead of copying the parent's page tables: a new session
/// (so its own process group), stdin from /dev/null, stdout and stderr on `out` and `err`, working directory
/// `cwd` (or the parent's when NULL), every signal at its default disposition and none blocked.
/// Returns 0 and sets `*pid`, or an errno value (ENOENT, EACCES, ...) when the program cannot be started.
static inline int clibuv_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                               const char *cwd, int out, int err) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t none, all;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    sigemptyset(&none);
    sigfillset(&all);
    if (rc == 0) rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out, 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err, 2);
    if (rc == 0 && cwd != NULL) rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}
#include "guardian.h"
#include "sockdiag.h"

#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>

/// Peeks at the bytes waiting on TCP socket `fd` (recvmsg with MSG_PEEK, into `buffer`) for the receive timestamp
/// of the latest segment among them (SO_TIMESTAMPNS must be on): its CLOCK_REALTIME nanoseconds, 0 when nothing
/// is waiting or no timestamp came, -1 with errno set on error. Nothing is consumed.
static inline long long clibuv_peek_receive_time(int fd, void *buffer, size_t length) {
    char control[CMSG_SPACE(sizeof(struct timespec)) * 2];
    struct iovec vector = {buffer, length};
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t got = recvmsg(fd, &message, MSG_PEEK | MSG_DONTWAIT);
    if (got < 0) return -1;
    if (got == 0) return 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec stamp;
            memcpy(&stamp, CMSG_DATA(header), sizeof stamp);
            return (long long)stamp.tv_sec * 1000000000LL + stamp.tv_nsec;
        }
    }
    return 0;
}

/// Sleeps until CLOCK_MONOTONIC (uv_hrtime's clock) reads `nanoseconds`, or a signal interrupts.
static inline void clibuv_sleep_until(unsigned long long nanoseconds) {
    struct timespec until = {(time_t)(nanoseconds / 1000000000ULL), (long)(nanoseconds % 1000000000ULL)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
}

/// Sets the calling thread's timer slack (prctl PR_SET_TIMERSLACK) to `nanoseconds`.
static inline void clibuv_set_timer_slack(unsigned long nanoseconds) { prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0); }

#endif
