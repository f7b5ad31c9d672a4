#!/usr/bin/env python3
"""Idle RSS and start time of a peercollabd binary, on a private bus.

Usage: Benchmarks/rss/measure.py [--runs N] [--idle SECONDS] [--sections] PEERCOLLABD...

For each binary (runs interleaved when several are given): a private dbus-daemon, one
unmeasured start that makes the identity, then N starts, each timed from spawn to READY=1
(read on a NOTIFY_SOCKET of our own, which also takes the watchdog pings: WATCHDOG_USEC is
30 s, as the unit's WatchdogSec); after SECONDS idle, VmRSS and /proc/PID/smaps_rollup
are read, then a Properties.Get and a Peer.Ping are sent, then what `peercollabctl status`
and an applet's first look send (GetAll of the Manager, GetManagedObjects), VmRSS is read
again ("after calls"), and SIGTERM must stop the daemon with status 0 within 10 s. Prints medians and, with --sections, which sections of the
daemon binary are resident (pagemap; needs root).

Host safety: the daemon gets --interfaces lo and --port 0 and is never signed in, so it
sends nothing beyond loopback. It listens on all addresses, as installed (a listener
only receives, and one not signed in closes every connection at once).
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from privatebus import start_bus

SERVICE = "org.peercollab.PeerCollab1"
ROOT = "/org/peercollab/PeerCollab1"
MANAGER = SERVICE + ".Manager"
# The unit's WatchdogSec=30s: the daemon pings at once and then every 15 s, as installed.
WATCHDOG_USEC = "30000000"


def dbus_send(bus, *args):
    return subprocess.run(["dbus-send", f"--bus={bus}", "--print-reply", "--reply-timeout=5000", *args],
                          capture_output=True, text=True, timeout=10)


def read_kib(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def one_run(binary, bus, state, idle, sections):
    notify_path = os.path.join(state, "notify")
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")}
    env["NOTIFY_SOCKET"] = notify_path
    env["WATCHDOG_USEC"] = WATCHDOG_USEC
    log = open(os.path.join(state, "log"), "ab")
    began = time.monotonic()
    daemon = subprocess.Popen(
        [binary, "--bus", bus, "--config-dir", f"{state}/config", "--data-dir", f"{state}/data",
         "--interfaces", "lo", "--port", "0"],
        env=env, stdout=log, stderr=log)
    ready = None
    notify.settimeout(0.5)
    deadline = began + 20
    while ready is None and time.monotonic() < deadline:
        try:
            message = notify.recv(4096).decode(errors="replace")
        except socket.timeout:
            if daemon.poll() is not None:
                break
            continue
        if "READY=1" in message.split("\n"):
            ready = time.monotonic() - began
    if ready is None:
        notify.close()
        daemon.kill()
        raise SystemExit(f"{binary}: no READY=1 (log: {state}/log)")
    time.sleep(idle)
    pid = daemon.pid
    result = {
        "ready_ms": ready * 1000,
        "vmrss": read_kib(f"/proc/{pid}/status", "VmRSS"),
        "rss": read_kib(f"/proc/{pid}/smaps_rollup", "Rss"),
        "pss": read_kib(f"/proc/{pid}/smaps_rollup", "Pss"),
        "anon": read_kib(f"/proc/{pid}/smaps_rollup", "Anonymous"),
        "private": (read_kib(f"/proc/{pid}/smaps_rollup", "Private_Clean") or 0)
        + (read_kib(f"/proc/{pid}/smaps_rollup", "Private_Dirty") or 0),
    }
    result["by_file"] = rss_by_file(pid)
    if sections:
        result["sections"] = resident_sections(pid, os.path.realpath(binary))
    get = dbus_send(bus, f"--dest={SERVICE}", ROOT, "org.freedesktop.DBus.Properties.Get",
                    f"string:{MANAGER}", "string:Version")
    ping = dbus_send(bus, f"--dest={SERVICE}", ROOT, "org.freedesktop.DBus.Peer.Ping")
    if get.returncode != 0 or "string" not in get.stdout:
        raise SystemExit(f"{binary}: Get Version failed: {get.stderr}")
    if ping.returncode != 0:
        raise SystemExit(f"{binary}: Ping failed: {ping.stderr}")
    for call in (["org.freedesktop.DBus.Properties.GetAll", f"string:{MANAGER}"],
                 ["org.freedesktop.DBus.ObjectManager.GetManagedObjects"]):
        reply = dbus_send(bus, f"--dest={SERVICE}", ROOT, *call)
        if reply.returncode != 0:
            raise SystemExit(f"{binary}: {call[0]} failed: {reply.stderr}")
    time.sleep(0.5)
    result["after_calls"] = read_kib(f"/proc/{pid}/status", "VmRSS")
    daemon.send_signal(signal.SIGTERM)
    try:
        status = daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        raise SystemExit(f"{binary}: SIGTERM did not stop it within 10 s")
    notify.close()
    if status != 0:
        raise SystemExit(f"{binary}: exited with {status} after SIGTERM (log: {state}/log)")
    result["version"] = get.stdout.strip().split("\n")[-1].strip()
    return result


def rss_by_file(pid):
    totals = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                name = os.path.basename(fields[5]) if len(fields) > 5 else "[anon]"
            elif fields[0] == "Rss:":
                totals[name] = totals.get(name, 0) + int(fields[1])
    return totals


def elf_sections(path):
    """(name, address, size) of the allocated sections of an ELF file."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    sections = []
    for line in out.split("\n"):
        line = line.replace("[ ", "[")
        parts = line.split()
        if len(parts) >= 8 and parts[0].startswith("[") and parts[0] != "[Nr]" and "A" in parts[7]:
            sections.append((parts[1], int(parts[3], 16), int(parts[5], 16)))
    return sections


