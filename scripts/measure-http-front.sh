#!/usr/bin/env bash
# Simulator CPU per warm invoke through the HTTP front end of `serve --template` versus through the Invoke API:
# one template function on the native fixture runtime (which echoes its event), one keep-alive client (wrk -c1),
# utime+stime of the lambda-sim process ÷ requests, for the Invoke API, an HTTP API route (payload format 2.0)
# and a Function URL; prints each and the front end's ratio to the Invoke API.
# Usage: scripts/measure-http-front.sh [none|signal|cgroup] [seconds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=${1:-none}; seconds=${2:-5}
swift build -c release --product lambda-sim >/dev/null
swift build -c release --product lambda-sim-fixture >/dev/null
bin=$PWD/.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/code"
cat >"$work/template.yaml" <<YAML
Resources:
  Bench:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Timeout: 30
      FunctionUrlConfig: {AuthType: NONE}
      Events:
        Get:
          Type: HttpApi
          Properties: {Path: /bench, Method: get}
    Metadata:
      lambda-sim: {Command: ["$bin/lambda-sim-fixture"], Freeze: $mode}
YAML
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"a":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
port=$((20000 + RANDOM % 20000)); http_port=$((port + 1))
"$bin/lambda-sim" serve --template "$work/template.yaml" --port "$port" --http-port "$http_port" >"$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do grep -q "HTTP front end" "$work/sim.log" && break; sleep 0.05; done
ticks=$(getconf CLK_TCK)
measure() { # name url [wrk args...]
    local name=$1 url=$2; shift 2
    wrk -t1 -c1 -d1s "$@" "$url" >/dev/null
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$sim/stat")
    wrk -t1 -c1 -d"${seconds}s" --latency "$@" "$url" >"$work/$name.out"
    read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$sim/stat")
    local requests; requests=$(grep -oP '\d+(?= requests in)' "$work/$name.out")
    local cpu; cpu=$(echo "scale=1; (($u2-$u1)+($s2-$s1))*1000000/$ticks/$requests" | bc)
    local p50; p50=$(grep -E "^\s+50%" "$work/$name.out" | tr -s ' ' | cut -d' ' -f3)
    echo "$name requests=$requests simulator_cpu_us_per_request=$cpu p50=$p50" >&2
    echo "$cpu"
}
invoke=$(measure invoke-api "http://127.0.0.1:$port/2015-03-31/functions/Bench/invocations" -s "$work/post.lua")
# The same invoke with the route's event as its payload: what the larger payload alone costs.
curl -s "http://127.0.0.1:$http_port/bench" >"$work/event.json"
printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\n' \
    "$(cat "$work/event.json")" >"$work/event.lua"
sized=$(measure invoke-api-event-payload "http://127.0.0.1:$port/2015-03-31/functions/Bench/invocations" \
    -s "$work/event.lua")
route=$(measure http-api-route "http://127.0.0.1:$http_port/bench")
url=$(measure function-url "http://127.0.0.1:$http_port/lambda-url/Bench/")
kill -INT "$sim"; wait "$sim" 2>/dev/null || true
echo "freeze=$mode ratio to the Invoke API: http-api-route $(echo "scale=2; $route/$invoke" | bc)x," \
    "function-url $(echo "scale=2; $url/$invoke" | bc)x; to the Invoke API with the event as payload:" \
    "http-api-route $(echo "scale=2; $route/$sized" | bc)x"
