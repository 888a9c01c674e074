#ifndef CLIBUV_GUARDIAN_H
#define CLIBUV_GUARDIAN_H
/*
 * The guardian: a small process forked from the simulator that outlives it by a moment, so that a simulator
 * killed with SIGKILL (which no handler sees) leaves nothing running or stopped.
 *
 * The simulator keeps the process groups (and the single processes that left their group with setsid) it owns in
 * a table in a shared file mapping, `guard` in its private state directory (`StateDirectory`: only its user can
 * write there, and every file is created O_EXCL|O_NOFOLLOW and checked for owner, type and mode when read back).
 * The guardian holds the read end of a pipe whose write end only the simulator holds (close-on-exec, so no runtime
 * inherits it); when the simulator dies, for any reason, the read returns end-of-file and the guardian thaws the
 * simulator's cgroups (their names start with its pid), kills every entry whose identity it re-verifies, kills
 * what is left in the cgroups and removes them, removes the simulator's state directory, then exits.
 *
 * Identity. A pid or process-group id is signalled only when it is above 1 and its process is re-verified at that
 * moment: its start time is the one recorded and its environment carries the simulator's own mark
 * (`_LAMBDA_SIM_INSTANCE=<128 random bits>`, given to every process it starts); or it is a child of a process so
 * verified, read from /proc at that moment; or it carries the mark itself. A reused pid or a table edited by
 * someone else can therefore not direct a signal at a process the simulator did not start.
 *
 * Everything the guardian does after fork is a raw system call: the simulator is multi-threaded, so the child may
 * not take a lock (malloc, stdio, opendir) that another thread held at the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CLIBUV_GUARD_MAGIC 0x4c534732 /* "LSG2" */
#define CLIBUV_GUARD_CAPACITY 65536
#define CLIBUV_GUARD_PARENTS 8
#define CLIBUV_GUARD_PATH 160
#define CLIBUV_GUARD_MARK 64

/// One owned process group (`id` > 0, signalled as `-id`) or single process (`id` < 0, signalled as `-id`,
/// that is, the pid); 0 is a free slot. `start` is the start time (clock ticks after boot) of the group leader or
/// process, so that a later simulator can tell a reused pid from the one recorded.
typedef struct {
    volatile int32_t id;
    int32_t reserved;
    volatile uint64_t start;
} clibuv_guard_entry;

/// The shared table: a file of 1 MiB and a little, touched only where written.
typedef struct {
    int32_t magic;
    int32_t owner;
    uint64_t owner_start;
    volatile int32_t high_water;
    int32_t reserved;
    /// The owner's state directory (holding this table), which the guardian removes when it is done.
    char path[CLIBUV_GUARD_PATH];
    /// The environment entry every process the owner starts carries (`_LAMBDA_SIM_INSTANCE=<hex>`, NUL-terminated):
    /// a process with it was started by one of the owner's sandboxes, even if it left every group and lost its
    /// parent.
    char mark[CLIBUV_GUARD_MARK];
    /// Directories holding the owner's cgroups (`<parent>/<owner pid>-<sandbox id>`), empty strings unused.
    char parents[CLIBUV_GUARD_PARENTS][CLIBUV_GUARD_PATH];
    clibuv_guard_entry entries[CLIBUV_GUARD_CAPACITY];
} clibuv_guard_table;

/// The entries of `table` (Swift does not import an array member this large).
static inline clibuv_guard_entry *clibuv_guard_entries(const clibuv_guard_table *table) {
    return (clibuv_guard_entry *)table->entries;
}

