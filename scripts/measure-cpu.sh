#!/usr/bin/env bash
# lambda-sim against the floor of a warm invoke, side by side in one run, with the same runtime and the same client.
#
# The floor is `perf-floor relay` (Benchmarks/Floor/relay.c): the least any simulator must do for a warm invoke
# (take the invoke, hand it to the runtime holding /next, take its /response, answer both), in C on one epoll
# thread. `lambda-sim run --freeze MODE` and the relay each run the same runtime (by default perf-floor's C echo
# runtime, so that the runtime's own time hardly shows in the latency) and are driven in turn by the same C
# keep-alive client (`perf-floor invoke`), in interleaved rounds whose order rotates. Per round and process:
#   - CPU per warm invoke: utime+stime of that process (from /proc/PID/stat, its runtimes not included) ÷ invokes;
#   - p50 (and p99) of the invoke's round trip as the client saw it, and invokes/s.
# Then, per figure, the medians over the rounds of lambda-sim's value, the relay's, and the per-round ratio, and
# for `signal`/`cgroup` what they add over `none` (median of the per-round differences). `none` is always measured.
#
# Usage: scripts/measure-cpu.sh [none|signal|cgroup|all] [seconds] [connections]
#   seconds      load per process per round (default 3)
#   connections  keep-alive clients at once (default 1); lambda-sim gets --max-concurrency N, the relay N runtimes
# Environment:
#   ROUNDS=3            rounds (a median needs at least 3)
#   RUNTIME=echo        `echo` (perf-floor's C echo runtime) or `fixture` (lambda-sim-fixture, whose FIXTURE_*
#                       variables pass through, e.g. FIXTURE_NEW_CONNECTION=1)
#   SIM_ARGS            more flags for `lambda-sim run` (e.g. "--runtime-api-access any")
#   LAMBDA_SIM_BIN_DIR  where lambda-sim and lambda-sim-fixture are (skips `swift build -c release`)
#   CC                  the C compiler for Benchmarks/Floor (default: clang, else gcc, else cc)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=${1:-none}; seconds=${2:-3}; connections=${3:-1}; rounds=${ROUNDS:-3}
case "$mode" in
    none) modes=(none) ;;
    signal | cgroup) modes=(none "$mode") ;;
    all) modes=(none signal cgroup) ;;
    *) echo "usage: $0 [none|signal|cgroup|all] [seconds] [connections]" >&2; exit 2 ;;
esac

if [[ -n "${LAMBDA_SIM_BIN_DIR:-}" ]]; then
    bin=$LAMBDA_SIM_BIN_DIR
else
    swift build -c release --product lambda-sim >/dev/null
    swift build -c release --product lambda-sim-fixture >/dev/null
    bin=.build/release
