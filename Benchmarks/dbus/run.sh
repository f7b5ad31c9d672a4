#!/usr/bin/env bash
# D-Bus benchmark for peercollabd against a minimal C sd-bus service, both on
# one private bus in the same run.
#
#   Benchmarks/dbus/run.sh [PATH/TO/peercollabd]     (or PEERCOLLABD=... run.sh)
#
# Without a daemon the C baseline stands in for it under the daemon's bus
# name, so the whole harness runs end to end. Knobs are environment variables
# (see "Knobs" below). Writes Benchmarks/results/dbus.json and prints a table.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$HERE/.build-bench
RESULTS=${RESULTS:-$(dirname "$HERE")/results/dbus.json}

# ---- Knobs -----------------------------------------------------------------
PEERCOLLABD=${1:-${PEERCOLLABD:-}}
ROUNDS=${ROUNDS:-3}                  # client runs, each interleaving both services
COUNT=${COUNT:-20000}                # timed calls per kind per service per round (upper bound)
WARMUP=${WARMUP:-1000}               # untimed calls per kind per service before timing
BATCH=${BATCH:-100}                  # calls to one service before switching to the other
MAX_SECONDS=${MAX_SECONDS:-30}       # time bound per kind per round
STARTS=${STARTS:-10}                 # starts timed to READY=1 per service
SETTLE_SECONDS=${SETTLE_SECONDS:-2}  # idle time after READY before reading RSS
IDLE_SECONDS=${IDLE_SECONDS:-30}     # window in which wake-ups are counted
WAIT_SECONDS=${WAIT_SECONDS:-15}     # bound on any wait for a name, READY or exit
BENCH_WATCHDOG_USEC=${BENCH_WATCHDOG_USEC:-30000000}  # >0: a second idle run with WATCHDOG_USEC set
                                     # (default: the unit's WatchdogSec=30s); 0 skips it
ISOLATE_NET=${ISOLATE_NET:-auto}     # run services in an empty network namespace
USE_PERF=${USE_PERF:-auto}           # also count idle switches with perf stat

# ---- How the Swift daemon is started: the one place to change its flags ----
SUBJECT_NAME=${SUBJECT_NAME:-org.peercollab.PeerCollab1}
SUBJECT_METHOD=${SUBJECT_METHOD:-}   # a no-op method on INTERFACE, if it has one
OBJECT_PATH=${OBJECT_PATH:-/org/peercollab/PeerCollab1}
INTERFACE=${INTERFACE:-org.peercollab.PeerCollab1.Manager}
DAEMON_BUS_FLAG=${DAEMON_BUS_FLAG:---bus}
DAEMON_CONFIG_FLAG=${DAEMON_CONFIG_FLAG:---config-dir}
DAEMON_DATA_FLAG=${DAEMON_DATA_FLAG:---data-dir}
# daemon_command BUS_ADDRESS STATE_DIR: sets CMD to the daemon's argv.
daemon_command() {
    CMD=("$PEERCOLLABD" "$DAEMON_BUS_FLAG" "$1"
         "$DAEMON_CONFIG_FLAG" "$2/config" "$DAEMON_DATA_FLAG" "$2/data")
}

BASELINE_LABEL=C-sd-bus
BASELINE_NAME=${BASELINE_NAME:-org.peercollab.Baseline1}

# ---- Helpers ---------------------------------------------------------------
say() { printf '[dbus-bench] %s\n' "$*" >&2; }
die() { printf '[dbus-bench] error: %s\n' "$*" >&2; exit 1; }

for v in ROUNDS COUNT WARMUP BATCH MAX_SECONDS STARTS WAIT_SECONDS IDLE_SECONDS SETTLE_SECONDS BENCH_WATCHDOG_USEC; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
(( ROUNDS >= 1 && COUNT >= 1 && BATCH >= 1 && MAX_SECONDS >= 1 && STARTS >= 1 && IDLE_SECONDS >= 1 )) \
    || die "ROUNDS, COUNT, BATCH, MAX_SECONDS, STARTS and IDLE_SECONDS must be at least 1"