def resident_sections(pid, binary):
    """KiB resident per section of `binary` in process `pid` (file pages present in its maps)."""
    base = None
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 5 and os.path.realpath(fields[5]) == binary and int(fields[2], 16) == 0:
                base = int(fields[0].split("-")[0], 16)
                break
    if base is None:
        return {}
    page = os.sysconf("SC_PAGE_SIZE")
    result = {}
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for name, address, size in elf_sections(binary):
            if size == 0 or address == 0:
                continue
            first = (base + address) // page
            last = (base + address + size - 1) // page
            pagemap.seek(first * 8)
            data = pagemap.read((last - first + 1) * 8)
            present = sum(1 for i in range(0, len(data), 8)
                          if struct.unpack_from("<Q", data, i)[0] >> 63)
            result[name] = (present * page // 1024, size // 1024)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5)
    parser.add_argument("--sections", action="store_true")
    parser.add_argument("binaries", nargs="+")
    options = parser.parse_args()
    for tool in ("dbus-daemon", "dbus-send", "readelf"):
        if shutil.which(tool) is None:
            raise SystemExit(f"measure: {tool} is missing")
    scratch = tempfile.mkdtemp(prefix="peercollab-rss.")
    bus, bus_pid = start_bus(scratch)
    results = {b: [] for b in options.binaries}
    try:
        states = {}
        for i, binary in enumerate(options.binaries):
            states[binary] = os.path.join(scratch, f"state{i}")
            os.makedirs(f"{states[binary]}/config")
            os.makedirs(f"{states[binary]}/data")
            one_run(binary, bus, states[binary], 0.5, False)  # makes the identity
        for _ in range(options.runs):
            for binary in options.binaries:
                results[binary].append(one_run(binary, bus, states[binary], options.idle, options.sections))
    finally:
        os.kill(bus_pid, signal.SIGTERM)
    for binary, runs in results.items():
        print(f"== {binary} ({len(runs)} runs, {options.idle:g} s idle; {runs[0]['version']})")
        for key, label in (("vmrss", "VmRSS"), ("rss", "Rss"), ("pss", "Pss"), ("anon", "Anonymous"),
                           ("private", "Private"), ("after_calls", "after calls (VmRSS)")):
            values = [r[key] for r in runs]
            print(f"  {label:19} median {statistics.median(values) / 1024:6.2f} MiB"
                  f"  (min {min(values) / 1024:.2f}, max {max(values) / 1024:.2f})")
        ready = [r["ready_ms"] for r in runs]
        print(f"  start→READY median {statistics.median(ready):.1f} ms (min {min(ready):.1f}, max {max(ready):.1f})")
        last = runs[-1]
        top = sorted(last["by_file"].items(), key=lambda kv: -kv[1])[:12]
        print("  Rss by mapping (last run, KiB): " + ", ".join(f"{k} {v}" for k, v in top))
        if options.sections:
            rows = sorted(last["sections"].items(), key=lambda kv: -kv[1][0])
            print("  daemon sections resident (last run, KiB resident / size): "
                  + ", ".join(f"{k} {r}/{s}" for k, (r, s) in rows if r > 0))
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