/// Creates the table file `path` (O_EXCL|O_NOFOLLOW, mode 0600: never an existing file or a symlink's target) and
/// maps it, zeroed. Returns the mapping or NULL with errno set.
static inline clibuv_guard_table *clibuv_guard_map(const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return NULL;
    if (ftruncate(fd, sizeof(clibuv_guard_table)) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    void *map = mmap(NULL, sizeof(clibuv_guard_table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return map == MAP_FAILED ? NULL : (clibuv_guard_table *)map;
}

/// Maps an existing table file read-only (a dead simulator's) when it is what this user's simulator would have
/// written: a regular file (not followed through a symlink) owned by `uid`, mode 0600, of the table's size, with
/// the table's magic. NULL otherwise (errno EPERM for a file that fails those checks).
static inline const clibuv_guard_table *clibuv_guard_map_existing(const char *path, uid_t uid) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != uid || (info.st_mode & 07777) != 0600 ||
        (size_t)info.st_size != sizeof(clibuv_guard_table)) {
        close(fd);
        errno = EPERM;
        return NULL;
    }
    void *map = mmap(NULL, sizeof(clibuv_guard_table), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return NULL;
    const clibuv_guard_table *table = (const clibuv_guard_table *)map;
    if ((uint32_t)table->magic != CLIBUV_GUARD_MAGIC || table->mark[0] == 0 ||
        memchr(table->mark, 0, CLIBUV_GUARD_MARK) == NULL) {
        munmap(map, sizeof(clibuv_guard_table));
        errno = EPERM;
        return NULL;
    }
    return table;
}

static inline void clibuv_guard_unmap(const clibuv_guard_table *table) {
    munmap((void *)table, sizeof(clibuv_guard_table));
}

/// Appends `text` to `buffer` (capacity `size`, NUL-terminated) at `*length`.
static inline void clibuv_guard_append(char *buffer, size_t size, size_t *length, const char *text) {
    while (*text && *length + 1 < size) buffer[(*length)++] = *text++;
    buffer[*length] = 0;
}

/// Decimal digits of `value` into `out` (at least 12 bytes).
static inline void clibuv_guard_decimal(int32_t value, char *out) {
    char digits[12];
    int count = 0;
    uint32_t v = value < 0 ? (uint32_t)(-(int64_t)value) : (uint32_t)value;
    do {
        digits[count++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && count < 11);
    int i = 0;
    if (value < 0) out[i++] = '-';
    while (count) out[i++] = digits[--count];
    out[i] = 0;
}

/// `/proc/<pid>/<name>` into `path` (capacity `size`); returns its length.
static inline size_t clibuv_guard_proc_path(char *path, size_t size, pid_t pid, const char *name) {
    char number[16];
    size_t length = 0;
    path[0] = 0;
    clibuv_guard_decimal(pid, number);
    clibuv_guard_append(path, size, &length, "/proc/");
    clibuv_guard_append(path, size, &length, number);
    clibuv_guard_append(path, size, &length, "/");
    clibuv_guard_append(path, size, &length, name);
    return length;
}

static inline int clibuv_guard_write_file(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t written = write(fd, value, strlen(value));
    close(fd);
    return written < 0 ? -1 : 0;
}

/// SIGKILL to every pid listed in the cgroup file `path` (`cgroup.procs`).
static inline void clibuv_guard_kill_listed(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buffer[4096];
    int32_t pid = 0;
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buffer[i] >= '0' && buffer[i] <= '9') {
                pid = pid * 10 + (buffer[i] - '0');
            } else {
                if (pid > 0) kill(pid, SIGKILL);
                pid = 0;
            }
        }
    }
    if (pid > 0) kill(pid, SIGKILL);
    close(fd);
}

struct clibuv_guard_dirent {
    uint64_t inode;
    int64_t offset;
    unsigned short length;
    unsigned char type;
    char name[];
};

/// For every directory `<parent>/<owner>-*`: `remove` 0 thaws it and kills its members, 1 removes it. Returns
/// how many there were.
static inline int clibuv_guard_cgroups(const clibuv_guard_table *table, int remove) {
    int found = 0;
    char prefix[16];
    clibuv_guard_decimal(table->owner, prefix);
    size_t prefix_length = strlen(prefix);
    prefix[prefix_length++] = '-';
    prefix[prefix_length] = 0;
    for (int p = 0; p < CLIBUV_GUARD_PARENTS; p++) {
        const char *parent = table->parents[p];
        if (!parent[0]) continue;
        int dir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) continue;
        char entries[4096];
        long n;
        while ((n = syscall(SYS_getdents64, dir, entries, sizeof entries)) > 0) {
            for (long offset = 0; offset < n;) {
                struct clibuv_guard_dirent *entry = (struct clibuv_guard_dirent *)(entries + offset);
                offset += entry->length;
                if (strncmp(entry->name, prefix, prefix_length) != 0) continue;
                found++;
                char path[CLIBUV_GUARD_PATH + 320];
                size_t length = 0;
                path[0] = 0;
                clibuv_guard_append(path, sizeof path, &length, parent);
                clibuv_guard_append(path, sizeof path, &length, "/");
                clibuv_guard_append(path, sizeof path, &length, entry->name);
                if (remove) {
                    rmdir(path);
                    continue;
                }
                size_t base = length;
                clibuv_guard_append(path, sizeof path, &length, "/cgroup.kill");
                clibuv_guard_write_file(path, "1");
                length = base;
                path[length] = 0;
                clibuv_guard_append(path, sizeof path, &length, "/cgroup.freeze");
                clibuv_guard_write_file(path, "0");
                length = base;
                path[length] = 0;
                clibuv_guard_append(path, sizeof path, &length, "/freezer.state");
                clibuv_guard_write_file(path, "THAWED");
                length = base;
                path[length] = 0;
                clibuv_guard_append(path, sizeof path, &length, "/cgroup.procs");
                clibuv_guard_kill_listed(path);
            }
        }
        close(dir);
    }
    return found;
}

