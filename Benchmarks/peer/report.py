#!/usr/bin/env python3
"""Turns the raw JSON lines of Benchmarks/peer/run.sh into a table and results/peer.json.

    report.py RAW.jsonl OUT.json --meta JSON

Each handshake pairing ran in several interleaved rounds; a figure is the median over the
rounds, and a ratio is the median of the per-round ratios (both sides of a ratio ran minutes
apart at most, on the same loaded machine).
"""
import json
import statistics
import sys

PAIRS = {
    "libssl-openssl": "libssl client -> openssl s_server (yardstick)",
    "ours-ours": "SecureChannel client -> SecureChannel server",
    "libssl-ours": "libssl client -> SecureChannel server",
    "ours-openssl": "SecureChannel client -> openssl s_server",
    "libssl-openssl-p": "libssl client x{p} -> openssl s_server (yardstick)",
    "ours-ours-p": "SecureChannel client x{p} -> SecureChannel server",
    "s_time": "openssl s_time -new -> openssl s_server",
    "session": "session client -> peercollabd (TLS + hellos, fresh identity)",
}
RATIOS = [
    ("ours_over_openssl", "ours-ours", "libssl-openssl", "full handshake, ours/openssl (target <= 1.5)"),
    ("ours_over_openssl_parallel", "ours-ours-p", "libssl-openssl-p", "full handshake, {p} in parallel, ours/openssl"),
    ("server_ours_over_openssl", "libssl-ours", "libssl-openssl", "same libssl client: SecureChannel server / s_server"),
    ("client_ours_over_libssl", "ours-openssl", "libssl-openssl", "same s_server: SecureChannel client / libssl client"),
    ("session_over_openssl", "session", "libssl-openssl", "daemon session (TLS + hellos) / yardstick round"),
    ("ours_over_s_time", "ours-ours", "s_time", "ours / s_time's lighter round (no verify, no ALPN, no data)"),
]


