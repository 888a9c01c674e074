// HTTP/1.1 framing for the floor tools (see wire.h).
#define _GNU_SOURCE
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

void wire_reserve(wire_buffer *buffer, size_t extra) {
    if (buffer->capacity - buffer->used >= extra) return;
    size_t capacity = buffer->capacity ? buffer->capacity : 16384;
    while (capacity - buffer->used < extra) capacity *= 2;
    char *bytes = realloc(buffer->bytes, capacity);
    if (!bytes) {
        perror("perf-floor: realloc");
        exit(1);
    }
    buffer->bytes = bytes;
    buffer->capacity = capacity;
}

void wire_consume(wire_buffer *buffer, size_t count) {
    if (count < buffer->used) memmove(buffer->bytes, buffer->bytes + count, buffer->used - count);
    buffer->used -= count;
}

ssize_t wire_header(const char *head, size_t length, const char *name, const char **value) {
    size_t name_length = strlen(name);
    const char *end = head + length;
    // Every header line starts right after a CRLF; the request or status line is skipped that way.
    for (const char *line = memchr(head, '\n', length); line && line + 1 < end;
         line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
        const char *start = line + 1;
        if ((size_t)(end - start) <= name_length || start[name_length] != ':') continue;
        if (strncasecmp(start, name, name_length) != 0) continue;
        const char *cursor = start + name_length + 1;
        while (cursor < end && (*cursor == ' ' || *cursor == '\t')) cursor++;
        const char *stop = cursor;
        while (stop < end && *stop != '\r' && *stop != '\n') stop++;
        *value = cursor;
        return stop - cursor;
    }
    return -1;
}

int wire_complete(const wire_buffer *buffer, wire_frame *frame) {
    if (buffer->used < 4) return 0;
    const char *blank = memmem(buffer->bytes, buffer->used, "\r\n\r\n", 4);
    if (!blank) return 0;
    size_t head = (size_t)(blank - buffer->bytes) + 4;
    const char *value;
    ssize_t length = wire_header(buffer->bytes, head, "Content-Length", &value);
    if (length >= 0) {
        size_t body = strtoul(value, NULL, 10);
        if (buffer->used - head < body) return 0;
        *frame = (wire_frame){.head = head, .body = body};
        return 1;
    }
    length = wire_header(buffer->bytes, head, "Transfer-Encoding", &value);
    if (length >= 7 && strncasecmp(value, "chunked", 7) == 0) {
        const char *last = memmem(buffer->bytes + head, buffer->used - head, "0\r\n\r\n", 5);
        // The last chunk: a size of 0 at the start of the body or right after a previous chunk's CRLF.
        while (last && last > buffer->bytes + head && last[-1] != '\n')
            last = memmem(last + 1, buffer->used - (size_t)(last + 1 - buffer->bytes), "0\r\n\r\n", 5);
        if (!last) return 0;
        *frame = (wire_frame){.head = head, .body = (size_t)(last + 5 - buffer->bytes) - head};
        return 1;
    }
    *frame = (wire_frame){.head = head, .body = 0};
    return 1;
}

int wire_read_message(int fd, wire_buffer *buffer, wire_frame *frame) {
    while (!wire_complete(buffer, frame)) {
        wire_reserve(buffer, 16384);
        ssize_t n = read(fd, buffer->bytes + buffer->used, buffer->capacity - buffer->used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buffer->used += (size_t)n;
    }
    return 0;
}

int wire_write_all(int fd, const char *first, size_t first_length, const char *second, size_t second_length) {
    struct iovec parts[2] = {{(void *)first, first_length}, {(void *)second, second_length}};
    struct iovec *part = parts;
    int count = second_length ? 2 : 1;
    while (count > 0) {
        ssize_t n = writev(fd, part, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return -1;
            struct pollfd writable = {.fd = fd, .events = POLLOUT};
            poll(&writable, 1, -1);
            continue;
        }
        while (count > 0 && (size_t)n >= part->iov_len) {
            n -= (ssize_t)part->iov_len;
            part++;
            count--;
        }
        if (count > 0) {
            part->iov_base = (char *)part->iov_base + n;
            part->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int wire_connect(const char *host, int port) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

uint64_t wire_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