/// Reads the small file `path` into `buffer` (NUL-terminated); the byte count, or -1.
static inline ssize_t clibuv_guard_read_file(const char *path, char *buffer, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t total = 0, n;
    while (total + 1 < (ssize_t)size && (n = read(fd, buffer + total, size - 1 - total)) > 0) total += n;
    close(fd);
    buffer[total < 0 ? 0 : total] = 0;
    return total;
}

/// The start time of `pid` (field 22 of /proc/<pid>/stat, clock ticks after boot), or 0 when it is gone.
static inline uint64_t clibuv_guard_start_time(pid_t pid) {
    char path[48], stat[1024];
    clibuv_guard_proc_path(path, sizeof path, pid, "stat");
    ssize_t n = clibuv_guard_read_file(path, stat, sizeof stat);
    if (n <= 0) return 0;
    char *close = NULL;
    for (char *c = stat; *c; c++) if (*c == ')') close = c;
    if (!close) return 0;
    /* After ") " comes field 3; field 22 is 19 spaces further. */
    int field = 3;
    char *c = close + 2;
    while (*c && field < 22) {
        if (*c == ' ') field++;
        c++;
    }
    uint64_t value = 0;
    while (*c >= '0' && *c <= '9') value = value * 10 + (uint64_t)(*c++ - '0');
    return value;
}

/// Appends the children of every thread of `pid` (from /proc/<pid>/task/<tid>/children) to `pids` (which holds
/// `*count` of `capacity`), skipping ones already there.
static inline void clibuv_guard_add_children(pid_t pid, pid_t *pids, int *count, int capacity) {
    char path[96];
    size_t length = clibuv_guard_proc_path(path, sizeof path, pid, "task");
    int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return;
    size_t base = length;
    char entries[2048];
    long n;
    while ((n = syscall(SYS_getdents64, dir, entries, sizeof entries)) > 0) {
        for (long offset = 0; offset < n;) {
            struct clibuv_guard_dirent *entry = (struct clibuv_guard_dirent *)(entries + offset);
            offset += entry->length;
            if (entry->name[0] < '0' || entry->name[0] > '9') continue;
            length = base;
            path[length] = 0;
            clibuv_guard_append(path, sizeof path, &length, "/");
            clibuv_guard_append(path, sizeof path, &length, entry->name);
            clibuv_guard_append(path, sizeof path, &length, "/children");
            char text[4096];
            if (clibuv_guard_read_file(path, text, sizeof text) <= 0) continue;
            pid_t child = 0;
            for (char *c = text;; c++) {
                if (*c >= '0' && *c <= '9') {
                    child = child * 10 + (*c - '0');
                    continue;
                }
                if (child > 0) {
                    int seen = 0;
                    for (int i = 0; i < *count && !seen; i++) seen = pids[i] == child;
                    if (!seen && *count < capacity) pids[(*count)++] = child;
                }
                child = 0;
                if (!*c) break;
            }
        }
    }
    close(dir);
}

#define CLIBUV_GUARD_TREE 8192

