/* The least a freeze and thaw between invokes costs whoever performs them, on this machine: a child process answers
 * one byte per "invoke" over a pipe pair and is frozen after each answer and thawed before the next request, the
 * way lambda-sim freezes a runtime between invokes; the caller's CPU per invoke (getrusage) is printed per mode, so
 * `MODE - none` is the floor of what a freeze mode adds per invoke.
 *
 * usage: freeze_floor [INVOKES] [none|signal|cgroup|signal-unconfirmed|cgroup-unconfirmed]...
 *        (default 20000 and all five modes; cgroup needs root)
 *   signal  kill(SIGSTOP), confirmed with waitid(WSTOPPED|WNOHANG) polled with 20 µs sleeps; kill(SIGCONT),
 *           confirmed with one waitid(WCONTINUED|WNOHANG)
 *   cgroup  cgroup v2's cgroup.freeze (confirmed from cgroup.events) in a unified hierarchy
 *           (/sys/fs/cgroup/unified or /sys/fs/cgroup), else the v1 freezer.state; the state is polled with 20 µs
 *           sleeps, as lambda-sim polls it (never waiting on cgroup.events, which the kernel rate-limits)
 *   MODE-unconfirmed  the same without waiting for either transition: what back-to-back invokes cost lambda-sim,
 *           whose thaw for the next invoke comes before the freeze is confirmed */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char group[256];
static int v1;

static double cpu_microseconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
           (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

static void pause_briefly(void) {
    struct timespec twenty = {0, 20000};
    nanosleep(&twenty, NULL);
}

static int write_file(const char *name, const char *value) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", group, name);
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t written = write(fd, value, strlen(value));
    close(fd);
    return written < 0 ? -1 : 0;
}

/* 1 when the cgroup reports itself frozen (want 1) or thawed (want 0). */
static int cgroup_reached(int want) {
    char path[512], text[256] = {0};
    snprintf(path, sizeof path, "%s/%s", group, v1 ? "freezer.state" : "cgroup.events");
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 1;
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0) return 1;
    if (v1) return want ? strncmp(text, "FROZEN", 6) == 0 : strncmp(text, "THAWED", 6) == 0;
    char *frozen = strstr(text, "frozen ");
    return frozen && (frozen[7] == '1') == want;
}

/* A cgroup for the child: cgroup v2 wherever a unified hierarchy is mounted (also beside v1 controllers, at
 * /sys/fs/cgroup/unified, as lambda-sim chooses), else the v1 freezer. */
static int make_group(pid_t child) {
    const char *roots[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup", "/sys/fs/cgroup/freezer"};
    for (int r = 0; r < 3; r++) {
        char probe[512];
        struct stat info;
        v1 = r == 2;
        snprintf(probe, sizeof probe, "%s/%s", roots[r], v1 ? "freezer.state" : "cgroup.controllers");
        if (!v1 && stat(probe, &info) != 0) continue;
        snprintf(group, sizeof group, "%s/freeze-floor-%d", roots[r], getpid());
        if (mkdir(group, 0700) != 0) continue;
        snprintf(probe, sizeof probe, "%s/%s", group, v1 ? "freezer.state" : "cgroup.freeze");
        char pid[32];
        snprintf(pid, sizeof pid, "%d", child);
        if (stat(probe, &info) == 0 && write_file("cgroup.procs", pid) == 0) return 0;
        rmdir(group);
    }
    return -1;
}

int main(int argc, char **argv) {
    int invokes = argc > 1 ? atoi(argv[1]) : 20000;
    const char *all[] = {"none", "signal", "signal-unconfirmed", "cgroup", "cgroup-unconfirmed"};
    const char **modes = argc > 2 ? (const char **)argv + 2 : all;
    int mode_count = argc > 2 ? argc - 2 : 5;
    int request[2], answer[2];
    if (pipe(request) != 0 || pipe(answer) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        char byte;
        while (read(request[0], &byte, 1) == 1) write(answer[1], &byte, 1);
        _exit(0);
    }
    int grouped = 0;
    for (int m = 0; m < mode_count; m++) {
        const char *mode = modes[m];
        int signal_mode = strncmp(mode, "signal", 6) == 0, cgroup_mode = strncmp(mode, "cgroup", 6) == 0;
        int confirm = strstr(mode, "-unconfirmed") == NULL;
        if (cgroup_mode && !grouped) {
            if (make_group(child) != 0) {
                printf("%-18s: no cgroup freezer here (%s)\n", mode, group);
                continue;
            }
            grouped = 1;
        }
        long polls = 0;
        char byte = 'x';
        double start = cpu_microseconds();
        for (int i = 0; i < invokes; i++) {
            if (write(request[1], &byte, 1) != 1 || read(answer[0], &byte, 1) != 1) return 1;
            if (signal_mode) {
                kill(child, SIGSTOP);
                siginfo_t info;
                for (; confirm;) {
                    info.si_pid = 0;
                    waitid(P_PID, (id_t)child, &info, WSTOPPED | WNOHANG);
                    if (info.si_pid == child) break;
                    pause_briefly();
                    polls++;
                }
                kill(child, SIGCONT);
                info.si_pid = 0;
                if (confirm) waitid(P_PID, (id_t)child, &info, WCONTINUED | WNOHANG);
            } else if (cgroup_mode) {
                write_file(v1 ? "freezer.state" : "cgroup.freeze", v1 ? "FROZEN" : "1");
                while (confirm && !cgroup_reached(1)) {
                    pause_briefly();
                    polls++;
                }
                write_file(v1 ? "freezer.state" : "cgroup.freeze", v1 ? "THAWED" : "0");
                while (confirm && !cgroup_reached(0)) {
                    pause_briefly();
                    polls++;
                }
            }
        }
        printf("%-18s: %.1f us of the caller's CPU per invoke (%.2f 20-us waits per invoke)\n", mode,
               (cpu_microseconds() - start) / invokes, (double)polls / invokes);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (grouped) rmdir(group);
    return 0;
}
