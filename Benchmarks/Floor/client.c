// The invoker: keep-alive connections, each sending one invoke after the other (a closed loop), timing every
// round trip. The same client drives lambda-sim and the relay, so their figures differ only by the server.
//
//     perf-floor invoke PORT PATH [--connections N] [--seconds S | --count N] [--payload JSON]
//
// prints one line: `invokes=… seconds=… rate=… p50=… p90=… p99=… max=… failures=…` (latencies in µs, the rate
// in invokes per second; a failure is an answer other than 2xx). Exits 1 when a connection fails.
#define _GNU_SOURCE
#include "floor.h"
#include "wire.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/// One connection's work and what it measured.
typedef struct {
    pthread_t thread;
    int port;
    const char *request;
    size_t request_length;
    size_t count;
    uint64_t deadline;
    uint64_t *latencies;
    size_t measured, capacity;
    size_t failures;
} connection_run;

static void *run_connection(void *argument) {
    connection_run *run = argument;
    int fd = wire_connect("127.0.0.1", run->port);
    if (fd < 0) {
        perror("perf-floor invoke: connect");
        exit(1);
    }
    wire_buffer input = {0};
    wire_frame frame;
    for (;;) {
        uint64_t start = wire_now();
        if ((run->count && run->measured == run->count) || (!run->count && start >= run->deadline)) break;
        if (wire_write_all(fd, run->request, run->request_length, NULL, 0) != 0 ||
            wire_read_message(fd, &input, &frame) != 0) {
            fprintf(stderr, "perf-floor invoke: the connection closed after %zu invokes\n", run->measured);
            exit(1);
        }
        uint64_t end = wire_now();
        if (input.used < 12 || input.bytes[9] != '2') run->failures++;
        wire_consume(&input, frame.head + frame.body);
        if (run->measured == run->capacity) {
            run->capacity = run->capacity ? run->capacity * 2 : 65536;
            run->latencies = realloc(run->latencies, run->capacity * sizeof *run->latencies);
            if (!run->latencies) exit(1);
        }
        run->latencies[run->measured++] = end - start;
    }
    close(fd);
    free(input.bytes);
    return NULL;
}

static int ascending(const void *left, const void *right) {
    uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
    return (a > b) - (a < b);
}

int floor_invoke(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: perf-floor invoke PORT PATH [--connections N] [--seconds S | --count N] "
                        "[--payload JSON]\n");
        return 2;
    }
    int port = atoi(argv[0]), connections = 1;
    const char *path = argv[1], *payload = "{\"a\":1}";
    double seconds = 0;
    size_t count = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--connections") == 0) connections = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--count") == 0) count = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--payload") == 0) payload = argv[i + 1];
    }
    if (connections < 1) connections = 1;
    if (!count && seconds <= 0) seconds = 1;
    char *request;
    int request_length = asprintf(&request,
                                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %zu\r\n\r\n%s",
                                  path, strlen(payload), payload);
    connection_run *runs = calloc((size_t)connections, sizeof *runs);
    uint64_t start = wire_now();
    for (int i = 0; i < connections; i++) {
        runs[i] = (connection_run){
            .port = port, .request = request, .request_length = (size_t)request_length,
            .count = count ? (count + (size_t)(connections - 1 - i)) / (size_t)connections : 0,
            .deadline = start + (uint64_t)(seconds * 1e9)};
        pthread_create(&runs[i].thread, NULL, run_connection, &runs[i]);
    }
    size_t total = 0, failures = 0;
    for (int i = 0; i < connections; i++) {
        pthread_join(runs[i].thread, NULL);
        total += runs[i].measured;
        failures += runs[i].failures;
    }
    double elapsed = (double)(wire_now() - start) / 1e9;
    uint64_t *all = malloc((total ? total : 1) * sizeof *all);
    size_t filled = 0;
    for (int i = 0; i < connections; i++) {
        memcpy(all + filled, runs[i].latencies, runs[i].measured * sizeof *all);
        filled += runs[i].measured;
    }
    qsort(all, total, sizeof *all, ascending);
    if (!total) all[0] = 0;
    printf("invokes=%zu seconds=%.3f rate=%.0f p50=%.1f p90=%.1f p99=%.1f max=%.1f failures=%zu\n", total, elapsed,
           (double)total / elapsed, (double)all[total / 2] / 1e3, (double)all[total * 9 / 10] / 1e3,
           (double)all[total * 99 / 100] / 1e3, (double)all[total ? total - 1 : 0] / 1e3, failures);
    return 0;
}
