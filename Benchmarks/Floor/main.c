// perf-floor: the floor of a warm invoke and the tools to measure lambda-sim against it with the same runtime
// and the same client (see Benchmarks/README.md and scripts/measure-cpu.sh). Each command takes the arguments
// after its name.
#include "floor.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "relay") == 0) return floor_relay(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "runtime") == 0) return floor_runtime(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "invoke") == 0) return floor_invoke(argc - 2, argv + 2);
    fprintf(stderr, "usage: perf-floor relay PORT RUNTIMES -- COMMAND [ARGUMENT...]\n"
                    "       perf-floor runtime\n"
                    "       perf-floor invoke PORT PATH [--connections N] [--seconds S | --count N] [--payload JSON]\n");
    return 2;
}
