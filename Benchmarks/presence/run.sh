#!/usr/bin/env bash
# Presence benchmarks (issue 6), in network namespaces of our own:
#   1. latency: SetPresence on daemon A -> PropertiesChanged(PresenceStatus) on daemon B's
#      Peer object for A (two namespaces on one bridge, signed in near me); p50/p99 over
#      COUNT changes, paced at 4 a second (B takes 5 a second from one peer; faster
#      changes would measure the rate limit), beside a bare D-Bus round trip to B and a UDP echo A -> B (python);
#   2. fan-out: SUBSCRIBERS simulated peers (TLS 1.3 sessions made with PeerSecurity and
#      PeerProtocol) connected to one daemon near me; time until all got each update;
#   3. contact: the latency of 1. as a user of contacts sees it: A and B on two subnets joined
#      by a router (no multicast between them), each with the other's card, signed in to the
#      internet scope only; SetPresence on A -> PropertiesChanged(PresenceStatus) on B's
#      Contact object for A, paced as in 1., beside a Properties.Get round trip to B and a
#      UDP echo A -> B across the router.
# Usage (root): Benchmarks/presence/run.sh   knobs: COUNT (200), SUBSCRIBERS (100), ROUNDS (30),
#   MODES ("latency fanout contact": which to run, in that order)
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
MODES=${MODES:-latency fanout contact}
wants() { [[ " $MODES " == *" $1 "* ]]; }

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
    for ns in ${tag}a ${tag}b ${tag}br ${tag}c ${tag}ra ${tag}rb ${tag}rt; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

swift build -c release --package-path "$here" --scratch-path "$scratch" --product presencebench
swift build -c release --package-path "$here" --scratch-path "$scratch" --product peercollabd
bin=$(swift build -c release --package-path "$here" --scratch-path "$scratch" --show-bin-path)

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

start_daemon() {  # start_daemon NAME NAMESPACE BUS SCOPE ARGS...: then signs it in to SCOPE ("": not yet)
    local name=$1 ns=$2 bus=$3 scope=$4; shift 4
    mkdir -p "$run/$name"
    [[ " $* " == *" --port "* ]] || set -- --port 0 "$@"
    ip netns exec "$ns" "$bin/peercollabd" --bus "$bus" --config-dir "$run/$name/config" --data-dir "$run/$name/data" \
        --discovery builtin --system-bus unix:path=/nonexistent "$@" 2> "$run/$name/daemon.log" &
    started+=($!)
    local deadline=$((SECONDS + WAIT_SECONDS))
    until property "$bus" PeerName >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "peercollabd $name did not start; see $run/$name/daemon.log"
        sleep 0.1
    done
    [ -z "$scope" ] || manager_call "$bus" SignIn s "$scope" >/dev/null
}

manager_call() {  # manager_call BUS METHOD SIGNATURE ARGS...
    local bus=$1; shift
    busctl --address="$bus" call org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 org.peercollab.PeerCollab1.Manager "$@"
}

property() {  # property BUS NAME: a Manager property's value as busctl prints it
    busctl --address="$1" get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 org.peercollab.PeerCollab1.Manager "$2"
}

contact_property() {  # contact_property BUS PEER_NAME PROPERTY: a Contact property as busctl prints it
    busctl --address="$1" get-property org.peercollab.PeerCollab1 "/org/peercollab/PeerCollab1/contact/$2" org.peercollab.PeerCollab1.Contact "$3"
}

start_echo() {  # start_echo NAMESPACE ADDRESS: a UDP echo server (not in a subshell: $started must see the pid)
    ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 7007))
while True:
    data, peer = s.recvfrom(64); s.sendto(data, peer)' "$2" > /dev/null 2>&1 &
    started+=($!)
    sleep 0.3
}

