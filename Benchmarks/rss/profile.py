#!/usr/bin/env python3
"""Writes dist/link/peercollabd-hot.ld: the code peercollabd runs from exec to idle, in front.

Usage: Benchmarks/rss/profile.py [--runs N] PEERCOLLABD MAP [OUTPUT]
(Benchmarks/rss/regenerate.sh builds, profiles, relinks and measures in one go.)

PEERCOLLABD is a release build with function sections (dist/install's flags), MAP the lld
map of that very link (-Xlinker -Map=FILE). The daemon runs under `valgrind
--tool=callgrind` on a private bus (--interfaces lo, --port 0, never signed in; listening on
all addresses and with WATCHDOG_USEC of 30 s, as the installed unit runs it: each of the
two paths it would otherwise miss costs over 1 MiB of cold .text faulted in) with an
identity made by an unprofiled start before (which also writes identity.cache, so the
profiled start is the usual one that does not load the key): exec → READY=1 → 5 s idle,
dumped; the first calls clients make (a Properties.Get, a Peer.Ping, and what
`peercollabctl status` and an applet's first look send: GetAll of the Manager,
GetManagedObjects), dumped; SIGTERM. The input sections holding
the instructions that ran (start-up and idle of every run first, then what the calls added;
shut-down code is left out) become an output section .text.hot placed before .text.

Input sections, not symbols (lld's --symbol-ordering-file): a third of the functions Swift
emits are private (`.text..Lobjectdestroy.38`), with a section of their own but no symbol
to name, and each one missed costs a 64 KiB fault-around block elsewhere in .text. A stale
script costs only memory: patterns that match nothing are ignored, code it misses stays in
.text.
"""
import argparse
import bisect
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from privatebus import start_bus  # noqa: E402

SERVICE = "org.peercollab.PeerCollab1"
ROOT = "/org/peercollab/PeerCollab1"


def daemon_args(binary, bus, state):
    return [binary, "--bus", bus, "--config-dir", f"{state}/config", "--data-dir", f"{state}/data",
            "--interfaces", "lo", "--port", "0"]


def wait_ready(notify, process, seconds):
    notify.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if "READY=1" in notify.recv(4096).decode(errors="replace").split("\n"):
                return True
        except socket.timeout:
            if process.poll() is not None:
                return False
    return False


def dbus_call(bus, *args):
    subprocess.run(["dbus-send", f"--bus={bus}", "--print-reply", "--reply-timeout=20000",
                    f"--dest={SERVICE}", ROOT, *args], check=True, capture_output=True, timeout=30)


def input_sections(map_path):
    """(starts, sections) of the executable input sections in an lld map, sorted by address.

    Each section is (start, size, file, name). The map, not the symbol table, because a third
    of the functions Swift emits are private (`.text..Lobjectdestroy.38`): they have a
    section of their own but no symbol an ordering file could name.
    """
    sections = []
    in_text = False
    row = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ ( *)(\S.*)$")
    with open(map_path, errors="replace") as f:
        for line in f:
            match = row.match(line.rstrip("\n"))
            if not match:
                continue
            depth = len(match.group(3))  # 0: output section, 8: input section, 16: symbol
            if depth == 0:
                name = match.group(4)
                in_text = name == ".text" or name.startswith(".text.")
            elif depth == 8 and in_text and ":(" in match.group(4):
                where, _, name = match.group(4).rpartition(":(")
                size = int(match.group(2), 16)
                if size:
                    sections.append((int(match.group(1), 16), size, where, name[:-1]))
    sections.sort()
    return [s[0] for s in sections], sections


def executed_sections(path, binary_name, sections, base):
    """Input sections of `binary_name` whose code ran, in dump order (by instruction address).

    Valgrind files code outside the section named .text (our .text.hot, once linked with
    the script) under an unknown object "???" at run-time addresses: `base`, where the
    binary is mapped, turns those back into link addresses.
    """
    starts, table = sections
    found = []
    seen = set()
    offset = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                name = os.path.basename(line[3:].strip())
                offset = 0 if name == binary_name else base if name == "???" else None
            elif offset is not None and line.startswith("0x"):
                address = int(line.split()[0], 16) - offset
                index = bisect.bisect_right(starts, address) - 1
                if index >= 0 and address < starts[index] + table[index][1] and index not in seen:
                    seen.add(index)
                    found.append(table[index])
    return found


def file_pattern(where):
    """A linker-script file pattern for an input file of the map, free of the build's paths."""
    if where.endswith(")") and "(" in where:  # archive(member)
        archive, _, member = where[:-1].rpartition("(")
        return f"*/{os.path.basename(archive)}:{member}"
    _, marker, rest = where.rpartition("/release/")
    return "*/" + (rest if marker else os.path.basename(where))


