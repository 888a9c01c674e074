#!/usr/bin/env bash
# Runs every benchmark in one go (release build, as root for the cgroup freezer) and prints the README's
# table: p50/p99 of each benchmark and its ratio to the floor measured in the same run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >/dev/null
export LAMBDA_SIM_BENCHMARKS=1
swift build -c release --scratch-path .build-bench --product lambda-sim-fixture
swift build -c release --scratch-path .build-bench --product lambda-sim
swift build -c release --scratch-path .build-bench --product perf-floor
output="$(mktemp "${TMPDIR:-/tmp}/lambda-sim-bench.XXXXXX")"
swift package --scratch-path .build-bench benchmark --no-progress "$@" | tee "$output"
echo
scripts/bench-report.py <"$output"
rm -f "$output"