def main():
    raw_path, out_path = sys.argv[1], sys.argv[2]
    meta = json.loads(sys.argv[sys.argv.index("--meta") + 1]) if "--meta" in sys.argv else {}
    rows = [json.loads(line) for line in open(raw_path) if line.strip()]
    parallel = meta.get("parallel", "?")

    by_pair = {}
    for row in rows:
        if row["kind"] == "handshake":
            if row["pair"] == "session":
                # Its round ends at "established"; the TLS part is kept beside it.
                row["latency_p50_us"] = row["established_p50_us"]
                row["latency_p90_us"] = row["established_p90_us"]
            row["wall_us_per_handshake"] = row["wall_s"] / row["count"] * 1e6
            row["cpu_us_per_handshake"] = (row["client_cpu_s"] + row["server_cpu_s"]) / row["count"] * 1e6
            by_pair.setdefault(row["pair"], {})[row["round"]] = row

    handshake = {}
    for pair, rounds in by_pair.items():
        values = list(rounds.values())
        summary = {
            "description": PAIRS[pair].format(p=parallel),
            "rounds": len(values),
            "wall_us_per_handshake": statistics.median(v["wall_us_per_handshake"] for v in values),
            "handshakes_per_second": statistics.median(v["count"] / v["wall_s"] for v in values),
            "cpu_us_per_handshake": statistics.median(v["cpu_us_per_handshake"] for v in values),
            "client_cpu_us_per_handshake": statistics.median(v["client_cpu_s"] / v["count"] * 1e6 for v in values),
            "server_cpu_us_per_handshake": statistics.median(v["server_cpu_s"] / v["count"] * 1e6 for v in values),
        }
        if "latency_p50_us" in values[0]:
            summary["latency_p50_us"] = statistics.median(v["latency_p50_us"] for v in values)
            summary["latency_p90_us"] = statistics.median(v["latency_p90_us"] for v in values)
        if "tls_p50_us" in values[0]:
            summary["tls_p50_us"] = statistics.median(v["tls_p50_us"] for v in values)
        summary["per_round"] = values
        handshake[pair] = summary

    ratios = {}
    for name, mine, yardstick, words in RATIOS:
        if mine not in by_pair or yardstick not in by_pair:
            continue
        common = sorted(set(by_pair[mine]) & set(by_pair[yardstick]))
        wall = [by_pair[mine][r]["wall_us_per_handshake"] / by_pair[yardstick][r]["wall_us_per_handshake"] for r in common]
        cpu = [by_pair[mine][r]["cpu_us_per_handshake"] / by_pair[yardstick][r]["cpu_us_per_handshake"] for r in common]
        ratios[name] = {
            "description": words.format(p=parallel),
            "wall": statistics.median(wall), "wall_min": min(wall), "wall_max": max(wall),
            "cpu": statistics.median(cpu), "cpu_min": min(cpu), "cpu_max": max(cpu),
        }

    idle = []
    for row in rows:
        if row["kind"] == "idle":
            n = row["sessions"]
            row["rss_kib_per_session"] = (row["rss_after_kib"] - row["rss_before_kib"]) / n
            row["anon_kib_per_session"] = (row["anon_after_kib"] - row["anon_before_kib"]) / n
            idle.append(row)
    if len(idle) >= 2:
        # The slope between the smallest and largest count: the per-session cost without any fixed part.
        low, high = min(idle, key=lambda r: r["sessions"]), max(idle, key=lambda r: r["sessions"])
        slope = (high["rss_after_kib"] - high["rss_before_kib"] - (low["rss_after_kib"] - low["rss_before_kib"])) / (high["sessions"] - low["sessions"])
    else:
        slope = None
    frames = next((r["cases"] for r in rows if r["kind"] == "frames"), [])

    out = {"meta": meta, "handshake": handshake, "ratios": ratios, "idle": idle,
           "idle_rss_kib_per_session_slope": slope, "frames": frames}
    with open(out_path, "w") as f:
        json.dump(out, f, indent=2)

    print()
    print(f"Handshakes (median of {meta.get('rounds', '?')} rounds of {meta.get('count', '?')}; load {meta.get('loadavg_start', '?')} -> {meta.get('loadavg_end', '?')})")
    print(f"{'pairing':62} {'hs/s':>7} {'us/hs':>8} {'p50 us':>8} {'CPU us/hs':>10}")
    for pair in PAIRS:
        if pair in handshake:
            h = handshake[pair]
            p50 = f"{h['latency_p50_us']:8.0f}" if "latency_p50_us" in h else f"{'-':>8}"
            print(f"{h['description']:62} {h['handshakes_per_second']:7.0f} {h['wall_us_per_handshake']:8.0f} {p50} {h['cpu_us_per_handshake']:10.0f}")
    print()
    print(f"{'ratio':62} {'wall':>6} {'(range)':>13} {'CPU':>6}")
    for r in ratios.values():
        print(f"{r['description']:62} {r['wall']:6.2f} {r['wall_min']:6.2f}-{r['wall_max']:<6.2f} {r['cpu']:6.2f}")
    if "session" in handshake:
        h = handshake["session"]
        print()
        print(f"Daemon sessions: connect -> authenticated p50 {h['tls_p50_us']:.0f} us, -> established p50 {h['latency_p50_us']:.0f} us "
              f"(p90 {h['latency_p90_us']:.0f}); daemon CPU {h['server_cpu_us_per_handshake']:.0f} us/session, client {h['client_cpu_us_per_handshake']:.0f}")
    if idle:
        print()
        print(f"{'idle sessions':>13} {'Peer objs':>9} {'VmRSS before':>13} {'after':>9} {'KiB/session':>12} {'RssAnon KiB/session':>20}")
        for r in idle:
            print(f"{r['sessions']:13} {r['peer_objects']:9} {r['rss_before_kib']:13} {r['rss_after_kib']:9} {r['rss_kib_per_session']:12.1f} {r['anon_kib_per_session']:20.1f}")
        if slope is not None:
            print(f"  slope between {low['sessions']} and {high['sessions']}: {slope:.1f} KiB VmRSS per session")
    if frames:
        print()
        print(f"{'frames':28} {'bytes':>7} {'enc MB/s':>9} {'dec MB/s':>9} {'enc msg/s':>10} {'dec msg/s':>10}")
        for c in frames:
            print(f"{c['case']:28} {c['frameBytes']:7} {c['encodeMBps']:9} {c['decodeMBps']:9} {c['encodeMsgps']:10} {c['decodeMsgps']:10}")
    print(f"\nWritten {out_path}")


if __name__ == "__main__":
    main()
