// The floor of a warm invoke: the least work any Lambda simulator must do, written to cost as little as possible.
//
// One thread and one epoll set serve both APIs on one port, keep-alive everywhere. An invoker's POST (any path
// that is not the Runtime API's) goes to a runtime holding `GET /2018-06-01/runtime/invocation/next`, as that
// request's answer; the runtime's `POST …/response` (or `…/error`) is answered 202 and its body goes back to the
// invoker as a 200. When no runtime is free, invokers queue first in, first out. There is no validation, no
// logging, no freezing, no telemetry and no timeout: one read and one write per message, no allocation per invoke
// once the buffers have grown.
//
//     perf-floor relay PORT RUNTIMES -- COMMAND [ARGUMENT…]
//
// binds 127.0.0.1:PORT (0: any free port), starts RUNTIMES copies of COMMAND with AWS_LAMBDA_RUNTIME_API
// pointing at it, and prints `ready PORT` once every copy holds a /next. SIGINT or SIGTERM stops it and them.
#define _GNU_SOURCE
#include "floor.h"
#include "wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/// What the relay knows about one accepted connection, indexed by its descriptor.
typedef struct {
    /// Bytes read and not yet handled.
    wire_buffer input;
    /// Whether this is an invoker whose request waits in `waiting` for a free runtime.
    int queued;
    /// For a runtime holding an event: the invoker waiting for its answer; otherwise -1.
    int invoker;
} connection;

static connection **connections;
static int connection_limit;
static int *idle_runtimes, idle_count;
static int *waiting, waiting_head, waiting_count;
static unsigned long long next_request;
static pid_t *children;
static int child_count;

static const char accepted[] = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
                               "{\"status\":\"OK\"}\n";
static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

static int starts_with(const char *bytes, size_t length, const char *prefix) {
    size_t prefix_length = strlen(prefix);
    return length >= prefix_length && memcmp(bytes, prefix, prefix_length) == 0;
}

/// Hands the invoker's first message to the runtime as the answer to its /next, then forgets the message.
static void dispatch(int runtime, int invoker) {
    connection *source = connections[invoker];
    wire_frame frame;
    wire_complete(&source->input, &frame);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long deadline = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 900000;
    char head[256];
    int length = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: %016llx\r\n"
                          "Lambda-Runtime-Deadline-Ms: %lld\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          ++next_request, deadline, frame.body);
    wire_write_all(runtime, head, (size_t)length, source->input.bytes + frame.head, frame.body);
    wire_consume(&source->input, frame.head + frame.body);
    source->queued = 0;
    connections[runtime]->invoker = invoker;
}

/// Handles every complete message at the start of `fd`'s buffer.
static void handle(int fd) {
    connection *self = connections[fd];
    wire_frame frame;
    while (!self->queued && wire_complete(&self->input, &frame)) {
        const char *head = self->input.bytes;
        size_t line = (size_t)((const char *)memchr(head, '\n', frame.head) - head);
        if (starts_with(head, line, "GET /2018-06-01/runtime/invocation/next")) {
            wire_consume(&self->input, frame.head + frame.body);
            if (waiting_count > 0) {
                int invoker = waiting[waiting_head];
                waiting_head = (waiting_head + 1) % connection_limit;
                waiting_count--;
                dispatch(fd, invoker);
            } else {
                idle_runtimes[idle_count++] = fd;
            }
        } else if (starts_with(head, line, "POST /2018-06-01/runtime/invocation/")) {
            int invoker = self->invoker;
            self->invoker = -1;
            wire_write_all(fd, accepted, sizeof accepted - 1, NULL, 0);
            if (invoker >= 0 && connections[invoker]) {
                char answer[128];
                int length = snprintf(answer, sizeof answer,
                                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                      frame.body);
                wire_write_all(invoker, answer, (size_t)length, self->input.bytes + frame.head, frame.body);
            }
            wire_consume(&self->input, frame.head + frame.body);
        } else if (starts_with(head, line, "POST /2018-06-01/runtime/")) {
            wire_write_all(fd, accepted, sizeof accepted - 1, NULL, 0);
            wire_consume(&self->input, frame.head + frame.body);
        } else if (starts_with(head, line, "POST ")) {
            if (idle_count > 0) {
                dispatch(idle_runtimes[--idle_count], fd);
            } else {
                self->queued = 1;
                waiting[(waiting_head + waiting_count) % connection_limit] = fd;
                waiting_count++;
            }
        } else {
            wire_write_all(fd, not_found, sizeof not_found - 1, NULL, 0);
            wire_consume(&self->input, frame.head + frame.body);
        }
    }
}

