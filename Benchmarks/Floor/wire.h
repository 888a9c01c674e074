// HTTP/1.1 framing shared by the floor tools: just enough to find where a message ends on a keep-alive
// connection (a head, then a Content-Length body or a chunked body up to its last chunk). Nothing is validated:
// these tools talk only to each other and to lambda-sim, and must cost as little as possible.
#ifndef PERF_FLOOR_WIRE_H
#define PERF_FLOOR_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// A growable byte buffer holding what was read from one connection and not yet consumed.
typedef struct {
    char *bytes;
    size_t used;
    size_t capacity;
} wire_buffer;

/// Where the first message in a buffer ends: `head` bytes of head (through the blank line), then `body` bytes.
typedef struct {
    size_t head;
    size_t body;
} wire_frame;

/// Makes room for at least `extra` more bytes after `used`; exits the process when memory runs out.
void wire_reserve(wire_buffer *buffer, size_t extra);

/// Drops the first `count` bytes, keeping what follows them (the start of the next message, if any).
void wire_consume(wire_buffer *buffer, size_t count);

/// Whether the buffer starts with a complete message; when it does, fills `frame`. A chunked body counts as
/// complete once its last chunk (`0\r\n\r\n`) arrived; `frame->body` is then its raw, still-chunked length.
int wire_complete(const wire_buffer *buffer, wire_frame *frame);

/// Reads from the blocking `fd` until the buffer starts with a complete message. Returns 0, or -1 when the
/// peer closed the connection or a read failed.
int wire_read_message(int fd, wire_buffer *buffer, wire_frame *frame);

/// Points `*value` at the value of the header `name` (matched without regard to case) in a head of `length`
/// bytes and returns the value's length, or -1 when the head has no such header.
ssize_t wire_header(const char *head, size_t length, const char *name, const char **value);

/// Writes `first` and then `second` (which may be empty) in full: one `writev` when the socket takes both at once,
/// as loopback does; a non-blocking socket that is full is waited for. Returns 0, or -1 when the peer is gone.
int wire_write_all(int fd, const char *first, size_t first_length, const char *second, size_t second_length);

/// A TCP connection to `host` (an IPv4 address such as 127.0.0.1) at `port` with Nagle's algorithm off, or -1.
int wire_connect(const char *host, int port);

/// The monotonic clock in nanoseconds.
uint64_t wire_now(void);

#endif
