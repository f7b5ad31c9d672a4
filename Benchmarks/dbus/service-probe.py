#!/usr/bin/env python3
"""Start a service repeatedly under a NOTIFY_SOCKET and measure what a user
pays for it being there: time from exec to READY=1, idle memory, and how often
it wakes up when nothing happens.

    service-probe.py [options] -- COMMAND [ARGS...]

Start i of --starts: create an AF_UNIX datagram socket, exec COMMAND with
NOTIFY_SOCKET pointing at it, and time until a datagram carrying READY=1
arrives. Every start but the last is stopped at once with SIGTERM (the time
to exit is recorded). The last one is left alone for --settle seconds, then
VmRSS is read, then the context switches of all its threads (voluntary +
involuntary, from /proc/PID/task/*/status, sampled every 250 ms so threads
ending inside the window are counted) and its CPU time are read before and
after an idle window of --idle seconds. Each switch is the process going
to sleep after having woken up (or being preempted), so the difference is
its wake-up count. Notify datagrams received in the window (WATCHDOG=1...)
are counted too, since those wake-ups are expected. With --perf, `perf stat
-e context-switches` is attached for the same window as a second opinion.

Prints one JSON object on stdout. Exit status 1 (with a message on stderr)
if the service dies, never says READY=1, or the name never appears/vanishes
within the bounds.
"""
import argparse
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


class ProbeError(Exception):
    pass


def now_ms():
    return time.monotonic_ns() / 1e6


def task_switches(pid):
    """Sum of context switches over the live threads of pid, and per thread."""
    total = 0
    threads = {}
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            with open(f"{base}/{tid}/comm") as f:
                comm = f.read().strip()
        except FileNotFoundError:
            continue  # the thread ended between listdir and open
        n = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
        threads[tid] = (comm, n)
        total += n
    return total, threads


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        # comm may contain spaces; fields after the closing parenthesis are fixed.
        rest = f.read().rsplit(")", 1)[1].split()
    ticks = int(rest[11]) + int(rest[12])  # utime + stime
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key + "_kib"] = int(value.split()[0])
            elif key == "Threads":
                out["threads"] = int(value)
    # VmRSS counts every shared library page in full; Pss splits shared pages among the
    # processes mapping them, Private_* are ours alone. Both say more than VmRSS on a
    # machine where other processes use the same libraries.
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Pss", "Pss_Anon", "Pss_File", "Private_Clean", "Private_Dirty", "Shared_Clean"):
                    out[key + "_kib"] = int(value.split()[0])
        out["pss_mib"] = round(out["Pss_kib"] / 1024, 2)
        out["private_mib"] = round((out["Private_Clean_kib"] + out["Private_Dirty_kib"]) / 1024, 2)
    except (FileNotFoundError, KeyError, PermissionError):
        pass
    return out


def resident_by_mapping(pid, top=12):
    """Resident kB per mapped file (or [heap], [stack], [anon]), largest first: what the RSS is."""
    sizes = {}
    name = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if head and "-" in head[0] and not head[0].endswith(":"):
                    name = head[5] if len(head) > 5 else "[anon]"
                elif head and head[0] == "Rss:":
                    sizes[name] = sizes.get(name, 0) + int(head[1])
    except (FileNotFoundError, PermissionError):
        return []
    rows = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return [{"mapping": k, "rss_kib": v} for k, v in rows]


