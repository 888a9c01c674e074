#!/usr/bin/env bash
# Plays a hostile local user against a simulator run as root (issue 20): inside a private mount and pid namespace
# (`unshare -m -p -f --mount-proc`, started by SecurityTests), with /dev/shm and /mnt fresh tmpfs mounts, it plants
# files as `nobody`, starts `lambda-sim run` as root, uses it, stops it, and prints what happened as
# `RESULT key=value` lines for the test to check. Nothing outside the namespace is touched: its processes die
# with it, its mounts vanish with it, and a signal to -1 reaches only the namespace.
#
# usage (inside the namespace): attack.sh SCENARIO
#   environment: SIM (lambda-sim binary), FIXTURE (lambda-sim-fixture), PY (a Python 3 to forge guard tables)
# scenarios: table, output, cleanup, init, logsocket, flood
set -u
scenario=$1
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# /mnt (not /tmp, where the repository and its binaries may live) holds the scenario's own files.
mkdir -p /mnt && mount -t tmpfs -o mode=1777 tmpfs /mnt
cd /mnt

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
result() { echo "RESULT $1=$2"; }
# The state letter of a pid (R, S, T, Z…), or "gone".
state() { sed -E 's/.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null || echo gone; }
start_time() { sed -E 's/.*\) //' "/proc/$1/stat" | cut -d' ' -f20; }
# A pid that no longer runs.
dead_pid() { /bin/true & wait $!; echo $!; }

# start_sim [run options…]: starts the simulator with the fixture runtime, sets SIMPID and PORT.
start_sim() {
    "$SIM" run --port 0 --timeout 30 "$@" -- "$FIXTURE" > /mnt/sim.log 2>&1 &
    SIMPID=$!
    PORT=
    for _ in $(seq 200); do
        PORT=$(sed -nE 's#.*listening on http://127\.0\.0\.1:([0-9]+).*#\1#p' /mnt/sim.log 2>/dev/null | head -1)
        [[ -n $PORT ]] && return 0
        sleep 0.05
    done
    echo "simulator did not start:"; cat /mnt/sim.log
    exit 1
}
# The simulator's runtime: its child running the fixture (not its guardian, a fork of the simulator).
runtime_pid() {
    for pid in $(pgrep -P "$SIMPID"); do
        [[ $(readlink "/proc/$pid/exe") == "$(readlink -f "$FIXTURE")" ]] && echo "$pid" && return
    done
}
stop_sim() {
    kill -TERM "$SIMPID" 2>/dev/null
    wait "$SIMPID" 2>/dev/null
}
invoke() {
    curl -s -m 20 -XPOST "http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations" -d "$1"
}

# plant PERL: runs PERL as nobody with $first and $last bounding the pids the simulator may get next (pids in a new
# namespace are small and sequential; perl plants them all without starting a process per pid).
plant() {
    local first=$(( $(sh -c 'echo $$') + 1 ))
    as_nobody /usr/bin/perl -e "my (\$first, \$last) = ($first, $((first + 300))); $1"
}

case $scenario in
table)
    # Findings 1 and 4: a forged guard table (old layout at the old path, new layout in a squatted state root)
    # names a root process group, the id 1 and a Runtime API port; links at the table paths point at a root file.
    setsid sleep 600 & victim=$!
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:4711 setsid sleep 600 & named=$!
    sleep 600 & bystander=$!
    sleep 0.2
    echo precious > /mnt/precious; chmod 600 /mnt/precious
    dead=$(dead_pid)
    "$PY" - "$dead" "$victim" "$(start_time "$victim")" "$(start_time 1)" <<'EOF'
import struct, sys
dead, victim, start, init_start = (int(argument) for argument in sys.argv[1:5])
# The victim's group, and the id 1 (signalled as -1: every process the caller may signal).
entries = struct.pack("<iiQ", victim, 0, start) + struct.pack("<iiQ", 1, 0, init_start)
# The layout before issue 20 ("LSG1"): ports where the mark is now.
old = struct.pack("<iiQii", 0x4c534731, dead, 0, 2, 0) + b"\0" * 160 + struct.pack("<8i", 4711, 0, 0, 0, 0, 0, 0, 0)
old += b"\0" * (8 * 160) + entries
open("/mnt/forged-old", "wb").write(old.ljust(1496 + 65536 * 16, b"\0"))
new = struct.pack("<iiQii", 0x4c534732, dead, 0, 2, 0) + b"\0" * 160 + b"_LAMBDA_SIM_INSTANCE=x".ljust(64, b"\0")
new += b"\0" * (8 * 160) + entries
open("/mnt/forged-new", "wb").write(new.ljust(1528 + 65536 * 16, b"\0"))
EOF
    chmod 644 /mnt/forged-old /mnt/forged-new
    as_nobody bash -c '
        cp /mnt/forged-old /dev/shm/lambda-sim-guard-'"$dead"'
        mkdir -m 777 /dev/shm/lambda-sim-0 && mkdir -m 777 /dev/shm/lambda-sim-0/'"$dead"'
        cp /mnt/forged-new /dev/shm/lambda-sim-0/'"$dead"'/guard'
    plant 'for my $p ($first..$last) {
        symlink("/mnt/precious", "/dev/shm/lambda-sim-guard-$p");
        mkdir("/dev/shm/lambda-sim-0/$p"); chmod(0777, "/dev/shm/lambda-sim-0/$p");
        symlink("/mnt/precious", "/dev/shm/lambda-sim-0/$p/guard");
    }'
    start_sim --freeze none
    result invoke "$(invoke '{"a":1}')"
    stop_sim
    sleep 0.3
    result victim "$(state "$victim")"
    result named "$(state "$named")"
    result bystander "$(state "$bystander")"
    result precious "$(cat /mnt/precious)"
    result notice "$(grep -c 'lambda-sim-0 is owned by uid 65534, not 0, so state goes to /dev/shm/lambda-sim-0\.' /mnt/sim.log)"
    ;;
