#!/usr/bin/env bash
# Peer-layer benchmarks (issue 4), every figure next to a yardstick measured in the same run:
#   1. full mutual TLS 1.3 handshakes (Ed25519 both sides): SecureChannel client and server
#      against a libssl client (tls-client.c), `openssl s_server` and `openssl s_time`;
#      and, in the same rounds, connect-to-session-established against a release peercollabd;
#   2. peercollabd's memory per idle authenticated session, for several session counts;
#   3. PeerProtocol frame encode/decode throughput (Benchmarks/protocol/FrameThroughput.swift).
# Usage: Benchmarks/peer/run.sh        (knobs: see README.md; all traffic is on 127.0.0.1)
# Builds in release into Benchmarks/peer/.build-bench, prints a table, writes
# Benchmarks/results/peer.json, and stops every process it started on any exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${SCRATCH:-$here/.build-bench}
results=${RESULTS:-$root/Benchmarks/results/peer.json}
COUNT=${COUNT:-300}                 # handshakes per timed run
ROUNDS=${ROUNDS:-9}                 # runs of each handshake pairing, interleaved
PARALLEL=${PARALLEL:-4}             # concurrent clients in the parallel runs
WARMUP=${WARMUP:-50}                # untimed handshakes before each run
S_TIME_SECONDS=${S_TIME_SECONDS:-3} # length of each `openssl s_time` run
IDLE_COUNTS=${IDLE_COUNTS:-"50 200"} # idle sessions held open, one fresh daemon each
CONCURRENCY=${CONCURRENCY:-8}       # sessions handshaking at once while opening them
SETTLE_SECONDS=${SETTLE_SECONDS:-5} # pause before each memory reading
WAIT_SECONDS=${WAIT_SECONDS:-60}    # bound on every wait for a process to get ready

die() { echo "run.sh: $*" >&2; exit 1; }
for tool in swift cc pkg-config openssl dbus-daemon busctl python3; do
    command -v "$tool" >/dev/null || die "$tool is needed; see Benchmarks/peer/README.md"
done

