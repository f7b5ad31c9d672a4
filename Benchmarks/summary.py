#!/usr/bin/env python3
"""One table from Benchmarks/results/*.json: the figures each benchmark is judged by.

    summary.py RESULTS_DIR [NAME ...]      (names default to every NAME.json there)

Reads what the benchmarks wrote; measures nothing. A benchmark with no JSON (it failed or
was not run) gets a line saying so.
"""
import json
import os
import sys


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def dbus_rows(d):
    subj, base = d["subject_label"], d["baseline_label"]
    rt = d["roundtrips"]
    ratio, verdict = d["ratio_subject_over_baseline"], d["verdict"]
    sp = d.get("probe", {}).get(subj, {})
    bp = d.get("probe", {}).get(base, {})
    sw = d.get("probe_watchdog", {}).get(subj, {})
    ok = lambda key: ("ok" if verdict.get(key) else "MISSED") if key in verdict else ""
    rows = []
    for kind, title, key in [("get", "Properties.Get/s (our dispatch)", "get_ratio"),
                             ("ping", "Peer.Ping/s (libdbus answers)", "ping_ratio")]:
        s = rt.get(subj, {}).get(kind, {}).get("per_s_median")
        b = rt.get(base, {}).get(kind, {}).get("per_s_median")
        rows.append((title, f"{fmt(s, '.0f')} = {fmt(ratio.get(kind), '.2f')}× C",
                     f"C {fmt(b, '.0f')}", ">= 0.80× C", ok(key)))
        cs = d.get("cpu_per_call", {}).get(subj, {}).get(kind, {}).get("us_per_call_median")
        cb = d.get("cpu_per_call", {}).get(base, {}).get(kind, {}).get("us_per_call_median")
        if cs is not None:
            rows.append(("  service CPU µs per call", fmt(cs, ".1f"), f"C {fmt(cb, '.1f')}", "", ""))
    rows.append(("start to READY=1 ms, median", fmt(sp.get("ready_ms_median"), ".1f"),
                 f"C {fmt(bp.get('ready_ms_median'), '.1f')}", "<= 100", ok("ready_ms")))
    rows.append(("  first start (new files)", fmt(sp.get("ready_ms_first"), ".1f"),
                 f"C {fmt(bp.get('ready_ms_first'), '.1f')}", "", ""))
    rows.append(("idle VmRSS MiB", fmt(sp.get("rss_mib"), ".2f"),
                 f"C {fmt(bp.get('rss_mib'), '.2f')}", "<= 15", ok("rss_mib")))
    rows.append(("  Pss MiB / private MiB", f"{fmt(sp.get('pss_mib'), '.2f')} / {fmt(sp.get('private_mib'), '.2f')}",
                 "", "", ""))
    idle = sp.get("idle_s")
    rows.append((f"idle wakeups in {fmt(idle, 'g')} s, no watchdog", fmt(sp.get("idle_switches"), "d"),
                 f"C {fmt(bp.get('idle_switches'), 'd')}", "0", ok("idle_wakeups")))
    if sw:
        rows.append((f"  with WATCHDOG_USEC={d['meta'].get('watchdog_usec', '?')}",
                     f"{fmt(sw.get('idle_switches'), 'd')} for {fmt(sw.get('idle_watchdog_pings'), 'd')} pings",
                     "", "pings only", ""))
    return rows


def protocol_rows(d):
    rows = []
    for case in d.get("cases", []):
        rows.append((case["case"], f"enc {case['encodeMBps']} / dec {case['decodeMBps']} MB/s",
                     f"{case['encodeMsgps']} / {case['decodeMsgps']} msg/s", "", ""))
    return rows


