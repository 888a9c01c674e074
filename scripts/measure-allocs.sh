#!/usr/bin/env bash
# Heap allocations (malloc calls) of the simulator per warm invoke: `lambda-sim run` with the native fixture
# runtime and one keep-alive client (wrk), malloc counted by a small LD_PRELOAD shim built here, read before and
# after a run of SECONDS. Unlike CPU time, the count hardly moves with the machine's load, so it shows a change in
# the warm path's work even when the CPU figures of scripts/measure-cpu.sh are lost in noise.
# Usage: scripts/measure-allocs.sh [seconds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-3}
swift build -c release --product lambda-sim >/dev/null
swift build -c release --product lambda-sim-fixture >/dev/null
bin=.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/count.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static atomic_long calls;
static void *(*next_malloc)(size_t);
void *malloc(size_t size) {
    if (!next_malloc) next_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return next_malloc(size);
}
static void report(int signal) {
    (void)signal;
    char path[256];
    snprintf(path, sizeof path, "%s/count-%d", getenv("MALLOC_COUNT_DIR"), getpid());
    FILE *file = fopen(path, "w");
    if (file) { fprintf(file, "%ld\n", atomic_load(&calls)); fclose(file); }
}
__attribute__((constructor)) static void install(void) { signal(SIGUSR2, report); }
C
gcc -O2 -shared -fPIC -o "$work/count.so" "$work/count.c" -ldl
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"a":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
port=$((20000 + RANDOM % 20000))
MALLOC_COUNT_DIR="$work" LD_PRELOAD="$work/count.so" "$bin/lambda-sim" run --port "$port" --freeze none \
    --timeout 30 -- "$bin/lambda-sim-fixture" >"$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do grep -q listening "$work/sim.log" && break; sleep 0.05; done
url="http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
count() {
    kill -USR2 "$sim"
    for _ in $(seq 50); do [[ -s "$work/count-$sim" ]] && break; sleep 0.02; done
    cat "$work/count-$sim"
    rm -f "$work/count-$sim"
}
wrk -t1 -c1 -d1s -s "$work/post.lua" "$url" >/dev/null
before=$(count)
requests=$(wrk -t1 -c1 -d"${seconds}s" -s "$work/post.lua" "$url" | grep -oP '\d+(?= requests in)')
after=$(count)
kill -INT "$sim"; wait "$sim" 2>/dev/null || true
echo "invokes=$requests simulator_mallocs_per_invoke=$(echo "scale=1; ($after - $before) / $requests" | bc)"
