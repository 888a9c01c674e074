// A native runtime that costs next to nothing: `GET …/invocation/next`, then the event's payload back as
// `POST …/invocation/ID/response`, forever, on one keep-alive connection to AWS_LAMBDA_RUNTIME_API. One write and
// one read per message; no allocation per invoke once its buffers have grown. It exits when the connection closes.
//
//     perf-floor runtime
#define _GNU_SOURCE
#include "floor.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int floor_runtime(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    const char *colon = api ? strrchr(api, ':') : NULL;
    if (!colon || colon - api >= 64) {
        fprintf(stderr, "perf-floor runtime: AWS_LAMBDA_RUNTIME_API is not set to HOST:PORT\n");
        return 1;
    }
    // Each sandbox of lambda-sim listens on an address of its own (127.x.y.z), so the host matters.
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - api), api);
    int fd = wire_connect(host, atoi(colon + 1));
    if (fd < 0) {
        perror("perf-floor runtime: connect");
        return 1;
    }
    static const char next[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n";
    wire_buffer input = {0};
    wire_frame frame;
    char head[512];
    for (;;) {
        if (wire_write_all(fd, next, sizeof next - 1, NULL, 0) != 0) return 0;
        if (wire_read_message(fd, &input, &frame) != 0) return 0;
        const char *id;
        ssize_t id_length = wire_header(input.bytes, frame.head, "Lambda-Runtime-Aws-Request-Id", &id);
        if (id_length <= 0 || id_length > 200) {
            fprintf(stderr, "perf-floor runtime: an event without Lambda-Runtime-Aws-Request-Id\n");
            return 1;
        }
        int length = snprintf(head, sizeof head,
                              "POST /2018-06-01/runtime/invocation/%.*s/response HTTP/1.1\r\nHost: runtime\r\n"
                              "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                              (int)id_length, id, frame.body);
        if (wire_write_all(fd, head, (size_t)length, input.bytes + frame.head, frame.body) != 0) return 0;
        wire_consume(&input, frame.head + frame.body);
        if (wire_read_message(fd, &input, &frame) != 0) return 0;
        wire_consume(&input, frame.head + frame.body);
    }
}
