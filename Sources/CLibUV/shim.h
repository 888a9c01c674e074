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

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

/* GNU extensions that Swift's Glibc module does not export (they need _GNU_SOURCE). */
extern int clone(int (*function)(void *), void *stack, int flags, void *argument, ...);
extern int unshare(int flags);
extern int dup3(int old_fd, int new_fd, int flags);
#ifndef CLONE_VM
#define CLONE_VM 0x00000100
#define CLONE_FILES 0x00000400
#define CLONE_VFORK 0x00004000
#endif

/* The three descriptors through which a spawn hands the child its stdin, stdout and stderr: reserved once, while
 * the process has few descriptors open (so their numbers are low), pointing at /dev/null between spawns. Swift may
 * compile a copy of these statics into each file that uses them, so only one file (SimUV's ChildProcess.swift)
 * calls clibuv_spawn and clibuv_spawn_reserve. */
static int clibuv_spawn_slots[3] = {-1, -1, -1};
static pthread_once_t clibuv_spawn_once = PTHREAD_ONCE_INIT;

static inline void clibuv_spawn_reserve_slots(void) {
    for (int i = 0; i < 3; i++) {
        // Above 2 even when the simulator started with stdin, stdout or stderr closed, which a slot must not take.
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        clibuv_spawn_slots[i] = null_fd < 0 ? -1 : fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
        if (null_fd >= 0 && null_fd != clibuv_spawn_slots[i]) close(null_fd);
    }
}

/// Reserves the descriptors spawns hand the child's output through, if not yet done: call early, while few
/// descriptors are open, so that they get low numbers (a spawn copies the descriptor table up to them).
static inline void clibuv_spawn_reserve(void) { pthread_once(&clibuv_spawn_once, clibuv_spawn_reserve_slots); }

struct clibuv_spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int error;
};

/* The child's side of clibuv_spawn: it shares the parent's memory and descriptor table (CLONE_VM | CLONE_VFORK |
 * CLONE_FILES) until it takes a private table holding only descriptors 0 to the last slot, so the copy costs the
 * same however many descriptors the simulator holds (posix_spawn copies the whole table, and exec then closes
 * every copied descriptor: O(descriptors) per spawn, which made starting 15,000 sandboxes quadratic). */
static int clibuv_spawn_child(void *argument) {
    struct clibuv_spawn_request *request = argument;
    int last_slot = clibuv_spawn_slots[1] > clibuv_spawn_slots[2] ? clibuv_spawn_slots[1] : clibuv_spawn_slots[2];
    if (syscall(SYS_close_range, (unsigned)last_slot + 1, ~0U, 2U /* CLOSE_RANGE_UNSHARE */) != 0 &&
        unshare(CLONE_FILES) != 0) {
        request->error = errno;
        _exit(127);
    }
    if (dup2(clibuv_spawn_slots[0], 0) < 0 || dup2(clibuv_spawn_slots[1], 1) < 0 ||
        dup2(clibuv_spawn_slots[2], 2) < 0) {
        request->error = errno;
        _exit(127);
    }
    syscall(SYS_close_range, 3U, ~0U, 0U);
    setsid();
    if (request->cwd != NULL && chdir(request->cwd) != 0) {
        request->error = errno;
        _exit(127);
    }
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; signal_number++) sigaction(signal_number, &default_action, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(request->path, request->argv, request->envp);
    request->error = errno;
    _exit(127);
}

/// Starts `path` (an absolute path) with `argv` and `envp` as uv_spawn does with UV_PROCESS_DETACHED, but cloning
/// with CLONE_VFORK instead of copying the parent's page tables, and with CLONE_FILES and a private copy of only
/// the lowest descriptors instead of the whole table (see `clibuv_spawn_child`): a new session (so its own process
/// group), stdin from /dev/null, stdout and stderr on `out` and `err`, working directory `cwd` (or the parent's
/// when NULL), every signal at its default disposition and none blocked. Returns 0 with the pid in `*pid`, or an
/// errno (the child's, when chdir or exec failed: the child has then been reaped). Calls must not overlap (the
/// callers hold ChildReaper's registry lock).
static inline int clibuv_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                               const char *cwd, int out, int err) {
    static char *stack;
    enum { stack_size = 64 * 1024 };
    clibuv_spawn_reserve();
    if (clibuv_spawn_slots[0] < 0 || clibuv_spawn_slots[1] < 0 || clibuv_spawn_slots[2] < 0) return EMFILE;
    if (stack == NULL) {
        void *mapped = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (mapped == MAP_FAILED) return errno;
        stack = mapped;
    }
    if (dup3(out, clibuv_spawn_slots[1], O_CLOEXEC) < 0) return errno;
    if (dup3(err, clibuv_spawn_slots[2], O_CLOEXEC) < 0) {
        int code = errno;
        dup3(clibuv_spawn_slots[0], clibuv_spawn_slots[1], O_CLOEXEC);
        return code;
    }
    struct clibuv_spawn_request request = {path, argv, envp, cwd, 0};
    sigset_t all, previous;
    sigfillset(&all);
    // No signal handler may run in the child while it shares the parent's memory.
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int child = clone(clibuv_spawn_child, stack + stack_size, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &request);
    int code = child < 0 ? errno : request.error;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    // The slots point at /dev/null again, so the parent holds no extra reference to the child's output.
    dup3(clibuv_spawn_slots[0], clibuv_spawn_slots[1], O_CLOEXEC);
    dup3(clibuv_spawn_slots[0], clibuv_spawn_slots[2], O_CLOEXEC);
    if (child > 0 && code != 0) waitpid(child, NULL, 0);
    if (code != 0) return code;
    *pid = child;
    return 0;
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