def mapped_base(pid, path):
    """Where `path` is mapped (offset 0) in process `pid`."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 5 and fields[5] == path and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16)
    raise SystemExit(f"profile: {path} is not mapped in process {pid}")


def profile_once(binary, profiled, sections):
    """The functions one start runs up to idle, and those the first calls add."""
    scratch = tempfile.mkdtemp(prefix="peercollab-order.")
    bus, bus_pid = start_bus(scratch)
    state = os.path.join(scratch, "state")
    os.makedirs(f"{state}/config")
    os.makedirs(f"{state}/data")
    dumps = os.path.join(scratch, "callgrind.out")
    try:
        warm = subprocess.Popen(daemon_args(binary, bus, state), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(2)
        warm.send_signal(signal.SIGTERM)
        warm.wait(timeout=10)

        notify_path = os.path.join(scratch, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHDOG_", "LISTEN_"))}
        env["NOTIFY_SOCKET"] = notify_path
        env["WATCHDOG_USEC"] = "30000000"  # the unit's WatchdogSec
        log = open(os.path.join(scratch, "log"), "wb")
        daemon = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=yes",
             "--compress-strings=no", "--compress-pos=no", f"--callgrind-out-file={dumps}",
             *daemon_args(profiled, bus, state)], env=env, stdout=log, stderr=log)
        if not wait_ready(notify, daemon, 180):
            daemon.kill()
            raise SystemExit(f"profile: the daemon under callgrind did not get ready (log {scratch}/log)")
        time.sleep(5)
        base = mapped_base(daemon.pid, profiled)
        subprocess.run(["callgrind_control", "--dump=idle", str(daemon.pid)], check=True,
                       capture_output=True, timeout=60)
        dbus_call(bus, "org.freedesktop.DBus.Properties.Get",
                  f"string:{SERVICE}.Manager", "string:Version")
        dbus_call(bus, "org.freedesktop.DBus.Peer.Ping")
        dbus_call(bus, "org.freedesktop.DBus.Properties.GetAll", f"string:{SERVICE}.Manager")
        dbus_call(bus, "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
        time.sleep(1)
        subprocess.run(["callgrind_control", "--dump=calls", str(daemon.pid)], check=True,
                       capture_output=True, timeout=60)
        daemon.send_signal(signal.SIGTERM)
        if daemon.wait(timeout=120) != 0:
            raise SystemExit(f"profile: the daemon did not stop cleanly (log {scratch}/log)")
    finally:
        os.kill(bus_pid, signal.SIGTERM)
    parts = sorted((p for p in os.listdir(scratch) if p.startswith("callgrind.out.")),
                   key=lambda p: int(p.rsplit(".", 1)[1]))
    if len(parts) < 2:
        raise SystemExit(f"profile: expected the idle and calls dumps in {scratch}, found {parts}")
    result = [executed_sections(os.path.join(scratch, part), "peercollabd", sections, base)
              for part in parts[:2]]
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3,
                        help="profiled starts; what any of them ran is listed")
    parser.add_argument("binary", help="peercollabd, release build")
    parser.add_argument("map", help="the lld map of that link (-Xlinker -Map=FILE)")
    parser.add_argument("output", nargs="?", help="default: dist/link/peercollabd-hot.ld")
    options = parser.parse_args()
    binary = os.path.realpath(options.binary)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    output = options.output or os.path.join(repo, "dist/link/peercollabd-hot.ld")
    work = tempfile.mkdtemp(prefix="peercollab-order.")
    # Valgrind cannot read the DWARF 5 Swift emits ("possibly corrupted debuginfo"); a copy
    # without it keeps the symbol table and the addresses.
    profiled = os.path.join(work, "peercollabd")
    subprocess.run(["objcopy", "--strip-debug", binary, profiled], check=True)
    sections = input_sections(options.map)
    start_up, calls = [], []
    for run in range(options.runs):
        idle, served = profile_once(binary, profiled, sections)
        start_up.append(idle)
        calls.append(served)
        print(f"profile: run {run + 1}: {len(idle)} sections to idle, {len(served)} for the first calls")
    lines = []
    seen = set()
    size = 0
    # Start-up and idle of every run first, then what the calls added.
    for found in start_up + calls:
        for _, length, where, name in found:
            if os.path.basename(where).startswith(("crt", "Scrt")):
                continue  # the C start files keep their place
            line = f"    {file_pattern(where)}({name})"
            if line not in seen:
                seen.add(line)
                lines.append(line)
                size += length
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        f.write(SCRIPT_HEAD + "\n".join(lines) + SCRIPT_TAIL)
    shutil.rmtree(work, ignore_errors=True)
    print(f"profile: {len(lines)} sections, {size / 1048576:.2f} MiB → {output}")


SCRIPT_HEAD = """/* The code peercollabd runs from exec to idle (and for the first calls clients make), gathered
 * in front of the rest so that start-up faults in a few MiB instead of 64 KiB blocks all
 * over .text. Written by Benchmarks/rss/profile.py: regenerate it when the code changes
 * much (docs/benchmarks.md). A stale list costs memory, never correctness: a pattern that
 * matches nothing is ignored, and code it misses stays in .text. */
SECTIONS
{
  .text.hot : {
"""
SCRIPT_TAIL = """
  }
}
INSERT BEFORE .text;
"""


if __name__ == "__main__":
    main()