/// Closes `fd` and takes it out of the idle runtimes and the queue of waiting invokers.
static void drop(int epoll, int fd) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    for (int i = 0; i < idle_count; i++)
        if (idle_runtimes[i] == fd) idle_runtimes[i--] = idle_runtimes[--idle_count];
    int kept = 0;
    for (int i = 0; i < waiting_count; i++) {
        int invoker = waiting[(waiting_head + i) % connection_limit];
        if (invoker != fd) waiting[(waiting_head + kept++) % connection_limit] = invoker;
    }
    waiting_count = kept;
    free(connections[fd]->input.bytes);
    free(connections[fd]);
    connections[fd] = NULL;
}

static void stop(int signal_number) {
    (void)signal_number;
    for (int i = 0; i < child_count; i++) kill(children[i], SIGTERM);
    _exit(0);
}

/// Binds the listening socket and starts the runtimes; returns the socket and sets `*port` to the bound port.
static int listen_and_start(int *port, int runtimes, char **command) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)*port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, size) != 0 || listen(listener, 4096) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &size) != 0) {
        perror("perf-floor relay: listen");
        exit(1);
    }
    *port = ntohs(address.sin_port);
    char api[32];
    snprintf(api, sizeof api, "127.0.0.1:%d", *port);
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);
    children = calloc((size_t)runtimes, sizeof *children);
    for (int i = 0; i < runtimes; i++) {
        pid_t child = fork();
        if (child == 0) {
            execvp(command[0], command);
            perror("perf-floor relay: exec");
            _exit(127);
        }
        if (child > 0) children[child_count++] = child;
    }
    return listener;
}

int floor_relay(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: perf-floor relay PORT RUNTIMES -- COMMAND [ARGUMENT...]\n");
        return 2;
    }
    int port = atoi(argv[0]), runtimes = atoi(argv[1]);
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    connection_limit = files.rlim_cur > 1048576 ? 1048576 : (int)files.rlim_cur;
    connections = calloc((size_t)connection_limit, sizeof *connections);
    idle_runtimes = calloc((size_t)connection_limit, sizeof *idle_runtimes);
    waiting = calloc((size_t)connection_limit, sizeof *waiting);
    // A parent may have started it with signals blocked (a spawning thread's mask is inherited): SIGTERM must stop
    // it, and its runtimes inherit the mask in turn.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    int listener = listen_and_start(&port, runtimes, argv + 3);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener}, events[256];
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    int announced = 0;
    for (;;) {
        int count = epoll_wait(epoll, events, 256, -1);
        for (int i = 0; i < count; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int accepted_fd, on = 1;
                while ((accepted_fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (accepted_fd >= connection_limit) {
                        close(accepted_fd);
                        continue;
                    }
                    setsockopt(accepted_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
                    connections[accepted_fd] = calloc(1, sizeof(connection));
                    connections[accepted_fd]->invoker = -1;
                    struct epoll_event readable = {.events = EPOLLIN, .data.fd = accepted_fd};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, accepted_fd, &readable);
                }
                continue;
            }
            connection *self = connections[fd];
            if (!self) continue;
            wire_reserve(&self->input, 16384);
            ssize_t n = read(fd, self->input.bytes + self->input.used, self->input.capacity - self->input.used);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) {
                drop(epoll, fd);
                continue;
            }
            self->input.used += (size_t)n;
            handle(fd);
        }
        if (!announced && idle_count >= runtimes) {
            announced = 1;
            printf("ready %d\n", port);
            fflush(stdout);
        }
    }
}