udp_echo() {  # udp_echo FROM_NAMESPACE TO_ADDRESS KEY: prints {"KEY": {n, p50_ms, p99_ms}} (no ping(8) needed)
    ip netns exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
times = []
for i in range(int(sys.argv[1]) + 10):
    start = time.perf_counter(); s.sendto(b"x", (sys.argv[2], 7007)); s.recvfrom(64)
    if i >= 10: times.append((time.perf_counter() - start) * 1000)
times.sort()
at = lambda p: times[min(len(times) - 1, round((len(times) - 1) * p))]
print("{\"%s\": {\"n\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f}}" % (sys.argv[3], len(times), at(0.5), at(0.99)))' "$COUNT" "$2" "$3"
}

figures=()

if wants latency; then
    # Two hosts on a bridge, signed in near me.
    ip netns add ${tag}br; ip -n ${tag}br link add br0 type bridge; ip -n ${tag}br link set br0 up
    for i in 0 1; do
        ns=${tag}$([ $i = 0 ] && echo a || echo b)
        ip netns add $ns; ip -n $ns link set lo up
        ip -n $ns link add eth0 type veth peer name p$i netns ${tag}br
        ip -n ${tag}br link set p$i master br0; ip -n ${tag}br link set p$i up
        ip -n $ns addr add 192.0.2.$((i + 1))/24 dev eth0; ip -n $ns link set eth0 up
    done
    start_bus a; bus_a=$bus; start_bus b; bus_b=$bus
    start_daemon a ${tag}a "$bus_a" near-me --interfaces eth0
    start_daemon b ${tag}b "$bus_b" near-me --interfaces eth0
    name_a=$(property "$bus_a" PeerName | cut -d'"' -f2)
    path=/org/peercollab/PeerCollab1/peer/$name_a
    deadline=$((SECONDS + WAIT_SECONDS))
    until busctl --address="$bus_b" get-property org.peercollab.PeerCollab1 "$path" org.peercollab.PeerCollab1.Peer DisplayName >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "B never saw A"; sleep 0.1
    done
    latency=$("$bin/presencebench" latency "$bus_a" "$bus_b" "$path" "$COUNT")
    echo "$latency"
    start_echo ${tag}b 192.0.2.2
    ping_json=$(udp_echo ${tag}a 192.0.2.2 udp_echo_a_to_b)
    echo "$ping_json"
    figures+=("$latency" "$ping_json")
fi

if wants fanout; then
    # The fan-out host: an interface of its own (a veth pair), so the simulated peers dialling its address are on
    # its own network (near me), as peers on a LAN are.
    ip netns add ${tag}c; ip -n ${tag}c link set lo up
    ip -n ${tag}c link add d0 type veth peer name d1; ip -n ${tag}c addr add 192.0.2.10/24 dev d0
    ip -n ${tag}c link set d1 up; ip -n ${tag}c link set d0 up
    start_bus c; bus_c=$bus
    start_daemon c ${tag}c "$bus_c" near-me --interfaces d0 --listen 192.0.2.10
    name_c=$(property "$bus_c" PeerName | cut -d'"' -f2)
    port_c=$(busctl --address="$bus_c" --json=short get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 org.peercollab.PeerCollab1.Manager Endpoints \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0][1])')
    fanout=$(ip netns exec ${tag}c "$bin/presencebench" fanout "$bus_c" 192.0.2.10 "$port_c" "$name_c" "$SUBSCRIBERS" "$ROUNDS")
    echo "$fanout"
    figures+=("$fanout")
fi

