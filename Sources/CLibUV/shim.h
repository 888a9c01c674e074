#ifndef CLIBUV_SHIM_H
#define CLIBUV_SHIM_H
#include <uv.h>
#include <sys/syscall.h>
#include <unistd.h>

/// The calling thread's kernel id (glibc's gettid, which Swift's Glibc module does not export).
static inline int clibuv_gettid(void) { return (int)syscall(SYS_gettid); }
#endif
