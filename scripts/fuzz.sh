#!/usr/bin/env bash
# Builds the libFuzzer targets with the address sanitizer and runs each for a bounded time, starting from the
# seed corpus in Fuzz/corpus (what libFuzzer finds is kept in a scratch copy, not in the repository).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s; targets: http-request http-response
#        json config event-stream). A crash leaves its input in .build-fuzz/crashes/ and makes the script fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(http-request http-response json config event-stream)
export LAMBDA_SIM_FUZZ=1
# The Swift runtime's backtracer trips the address sanitizer; libFuzzer prints what is needed.
export SWIFT_BACKTRACE=enable=no
mkdir -p .build-fuzz/crashes .build-fuzz/corpus
status=0
for target in "${targets[@]}"; do
    case "$target" in
    http-request) product=FuzzHTTPRequest ;;
    http-response) product=FuzzHTTPResponse ;;
    json) product=FuzzJSON ;;
    config) product=FuzzConfig ;;
    event-stream) product=FuzzEventStream ;;
    *) echo "fuzz: unknown target $target" >&2; exit 2 ;;
    esac
    swift build --scratch-path .build-fuzz --product "$product" -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld >/dev/null
    binary=$(swift build --scratch-path .build-fuzz --product "$product" --show-bin-path -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)/$product
    work=.build-fuzz/corpus/$target
    mkdir -p "$work"
    cp -n Fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
    echo "fuzz: $target for ${seconds}s"
    if ! "$binary" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix=.build-fuzz/crashes/"$target"- -print_final_stats=1 "$work" 2>.build-fuzz/"$target".log; then
        status=1
        echo "fuzz: $target FAILED, see .build-fuzz/$target.log and .build-fuzz/crashes/" >&2
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" .build-fuzz/"$target".log || true
done
exit $status
