/* The cheapest invoke client for a given load model: one thread, one epoll set, keep-alive connections, no
 * parsing beyond the Content-Length. `scripts/measure-generator.sh` runs it beside `lambda-sim load` against the
 * same target, so the generator's CPU per invoke in each model is compared with what the model itself costs.
 *
 * usage: load_floor PORT PATH MODEL ARG SECONDS [tail]
 *   closed N     N callers, each sending its next invoke as soon as it has its answer
 *   open RATE    invokes due at k/RATE; waits in epoll_pwait2 until the next due time or an answer
 *   paced RATE   invokes due at k/RATE; sleeps until each due time, then takes the answers already in
 *   tail         asks for the log tail (X-Amz-Log-Type: Tail), as `lambda-sim load --endpoint` does
 * The payload is $PAYLOAD (default {"sleepMs":2}). Prints the invokes, this thread's CPU per invoke (µs) and its
 * voluntary context switches (wakes) per invoke. No latency: `paced` reads answers late on purpose. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 4096

struct connection {
    int fd;
    int busy;
    size_t have;
    char buffer[16384];
};

static struct connection connections[MAX_CONNECTIONS];
static int connection_count, poll_set, port;
static char request[1024];
static int request_length;
static size_t answered;

static uint64_t monotonic(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int open_connection(void) {
    if (connection_count == MAX_CONNECTIONS) {
        fprintf(stderr, "load_floor: more than %d connections\n", MAX_CONNECTIONS);
        exit(1);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("load_floor: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    struct connection *c = &connections[connection_count];
    c->fd = fd;
    c->busy = 0;
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)connection_count};
    epoll_ctl(poll_set, EPOLL_CTL_ADD, fd, &event);
    return connection_count++;
}

static int idle_connection(void) {
    for (int i = 0; i < connection_count; i++)
        if (!connections[i].busy) return i;
    return open_connection();
}

static void send_on(int i) {
    connections[i].busy = 1;
    connections[i].have = 0;
    if (write(connections[i].fd, request, request_length) != request_length) {
        perror("load_floor: write");
        exit(1);
    }
}

/* Reads what waits on connection i; 1 when its whole answer is in (the connection is then idle again). */
static int take_answer(int i) {
    struct connection *c = &connections[i];
    for (;;) {
        ssize_t got = read(c->fd, c->buffer + c->have, sizeof c->buffer - c->have - 1);
        if (got < 0 && errno == EAGAIN) break;
        if (got <= 0) {
            fprintf(stderr, "load_floor: connection closed\n");
            exit(1);
        }
        c->have += (size_t)got;
    }
    c->buffer[c->have] = 0;
    char *head_end = strstr(c->buffer, "\r\n\r\n");
    if (!head_end) return 0;
    char *length = strcasestr(c->buffer, "\r\nContent-Length:");
    long need = (head_end + 4 - c->buffer) + (length ? strtol(length + 17, NULL, 10) : 0);
    if ((long)c->have < need) return 0;
    c->busy = 0;
    answered++;
    return 1;
}

static int take_ready(int timeout_zero, const struct timespec *timeout) {
    struct epoll_event events[64];
    int ready = timeout_zero ? epoll_wait(poll_set, events, 64, 0) : epoll_pwait2(poll_set, events, 64, timeout, NULL);
    int done = 0;
    for (int k = 0; k < ready; k++) done += take_answer((int)events[k].data.u32);
    return done;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s PORT PATH closed|open|paced ARG SECONDS [tail]\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    const char *path = argv[2], *model = argv[3];
    double argument = atof(argv[4]), seconds = atof(argv[5]);
    const char *payload = getenv("PAYLOAD") ? getenv("PAYLOAD") : "{\"sleepMs\":2}";
    request_length = snprintf(request, sizeof request,
                              "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s"
                              "Content-Length: %zu\r\n\r\n%s",
                              path, argc > 6 ? "X-Amz-Log-Type: Tail\r\n" : "", strlen(payload), payload);
    poll_set = epoll_create1(0);
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
    struct rusage before, after;
    getrusage(RUSAGE_THREAD, &before);
    uint64_t start = monotonic(), end = start + (uint64_t)(seconds * 1e9);
    if (strcmp(model, "closed") == 0) {
        int in_flight = 0;
        for (int k = 0; k < (int)argument; k++, in_flight++) send_on(open_connection());
        struct epoll_event events[64];
        while (in_flight > 0) {
            int ready = epoll_wait(poll_set, events, 64, -1);
            for (int k = 0; k < ready; k++) {
                int i = (int)events[k].data.u32;
                if (!take_answer(i)) continue;
                if (monotonic() < end) send_on(i);
                else in_flight--;
            }
        }
    } else {
        int paced = strcmp(model, "paced") == 0;
        double interval = 1e9 / argument;
        uint64_t k = 0, due = start;
        size_t in_flight = 0;
        while (due < end || in_flight > 0) {
            uint64_t now = monotonic();
            for (; due < end && due <= now; k++, due = start + (uint64_t)((double)k * interval)) {
                send_on(idle_connection());
                in_flight++;
            }
            if (paced && due < end) {
                struct timespec until = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
                in_flight -= (size_t)take_ready(1, NULL);
            } else {
                uint64_t wait = due < end ? (due > now ? due - now : 0) : 100000000ull;
                struct timespec timeout = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
                in_flight -= (size_t)take_ready(0, &timeout);
            }
        }
    }
    getrusage(RUSAGE_THREAD, &after);
    double cpu = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e6 +
                 (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec);
    printf("model=%s invokes=%zu cpu_us_per_invoke=%.1f wakes_per_invoke=%.2f connections=%d\n", model, answered,
           cpu / (double)answered, (double)(after.ru_nvcsw - before.ru_nvcsw) / (double)answered, connection_count);
    return 0;
}
