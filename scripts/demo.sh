#!/usr/bin/env bash
# End-to-end demo: builds lambda-sim, starts it with an example custom runtime, invokes the function
# once with curl and shows the response and the simulator's log (START / END / REPORT lines).
#
# Usage: scripts/demo.sh [bash|python]     (default: bash; PORT=9000 by default)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root="$PWD"

flavour="${1:-bash}"
port="${PORT:-9000}"
sim_args=()
case "$flavour" in
bash)
    runtime="${repo_root}/Config/bash-runtime/bootstrap"
    code_dir="${repo_root}/Config/bash-runtime"
    handler="function.handler"
    ;;
python)
    runtime="${repo_root}/Config/python-hello/bootstrap"
    code_dir="${repo_root}/Config/python-hello"
    handler="app.handler"
    # Absolute path of the venv interpreter. Deliberately *not* `readlink -f`: resolving the symlink
    # yields the base interpreter, which no longer sees the venv's site-packages (awslambdaric).
    LAMBDA_SIM_PYTHON="$(realpath -s .venv/bin/python)"
    export LAMBDA_SIM_PYTHON
    # Also hand it to the function explicitly in case the simulator does not inherit our environment.
    sim_args+=(--env "LAMBDA_SIM_PYTHON=${LAMBDA_SIM_PYTHON}")
    ;;
*)
    echo "usage: $0 [bash|python]" >&2
    exit 2
    ;;
esac

scripts/setup.sh
echo "demo: building lambda-sim"
swift build --product lambda-sim

log_file="$(mktemp "${TMPDIR:-/tmp}/lambda-sim-demo.XXXXXX")"
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -f "$log_file"
}
trap cleanup EXIT

echo "demo: starting lambda-sim on port ${port} with ${runtime#"${repo_root}"/}"
.build/debug/lambda-sim run --port "$port" --code-dir "$code_dir" --handler "$handler" "${sim_args[@]}" -- "$runtime" >"$log_file" 2>&1 &
sim_pid=$!

# Wait (up to 30 s) for the ready line.
ready=""
for ((i = 0; i < 300; i++)); do
    if grep -q 'Invoke API listening on' "$log_file"; then
        ready=yes
        break
    fi
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [[ -z "$ready" ]]; then
    echo "demo: lambda-sim did not become ready; its output:" >&2
    cat "$log_file" >&2
    exit 1
fi

url="http://127.0.0.1:${port}/2015-03-31/functions/function/invocations"
echo "demo: POST ${url} with {\"name\":\"lambda-sim\"}"
invoke_status=0
response="$(curl -sS --max-time 60 -XPOST "$url" -d '{"name":"lambda-sim"}')" || invoke_status=$?
if ((invoke_status != 0)); then
    echo "demo: invoke failed (curl exit status ${invoke_status}); simulator log:" >&2
    sed 's/^/    /' "$log_file" >&2
    exit 1
fi
echo "demo: response: ${response}"

# Give the simulator a moment (up to 5 s) to write the REPORT line.
for ((i = 0; i < 50; i++)); do
    if grep -q 'REPORT RequestId' "$log_file"; then
        break
    fi
    sleep 0.1
done
echo "demo: simulator log:"
sed 's/^/    /' "$log_file"

echo "demo: stopping lambda-sim"
kill -TERM "$sim_pid"
status=0
wait "$sim_pid" || status=$?
sim_pid=""
echo "demo: lambda-sim exited with status ${status}"
