# Handlers for the bash-runtime integration tests (selected with _HANDLER=function.NAME).

# handler: echoes the event back inside a small envelope and logs it on stderr.
handler() {
    echo "$1" 1>&2
    printf '{"echo":%s,"runtime":"bash"}' "$1"
}

# fail: logs a message and fails, so the runtime reports a HandlerError.
fail() {
    echo "bash handler failing on purpose" 1>&2
    return 3
}

# slow: sleeps for the event's "seconds" (default 1), then answers.
slow() {
    local seconds
    seconds="$(jq -r '.seconds // 1' <<<"$1")"
    sleep "$seconds"
    printf '{"slept":%s}' "$seconds"
}
