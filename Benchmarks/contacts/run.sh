#!/usr/bin/env bash
# Contacts benchmark: 10,000 contacts (GetManagedObjects, RSS, acknowledged writes), each
# figure next to a yardstick from the same run. See bench.py for what is measured.
#
#   Benchmarks/contacts/run.sh [PATH/TO/peercollabd]   (default: a release build in .build-release)
#
# Knobs: CONTACTS (10000), ROUNDS (5), NICKNAMES (2000). Writes Benchmarks/results/contacts.json.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
DAEMON=${1:-${PEERCOLLABD:-}}
if [ -z "$DAEMON" ]; then
    # The same build run-all.sh makes.
    SCRATCH=${DAEMON_SCRATCH:-$ROOT/.build-release}
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product peercollabd --scratch-path "$SCRATCH" >&2)
    DAEMON=$(cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)/peercollabd
fi
BUILD=$HERE/.build-bench
mkdir -p "$BUILD"
cc -O2 -Wall -Wextra -o "$BUILD/contacts-client" "$HERE/contacts-client.c" $(pkg-config --cflags --libs dbus-1)
exec python3 "$HERE/bench.py" --daemon "$DAEMON" --client "$BUILD/contacts-client" --contacts "${CONTACTS:-10000}" --rounds "${ROUNDS:-5}" \
    --nicknames "${NICKNAMES:-2000}" --out "${RESULTS:-$ROOT/Benchmarks/results/contacts.json}"
