#!/usr/bin/env bash
# Measures PeerProtocol frame encode/decode throughput (release build).
#   Benchmarks/protocol/run.sh
# Builds PeerProtocol in .build-bench (release) and compiles FrameThroughput.swift against it,
# since the package has no benchmark target. Prints a table and a JSON line.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch="$root/.build-bench"
cd "$root"
swift build -c release --scratch-path "$scratch" --target PeerProtocol
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
mapfile -d '' objects < <(find "$bin" -path '*.build/*' -name '*.o' -print0)
module_maps=()
while IFS= read -r -d '' map; do module_maps+=(-Xcc "-fmodule-map-file=$map"); done < <(
    find "$bin" -maxdepth 2 -path '*.build/module.modulemap' -print0
    find "$scratch/checkouts" -path '*/Sources/*/include/module.modulemap' -print0
)
swiftc -O -parse-as-library -module-name FrameThroughput -I "$bin/Modules" "${module_maps[@]}" \
    "$root/Benchmarks/protocol/FrameThroughput.swift" "${objects[@]}" -o "$scratch/frame-throughput"
"$scratch/frame-throughput"
