#!/usr/bin/env bash
# Measures PeerProtocol frame encode/decode throughput (release build).
#   Benchmarks/protocol/run.sh            (RESULTS=... to write the JSON elsewhere)
# Builds PeerProtocol in .build-bench (release) and compiles FrameThroughput.swift against it,
# since the package has no benchmark target. Prints a table and writes
# Benchmarks/results/protocol.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch="$root/.build-bench"
results=${RESULTS:-$root/Benchmarks/results/protocol.json}
cd "$root"
swift build -c release --scratch-path "$scratch" --target PeerProtocol >&2
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
mapfile -d '' objects < <(find "$bin" -path '*.build/*' -name '*.o' -print0)
module_maps=()
while IFS= read -r -d '' map; do module_maps+=(-Xcc "-fmodule-map-file=$map"); done < <(
    find "$bin" -maxdepth 2 -path '*.build/module.modulemap' -print0
    find "$scratch/checkouts" -path '*/Sources/*/include/module.modulemap' -print0
)
swiftc -O -parse-as-library -module-name FrameThroughput -I "$bin/Modules" "${module_maps[@]}" \
    "$root/Benchmarks/protocol/FrameThroughput.swift" "${objects[@]}" -o "$scratch/frame-throughput"
out=$("$scratch/frame-throughput")
printf '%s\n' "$out" | grep -v '^JSON: '
cases=$(printf '%s\n' "$out" | sed -n 's/^JSON: //p')
[[ -n $cases ]] || { echo "protocol benchmark: no JSON line in the output" >&2; exit 1; }
mkdir -p "$(dirname "$results")"
printf '{"benchmark":"protocol","meta":{"date":"%s","host":"%s","cpus":%s,"loadavg_at_end":"%s"},"cases":%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -srm)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$cases" >"$results.tmp"
python3 -m json.tool "$results.tmp" >/dev/null || { echo "protocol benchmark: bad JSON in $results.tmp" >&2; exit 1; }
mv "$results.tmp" "$results"
echo "JSON: $results"
