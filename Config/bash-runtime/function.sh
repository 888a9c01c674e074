# Example handler for the bash custom runtime (_HANDLER=function.handler).
#
# handler EVENT_JSON: logs the event on stderr and prints the response on stdout. With jq available
# it greets the event's "name" (default "world"); without jq it echoes the event back.
handler() {
    local event="$1"
    echo "bash handler got event: ${event}" >&2
    if command -v jq >/dev/null 2>&1; then
        jq -c --arg requestId "${AWS_REQUEST_ID:-}" \
            '{message: "Hello, \((.name? // "world") | tostring)!", runtime: "bash", requestId: $requestId}' \
            <<<"$event"
    else
        printf '{"echo":%s,"runtime":"bash"}' "$event"
    fi
}
