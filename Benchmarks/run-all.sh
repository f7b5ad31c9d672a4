#!/usr/bin/env bash
# Runs every benchmark in Benchmarks/ and prints one table of the figures that are judged.
#
#   Benchmarks/run-all.sh [PATH/TO/peercollabd]      (or PEERCOLLABD=... run-all.sh)
#
# Without a daemon path it builds one in release (swift build -c release --product peercollabd
# --scratch-path .build-release). Each benchmark writes Benchmarks/results/NAME.json (not in
# git) and its own detailed table to Benchmarks/results/NAME.txt; the summary is printed at
# the end and written to Benchmarks/results/summary.txt.
#
# Knobs: ONLY="dbus protocol" (the benchmarks to run, in that order), DAEMON_SCRATCH (where the
# daemon is built), and every knob of the benchmarks themselves (see Benchmarks/README.md).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RESULTS_DIR=$HERE/results
ONLY=${ONLY:-dbus protocol}
DAEMON_SCRATCH=${DAEMON_SCRATCH:-$ROOT/.build-release}
PEERCOLLABD=${1:-${PEERCOLLABD:-}}

say() { printf '[run-all] %s\n' "$*" >&2; }
die() { printf '[run-all] error: %s\n' "$*" >&2; exit 1; }

for name in $ONLY; do
    [[ -x $HERE/$name/run.sh ]] || die "no benchmark '$name' (expected $HERE/$name/run.sh); known: $(cd "$HERE" && ls -d */run.sh | cut -d/ -f1 | tr '\n' ' ')"
done
mkdir -p "$RESULTS_DIR"

# Build everything first, so no compiler runs while something is being timed.
if [[ " $ONLY " == *" dbus "* && -z $PEERCOLLABD ]]; then
    say "building peercollabd (release) in $DAEMON_SCRATCH"
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product peercollabd --scratch-path "$DAEMON_SCRATCH" >&2)
    PEERCOLLABD=$(cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path "$DAEMON_SCRATCH" --show-bin-path)/peercollabd
fi

failed=()
for name in $ONLY; do
    say "running $name (table in $RESULTS_DIR/$name.txt)"
    rm -f "$RESULTS_DIR/$name.json"
    status=0
    case $name in
        dbus) RESULTS=$RESULTS_DIR/dbus.json "$HERE/dbus/run.sh" "$PEERCOLLABD" >"$RESULTS_DIR/$name.txt" || status=$? ;;
        *) RESULTS=$RESULTS_DIR/$name.json "$HERE/$name/run.sh" >"$RESULTS_DIR/$name.txt" || status=$? ;;
    esac
    (( status == 130 || status == 143 )) && exit "$status"
    if (( status != 0 )); then
        say "$name failed with status $status; going on with the others"
        failed+=("$name")
    fi
done

python3 "$HERE/summary.py" "$RESULTS_DIR" $ONLY | tee "$RESULTS_DIR/summary.txt"
(( ${#failed[@]} == 0 )) || die "failed: ${failed[*]} (see $RESULTS_DIR/*.txt)"
