#!/usr/bin/env bash
# Soak test of the simulator's memory: `lambda-sim serve` (release build) with SANDBOXES sandboxes whose function
# prints a LINE_KB-kilobyte log line on every invoke and whose extension subscribes to the Telemetry API and never
# answers (so every subscriber queue fills up), driven by `lambda-sim load` for SECONDS. Samples the simulator's
# RSS every 2 s and fails when the last third of the run grew by more than 10% over its first sample (after
# warm-up). Bounded in time: SECONDS plus start-up.
#
# Usage: scripts/soak.sh [SECONDS=60] [SANDBOXES=50] [LINE_KB=200]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
seconds=${1:-60}
sandboxes=${2:-50}
line_kb=${3:-200}

swift build -c release --product lambda-sim >/dev/null
swift build -c release --product lambda-sim-fixture >/dev/null
bin=$(swift build -c release --show-bin-path)
python=$(realpath -s .venv/bin/python)

work=$(mktemp -d)
trap 'kill "$serve_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/extensions"
cat >"$work/extensions/stuck-telemetry" <<EOF
#!/bin/sh
# A Telemetry API subscriber whose listener accepts batches and never answers.
TEL_LISTENER=stuck TEL_TYPES=platform,function TEL_BUFFERING='{"timeoutMs": 25}' EXT_RECORD_FILE=/dev/null \\
    exec "$python" "$repo/Tests/IntegrationTests/Fixtures/telemetry/telemetry_extension.py" stuck-telemetry
EOF
chmod +x "$work/extensions/stuck-telemetry"
cat >"$work/soak.yaml" <<EOF
account:
  concurrency: $((sandboxes + 100))
functions:
  soak:
    command: [$bin/lambda-sim-fixture]
    codeUri: $work
    extensionsDir: $work/extensions
    timeout: 30
    reservedConcurrency: $sandboxes
    freeze: signal
EOF
"$python" -c "import json, sys; json.dump({'print': 'x' * ($line_kb * 1024)}, open(sys.argv[1], 'w'))" "$work/payload.json"

"$bin/lambda-sim" serve --config "$work/soak.yaml" --port 0 >"$work/serve.log" 2>&1 &
serve_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*Invoke API listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/serve.log")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { echo "soak: serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

"$bin/lambda-sim" load soak --endpoint "http://127.0.0.1:$port" --concurrency "$sandboxes" --duration "$seconds" \
    --payload-file "$work/payload.json" --json "$work/load.json" --quiet >"$work/load.out" 2>&1 &
load_pid=$!

echo "soak: $sandboxes sandboxes, ${line_kb} KB log line per invoke, a stuck telemetry subscriber each, ${seconds}s"
printf '%8s %10s\n' "t (s)" "RSS (MiB)"
samples=()
start=$SECONDS
while kill -0 "$load_pid" 2>/dev/null; do
    rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")
    samples+=("$rss_kb")
    printf '%8d %10.1f\n' $((SECONDS - start)) "$(echo "$rss_kb / 1024" | bc -l)"
    sleep 2
done
wait "$load_pid" || true
tail -n 3 "$work/load.out"
"$python" - "${samples[@]}" <<'EOF'
import sys
samples = [int(x) for x in sys.argv[1:]]
if len(samples) < 6:
    sys.exit("soak: too few samples")
third = len(samples) // 3
base = samples[third]
peak = max(samples[third:])
growth = (peak - base) / base
print(f"soak: RSS after warm-up {base / 1024:.1f} MiB, peak after it {peak / 1024:.1f} MiB ({growth:+.1%})")
sys.exit(1 if growth > 0.10 else 0)
EOF