# Every process started here is recorded and stopped on exit, whatever the exit.
started=()
cleanup() {
    local pid
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${started[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() {  # stop PID and wait (bounded) until it is gone
    kill "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}

wait_for() {  # wait_for FILE PATTERN: until FILE has a line matching PATTERN
    local deadline=$((SECONDS + WAIT_SECONDS))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || die "timed out waiting for '$2' in $1"
        sleep 0.05
    done
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v hz="$ticks" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

# MARK: Build (release)
echo "== building (release, $scratch)"
cd "$here"
swift build -c release --scratch-path "$scratch" --product peerbench
swift build -c release --scratch-path "$scratch" --product peercollabd
swift build -c release --scratch-path "$scratch" --product frame-throughput
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
cc -O2 -Wall -Wextra -o "$scratch/tls-client" "$here/tls-client.c" $(pkg-config --cflags --libs openssl) -lpthread

run=$(mktemp -d "$scratch/run.XXXXXX")
raw="$run/raw.jsonl"
: > "$raw"
record() { echo "$1" >> "$raw"; }
load_start=$(cat /proc/loadavg)

# MARK: The private bus and the daemon helpers
bus_out=$(dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1)
bus=$(sed -n 1p <<< "$bus_out")
started+=("$(sed -n 2p <<< "$bus_out")")

daemon_pid=
daemon_port=
daemon_name=
start_daemon() {  # start_daemon NAME: a fresh peercollabd with its own folders
    mkdir -p "$1/config" "$1/data"
    "$bin/peercollabd" --bus "$bus" --config-dir "$1/config" --data-dir "$1/data" --listen 127.0.0.1 --port 0 \
        > "$1/daemon.log" 2>&1 &
    daemon_pid=$!
    started+=("$daemon_pid")
    local deadline=$((SECONDS + WAIT_SECONDS)) endpoints=
    until endpoints=$(busctl --address="$bus" get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
        org.peercollab.PeerCollab1.Manager Endpoints 2>/dev/null) && [[ $endpoints == *127.0.0.1* ]]; do
        ((SECONDS < deadline)) || die "peercollabd did not publish its endpoint; see $run/$1/daemon.log"
        kill -0 "$daemon_pid" 2>/dev/null || die "peercollabd exited; see $run/$1/daemon.log"
        sleep 0.1
    done
    daemon_port=${endpoints##* }
    daemon_name=$(busctl --address="$bus" get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
        org.peercollab.PeerCollab1.Manager PeerName | awk '{ gsub("\"", "", $2); print $2 }')
}
peer_objects() { busctl --address="$bus" tree org.peercollab.PeerCollab1 2>/dev/null | grep -c '/PeerCollab1/peer/' || true; }

# MARK: 1. Handshakes, and sessions with the daemon
echo "== handshakes: $ROUNDS rounds of $COUNT per pairing (logs in $run)"
cd "$run"
start_daemon daemon-sessions
session_pid=$daemon_pid
"$bin/peerbench" serve --identity server > serve.out 2> serve.log &
started+=($!); serve_pid=$!
wait_for serve.out '^port '
read -r _ ours_port _ server_name < serve.out
client=client
"$bin/peerbench" handshake --identity "$client" --port "$ours_port" --expect "$server_name" --count 1 --warmup 0 > /dev/null

openssl_port=$(free_port)
openssl s_server -accept "127.0.0.1:$openssl_port" -tls1_3 -cert server/certificate.pem -key server/key.pem \
    -Verify 1 -verify_quiet -check_ss_sig -alpn peercollab/1 -num_tickets 0 -no_cache -rev -quiet \
    < /dev/null > /dev/null 2> s_server.log &
started+=($!); openssl_pid=$!
for _ in $(seq 100); do
    "$scratch/tls-client" "$openssl_port" "$client/certificate.pem" "$client/key.pem" 1 1 0 > /dev/null 2>&1 && break
    sleep 0.1
done

timed() {  # timed PAIR SERVER_PID ROUND COMMAND…: runs one client, adds the server's CPU time
    local pair=$1 server=$2 round=$3 before after line
    shift 3
    before=$(cpu_seconds "$server")
    line=$("$@")
    after=$(cpu_seconds "$server")
    record "${line%\}}, \"kind\": \"handshake\", \"pair\": \"$pair\", \"round\": $round, \"server_cpu_s\": $(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')}"
}
ours_client() { "$bin/peerbench" handshake --identity "$client" --port "$1" --expect "$server_name" --count "$COUNT" --parallel "$2" --warmup "$WARMUP"; }
libssl_client() { "$scratch/tls-client" "$1" "$client/certificate.pem" "$client/key.pem" "$COUNT" "$2" "$WARMUP"; }
session_client() { "$bin/peerbench" session --identities session-ids --port "$daemon_port" --expect "$daemon_name" --count "$COUNT" --warmup 20; }
pairings=(libssl-openssl ours-ours libssl-ours ours-openssl libssl-openssl-p ours-ours-p s_time session)
for round in $(seq "$ROUNDS"); do
    order=("${pairings[@]}")
    # Every other round runs backwards, so neither side always goes first.
    if ((round % 2 == 0)); then order=(); for ((i = ${#pairings[@]} - 1; i >= 0; i--)); do order+=("${pairings[i]}"); done; fi
    for pair in "${order[@]}"; do
        case $pair in
            libssl-openssl) timed "$pair" "$openssl_pid" "$round" libssl_client "$openssl_port" 1 ;;
            ours-ours) timed "$pair" "$serve_pid" "$round" ours_client "$ours_port" 1 ;;
            libssl-ours) timed "$pair" "$serve_pid" "$round" libssl_client "$ours_port" 1 ;;
            ours-openssl) timed "$pair" "$openssl_pid" "$round" ours_client "$openssl_port" 1 ;;
            libssl-openssl-p) timed "$pair" "$openssl_pid" "$round" libssl_client "$openssl_port" "$PARALLEL" ;;
            ours-ours-p) timed "$pair" "$serve_pid" "$round" ours_client "$ours_port" "$PARALLEL" ;;
            session) timed "$pair" "$session_pid" "$round" session_client ;;
            s_time)
                before=$(cpu_seconds "$openssl_pid")
                text=$(openssl s_time -connect "127.0.0.1:$openssl_port" -new -tls1_3 -cert "$client/certificate.pem" \
                    -key "$client/key.pem" -time "$S_TIME_SECONDS" 2>&1 < /dev/null)
                after=$(cpu_seconds "$openssl_pid")
                # "N connections in U s; … connections/user sec" then "N connections in T real seconds"
                connections=$(echo "$text" | awk '/real seconds/ { print $1 }')
                [[ -n $connections ]] || die "openssl s_time printed no result: $text"
                record "{\"kind\": \"handshake\", \"pair\": \"s_time\", \"round\": $round, \"count\": $connections, \"wall_s\": $(echo "$text" | awk '/real seconds/ { print $4 }'), \"client_cpu_s\": $(echo "$text" | awk '/connections\/user sec/ { sub("s;", "", $4); print $4 }'), \"server_cpu_s\": $(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')}"
                ;;
        esac
    done
    echo "   round $round done"
done
stop "$serve_pid"
stop "$openssl_pid"
stop "$session_pid"

# MARK: 2. Memory per idle session

for count in $IDLE_COUNTS; do
    echo "== daemon: memory with $count idle sessions"
    start_daemon "daemon-idle-$count"
    # Warm-up: sessions opened and closed, so that code and allocator arenas touched by
    # any session are not counted per session.
    "$bin/peerbench" session --identities "warm-ids-$count" --port "$daemon_port" --expect "$daemon_name" --count 20 --warmup 0 > /dev/null
    sleep "$SETTLE_SECONDS"
    rss_before=$(rss_kib "$daemon_pid" VmRSS)
    anon_before=$(rss_kib "$daemon_pid" RssAnon)
    "$bin/peerbench" hold --identities "idle-ids-$count" --port "$daemon_port" --expect "$daemon_name" \
        --count "$count" --concurrency "$CONCURRENCY" > "hold-$count.out" 2> "hold-$count.log" &
    started+=($!); hold_pid=$!
    wait_for "hold-$count.out" '"client": "hold"'
    sleep "$SETTLE_SECONDS"
    rss_after=$(rss_kib "$daemon_pid" VmRSS)
    anon_after=$(rss_kib "$daemon_pid" RssAnon)
    objects=$(peer_objects)
    [[ $objects == "$count" ]] || echo "   warning: $objects Peer objects on the bus, expected $count" >&2
    line=$(cat "hold-$count.out")
    record "${line%\}}, \"kind\": \"idle\", \"sessions\": $count, \"peer_objects\": $objects, \"rss_before_kib\": $rss_before, \"rss_after_kib\": $rss_after, \"anon_before_kib\": $anon_before, \"anon_after_kib\": $anon_after}"
    stop "$hold_pid"
    stop "$daemon_pid"
done

# MARK: 3. Frame throughput
echo "== frame encode/decode throughput"
"$bin/frame-throughput" | tee frames.txt
record "{\"kind\": \"frames\", \"cases\": $(sed -n 's/^JSON: //p' frames.txt)}"

load_end=$(cat /proc/loadavg)
mkdir -p "$(dirname "$results")"
python3 "$here/report.py" "$raw" "$results" \
    --meta "{\"commit\": \"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\", \"openssl\": \"$(openssl version)\", \"cores\": $(nproc), \"loadavg_start\": \"$load_start\", \"loadavg_end\": \"$load_end\", \"count\": $COUNT, \"rounds\": $ROUNDS, \"parallel\": $PARALLEL}"
echo "Logs and raw figures: $run"
