#!/usr/bin/env bash
# People-near-me discovery benchmark: how fast peercollabd finds and loses a peer on the link,
# against avahi-browse and python-zeroconf in the same run, and what 200 announced services
# cost it. Needs root (network namespaces). See README.md in this folder.
#
#   Benchmarks/discovery/run.sh [PATH/TO/peercollabd]     (or PEERCOLLABD=...)
#
# Without a daemon path it builds one in release in .build-release. Knobs: REPS [10],
# LOAD_SERVICES [200], LOAD_SECONDS [60] (0 skips the footprint part), WAKE_SECONDS [30],
# WAIT_SECONDS [15], RESULTS [Benchmarks/results/discovery.json], KEEP_WORK [0].
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export RESULTS=${RESULTS:-$ROOT/Benchmarks/results/discovery.json}
PEERCOLLABD=${1:-${PEERCOLLABD:-}}

say() { printf '[discovery] %s\n' "$*" >&2; }
die() { printf '[discovery] error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root to make network namespaces"
for tool in ip unshare dbus-daemon busctl avahi-daemon avahi-browse cc pkg-config python3; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install iproute2 util-linux dbus avahi-daemon avahi-utils libsystemd-dev pkg-config python3)"
done
python3 -c 'import zeroconf' 2>/dev/null || die "python3 needs the zeroconf package (pip install zeroconf)"

# Build first, so no compiler runs while something is timed.
if [[ -z $PEERCOLLABD ]]; then
    say "building peercollabd (release) in $ROOT/.build-release"
    (cd "$ROOT" && swift build -c release --product peercollabd --scratch-path "$ROOT/.build-release" >&2)
    PEERCOLLABD=$(cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-release" --show-bin-path)/peercollabd
fi
[[ -x $PEERCOLLABD ]] || die "no daemon at $PEERCOLLABD"
mkdir -p "$HERE/.build-bench"
cc -O2 -Wall -Wextra -o "$HERE/.build-bench/nearme-timer" "$HERE/nearme-timer.c" $(pkg-config --cflags --libs libsystemd)

TAG=$(printf '%04x' $((RANDOM)))
BRIDGE=pcdb${TAG}br
HOSTS=(pcdb${TAG}a pcdb${TAG}b pcdb${TAG}c pcdb${TAG}d)
WORK=$(mktemp -d /tmp/pc-discbench.XXXXXX)
BENCH_PID=

teardown() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n $BENCH_PID ]] && kill "$BENCH_PID" 2>/dev/null || true
    # Every process we started runs in one of these namespaces (buses included): kill them all.
    local ns pid
    for ns in "${HOSTS[@]}" "$BRIDGE"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    if [[ ${KEEP_WORK:-0} == 1 || $status != 0 ]]; then
        say "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "making the lab: bridge namespace $BRIDGE, hosts ${HOSTS[*]} (192.0.2.1-4/24, 2001:db8::1-4/64)"
ip netns add "$BRIDGE"
ip -n "$BRIDGE" link add br0 type bridge
ip -n "$BRIDGE" link set br0 up
for index in "${!HOSTS[@]}"; do
    ns=${HOSTS[$index]}
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name p$index netns "$BRIDGE"
    ip -n "$BRIDGE" link set p$index master br0
    ip -n "$BRIDGE" link set p$index up
    ip -n "$ns" addr add 192.0.2.$((index + 1))/24 dev eth0
    ip -n "$ns" addr add 2001:db8::$((index + 1))/64 dev eth0 nodad
    ip -n "$ns" link set eth0 up
done

export PEERCOLLABD WORK TIMER=$HERE/.build-bench/nearme-timer
export NS_A=${HOSTS[0]} NS_B=${HOSTS[1]} NS_C=${HOSTS[2]} NS_D=${HOSTS[3]}
python3 "$HERE/bench.py" &
BENCH_PID=$!
wait "$BENCH_PID"
