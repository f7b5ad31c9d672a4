#!/usr/bin/env bash
# Rewrites dist/link/peercollabd-hot.ld from a profile of the current code, then checks the
# result: links peercollabd as dist/install does (plus a link map, in .build-rss), profiles
# start-up and idle under callgrind (Benchmarks/rss/profile.py), links again with the new
# list and measures idle RSS (Benchmarks/rss/measure.py). Needs valgrind, dbus-daemon.
# Regenerate after larger changes to start-up code; a stale list costs memory, not
# correctness.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=${SCRATCH:-.build-rss}
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch"
       -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections)
bin=$("${build[@]}" --show-bin-path)
map=$scratch/peercollabd.map
# SwiftPM does not track the linker script: remove the binary so that it links again.
rm -f "$bin/peercollabd"
"${build[@]}" --product peercollabd -Xlinker "-Map=$map"
Benchmarks/rss/profile.py --runs "${RUNS:-2}" "$bin/peercollabd" "$map"
rm -f "$bin/peercollabd"
"${build[@]}" --product peercollabd
Benchmarks/rss/measure.py --runs 3 --sections "$bin/peercollabd"
