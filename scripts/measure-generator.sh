#!/usr/bin/env bash
# What `lambda-sim load` costs per invoke in its closed and open models, beside what the models themselves cost:
# the same target (`lambda-sim serve`, release, the native fixture runtime sleeping SLEEP_MS per invoke, freeze
# none, provisioned sandboxes) driven in turn by `lambda-sim load --endpoint` and by scripts/perf/load_floor.c (the
# cheapest C client of each model), interleaved for ROUNDS rounds. Prints each round and the medians: CPU per
# invoke of the generator's thread (the client's thread for the floor) and wakes per invoke, and the open/closed
# ratios. The floor's own open/closed ratio is what the model costs on this machine whatever the client does.
# Usage: scripts/measure-generator.sh [rate] [callers] [seconds] [rounds]   (defaults 1100 3 5 3)
# BIN_DIR=DIR measures the lambda-sim and lambda-sim-fixture in DIR instead of building the release ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rate=${1:-1100}; callers=${2:-3}; seconds=${3:-5}; rounds=${4:-3}; sleep_ms=${SLEEP_MS:-2}
if [[ -z "${BIN_DIR:-}" ]]; then
    swift build -c release --product lambda-sim >/dev/null
    swift build -c release --product lambda-sim-fixture >/dev/null
fi
bin=$(cd "${BIN_DIR:-.build/release}" && pwd)
work=$(mktemp -d)
"${CC:-$(command -v clang || command -v gcc || command -v cc)}" -O2 -Wall -Wextra -Werror -o "$work/load_floor" \
    scripts/perf/load_floor.c
port=$((20000 + RANDOM % 20000))
cat >"$work/serve.yaml" <<YAML
server:
  host: 127.0.0.1
  port: $port
functions:
  gen:
    command: [$bin/lambda-sim-fixture]
    runtime: provided.al2023
    timeout: 30
    freeze: none
    provisionedConcurrency: 16
    idleTimeout: 3600
YAML
"$bin/lambda-sim" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 &
serve=$!
trap 'kill "$serve" 2>/dev/null; wait "$serve" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/_sim/sandboxes" && break
    sleep 0.1
done
sleep 1
path=/2015-03-31/functions/gen/invocations
payload="{\"sleepMs\":$sleep_ms}"
results="$work/results"
generator() { # MODEL-NAME ARGS...
    local name=$1; shift
    "$bin/lambda-sim" load gen --endpoint "http://127.0.0.1:$port" "$@" --duration "$seconds" --payload "$payload" \
        --json "$work/load.json" --quiet >/dev/null
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(sys.argv[2], d["generatorCpuUsPerInvoke"], d.get("generatorWakesPerInvoke") or "nan")' "$work/load.json" "$name" \
        | tee -a "$results"
}
floor() { # MODEL ARG
    PAYLOAD=$payload "$work/load_floor" "$port" "$path" "$1" "$2" "$seconds" tail \
        | sed -E 's/model=([a-z]+) .*cpu_us_per_invoke=([0-9.]+) wakes_per_invoke=([0-9.]+).*/floor-\1 \2 \3/' \
        | tee -a "$results"
}
for round in $(seq "$rounds"); do
    echo "round $round (model, CPU µs per invoke, wakes per invoke)"
    floor closed "$callers"
    floor paced "$rate"
    floor open "$rate"
    generator load-closed --concurrency "$callers"
    generator load-open --rate "$rate"
done
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, cpu, wakes = line.split()
    rows.setdefault(name, []).append((float(cpu), float(wakes)))
median = {name: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for name, v in rows.items()}
print("\nmedians            CPU µs/invoke   wakes/invoke")
for name, (cpu, wakes) in median.items():
    print(f"  {name:14s} {cpu:12.1f} {wakes:14.2f}")
ratio = lambda a, b: median[a][0] / median[b][0]
print(f"open/closed: lambda-sim load {ratio('load-open', 'load-closed'):.2f}, "
      f"C floor paced {ratio('floor-paced', 'floor-closed'):.2f}, C floor open {ratio('floor-open', 'floor-closed'):.2f}")
PY
