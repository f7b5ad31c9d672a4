#!/usr/bin/env bash
# Channel benchmark (issue 12), in a namespace lab of two hosts joined by a veth pair, every
# figure next to its yardstick from the same run:
#   1. SIZE_MIB MiB through a channel from A's application to B's (after 16 MiB untimed, on
#      both), against a direct TLS 1.3
#      stream between the same namespaces (tls.py: libssl, OpenSSL's default TLS 1.3 suite, as
#      the daemons use); target at least 0.6×;
#   2. 64-byte ping-pong through a channel against the bare round trip of the same link
#      (Peer.Refresh → profile → PropertiesChanged), target at most 2×, and against the direct
#      TLS stream's 64-byte ping-pong;
#   3. memory per open idle channel (IDLE channels), and a reader that stops: what the writer
#      writes before it blocks and how much both daemons grow meanwhile.
# Usage: Benchmarks/channels/run.sh [path/to/peercollabd]   (root: it makes namespaces)
# Builds the driver (release) into Benchmarks/channels/.build-bench, peercollabd (release)
# into .build-release unless given; prints a table, writes Benchmarks/results/channels.json,
# and removes the namespaces and stops every process it started on any exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scratch=${SCRATCH:-$here/.build-bench}
results=${RESULTS:-$root/Benchmarks/results/channels.json}
SIZE_MIB=${SIZE_MIB:-100}  # bytes through the channel and the TLS stream
PINGS=${PINGS:-1000}       # timed 64-byte round trips (after 50 untimed)
IDLE=${IDLE:-48}           # idle channels held open for the memory figure (≤ 60: 64 per link)
daemon=${1:-${PEERCOLLABD:-}}

die() { echo "run.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
for tool in swift ip dbus-daemon busctl python3 openssl; do command -v "$tool" >/dev/null || die "$tool is needed"; done

tag=$(printf '%04x' $((RANDOM)))
nsA=pcchA$tag; nsB=pcchB$tag
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
(cd "$here" && swift build -c release --scratch-path "$scratch" --product chanbench >&2)
bench=$(cd "$here" && swift build -c release --scratch-path "$scratch" --show-bin-path)/chanbench

echo "== lab" >&2
ip netns add "$nsA"; ip netns add "$nsB"
ip link add eth0 netns "$nsA" type veth peer name eth0 netns "$nsB"
ip -n "$nsA" addr add 192.0.2.1/24 dev eth0; ip -n "$nsB" addr add 192.0.2.2/24 dev eth0
for ns in "$nsA" "$nsB"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done

run=$(mktemp -d /tmp/pc-chanbench.XXXXXX)
start_daemon() {  # start_daemon NAME NS → sets bus_NAME and pid_NAME
    local name=$1 ns=$2 out
    out=$(dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1)
    local address=${out%%$'\n'*} buspid=${out##*$'\n'}
    started+=("$buspid")
    mkdir -p "$run/$name/config"
    echo '{"invitationNotifications": false, "invitationRetentionSeconds": 86400, "invitationsPerSecondPerPeer": 100000}' > "$run/$name/config/settings.json"
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

echo "== channels ($SIZE_MIB MiB, $PINGS round trips, $IDLE idle channels)" >&2
channels=$("$bench" "$bus_A" "$bus_B" "$pid_A" "$pid_B" "$SIZE_MIB" "$PINGS" "$IDLE")

echo "== direct TLS 1.3 between the same namespaces" >&2
openssl req -x509 -newkey ed25519 -nodes -keyout "$run/key.pem" -out "$run/cert.pem" -days 1 -subj /CN=bench 2>/dev/null
ip netns exec "$nsB" python3 "$here/tls.py" server 4433 "$run/cert.pem" "$run/key.pem" > "$run/tls-server.log" 2>&1 &
started+=("$!")
tls=$(ip netns exec "$nsA" python3 "$here/tls.py" client 192.0.2.2 4433 $((SIZE_MIB * 1024 * 1024)) "$PINGS")

mkdir -p "$(dirname "$results")"
printf '{"meta": {"date": "%s", "cpus": %s, "loadavg_at_end": "%s", "daemon": "%s"}, "channel": %s, "tls": %s}\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$daemon" "$channels" "$tls" > "$results"
python3 - "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c, t = r["channel"], r["tls"]
ratio = c["throughput"]["mib_per_s"] / t["throughput"]["mib_per_s"]
print(f"{'figure':52} {'value':>12}")
print(f"{'channel throughput, MiB/s':52} {c['throughput']['mib_per_s']:12.1f}")
print(f"{'direct TLS 1.3 (' + t['cipher'] + '), MiB/s':52} {t['throughput']['mib_per_s']:12.1f}")
print(f"{'  ratio (target ≥ 0.6×)':52} {ratio:11.2f}× {'met' if ratio >= 0.6 else 'NOT met'}")
p, b, tp = c["pingpong_64b"], c["bare_refresh_roundtrip"], t["pingpong_64b"]
print(f"{'64 B ping-pong through a channel, p50 / p99 ms':52} {p['p50_ms']:6.3f} / {p['p99_ms']:.3f}")
print(f"{'bare round trip (Refresh → profile), p50 / p99 ms':52} {b['p50_ms']:6.3f} / {b['p99_ms']:.3f}")
print(f"{'  ratio of p50 (target ≤ 2×)':52} {p['p50_ms'] / b['p50_ms']:11.2f}× {'met' if p['p50_ms'] <= 2 * b['p50_ms'] else 'NOT met'}")
print(f"{'64 B ping-pong over direct TLS, p50 / p99 ms':52} {tp['p50_ms']:6.3f} / {tp['p99_ms']:.3f}")
print(f"{'  channel / direct TLS, p50':52} {p['p50_ms'] / tp['p50_ms']:11.2f}×")
i = c["idle"]
print(f"{'memory per idle channel, A / B bytes':52} {i['per_channel_a_bytes']} / {i['per_channel_b_bytes']}")
s = c["slow_reader"]
print(f"{'stopped reader: written before the writer blocked':52} {s['written_before_blocking']} bytes")
print(f"{'  RSS growth meanwhile, A / B KiB':52} {s['rss_a_growth_kib']} / {s['rss_b_growth_kib']}")
PY