def name_has_owner(bus, name):
    r = subprocess.run(
        ["dbus-send", f"--bus={bus}", "--print-reply=literal", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
        capture_output=True, text=True, timeout=5)
    if r.returncode != 0:
        raise ProbeError(f"cannot ask the bus whether {name} has an owner: {r.stderr.strip()}")
    return "true" in r.stdout


def wait_name(bus, name, present, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if name_has_owner(bus, name) == present:
            return
        time.sleep(0.02)
    state = "appear" if present else "go away"
    raise ProbeError(f"bus name {name} did not {state} within {timeout_s} s")


class Start:
    """One run of the service under its own notify socket."""

    def __init__(self, args, sockdir, index):
        self.args = args
        self.path = os.path.join(sockdir, f"notify-{index}")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.proc = None
        self.messages = []

    def launch(self):
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.path
        env.pop("WATCHDOG_PID", None)
        if self.args.watchdog_usec:
            env["WATCHDOG_USEC"] = str(self.args.watchdog_usec)
        else:
            env.pop("WATCHDOG_USEC", None)
        log = open(self.args.log, "ab") if self.args.log else subprocess.DEVNULL
        t0 = now_ms()
        self.proc = subprocess.Popen(self.args.command, env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        if log is not subprocess.DEVNULL:
            log.close()
        return t0

    def receive(self, until_ms):
        """Collect notify datagrams until the deadline; return the first with READY=1's time."""
        while True:
            left = until_ms - now_ms()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], min(left, 50) / 1000)
            if ready:
                data = self.sock.recv(65536)
                t = now_ms()
                lines = data.decode("utf-8", "replace").split("\n")
                self.messages.append((t, lines))
                if "READY=1" in lines:
                    return t
            elif self.proc.poll() is not None:
                raise ProbeError(f"the service exited with status {self.proc.returncode} "
                                 f"before sending READY=1 (see {self.args.log or 'its output'})")

    def count_until(self, until_ms):
        counts = {}
        while True:
            left = until_ms - now_ms()
            if left <= 0:
                return counts
            ready, _, _ = select.select([self.sock], [], [], left / 1000)
            if ready:
                for line in self.sock.recv(65536).decode("utf-8", "replace").split("\n"):
                    if line:
                        key = line.split("=", 1)[0]
                        counts[key] = counts.get(key, 0) + 1

    def stop(self):
        """SIGTERM, bounded wait, SIGKILL; returns (ms to exit, exit status, killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None, self.proc.returncode if self.proc else None, False
        t0 = now_ms()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=self.args.stop_timeout)
            return now_ms() - t0, self.proc.returncode, False
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return now_ms() - t0, self.proc.returncode, True

    def close(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
        finally:
            self.sock.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def perf_start(pid, seconds):
    try:
        return subprocess.Popen(
            ["perf", "stat", "-x", ",", "-e", "context-switches,task-clock", "-p", str(pid),
             "--", "sleep", str(seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        return None


def perf_finish(proc):
    if proc is None:
        return {"perf": "perf not installed"}
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"perf": "perf stat did not finish"}
    out = {}
    for line in err.splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[2] in ("context-switches", "task-clock"):
            key = "perf_" + parts[2].replace("-", "_")
            if parts[0] == "<not counted>":
                # A per-task counter is "not counted" when the task never ran in the window.
                out[key] = 0.0
            else:
                try:
                    out[key] = float(parts[0])
                except ValueError:
                    out[key] = parts[0]  # "<not supported>"
    if not out:
        out["perf"] = "perf stat gave no counts: " + err.strip()[-200:]
    return out


def measure_idle(start, args):
    pid = start.proc.pid
    settle_end = now_ms() + args.settle * 1000
    pre = start.count_until(settle_end)
    if start.proc.poll() is not None:
        raise ProbeError(f"the service exited with status {start.proc.returncode} while idle")
    result = {"pid": pid, "settle_s": args.settle, "notify_during_settle": pre}
    result.update(memory(pid))
    result["rss_mib"] = round(result["VmRSS_kib"] / 1024, 2)

    result["rss_by_mapping"] = resident_by_mapping(pid)

    perf = perf_start(pid, args.idle) if args.perf else None
    try:
        # Threads can end inside the window (a thread pool retiring idle workers), taking
        # their counts with them; sampling every quarter second keeps the last count seen.
        first, threads_first = task_switches(pid)
        seen = dict(threads_first)
        cpu_before = cpu_ms(pid)
        end = now_ms() + args.idle * 1000
        counts = {}
        while True:
            for key, n in start.count_until(min(end, now_ms() + 250)).items():
                counts[key] = counts.get(key, 0) + n
            _, threads_now = task_switches(pid)
            seen.update(threads_now)
            if now_ms() >= end:
                break
        cpu_after = cpu_ms(pid)
    except BaseException:
        if perf is not None:
            perf.kill()
            perf.wait()
        raise
    if start.proc.poll() is not None:
        raise ProbeError(f"the service exited with status {start.proc.returncode} while idle")

    per_thread = []
    total = 0
    for tid, (comm, n) in seen.items():
        d = n - threads_first.get(tid, (comm, 0))[1]
        ended = tid not in threads_now
        # A thread that ended woke at least once more to do so, after the last sample.
        d += 1 if ended else 0
        total += d
        if d:
            per_thread.append({"tid": int(tid), "comm": comm, "switches": d,
                               "started": tid not in threads_first, "ended": ended})
    result.update({
        "idle_s": args.idle,
        "idle_switches": total,
        "idle_switches_per_thread": sorted(per_thread, key=lambda x: -x["switches"]),
        "threads_started": sorted(int(t) for t in set(threads_now) - set(threads_first)),
        "threads_ended": sorted(int(t) for t in set(threads_first) - set(threads_now)),
        "idle_cpu_ms": round(cpu_after - cpu_before, 1),
        "idle_notify": counts,
        "idle_watchdog_pings": counts.get("WATCHDOG", 0),
    })
    # A watchdog ping is one wake-up that sends one datagram; the rest is unexplained.
    result["idle_wakeups_besides_watchdog"] = max(0, result["idle_switches"] - result["idle_watchdog_pings"])
    if args.perf:
        result.update(perf_finish(perf))
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default="service")
    p.add_argument("--starts", type=int, default=10)
    p.add_argument("--settle", type=float, default=2.0, help="seconds idle before reading RSS")
    p.add_argument("--idle", type=float, default=30.0, help="idle window in seconds")
    p.add_argument("--ready-timeout", type=float, default=10.0)
    p.add_argument("--stop-timeout", type=float, default=10.0)
    p.add_argument("--bus", help="bus address, to wait for --name to come and go")
    p.add_argument("--name", help="bus name the service owns")
    p.add_argument("--watchdog-usec", type=int, default=0)
    p.add_argument("--perf", action="store_true", help="also count with perf stat")
    p.add_argument("--log", help="append the service's stdout and stderr here")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        p.error("give the command to start after --")
    if not 1 <= args.starts <= 1000 or args.idle <= 0 or args.settle < 0:
        p.error("--starts must be 1..1000, --idle > 0, --settle >= 0")
    if bool(args.bus) != bool(args.name):
        p.error("--bus and --name go together")

    # A SIGTERM to the harness must not leave a service behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Started in the background by a script, SIGINT arrives ignored; Ctrl-C must still stop us.
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))

    ready_ms, stop_ms, exit_status = [], [], []
    result = {"label": args.label, "command": args.command, "watchdog_usec": args.watchdog_usec}
    with tempfile.TemporaryDirectory(prefix="probe-") as sockdir:
        for i in range(args.starts):
            start = Start(args, sockdir, i)
            try:
                t0 = start.launch()
                t_ready = start.receive(t0 + args.ready_timeout * 1000)
                if t_ready is None:
                    raise ProbeError(f"start {i + 1}: no READY=1 within {args.ready_timeout} s")
                ready_ms.append(round(t_ready - t0, 2))
                if args.name:
                    wait_name(args.bus, args.name, True, args.ready_timeout)
                if i == args.starts - 1:
                    result.update(measure_idle(start, args))
                ms, status, killed = start.stop()
                stop_ms.append(round(ms, 2) if ms is not None else None)
                exit_status.append(status)
                if killed:
                    result.setdefault("killed_after_sigterm", []).append(i + 1)
                if args.name:
                    wait_name(args.bus, args.name, False, args.stop_timeout)
            finally:
                start.close()

    result.update({
        "starts": args.starts,
        "ready_ms": ready_ms,
        "ready_ms_first": ready_ms[0],
        "ready_ms_median": statistics.median(ready_ms),
        "ready_ms_median_after_first": statistics.median(ready_ms[1:]) if len(ready_ms) > 1 else None,
        "ready_ms_min": min(ready_ms),
        "ready_ms_max": max(ready_ms),
        "stop_ms": stop_ms,
        "exit_status": exit_status,
    })
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except ProbeError as e:
        print(f"service-probe: {e}", file=sys.stderr)
        sys.exit(1)