/// Whether the environment of `pid` (/proc/<pid>/environ) holds the entry `mark` (`KEY=value`) exactly. Read in
/// small chunks, so an environment of any size is searched with a fixed buffer. Async-signal-safe.
static inline int clibuv_guard_environ_has(pid_t pid, const char *mark) {
    if (pid <= 1 || !mark[0]) return 0;
    char path[48];
    clibuv_guard_proc_path(path, sizeof path, pid, "environ");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char chunk[2048];
    size_t position = 0;
    int matching = 1, found = 0;
    ssize_t n;
    while (!found && (n = read(fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            char c = chunk[i];
            if (c == 0) {
                if (matching && mark[position] == 0) {
                    found = 1;
                    break;
                }
                position = 0;
                matching = 1;
            } else if (matching && mark[position] == c) {
                position++;
            } else {
                matching = 0;
            }
        }
    }
    close(fd);
    return found;
}

/// Whether `pid` is the process the table recorded: above 1, started at `start` (clock ticks after boot, never 0)
/// and carrying the table's mark. Async-signal-safe.
static inline int clibuv_guard_verified(const clibuv_guard_table *table, pid_t pid, uint64_t start) {
    return pid > 1 && start != 0 && clibuv_guard_start_time(pid) == start && clibuv_guard_environ_has(pid, table->mark);
}

/// Kills every entry of `table` whose process it re-verifies (`clibuv_guard_verified`) and every descendant of
/// those processes, stopping them all first so that none forks meanwhile and none is orphaned out of reach
/// (children that left the group with setsid while their parent lived are found through the parent). A group is
/// signalled as a group only while its leader is verified; members of a group whose leader is gone carry the mark
/// and are found by `clibuv_guard_kill_by_environment`. Async-signal-safe; returns how many processes and groups
/// it signalled.
static inline int clibuv_guard_kill_trees(const clibuv_guard_table *table) {
    pid_t pids[CLIBUV_GUARD_TREE];
    int32_t verified[CLIBUV_GUARD_TREE];
    int count = 0, groups = 0;
    int32_t entries = table->high_water;
    if (entries > CLIBUV_GUARD_CAPACITY) entries = CLIBUV_GUARD_CAPACITY;
    if (entries < 0) entries = 0;
    pid_t self = getpid();
    int signalled = 0;
    for (int32_t i = 0; i < entries; i++) {
        int32_t id = table->entries[i].id;
        if (id == 0 || id == INT32_MIN) continue;
        pid_t leader = id > 0 ? id : -id;
        if (leader == self || leader == table->owner || !clibuv_guard_verified(table, leader, table->entries[i].start))
            continue;
        kill(-id, SIGSTOP);
        if (count < CLIBUV_GUARD_TREE) pids[count++] = leader;
        if (groups < CLIBUV_GUARD_TREE) verified[groups++] = id;
    }
    /* Breadth first: pids grows as children are found. */
    for (int i = 0; i < count; i++) {
        int before = count;
        clibuv_guard_add_children(pids[i], pids, &count, CLIBUV_GUARD_TREE);
        for (int j = before; j < count; j++) {
            if (pids[j] > 1 && pids[j] != self) kill(pids[j], SIGSTOP);
        }
    }
    for (int i = 0; i < groups; i++) {
        kill(-verified[i], SIGKILL);
        kill(-verified[i], SIGCONT);
        signalled++;
    }
    for (int i = 0; i < count; i++) {
        if (pids[i] <= 1 || pids[i] == self) continue;
        if (kill(pids[i], SIGKILL) == 0) signalled++;
        kill(pids[i], SIGCONT);
    }
    return signalled;
}

/// SIGKILL and SIGCONT to every process (other than the caller and the table's owner) that carries the table's
/// mark in its environment and started no earlier than the owner: what the sandboxes started that no group or tree
/// still reaches (it called setsid and its parent died). Returns how many it signalled.
static inline int clibuv_guard_kill_by_environment(const clibuv_guard_table *table) {
    if (!table->mark[0] || memchr(table->mark, 0, CLIBUV_GUARD_MARK) == NULL) return 0;
    int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0) return 0;
    pid_t self = getpid();
    int signalled = 0;
    char entries[4096];
    long n;
    while ((n = syscall(SYS_getdents64, proc, entries, sizeof entries)) > 0) {
        for (long offset = 0; offset < n;) {
            struct clibuv_guard_dirent *entry = (struct clibuv_guard_dirent *)(entries + offset);
            offset += entry->length;
            if (entry->name[0] < '1' || entry->name[0] > '9') continue;
            pid_t pid = 0;
            for (const char *c = entry->name; *c >= '0' && *c <= '9'; c++) pid = pid * 10 + (*c - '0');
            if (pid <= 1 || pid == self || pid == table->owner) continue;
            if (!clibuv_guard_environ_has(pid, table->mark)) continue;
            if (clibuv_guard_start_time(pid) < table->owner_start) continue;
            kill(pid, SIGKILL);
            kill(pid, SIGCONT);
            signalled++;
        }
    }
    close(proc);
    return signalled;
}