fi
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cc=${CC:-$(command -v clang || command -v gcc || command -v cc)}
"$cc" -O2 -pthread -o "$work/perf-floor" Benchmarks/Floor/*.c
case "${RUNTIME:-echo}" in
    echo) runtime=("$work/perf-floor" runtime) ;;
    fixture) runtime=("$bin/lambda-sim-fixture") ;;
    *) echo "RUNTIME must be echo or fixture" >&2; exit 2 ;;
esac
path=/2015-03-31/functions/function/invocations

# The processes under test, by name: sim-none, sim-signal, sim-cgroup and relay; each with its pid and port.
declare -A pid port
for m in "${modes[@]}"; do
    port[sim-$m]=$((20000 + RANDOM % 20000))
    # shellcheck disable=SC2086 # SIM_ARGS is a list of flags
    "$bin/lambda-sim" run --port "${port[sim-$m]}" --freeze "$m" --timeout 30 --max-concurrency "$connections" \
        ${SIM_ARGS:-} -- "${runtime[@]}" >"$work/sim-$m.log" 2>&1 &
    pid[sim-$m]=$!; pids+=("$!")
done
"$work/perf-floor" relay 0 "$connections" -- "${runtime[@]}" >"$work/relay.log" 2>&1 &
pid[relay]=$!; pids+=("$!")
for _ in $(seq 200); do grep -q '^ready' "$work/relay.log" && break; sleep 0.05; done
port[relay]=$(awk '/^ready/ {print $2}' "$work/relay.log")
for m in "${modes[@]}"; do
    for _ in $(seq 200); do grep -q listening "$work/sim-$m.log" && break; sleep 0.05; done
done
names=("${modes[@]/#/sim-}" relay)
for name in "${names[@]}"; do  # warm: every sandbox started and every buffer grown
    "$work/perf-floor" invoke "${port[$name]}" "$path" --connections "$connections" --count $((500 * connections)) \
        >/dev/null
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -E "s/(^|.*[[:space:]])$1=([0-9.]+).*/\2/" <<<"$2"; }
declare -A cpu p50 p99 rate
# shellcheck disable=SC2034 # the figures are read through summary's nameref
for round in $(seq "$rounds"); do
    count=${#names[@]}; order=()
    for i in $(seq 0 $((count - 1))); do order+=("${names[(i + round) % count]}"); done
    line="round $round:"
    for name in "${order[@]}"; do
        before=$(ticks "${pid[$name]}")
        result=$("$work/perf-floor" invoke "${port[$name]}" "$path" --connections "$connections" --seconds "$seconds")
        after=$(ticks "${pid[$name]}")
        invokes=$(field invokes "$result")
        key=$name,$round
        cpu[$key]=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$invokes" \
            'BEGIN {printf "%.1f", t / hz / n * 1e6}')
        p50[$key]=$(field p50 "$result"); p99[$key]=$(field p99 "$result"); rate[$key]=$(field rate "$result")
        if [[ $(field failures "$result") != 0 ]]; then echo "$name answered non-2xx: $result" >&2; exit 1; fi
        line+=" $name cpu ${cpu[$key]} us p50 ${p50[$key]} us ${rate[$key]}/s;"
    done
    echo "$line"
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# summary FIGURE ARRAY MODE: medians of lambda-sim's and the relay's values and of their per-round ratio.
summary() {
    local -n values=$2
    local sim=() relay=() ratio=() round
    for round in $(seq "$rounds"); do
        sim+=("${values[sim-$3,$round]}"); relay+=("${values[relay,$round]}")
        ratio+=("$(awk -v s="${values[sim-$3,$round]}" -v r="${values[relay,$round]}" 'BEGIN {printf "%.2f", s / r}')")
    done
    # shellcheck disable=SC2016 # backquotes for Markdown
    printf '| %s, `%s` | %s | %s | %s |\n' "$1" "$3" "$(median "${sim[@]}")" "$(median "${relay[@]}")" \
        "$(median "${ratio[@]}")"
}
# extra FIGURE ARRAY MODE: median over the rounds of MODE's value minus none's.
extra() {
    local -n values=$2
    local difference=() round
    for round in $(seq "$rounds"); do
        difference+=("$(awk -v m="${values[sim-$3,$round]}" -v n="${values[sim-none,$round]}" \
            'BEGIN {printf "%+.1f", m - n}')")
    done
    # shellcheck disable=SC2016 # backquotes for Markdown
    printf '| %s added by `%s` over `none` | %s | — | — |\n' "$1" "$3" "$(median "${difference[@]}")"
}

echo
echo "runtime ${RUNTIME:-echo}, $connections connection(s), $rounds rounds of ${seconds} s per process, medians:"
echo "| Figure | lambda-sim | C relay floor | ratio |"
echo "| --- | ---: | ---: | ---: |"
for m in "${modes[@]}"; do
    summary "simulator CPU per warm invoke (µs)" cpu "$m"
    summary "warm invoke p50 (µs)" p50 "$m"
    summary "warm invoke p99 (µs)" p99 "$m"
    summary "invokes/s" rate "$m"
done
for m in "${modes[@]:1}"; do
    extra "simulator CPU per warm invoke (µs)" cpu "$m"
    extra "warm invoke p50 (µs)" p50 "$m"
done
