#!/usr/bin/env bash
# Presence benchmarks (issue 6), in network namespaces of our own:
#   1. latency: SetPresence on daemon A -> PropertiesChanged(PresenceStatus) on daemon B's
#      Peer object for A (two namespaces on one bridge, signed in near me); p50/p99 over
#      COUNT changes, paced at 4 a second (B takes 5 a second from one peer; faster
#      changes would measure the rate limit), beside a bare D-Bus round trip to B and a UDP echo A -> B (python);
#   2. fan-out: SUBSCRIBERS simulated peers (TLS 1.3 sessions made with PeerSecurity and
#      PeerProtocol) connected to one daemon near me; time until all got each update.
# Usage (root): Benchmarks/presence/run.sh   knobs: COUNT (200), SUBSCRIBERS (100), ROUNDS (30)
# Builds in release into Benchmarks/presence/.build-bench, prints JSON lines, writes
# Benchmarks/results/presence.json, and removes every namespace and process on any exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${SCRATCH:-$here/.build-bench}
results=${RESULTS:-$root/Benchmarks/results/presence.json}
COUNT=${COUNT:-200}
SUBSCRIBERS=${SUBSCRIBERS:-100}
ROUNDS=${ROUNDS:-30}
WAIT_SECONDS=${WAIT_SECONDS:-60}

die() { echo "run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root: it makes network namespaces"
for tool in swift ip dbus-daemon busctl python3; do command -v "$tool" >/dev/null || die "$tool is needed"; done

tag=pb$$
run=$(mktemp -d)
started=()
cleanup() {
    local pid
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${started[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for ns in ${tag}a ${tag}b ${tag}br ${tag}c; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

swift build -c release --package-path "$here" --scratch-path "$scratch" --product presencebench
swift build -c release --package-path "$here" --scratch-path "$scratch" --product peercollabd
bin=$(swift build -c release --package-path "$here" --scratch-path "$scratch" --show-bin-path)

# Two hosts on a bridge, and a third namespace with loopback only for the fan-out.
ip netns add ${tag}br; ip -n ${tag}br link add br0 type bridge; ip -n ${tag}br link set br0 up
for i in 0 1; do
    ns=${tag}$([ $i = 0 ] && echo a || echo b)
    ip netns add $ns; ip -n $ns link set lo up
    ip -n $ns link add eth0 type veth peer name p$i netns ${tag}br
    ip -n ${tag}br link set p$i master br0; ip -n ${tag}br link set p$i up
    ip -n $ns addr add 192.0.2.$((i + 1))/24 dev eth0; ip -n $ns link set eth0 up
done
# The fan-out host: an interface of its own (a veth pair), so the simulated peers dialling its address are on
# its own network (near me), as peers on a LAN are.
ip netns add ${tag}c; ip -n ${tag}c link set lo up
ip -n ${tag}c link add d0 type veth peer name d1; ip -n ${tag}c addr add 192.0.2.10/24 dev d0
ip -n ${tag}c link set d1 up; ip -n ${tag}c link set d0 up

bus_config=$run/bus.conf
cat > "$bus_config" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=$run</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF

start_bus() {  # start_bus NAME: sets $bus to its address (not in a subshell: $started must see the pid)
    dbus-daemon --config-file="$bus_config" --nofork --nopidfile --print-address=1 > "$run/$1.address" 2> "$run/$1.bus.log" &
    started+=($!)
    local deadline=$((SECONDS + WAIT_SECONDS))
    until [ -s "$run/$1.address" ]; do ((SECONDS < deadline)) || die "bus $1 did not start"; sleep 0.05; done
    bus=$(head -1 "$run/$1.address")
}

start_daemon() {  # start_daemon NAME NAMESPACE BUS ARGS...: then signs it in near me
    local name=$1 ns=$2 bus=$3; shift 3
    mkdir -p "$run/$name"
    ip netns exec "$ns" "$bin/peercollabd" --bus "$bus" --config-dir "$run/$name/config" --data-dir "$run/$name/data" \
        --port 0 --discovery builtin --system-bus unix:path=/nonexistent "$@" 2> "$run/$name/daemon.log" &
    started+=($!)
    local deadline=$((SECONDS + WAIT_SECONDS))
    until busctl --address="$bus" call org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
        org.peercollab.PeerCollab1.Manager SignIn s near-me 2>/dev/null; do
        ((SECONDS < deadline)) || die "peercollabd $name did not start; see $run/$name/daemon.log"
        sleep 0.1
    done
}

property() {  # property BUS NAME: a Manager property's value as busctl prints it
    busctl --address="$1" get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 org.peercollab.PeerCollab1.Manager "$2"
}

start_bus a; bus_a=$bus; start_bus b; bus_b=$bus; start_bus c; bus_c=$bus
start_daemon a ${tag}a "$bus_a" --interfaces eth0
start_daemon b ${tag}b "$bus_b" --interfaces eth0
name_a=$(property "$bus_a" PeerName | cut -d'"' -f2)
path=/org/peercollab/PeerCollab1/peer/$name_a
deadline=$((SECONDS + WAIT_SECONDS))
until busctl --address="$bus_b" get-property org.peercollab.PeerCollab1 "$path" org.peercollab.PeerCollab1.Peer DisplayName >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "B never saw A"; sleep 0.1
done

latency=$("$bin/presencebench" latency "$bus_a" "$bus_b" "$path" "$COUNT")
echo "$latency"
# The network's own round trip: UDP echo from A to B (no ping(8) needed).
ip netns exec ${tag}b python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.0.2.2", 7007))
while True:
    data, peer = s.recvfrom(64); s.sendto(data, peer)' &
started+=($!)
sleep 0.3
ping_json=$(ip netns exec ${tag}a python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
times = []
for i in range(int(sys.argv[1]) + 10):
    start = time.perf_counter(); s.sendto(b"x", ("192.0.2.2", 7007)); s.recvfrom(64)
    if i >= 10: times.append((time.perf_counter() - start) * 1000)
times.sort()
at = lambda p: times[min(len(times) - 1, round((len(times) - 1) * p))]
print("{\"udp_echo_a_to_b\": {\"n\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f}}" % (len(times), at(0.5), at(0.99)))' "$COUNT")
echo "$ping_json"

start_daemon c ${tag}c "$bus_c" --interfaces d0 --listen 192.0.2.10
name_c=$(property "$bus_c" PeerName | cut -d'"' -f2)
port_c=$(busctl --address="$bus_c" --json=short get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 org.peercollab.PeerCollab1.Manager Endpoints \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0][1])')
fanout=$(ip netns exec ${tag}c "$bin/presencebench" fanout "$bus_c" 192.0.2.10 "$port_c" "$name_c" "$SUBSCRIBERS" "$ROUNDS")
echo "$fanout"

mkdir -p "$(dirname "$results")"
python3 - "$results" "$latency" "$ping_json" "$fanout" <<'PY'
import json, sys
out = {}
for text in sys.argv[2:]:
    out.update(json.loads(text))
out["machine"] = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": ")
json.dump(out, open(sys.argv[1], "w"), indent=2)
print("wrote", sys.argv[1])
PY