/// Removes the directory `name` of `parent` and what it holds, `depth` levels deep at most, never following a
/// symbolic link (each level is opened O_NOFOLLOW relative to its parent, entries are removed with unlinkat; a link
/// or file where a directory was expected is itself removed). Async-signal-safe; returns 0 when it is gone.
static inline int clibuv_guard_remove_at(int parent, const char *name, int depth) {
    int dir = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0 && (errno == ELOOP || errno == ENOTDIR)) return unlinkat(parent, name, 0);
    if (dir >= 0) {
        char entries[4096];
        long n;
        while ((n = syscall(SYS_getdents64, dir, entries, sizeof entries)) > 0) {
            for (long offset = 0; offset < n;) {
                struct clibuv_guard_dirent *entry = (struct clibuv_guard_dirent *)(entries + offset);
                offset += entry->length;
                if (entry->name[0] == '.' && (!entry->name[1] || (entry->name[1] == '.' && !entry->name[2]))) continue;
                if (entry->type == 4 /* DT_DIR */) {
                    if (depth > 0) clibuv_guard_remove_at(dir, entry->name, depth - 1);
                } else {
                    unlinkat(dir, entry->name, 0);
                }
            }
        }
        close(dir);
    }
    return unlinkat(parent, name, AT_REMOVEDIR);
}

/// `clibuv_guard_remove_at` for an absolute `path`.
static inline int clibuv_guard_remove_tree(const char *path, int depth) {
    return clibuv_guard_remove_at(AT_FDCWD, path, depth);
}

/// SIGKILL then SIGCONT to every entry whose process it re-verifies (`clibuv_guard_verified`). Async-signal-safe;
/// for a crashing simulator, whose processes it then leaves to the guardian's tree walk.
static inline void clibuv_guard_kill_entries(const clibuv_guard_table *table) {
    int32_t count = table->high_water;
    if (count > CLIBUV_GUARD_CAPACITY) count = CLIBUV_GUARD_CAPACITY;
    pid_t self = getpid();
    for (int32_t i = 0; i < count; i++) {
        int32_t id = table->entries[i].id;
        if (id == 0 || id == INT32_MIN) continue;
        pid_t leader = id > 0 ? id : -id;
        if (leader == self || !clibuv_guard_verified(table, leader, table->entries[i].start)) continue;
        kill(-id, SIGKILL);
        kill(-id, SIGCONT);
    }
}

static inline void clibuv_guard_sleep_milliseconds(long milliseconds) {
    struct timespec delay = {milliseconds / 1000, (milliseconds % 1000) * 1000000L};
    nanosleep(&delay, NULL);
}

/// The guardian's life: wait for end-of-file on `fd`, then clean up and exit. Never returns.
static inline void clibuv_guard_main(clibuv_guard_table *table, int fd) {
    setsid();
    prctl(PR_SET_NAME, "sim-guardian", 0, 0, 0);
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    for (int number = 1; number < 32; number++) {
        if (number != SIGKILL && number != SIGSTOP && number != SIGCHLD) sigaction(number, &ignore, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (fd != 3) {
        dup2(fd, 3);
        close(fd);
    }
    if (syscall(SYS_close_range, 4U, ~0U, 0) != 0) {
        for (int other = 4; other < 65536; other++) close(other);
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (devnull > 3) close(devnull);
    }
    char byte;
    for (;;) {
        ssize_t n = read(3, &byte, 1);
        if (n == 0) break;
        if (n < 0 && errno != EINTR) break;
    }
    // The simulator is gone: thaw and kill its cgroups, kill its groups, then remove the cgroups as they empty.
    clibuv_guard_kill_trees(table);
    clibuv_guard_kill_by_environment(table);
    clibuv_guard_cgroups(table, 0);
    // A cgroup can be removed once its killed members have exited: a few milliseconds. Give up after 2 s.
    for (int attempt = 0; attempt < 200; attempt++) {
        clibuv_guard_cgroups(table, 0);
        if (clibuv_guard_cgroups(table, 1) == 0) break;
        clibuv_guard_sleep_milliseconds(10);
    }
    // Then the simulator's state directory: its table, its processes' output files, its sockets.
    if (table->path[0] == '/' && memchr(table->path, 0, CLIBUV_GUARD_PATH) != NULL) {
        clibuv_guard_remove_tree(table->path, 2);
    }
    _exit(0);
}

/// Forks the guardian for `table`. Returns the write end of its pipe (keep it open for the life of the process,
/// never write to it), or -1 with errno set; `*pid` receives the guardian's pid.
static inline int clibuv_guard_start(clibuv_guard_table *table, pid_t *pid) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t child = fork();
    if (child == 0) {
        close(fds[1]);
        clibuv_guard_main(table, fds[0]);
    }
    int saved = errno;
    close(fds[0]);
    if (child < 0) {
        close(fds[1]);
        errno = saved;
        return -1;
    }
    *pid = child;
    return fds[1];
}
#endif