output)
    # Finding 2: pre-created output directories whose first file links to a root file.
    echo SECRET > /mnt/secret; chmod 600 /mnt/secret
    as_nobody mkdir -m 777 /dev/shm/lambda-sim-0
    plant 'for my $p ($first..$last) {
        for my $d ("/dev/shm/lambda-sim-output-$p-1", "/dev/shm/lambda-sim-0/$p", "/dev/shm/lambda-sim-0/$p/output-1") {
            mkdir($d); chmod(0777, $d);
        }
        symlink("/mnt/secret", "/dev/shm/lambda-sim-output-$p-1/1");
        symlink("/mnt/secret", "/dev/shm/lambda-sim-0/$p/output-1/1");
    }'
    start_sim --freeze none
    result invoke "$(invoke '{"print":"PWNED"}')"
    stop_sim
    result secret "$(cat /mnt/secret)"
    result printed "$(grep -c PWNED /mnt/sim.log)"
    ;;
cleanup)
    # Finding 3: links named like a dead simulator's output or state directory point at a root directory.
    mkdir /mnt/victimdir && for f in a b c; do echo "$f" > "/mnt/victimdir/$f"; done
    as_nobody bash -c '
        ln -s /mnt/victimdir /dev/shm/lambda-sim-output-99998-1
        mkdir -m 777 /dev/shm/lambda-sim-0 && ln -s /mnt/victimdir /dev/shm/lambda-sim-0/99998
        ln -s /mnt/victimdir /dev/shm/lambda-sim-0.abcdef'
    start_sim --freeze none
    result invoke "$(invoke '{"a":1}')"
    stop_sim
    start_sim --freeze none
    result invoke2 "$(invoke '{"a":2}')"
    stop_sim
    result files "$(ls /mnt/victimdir | tr '\n' ',')"
    ;;
init)
    # Finding 6: during init (an extension still registering, no runtime yet) a process sends a complete
    # registration and closes at once, so that no process holds its end when the simulator accepts it.
    mkdir -p /mnt/ext
    cat > /mnt/ext/slow <<'EOF'
#!/bin/bash
echo "$AWS_LAMBDA_RUNTIME_API" > /mnt/api
sleep 1.5
id=$(curl -s -D - -o /dev/null -XPOST "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/register" \
    -H 'Lambda-Extension-Name: slow' -d '{"events":["SHUTDOWN"]}' | tr -d '\r' | sed -n 's/^Lambda-Extension-Identifier: //Ip')
while curl -s -o /dev/null "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/event/next" \
    -H "Lambda-Extension-Identifier: $id"; do :; done
