#!/usr/bin/env bash
# Invitation benchmark (issue 7), in a namespace lab of two hosts joined by a veth pair:
#   1. invite → Accept() → the inviter sees `accepted`: p50/p99 over COUNT invitations, and
#      the bare round trip on the same channel measured interleaved with it (Peer.Refresh on A →
#      B's profile → PropertiesChanged on A);
#   2. ROUNDS × MEMORY_COUNT invitations created and expired: both daemons' RSS before and after.
# Usage: Benchmarks/invitations/run.sh [path/to/peercollabd]   (root: it makes namespaces)
# Builds the driver (release) into Benchmarks/invitations/.build-bench, peercollabd (release)
# into .build-release unless given; prints a table, writes Benchmarks/results/invitations.json,
# and removes the namespaces and stops every process it started on any exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${SCRATCH:-$here/.build-bench}
results=${RESULTS:-$root/Benchmarks/results/invitations.json}
COUNT=${COUNT:-200}               # timed invitations (each also times one bare round trip)
WARMUP=${WARMUP:-20}              # untimed ones first
MEMORY_COUNT=${MEMORY_COUNT:-1000} # invitations per memory round
ROUNDS=${ROUNDS:-3}               # memory rounds
SETTLE=${SETTLE:-5}               # seconds after expiry and withdrawal before reading RSS
daemon=${1:-${PEERCOLLABD:-}}

die() { echo "run.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
for tool in swift ip dbus-daemon busctl python3; do command -v "$tool" >/dev/null || die "$tool is needed"; done

tag=$(printf '%04x' $((RANDOM)))
nsA=pcinvA$tag; nsB=pcinvB$tag
started=()
cleanup() {
    local pid
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ns in "$nsA" "$nsB"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building" >&2
if [[ -z $daemon ]]; then
    (cd "$root" && swift build -c release --static-swift-stdlib --product peercollabd --scratch-path "$root/.build-release" >&2)
    daemon=$(cd "$root" && swift build -c release --static-swift-stdlib --scratch-path "$root/.build-release" --show-bin-path)/peercollabd
fi
(cd "$here" && swift build -c release --scratch-path "$scratch" --product invitebench >&2)
bench=$(cd "$here" && swift build -c release --scratch-path "$scratch" --show-bin-path)/invitebench

echo "== lab" >&2
ip netns add "$nsA"; ip netns add "$nsB"
ip link add eth0 netns "$nsA" type veth peer name eth0 netns "$nsB"
ip -n "$nsA" addr add 192.0.2.1/24 dev eth0; ip -n "$nsB" addr add 192.0.2.2/24 dev eth0
for ns in "$nsA" "$nsB"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done

run=$(mktemp -d /tmp/pc-invbench.XXXXXX)
start_daemon() {  # start_daemon NAME NS → sets bus_NAME and pid_NAME
    local name=$1 ns=$2 out
    out=$(dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1)
    local address=${out%%$'\n'*} buspid=${out##*$'\n'}
    started+=("$buspid")
    mkdir -p "$run/$name/config"
    echo '{"invitationsPerSecondPerPeer": 100000, "invitationPendingPerPeer": 5000, "invitationRetentionSeconds": 1, "invitationNotifications": false}' \
        > "$run/$name/config/settings.json"
    ip netns exec "$ns" "$daemon" --bus "$address" --config-dir "$run/$name/config" --data-dir "$run/$name/data" \
        --port 0 --interfaces eth0 --discovery builtin 2>"$run/$name/log" &
    local pid=$!
    started+=("$pid")
    for _ in $(seq 200); do
        busctl --address="$address" status org.peercollab.PeerCollab1 >/dev/null 2>&1 && break
        sleep 0.05
    done
    busctl --address="$address" call org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
        org.peercollab.PeerCollab1.Manager SignIn s near-me
    printf -v "bus_$name" '%s' "$address"
    printf -v "pid_$name" '%s' "$pid"
}
start_daemon A "$nsA"
start_daemon B "$nsB"
busctl --address="$bus_B" call org.peercollab.PeerCollab1 /org/peercollab/PeerCollab1 \
    org.peercollab.PeerCollab1.Manager RegisterApplication 'sa{sv}' org.example.Bench 1 name s Bench >/dev/null

echo "== latency ($COUNT invitations after $WARMUP)" >&2
latency=$("$bench" latency "$bus_A" "$bus_B" "$COUNT" "$WARMUP")
echo "== memory ($ROUNDS × $MEMORY_COUNT invitations expiring)" >&2
memory=$("$bench" memory "$bus_A" "$bus_B" "$pid_A" "$pid_B" "$MEMORY_COUNT" "$ROUNDS" "$SETTLE")

mkdir -p "$(dirname "$results")"
printf '{"meta": {"date": "%s", "cpus": %s, "loadavg_at_end": "%s", "daemon": "%s"}, "latency": %s, "memory": %s}\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$daemon" "$latency" "$memory" > "$results"
python3 - "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency"]
print(f"{'figure':42} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
for key, label in [("invite_to_accepted_seen", "invite → Accept() → inviter sees accepted"),
                   ("invite_to_received", "  of which: Invite → InvitationReceived"),
                   ("accept_call", "  of which: Accept() call"),
                   ("bare_refresh_roundtrip", "bare round trip (Refresh → profile)")]:
    f = l[key]
    print(f"{label:42} {f['p50_ms']:8.2f} {f['p99_ms']:8.2f} {f['max_ms']:8.2f}")
t, b = l["invite_to_accepted_seen"], l["bare_refresh_roundtrip"]
print(f"overhead over the bare round trip: p50 {t['p50_ms'] - b['p50_ms']:.2f} ms ({t['p50_ms'] / b['p50_ms']:.1f}×); "
      f"target p99 ≤ 20 ms: {'met' if t['p99_ms'] <= 20 else 'NOT met'}")
print()
print(f"{'RSS after':12} {'A KiB':>8} {'B KiB':>8}")
for row in r["memory"]:
    print(f"{row['after']:12} {row['rss_a_kib']:8} {row['rss_b_kib']:8}")
PY