for tool in cc pkg-config dbus-daemon dbus-send python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
pkg-config --exists libsystemd dbus-1 || die "libsystemd and dbus-1 development files are missing (apt install libsystemd-dev libdbus-1-dev)"
if [[ -n $PEERCOLLABD ]]; then
    [[ -x $PEERCOLLABD ]] || die "PEERCOLLABD '$PEERCOLLABD' is not an executable file"
    PEERCOLLABD=$(cd "$(dirname "$PEERCOLLABD")" && pwd)/$(basename "$PEERCOLLABD")
fi

# Processes started here, stopped on any exit.
PIDS=()
BUS_PID=
RUN=
cleanup() {
    local status=$?
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [[ -n $BUS_PID ]] && kill -TERM "$BUS_PID" 2>/dev/null || true
    [[ -n $RUN ]] && rm -rf "$RUN"
    exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted; stopping everything started here"; exit 130' INT
trap 'say "terminated; stopping everything started here"; exit 143' TERM

# ---- Build -----------------------------------------------------------------
mkdir -p "$BUILD/logs"
rm -f "$BUILD"/logs/*.log
FLAGS=$(pkg-config --cflags --libs libsystemd dbus-1)
say "building the C baseline and the load client in $BUILD"
# shellcheck disable=SC2086  # FLAGS is a list of words
cc -O2 -Wall -Wextra -o "$BUILD/baseline-service" "$HERE/baseline-service.c" $FLAGS
# shellcheck disable=SC2086
cc -O2 -Wall -Wextra -o "$BUILD/roundtrip-client" "$HERE/roundtrip-client.c" $FLAGS

# ---- Isolation and the private bus ------------------------------------------
WRAP=()
if [[ $ISOLATE_NET == auto ]]; then
    if unshare --net -- true 2>/dev/null; then ISOLATE_NET=1; else ISOLATE_NET=0; fi
fi
if [[ $ISOLATE_NET == 1 ]]; then
    # The daemon may announce itself by mDNS; keep it off any real network.
    # unshare execs in place, so the PID seen here is the service's own.
    unshare --net -- true 2>/dev/null || die "ISOLATE_NET=1 but 'unshare --net' fails here (needs root or user namespaces)"
    WRAP=(unshare --net --)
    say "services run in a new, empty network namespace (ISOLATE_NET=0 to turn off)"
else
    say "warning: services share this machine's network (ISOLATE_NET=0)"
fi
if [[ $USE_PERF == auto ]]; then
    if command -v perf >/dev/null && perf stat -e context-switches -- true >/dev/null 2>&1; then USE_PERF=1; else USE_PERF=0; fi
fi
PERF_ARG=()
[[ $USE_PERF == 1 ]] && PERF_ARG=(--perf)

RUN=$(mktemp -d "$BUILD/run.XXXXXX")
# Nothing inherited may point a service at the user's real bus, state or systemd.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID LISTEN_FDS LISTEN_PID
export XDG_CONFIG_HOME=$RUN/xdg/config XDG_DATA_HOME=$RUN/xdg/data XDG_STATE_HOME=$RUN/xdg/state \
       XDG_CACHE_HOME=$RUN/xdg/cache XDG_RUNTIME_DIR=$RUN/xdg/runtime
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

SOCKET=$RUN/bus
(( ${#SOCKET} < 100 )) || die "socket path $SOCKET is too long for AF_UNIX; move the checkout or set TMPDIR"
BUS_OUT=$(dbus-daemon --session --fork --nopidfile --address="unix:path=$SOCKET" --print-address=1 --print-pid=1) \
    || die "dbus-daemon did not start"
BUS=$(sed -n 1p <<<"$BUS_OUT")
BUS_PID=$(sed -n 2p <<<"$BUS_OUT")
[[ -n $BUS && $BUS_PID =~ ^[0-9]+$ ]] || die "could not read the bus address and pid from dbus-daemon: $BUS_OUT"
export DBUS_SESSION_BUS_ADDRESS=$BUS
say "private bus $BUS (pid $BUS_PID)"

# ---- Targets ---------------------------------------------------------------
# target_command LABEL STATE_DIR: sets CMD for LABEL.
if [[ -n $PEERCOLLABD ]]; then
    SUBJECT_LABEL=peercollabd
    say "subject: $PEERCOLLABD"
else
    SUBJECT_LABEL=stand-in
    SUBJECT_METHOD=${SUBJECT_METHOD:-Noop}
    say "no peercollabd given: the C baseline stands in for it as $SUBJECT_NAME"
fi
target_command() {
    if [[ $1 == "$BASELINE_LABEL" ]]; then
        CMD=("$BUILD/baseline-service" --bus "$BUS" --name "$BASELINE_NAME"
             --path "$OBJECT_PATH" --interface "$INTERFACE")
    elif [[ -n $PEERCOLLABD ]]; then
        mkdir -p "$2/config" "$2/data"
        daemon_command "$BUS" "$2"
    else
        CMD=("$BUILD/baseline-service" --bus "$BUS" --name "$SUBJECT_NAME"
             --path "$OBJECT_PATH" --interface "$INTERFACE" --version-string stand-in)
    fi
}
target_name() { if [[ $1 == "$BASELINE_LABEL" ]]; then echo "$BASELINE_NAME"; else echo "$SUBJECT_NAME"; fi; }
# The no-op method row only when the subject has one to compare with (the daemon has none:
# Peer.Ping, answered inside libdbus, is its no-op).
target_method() {
    if [[ -z $SUBJECT_METHOD ]]; then echo ""
    elif [[ $1 == "$BASELINE_LABEL" ]]; then echo Noop
    else echo "$SUBJECT_METHOD"; fi
}

name_has_owner() {
    dbus-send --bus="$BUS" --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q true
}

declare -A SERVICE_PID=()
# start_service LABEL: starts it in the background and waits for its bus name.
start_service() {
    local label=$1 name log pid i
    name=$(target_name "$label")
    log=$BUILD/logs/$label-roundtrip.log
    name_has_owner "$name" && die "$name already has an owner on the private bus"
    target_command "$label" "$RUN/state-roundtrip-$label"
    "${WRAP[@]}" "${CMD[@]}" </dev/null >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for (( i = 0; i < WAIT_SECONDS * 20; i++ )); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "$label exited before owning $name (log: $log)"
        fi
        if name_has_owner "$name"; then
            SERVICE_PID[$label]=$pid
            say "$label owns $name (pid $pid)"
            return
        fi
        sleep 0.05
    done
    tail -n 20 "$log" >&2 || true
    die "$label did not own $name within ${WAIT_SECONDS} s (log: $log)"
}

stop_services() {
    local pid i
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for (( i = 0; i < WAIT_SECONDS * 10; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "warning: pid $pid ignored SIGTERM for ${WAIT_SECONDS} s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

# ---- Round trips: both services up, one client alternating between them ----
start_service "$BASELINE_LABEL"
start_service "$SUBJECT_LABEL"
ROUNDTRIPS=$RUN/roundtrips.jsonl
: >"$ROUNDTRIPS"
# client_target_args LABEL: the client's --dest/--target/--method words for LABEL.
client_target_args() {
    TARGET_ARGS+=(--dest "$(target_name "$1")" --target "$1")
    local method
    method=$(target_method "$1")
    [[ -z $method ]] || TARGET_ARGS+=(--method "$method")
}
# cpu_ticks LABEL: user + system clock ticks the service has used so far.
cpu_ticks() {
    local rest
    rest=$(<"/proc/${SERVICE_PID[$1]}/stat")
    rest=${rest##*) }   # the fields after the command name, which may hold spaces
    awk '{ print $12 + $13 }' <<<"$rest"
}
CPU=$RUN/cpu.jsonl
: >"$CPU"
KINDS=(get ping)
[[ -z $SUBJECT_METHOD ]] || KINDS+=(method)
for (( round = 1; round <= ROUNDS; round++ )); do
    # The client alternates every BATCH calls; who goes first also flips per round.
    if (( round % 2 )); then order=("$BASELINE_LABEL" "$SUBJECT_LABEL"); else order=("$SUBJECT_LABEL" "$BASELINE_LABEL"); fi
    TARGET_ARGS=()
    for label in "${order[@]}"; do client_target_args "$label"; done
    say "round $round/$ROUNDS: ${order[0]} and ${order[1]}, $COUNT calls each per kind, in batches of $BATCH"
    # One client run per kind, so each service's CPU time can be charged to one kind of call.
    for kind in "${KINDS[@]}"; do
        declare -A before=()
        for label in "${order[@]}"; do before[$label]=$(cpu_ticks "$label"); done
        "$BUILD/roundtrip-client" --bus "$BUS" --path "$OBJECT_PATH" --interface "$INTERFACE" \
            --count "$COUNT" --warmup "$WARMUP" --batch "$BATCH" --seconds "$MAX_SECONDS" --kinds "$kind" \
            --timeout-ms $(( WAIT_SECONDS * 1000 )) "${TARGET_ARGS[@]}" >>"$ROUNDTRIPS" \
            || die "the load client failed (logs: $BUILD/logs)"
        for label in "${order[@]}"; do
            printf '{"round":%d,"kind":"%s","target":"%s","cpu_ticks":%d,"ticks_per_s":%d}\n' \
                "$round" "$kind" "$label" $(( $(cpu_ticks "$label") - ${before[$label]} )) "$(getconf CLK_TCK)" >>"$CPU"
        done
    done
done
stop_services

# ---- Start, memory, idle: one service at a time -----------------------------
# run_probe LABEL KIND STARTS WATCHDOG_USEC: runs service-probe.py on LABEL's command (set in CMD),
# writes $RUN/probe-LABEL-KIND.json.
run_probe() {
    local label=$1 kind=$2 starts=$3 watchdog=$4 probe status
    python3 "$HERE/service-probe.py" --label "$label" --starts "$starts" --settle "$SETTLE_SECONDS" \
        --idle "$IDLE_SECONDS" --ready-timeout "$WAIT_SECONDS" --stop-timeout "$WAIT_SECONDS" \
        --bus "$BUS" --name "$(target_name "$label")" --watchdog-usec "$watchdog" \
        "${PERF_ARG[@]}" --log "$BUILD/logs/$label-probe.log" -- "${WRAP[@]}" "${CMD[@]}" \
        >"$RUN/probe-$label-$kind.json" &
    probe=$!
    PIDS+=("$probe")   # so an interrupted run stops the probe, which stops its service
    status=0
    wait "$probe" || status=$?
    (( status == 130 || status == 143 )) && { say "interrupted while measuring $label"; exit "$status"; }
    (( status == 0 )) || die "measuring $label failed (log: $BUILD/logs/$label-probe.log)"
    PIDS=()
}
PROBE_ARGS=()
for label in "$BASELINE_LABEL" "$SUBJECT_LABEL"; do
    say "$label: $STARTS starts to READY=1, then ${SETTLE_SECONDS} s settle and ${IDLE_SECONDS} s idle"
    # Its own fresh state, so start 1 is a first run (keys, database) and the rest are restarts.
    target_command "$label" "$RUN/state-probe-$label"
    run_probe "$label" idle "$STARTS" 0
    PROBE_ARGS+=(--probe "$label=$RUN/probe-$label-idle.json")
    if (( BENCH_WATCHDOG_USEC > 0 )); then
        say "$label: once more with WATCHDOG_USEC=$BENCH_WATCHDOG_USEC, ${IDLE_SECONDS} s idle"
        run_probe "$label" watchdog 1 "$BENCH_WATCHDOG_USEC"
        PROBE_ARGS+=(--watchdog-probe "$label=$RUN/probe-$label-watchdog.json")
    fi
done

# ---- Report ----------------------------------------------------------------
python3 "$HERE/report.py" --roundtrips "$ROUNDTRIPS" --cpu "$CPU" --baseline "$BASELINE_LABEL" \
    --subject "$SUBJECT_LABEL" "${PROBE_ARGS[@]}" --out "$RESULTS" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "host=$(uname -srm)" \
    --meta "cpus=$(nproc)" --meta "loadavg_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" \
    --meta "subject_command=${PEERCOLLABD:-baseline-service as $SUBJECT_NAME}" \
    --meta "rounds=$ROUNDS" --meta "count=$COUNT" --meta "warmup=$WARMUP" --meta "batch=$BATCH" \
    --meta "max_seconds=$MAX_SECONDS" --meta "starts=$STARTS" --meta "idle_seconds=$IDLE_SECONDS" \
    --meta "watchdog_usec=$BENCH_WATCHDOG_USEC" --meta "isolate_net=$ISOLATE_NET" \
    --meta "dbus_daemon=$(dbus-daemon --version | head -n 1)"