EOF
    chmod 755 /mnt/ext/slow
    start_sim --freeze none --extensions-dir /mnt/ext
    # The first invoke starts the sandbox's init: the extension, then (once it registered) the runtime.
    invoke '{"a":1}' > /mnt/invoke.out &
    invoker=$!
    for _ in $(seq 200); do [[ -s /mnt/api ]] && break; sleep 0.02; done
    api=$(cat /mnt/api)
    request="POST /2020-01-01/extension/register HTTP/1.1\r\nHost: $api\r\nLambda-Extension-Name: evil\r\n"
    request+="Content-Length: 21\r\n\r\n{\"events\":[\"INVOKE\"]}"
    host=${api%:*}; port=${api##*:}
    # Send and close at once, as nobody and as root (another process of the simulator's user), while the simulator
    # is held (as a busy loop would hold it), so that it accepts both only after their processes are gone.
    kill -STOP "$SIMPID"
    as_nobody bash -c "exec 3<>/dev/tcp/$host/$port && printf '$request' >&3 && exec 3>&-"
    bash -c "exec 3<>/dev/tcp/$host/$port && printf '$request' >&3 && exec 3>&-"
    kill -CONT "$SIMPID"
    wait "$invoker"
    result invoke "$(cat /mnt/invoke.out)"
    stop_sim
    result evil "$(grep -c 'Name: evil' /mnt/sim.log)"
    result refused "$(grep -c 'refused a Runtime API connection' /mnt/sim.log)"
    ;;
logsocket)
    # Finding 7: the managed-instance log socket, reached by another user and by a process outside the sandbox.
    start_sim --freeze none --per-environment-max-concurrency 2
    result warm "$(invoke '{"a":0}')"
    runtime=$(runtime_pid)
    socket=$(tr '\0' '\n' < "/proc/$runtime/environ" | sed -n 's/^_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET=//p')
    result socket_mode "$(stat -c %a "$socket")"
    result socket_dir_mode "$(stat -c %a "$(dirname "$socket")")"
    as_nobody curl -s -m 2 --unix-socket "$socket" -A NOBODYLINE http://x/ > /dev/null 2>&1
    result nobody_connect $?
    curl -s -m 2 --unix-socket "$socket" -A OUTSIDERLINE http://x/ > /dev/null 2>&1
    result invoke "$(invoke '{"a":1}')"
    stop_sim
    result lines "$(grep -cE 'NOBODYLINE|OUTSIDERLINE' /mnt/sim.log)"
    ;;
flood)
    # Finding 5: another user's connections to one sandbox's Runtime API, each held open until the simulator has
    # decided on it, while the runtime holds ~1,000 descriptors (a walk of them is what an expensive decision costs).
    # Measured as the simulator's CPU time for 500 such connections (clock ticks, 100 per second), then, for the
    # record, probe invokes alone and during a flood by four such loops at nice 19.
    start_sim --freeze none --env FIXTURE_OPEN_FILES=1000
    result warm "$(invoke '{"a":0}')"
    runtime=$(runtime_pid)
    api=$(tr '\0' '\n' < "/proc/$runtime/environ" | sed -n 's/^AWS_LAMBDA_RUNTIME_API=//p')
    [[ ${FLOOD_TARGET:-} == invoke ]] && api=127.0.0.1:$PORT
    flood() {  # flood COUNT: COUNT connections one after another, each read until the simulator closes it
        as_nobody /usr/bin/perl -MSocket -e '
            my ($host, $port, $count) = @ARGV;
            my $address = pack_sockaddr_in($port, inet_aton($host));
            for (1..$count) {
                socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
                setsockopt($s, SOL_SOCKET, SO_RCVTIMEO, pack("l!l!", 2, 0));
                connect($s, $address) or next;
                sysread($s, my $byte, 1);
                close($s);
            }' "${api%:*}" "${api##*:}" "$1"
    }
    ticks() { sed -E 's/.*\) //' "/proc/$SIMPID/stat" | awk '{ print $12 + $13 }'; }
    before=$(ticks)
    flood 500
    result flood_ticks $(( $(ticks) - before ))
    probe() {  # invokes for $1 seconds, one after another; prints the count and the slowest in ms
        /usr/bin/perl -MSocket -MTime::HiRes=time -e '
            my ($port, $seconds) = @ARGV;
            socket(my $s, PF_INET, SOCK_STREAM, 0) or die;
            connect($s, pack_sockaddr_in($port, inet_aton("127.0.0.1"))) or die "connect: $!";
            my $request = "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: x\r\n"
                . "Content-Length: 13\r\n\r\n{\"sleepMs\":5}";
            my ($end, $count, $slowest) = (time + $seconds, 0, 0);
            while (time < $end) {
                my $start = time;
                syswrite($s, $request);
                my $answer = "";
                while ($answer !~ /\r\n\r\n/ || length($answer) < index($answer, "\r\n\r\n") + 4
                       + ($answer =~ /Content-Length: (\d+)/i ? $1 : 0)) {
                    sysread($s, $answer, 65536, length($answer)) or die "closed";
                }
                my $took = time - $start;
                $slowest = $took if $took > $slowest;
                $count++;
            }
            printf "%d %.1f\n", $count, $slowest * 1000;' "$PORT" "$1"
    }
    read -r quiet quiet_max < <(probe 2)
    flooders=()
    for _ in 1 2 3 4; do
        nice -n 19 bash -c "$(declare -f as_nobody flood); api=$api; flood 1000000" &
        flooders+=($!)
    done
    sleep 0.3
    read -r busy busy_max < <(probe 2)
    pkill -f 'perl -MSocket -e'
    wait "${flooders[@]}" 2>/dev/null
    stop_sim
    result quiet "$quiet"
    result quiet_max_ms "$quiet_max"
    result flooded "$busy"
    result flooded_max_ms "$busy_max"
    result refused "$(grep -c 'refused a Runtime API connection' /mnt/sim.log)"
    ;;
*)
    echo "unknown scenario $scenario"; exit 2 ;;
esac