if wants contact; then
    # Two subnets joined by a router, as NetworkLab(subnets: [[0], [1]]) builds them: one bridge
    # per subnet in the router's namespace, which forwards unicast (never link-local multicast,
    # so neither daemon discovers the other); each host has a default route through it.
    ip netns add ${tag}rt; ip -n ${tag}rt link set lo up
    ip netns exec ${tag}rt sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1
    prefixes=(198.51.100 203.0.113)
    for i in 0 1; do
        ns=${tag}r$([ $i = 0 ] && echo a || echo b)
        ip -n ${tag}rt link add br$i type bridge
        ip -n ${tag}rt addr add ${prefixes[$i]}.1/24 dev br$i; ip -n ${tag}rt addr add 2001:db8:$((i + 1))::1/64 dev br$i nodad
        ip -n ${tag}rt link set br$i up
        ip netns add $ns; ip -n $ns link set lo up
        ip -n $ns link add eth0 type veth peer name p$i netns ${tag}rt
        ip -n ${tag}rt link set p$i master br$i; ip -n ${tag}rt link set p$i up
        ip -n $ns addr add ${prefixes[$i]}.2/24 dev eth0; ip -n $ns addr add 2001:db8:$((i + 1))::2/64 dev eth0 nodad
        ip -n $ns link set eth0 up
        ip -n $ns route add default via ${prefixes[$i]}.1; ip -n $ns -6 route add default via 2001:db8:$((i + 1))::1
    done
    start_bus ra; bus_ra=$bus; start_bus rb; bus_rb=$bus
    # A port of their own (each namespace has its own ports), so that each card names it.
    start_daemon ra ${tag}ra "$bus_ra" "" --interfaces eth0 --port 46773
    start_daemon rb ${tag}rb "$bus_rb" "" --interfaces eth0 --port 46773
    name_ra=$(property "$bus_ra" PeerName | cut -d'"' -f2)
    name_rb=$(property "$bus_rb" PeerName | cut -d'"' -f2)
    # Exchange cards, as two people would by mail: each adds the other's.
    card_ra=$(busctl --address="$bus_ra" --json=short call org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
        org.peercollab.PeerCollab1.Manager GetContactCard | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0])')
    card_rb=$(busctl --address="$bus_rb" --json=short call org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
        org.peercollab.PeerCollab1.Manager GetContactCard | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0])')
    manager_call "$bus_ra" AddContact s "$card_rb" >/dev/null
    manager_call "$bus_rb" AddContact s "$card_ra" >/dev/null
    # What AddContact chose, before we set it: A lets B see her presence, B follows A.
    echo "after AddContact: A's contact B SubscribeAllowed $(contact_property "$bus_ra" "$name_rb" SubscribeAllowed)," \
        "B's contact A Subscribed $(contact_property "$bus_rb" "$name_ra" Subscribed)" >&2
    busctl --address="$bus_ra" set-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1/contact/$name_rb \
        org.peercollab.PeerCollab1.Contact SubscribeAllowed b true
    busctl --address="$bus_rb" set-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1/contact/$name_ra \
        org.peercollab.PeerCollab1.Contact Subscribed b true
    manager_call "$bus_ra" SignIn s internet >/dev/null
    manager_call "$bus_rb" SignIn s internet >/dev/null
    # Online, and A's presence shown (not "offline"): the channel is up and B's subscription
    # is in force, so every change from now on is pushed.
    deadline=$((SECONDS + WAIT_SECONDS))
    until [ "$(contact_property "$bus_rb" "$name_ra" Online 2>/dev/null)" = "b true" ] \
        && ! contact_property "$bus_rb" "$name_ra" PresenceStatus 2>/dev/null | grep -q '"offline"'; do
        ((SECONDS < deadline)) || die "B's contact A never came online; see $run/ra/daemon.log and $run/rb/daemon.log"
        sleep 0.1
    done
    # The channel is the internet scope's, dialled at B's card endpoint through the router.
    scope=$(busctl --address="$bus_rb" get-property org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1/peer/$name_ra \
        org.peercollab.PeerCollab1.Peer Scope)
    [ "$scope" = 's "internet"' ] || die "B sees A in scope $scope, not internet"
    contact=$("$bin/presencebench" latency "$bus_ra" "$bus_rb" "/org/peercollab/PeerCollab1/contact/$name_ra" "$COUNT" contact_)
    echo "$contact"
    start_echo ${tag}rb 203.0.113.2
    routed_echo=$(udp_echo ${tag}ra 203.0.113.2 contact_udp_echo_a_to_b_routed)
    echo "$routed_echo"
    figures+=("$contact" "$routed_echo")
fi

mkdir -p "$(dirname "$results")"
python3 - "$results" "${figures[@]}" <<'PY'
import json, sys
out = {}
for text in sys.argv[2:]:
    out.update(json.loads(text))
out["machine"] = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": ")
json.dump(out, open(sys.argv[1], "w"), indent=2)
print("wrote", sys.argv[1])
PY
