# An external extension written with sh + curl, for the lambda-sim integration tests.
#
# Started by a /bin/sh wrapper as `sh curl_extension.sh <file name>`. It registers for INVOKE and
# SHUTDOWN, starts a `sleep 600` child in its own process group (recorded as kind "child"), then
# loops on /event/next, appending one JSON line per step to $EXT_RECORD_FILE and printing
# `recorded <what>` on stdout. With EXT_ON_SHUTDOWN=ignore it keeps sleeping after SHUTDOWN.
set -eu

name="$1"
base="http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension"
scratch="${EXT_RECORD_FILE}.${name}.$$"

record() {
    # $1: kind (also the announced label), $2: extra JSON members (may be empty).
    printf '{"ext":"%s","pid":%s,"kind":"%s","t":%s%s}\n' "$name" "$$" "$1" "$(date +%s%3N)" "$2" \
        >>"$EXT_RECORD_FILE"
    echo "recorded $1"
}

record start ""

status=$(curl -sS -D "${scratch}.headers" -o "${scratch}.body" -w '%{http_code}' -X POST \
    -H "Lambda-Extension-Name: ${name}" -d '{"events":["INVOKE","SHUTDOWN"]}' "${base}/register")
identifier=$(grep -i '^lambda-extension-identifier:' "${scratch}.headers" | cut -d' ' -f2 | tr -d '\r')
record register ",\"status\":${status},\"identifier\":\"${identifier}\",\"body\":$(cat "${scratch}.body")"
[ "$status" = 200 ] || exit 2

sleep 600 &
record child ",\"child\":$!"

while true; do
    event=$(curl -sS -H "Lambda-Extension-Identifier: ${identifier}" "${base}/event/next")
    record event ",\"event\":${event}"
    case "$event" in
    *'"SHUTDOWN"'*)
        if [ "${EXT_ON_SHUTDOWN:-}" = ignore ]; then
            echo "ignoring SHUTDOWN"
            while true; do sleep 60; done
        fi
        exit 0
        ;;
    esac
done
