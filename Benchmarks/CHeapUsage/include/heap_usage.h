#ifndef HEAP_USAGE_H
#define HEAP_USAGE_H
#include <stddef.h>

/// Heap bytes in use in the process: glibc's mallinfo2 allocated chunks plus mmapped ones.
size_t heap_bytes_in_use(void);

#endif
