#!/usr/bin/env bash
# The simulator's own CPU per warm invoke, measured as the performance issue defines it: `lambda-sim run` with
# the native fixture runtime, one keep-alive client (wrk), utime+stime of the lambda-sim process ÷ invokes.
# Then the floor in the same run: wrk against `lambda-sim-fixture --echo-server` (a blocking HTTP server that
# answers at once), whose p50 doubled is two loopback round trips; prints the invoke's p50 ÷ that floor.
# Usage: scripts/measure-cpu.sh [none|signal|cgroup] [seconds] [connections]
# SIM_ARGS adds flags to `lambda-sim run` (e.g. "--runtime-api-access any"); the fixture's FIXTURE_* variables
# pass through (FIXTURE_NEW_CONNECTION=1: a new Runtime API connection per request, as curl runtimes make).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=${1:-none}; seconds=${2:-5}; connections=${3:-1}
swift build -c release --product lambda-sim >/dev/null
swift build -c release --product lambda-sim-fixture >/dev/null
bin=.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"a":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
port=$((20000 + RANDOM % 20000))
# shellcheck disable=SC2086 # SIM_ARGS is a list of flags
"$bin/lambda-sim" run --port "$port" --freeze "$mode" --timeout 30 --max-concurrency "$connections" ${SIM_ARGS:-} \
    -- "$bin/lambda-sim-fixture" >"$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do grep -q listening "$work/sim.log" && break; sleep 0.05; done
url="http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
wrk -t1 -c"$connections" -d1s -s "$work/post.lua" "$url" >/dev/null
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$sim/stat")
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$url" >"$work/wrk.out"
read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$sim/stat")
kill -INT "$sim"; wait "$sim" 2>/dev/null || true
requests=$(grep -oP '\d+(?= requests in)' "$work/wrk.out")
ticks=$(getconf CLK_TCK)
cpu=$(echo "scale=1; (($u2-$u1)+($s2-$s1))*1000000/$ticks/$requests" | bc)
echo "freeze=$mode connections=$connections invokes=$requests simulator_cpu_us_per_invoke=$cpu"
grep -E "50%|99%|Requests/sec" "$work/wrk.out" | tr -s ' ' | tr '\n' ' '; echo

# wrk prints latencies as 87.00us or 1.20ms.
micros() { awk '{v=$2; if (v ~ /ms$/) {sub(/ms$/,"",v); v*=1000} else if (v ~ /us$/) {sub(/us$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000000}; print v}'; }
invoke_p50=$(grep -E "^\s+50%" "$work/wrk.out" | micros)
echo_port=$((port + 1))
"$bin/lambda-sim-fixture" --echo-server "$echo_port" &
echo_server=$!
sleep 0.3
wrk -t1 -c1 -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$echo_port/" >"$work/floor.out"
kill "$echo_server"; wait "$echo_server" 2>/dev/null || true
floor=$(grep -E "^\s+50%" "$work/floor.out" | micros)
echo "floor: one loopback round trip p50 ${floor}us; invoke p50 ${invoke_p50}us = $(echo "scale=2; $invoke_p50/(2*$floor)" | bc) x two round trips"