def invitations_rows(d):
    l = d.get("latency", {})
    t, b = l.get("invite_to_accepted_seen", {}), l.get("bare_refresh_roundtrip", {})
    rows = [("invite → Accept() → accepted seen, p50/p99 ms", f"{fmt(t.get('p50_ms'), '.2f')} / {fmt(t.get('p99_ms'), '.2f')}",
             f"bare {fmt(b.get('p50_ms'), '.2f')} / {fmt(b.get('p99_ms'), '.2f')}", "p99 <= 20",
             ("ok" if (t.get("p99_ms") or 1e9) <= 20 else "MISSED"))]
    memory = d.get("memory", [])
    if memory:
        first, last = memory[0], memory[-1]
        rows.append((f"RSS KiB A/B: start → after {len(memory) - 1} rounds of expiring invitations",
                     f"{first['rss_a_kib']}/{first['rss_b_kib']} → {last['rss_a_kib']}/{last['rss_b_kib']}", "", "flat after round 1", ""))
    return rows


def channels_rows(d):
    c, t = d.get("channel", {}), d.get("tls", {})
    ct, tt = c.get("throughput", {}), t.get("throughput", {})
    ratio = (ct.get("mib_per_s") or 0) / (tt.get("mib_per_s") or 1e-9)
    p, b = c.get("pingpong_64b", {}), c.get("bare_refresh_roundtrip", {})
    pr = (p.get("p50_ms") or 1e9) / (b.get("p50_ms") or 1e-9)
    i, s = c.get("idle", {}), c.get("slow_reader", {})
    return [
        ("channel throughput MiB/s", fmt(ct.get("mib_per_s"), ".1f"), f"direct TLS {fmt(tt.get('mib_per_s'), '.1f')}", ">= 0.6x",
         f"{ratio:.2f}x " + ("ok" if ratio >= 0.6 else "MISSED")),
        ("64 B ping-pong p50/p99 ms", f"{fmt(p.get('p50_ms'), '.3f')} / {fmt(p.get('p99_ms'), '.3f')}",
         f"bare {fmt(b.get('p50_ms'), '.3f')} / {fmt(b.get('p99_ms'), '.3f')}", "<= 2x", f"{pr:.2f}x " + ("ok" if pr <= 2 else "MISSED")),
        ("memory per idle channel A/B bytes", f"{i.get('per_channel_a_bytes')} / {i.get('per_channel_b_bytes')}", "", "", ""),
        ("stopped reader: written, RSS growth A/B KiB", f"{s.get('written_before_blocking')} B, {s.get('rss_a_growth_kib')} / {s.get('rss_b_growth_kib')}",
         "", "windows + 2 MiB", ""),
    ]


def generic_rows(d):
    return [("(no summary for this benchmark; see its JSON)", "", "", "", "")]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    names = sys.argv[2:] or sorted(f[:-5] for f in os.listdir(folder)
                                   if f.endswith(".json") and f != "summary.json")
    lines = []
    header = ("figure", "measured", "yardstick", "target", "")
    for name in names:
        path = os.path.join(folder, f"{name}.json")
        if not os.path.exists(path):
            lines.append((f"[{name}] no results: the benchmark failed or did not run", "", "", "", ""))
            continue
        with open(path) as f:
            d = json.load(f)
        meta = d.get("meta", {})
        lines.append((f"[{name}] {meta.get('date', '?')}, {meta.get('cpus', '?')} CPUs, load {meta.get('loadavg_at_end', '?')}",
                      "", "", "", ""))
        lines += {"dbus": dbus_rows, "protocol": protocol_rows, "invitations": invitations_rows, "channels": channels_rows}.get(name, generic_rows)(d)
    widths = [max(len(str(row[i])) for row in lines + [header]) for i in range(5)]
    widths[0] = min(widths[0], 44)

    def show(row):
        return "  ".join(str(c).ljust(w) if i < 4 else str(c) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    print()
    print(show(header))
    for row in lines:
        print(show(row) if row[1] or row[2] else row[0])
    print()
    print(f"Details: {folder}/NAME.txt (tables) and NAME.json (every figure).")


if __name__ == "__main__":
    main()
