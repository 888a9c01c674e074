// The floor tools' commands, one per file; main.c picks one by the first argument.
#ifndef PERF_FLOOR_H
#define PERF_FLOOR_H

/// `perf-floor relay PORT RUNTIMES -- COMMAND…`: the relay (relay.c). Never returns unless its usage is wrong.
int floor_relay(int argc, char **argv);

/// `perf-floor runtime`: the echo runtime (runtime.c).
int floor_runtime(int argc, char **argv);

/// `perf-floor invoke PORT PATH …`: the keep-alive invoker (client.c).
int floor_invoke(int argc, char **argv);

#endif
