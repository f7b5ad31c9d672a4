#!/usr/bin/env bash
# Builds the fuzz targets (PeerProtocol decoders, the mDNS codec) with libFuzzer and
# AddressSanitizer and runs each for a bounded time on its committed seed corpus.
#
#   Tests/Fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
#
# SECONDS: time per target (default 60; 0 only replays the corpus). TARGET: a file stem
# under Tests/Fuzz (FrameDecoderFuzz, HelloDecoderFuzz, ProfileDecoderFuzz, DNSMessageFuzz,
# ContactCardFuzz);
# default all.
# Exits non-zero when a target crashes, leaks, times out on an input or fails to build;
# the input that did it is left in .build-fuzz/artifacts/TARGET/ (copy it into the
# target's corpus folder once fixed, so it stays a regression test).
set -euo pipefail

seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch="$root/.build-fuzz"
fuzz_dir="$root/Tests/Fuzz"
cd "$root"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for source in "$fuzz_dir"/*Fuzz.swift; do targets+=("$(basename "$source" .swift)"); done
fi

# Which code each target fuzzes. DNSMessageFuzz needs only the mDNS codec (Sources/Discovery/DNS*.swift,
# pure Swift with no imports), compiled on its own as a module named Discovery: building the whole
# Discovery target would drag in NIOPosix and the D-Bus wrapper (libdbus through pkg-config), which
# the decoder does not use and which made the build slow and fragile. The others link PeerProtocol.
needs_peer_protocol=false
for target in "${targets[@]}"; do
    [ -f "$fuzz_dir/$target.swift" ] || { echo "no fuzz target $fuzz_dir/$target.swift" >&2; exit 2; }
    case "$target" in DNSMessageFuzz | ContactCardFuzz) ;; *) needs_peer_protocol=true ;; esac
done

sanitize=(-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
build_start=$(date +%s)
mkdir -p "$scratch/fuzzers"

objects=()
module_maps=()
if $needs_peer_protocol; then
    # PeerProtocol and its dependencies (NIOCore and below), instrumented for coverage and ASan,
    # in a scratch path of their own so the normal build is untouched.
    swift build -c release --scratch-path "$scratch" --target PeerProtocol "${sanitize[@]}"
    bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path "${sanitize[@]}")
    # Only PeerProtocol's closure is built in this scratch path, so its object files are the ones
    # to link; Discovery and DBus objects left by an older version of this script are skipped
    # (they would need libdbus and NIOPosix).
    mapfile -d '' objects < <(find "$bin" -path '*.build/*' -name '*.o' \
        -not -path '*/Discovery.build/*' -not -path '*/DBus.build/*' -print0)
    while IFS= read -r -d '' map; do module_maps+=(-Xcc "-fmodule-map-file=$map"); done < <(
        find "$bin" -maxdepth 2 -path '*.build/module.modulemap' -print0
        find "$scratch/checkouts" -path '*/Sources/*/include/module.modulemap' -print0
    )
fi

for target in "${targets[@]}"; do
    log="$scratch/$target.build.log"
    if [ "$target" = DNSMessageFuzz ]; then
        codec="$scratch/dns-codec"
        rm -rf "$codec" && mkdir -p "$codec"
        { swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Discovery \
            -emit-library -static -emit-module -emit-module-path "$codec/Discovery.swiftmodule" \
            "$root"/Sources/Discovery/DNS*.swift -o "$codec/libDiscovery.a" &&
          swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$target" -I "$codec" \
            "$fuzz_dir/$target.swift" "$codec/libDiscovery.a" -o "$scratch/fuzzers/$target"
        } >"$log" 2>&1 || { cat "$log"; exit 1; }
    elif [ "$target" = ContactCardFuzz ]; then
        # The card codec is plain Swift over FoundationEssentials: compiled on its own as the
        # module Collaboration, without the store, OpenSSL or the actor (with the check for
        # invisible characters that names in cards go through).
        codec="$scratch/card-codec"
        rm -rf "$codec" && mkdir -p "$codec"
        { swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Collaboration \
            -emit-library -static -emit-module -emit-module-path "$codec/Collaboration.swiftmodule" \
            "$root"/Sources/Collaboration/ContactCard*.swift "$root"/Sources/Collaboration/InvisibleCharacters.swift \
            -o "$codec/libCollaboration.a" &&
          swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$target" -I "$codec" \
            "$fuzz_dir/$target.swift" "$codec/libCollaboration.a" -o "$scratch/fuzzers/$target"
        } >"$log" 2>&1 || { cat "$log"; exit 1; }
    else
        swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$target" \
            -I "$bin/Modules" "${module_maps[@]}" \
            "$fuzz_dir/$target.swift" "${objects[@]}" -o "$scratch/fuzzers/$target" \
            >"$log" 2>&1 || { cat "$log"; exit 1; }
    fi
done
echo "fuzz build: $(($(date +%s) - build_start)) s"

failed=()
for target in "${targets[@]}"; do
    seeds="$fuzz_dir/Corpus/$target"
    work="$scratch/corpus/$target"
    artifacts="$scratch/artifacts/$target"
    mkdir -p "$work" "$artifacts"
    echo "== $target: ${seconds} s"
    # New inputs go to the scratch corpus, never into the committed seeds.
    if [ "$seconds" -eq 0 ]; then
        runs=(-runs=0)
    else
        runs=(-max_total_time="$seconds")
    fi
    if ! "$scratch/fuzzers/$target" "${runs[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=300000 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$seeds" 2>"$scratch/$target.log"; then
        tail -n 40 "$scratch/$target.log"
        failed+=("$target")
    else
        grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$scratch/$target.log" || true
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing FAILED: ${failed[*]} (inputs in $scratch/artifacts/)"
    exit 1
fi
echo "fuzzing passed: ${targets[*]}"
