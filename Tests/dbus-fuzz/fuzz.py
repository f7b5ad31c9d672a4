#!/usr/bin/python3
"""A D-Bus fuzzer for peercollabd, driven by the interface files in dbus/.

Two real daemons run in network namespaces of their own, each on a private bus that
activates nothing (a session.conf whose only service folder is an empty one of ours).
They are seeded with every object kind: Peer objects (each reached the other by link),
a Contact, Applications, objects, and invitations both ways. Then, batch after batch,
every method and every writable property of every interface gets hostile and
near-valid values (hypothesis strategies by D-Bus signature, plus wrong signatures);
after each batch both daemons must answer org.freedesktop.DBus.Peer.Ping, their RSS and
open descriptors must stay within bounds, and every error received must be a name that
docs/dbus-api.md documents. Exits 1 on the first finding, saying what and how.

    Tests/dbus-fuzz/fuzz.py [SECONDS]     (default 60, or PEERCOLLAB_DBUS_FUZZ_SECONDS)

Needs root (ip netns), dbus-daemon, python3-jeepney and python3-hypothesis, and a built
peercollabd (.build/debug, or PEERCOLLABD).
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from jeepney import DBusAddress, FileDescriptor, HeaderFields, MessageType, new_method_call
from jeepney.io.blocking import open_dbus_connection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = "org.peercollab.PeerCollab1"
BASE = "/org/peercollab/PeerCollab1"
PREFIX = SERVICE + "."
# Calls that wait on the network or on a person by design: no reply within the client's
# timeout is no finding for them (every other call must answer at once).
SLOW = {"Wait", "Connect", "Refresh", "Accept", "Decline", "Invite", "AddEndpoint", "SignIn"}
RSS_LIMIT_KIB = 256 * 1024
FD_LIMIT = 400


def interfaces():
    """Methods (name, in-signatures) and writable properties (name, type) per interface."""
    found = {}
    for name in sorted(os.listdir(os.path.join(ROOT, "dbus"))):
        if not name.endswith(".xml"):
            continue
        for iface in ET.parse(os.path.join(ROOT, "dbus", name)).getroot().iter("interface"):
            methods = [(m.get("name"), [a.get("type") for a in m.iter("arg") if a.get("direction", "in") == "in"])
                       for m in iface.iter("method")]
            writable = [(p.get("name"), p.get("type")) for p in iface.iter("property") if p.get("access") == "readwrite"]
            found[iface.get("name")] = (methods, writable)
    return found


def documented_errors():
    text = open(os.path.join(ROOT, "docs", "dbus-api.md"), encoding="utf-8").read()
    section = text[text.index("## Errors"):]
    names = {PREFIX + "Error." + n for n in re.findall(r"`([A-Z][A-Za-z]+)`", section.split("\n\n")[1])}
    names |= {"org.freedesktop.DBus.Error." + n for n in
              ("InvalidArgs", "UnknownMethod", "UnknownObject", "UnknownInterface", "UnknownProperty",
               "PropertyReadOnly", "LimitsExceeded")}
    return names


# -- values by signature ---------------------------------------------------------------

NEAR_VALID_STRINGS = ["", "near-me", "internet", "all", "anyone", "contacts", "nobody", "online", "busy", "away",
                      "idle", "offline", "org.example.App", "org.example.Chat", "a", "o1", "x" * 128, "x" * 129,
                      "peercollab:aaaa@192.0.2.1:1", "peercollab:", "192.0.2.1", "::1", "[::1]", "host.example",
                      "\u200bAda", "Ada\u202eevil", "\x07bell", "é" * 200, "..", "../../etc/passwd",
                      "BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n", "😀" * 300, "x" * 1025]


def text_values():
    # D-Bus strings hold no NUL: a message with one is malformed, and the bus drops the sender.
    return st.one_of(st.sampled_from(NEAR_VALID_STRINGS), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300),
                     st.integers(0, 300_000).map(lambda n: "y" * n))


def value(sig, paths):
    """A hypothesis strategy for one complete D-Bus type `sig`, as jeepney takes it."""
    if sig == "s":
        return text_values()
    if sig == "o":
        return st.one_of(st.sampled_from(paths or [BASE]), st.sampled_from(["/", BASE + "/peer/x", BASE + "/contact/_", "/a/b"]))
    if sig == "b":
        return st.booleans()
    if sig == "q":
        return st.integers(0, 0xFFFF)
    if sig == "u":
        return st.one_of(st.integers(0, 4000), st.integers(0, 0xFFFFFFFF))
    if sig == "t":
        return st.integers(0, 2**64 - 1)
    if sig == "i":
        return st.integers(-2**31, 2**31 - 1)
    if sig == "ay":
        return st.one_of(st.binary(max_size=2048), st.integers(0, 70 * 1024).map(lambda n: bytes(n)),
                         st.just(bytes(300 * 1024)))
    if sig == "as":
        return st.lists(text_values(), max_size=8)
    if sig == "a{sv}":
        variant = st.one_of(st.tuples(st.just("s"), text_values()), st.tuples(st.just("u"), st.integers(0, 2**32 - 1)),
                            st.tuples(st.just("ay"), st.binary(max_size=256)), st.tuples(st.just("b"), st.booleans()))
        keys = st.one_of(st.sampled_from(["name", "description", "exec", "desktop-id", "data", "scope", "bogus"]),
                         st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20))
        return st.dictionaries(keys, variant, max_size=6)
    if sig == "v":
        return st.one_of(st.tuples(st.just("s"), text_values()), st.tuples(st.just("b"), st.booleans()),
                         st.tuples(st.just("u"), st.integers(0, 2**32 - 1)), st.tuples(st.just("as"), st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10), max_size=3)))
    if sig == "a(sq)":
        return st.lists(st.tuples(text_values(), st.integers(0, 0xFFFF)), max_size=4)
    raise ValueError("no strategy for signature " + sig)


WRONG = [("i", (7,)), ("ss", ("a", "b")), ("", ()), ("ay", (b"\x01",)), ("u", (1,)), ("as", (["a"],))]

# -- processes ---------------------------------------------------------------------------


class Lab:
    """Two namespaces on one veth link, a private bus and a daemon in each."""

    def __init__(self, folder):
        self.folder = folder
        self.tag = "pcfz%d" % (os.getpid() % 100000)
        self.namespaces = [self.tag + "a", self.tag + "b"]
        self.processes = []
        for ns in self.namespaces:
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", self.namespaces[0], "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
             "netns", self.namespaces[1]])
        self.addresses = ["192.0.2.1", "192.0.2.2"]
        for ns, address in zip(self.namespaces, self.addresses):
            run(["ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self.buses = [self.bus(i) for i in range(2)]
        self.daemons = [self.daemon(i) for i in range(2)]

    def bus(self, index):
        services = os.path.join(self.folder, "services%d" % index)
        os.makedirs(services)
        socket = os.path.join(self.folder, "bus%d" % index)
        config = os.path.join(self.folder, "session%d.conf" % index)
        with open(config, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<servicedir>{services}</servicedir>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>""")
        process = subprocess.Popen(["dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile"])
        self.processes.append(process)
        deadline = time.monotonic() + 10
        while not os.path.exists(socket):
            if time.monotonic() > deadline:
                sys.exit("dbus-fuzz: the private bus did not start")
            time.sleep(0.05)
        return "unix:path=" + socket

    def daemon(self, index):
        binary = os.environ.get("PEERCOLLABD", os.path.join(ROOT, ".build", "debug", "peercollabd"))
        home = os.path.join(self.folder, "home%d" % index)
        log = open(os.path.join(self.folder, "daemon%d.log" % index), "w")
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespaces[index], binary, "--bus", self.buses[index],
             "--config-dir", home + "/config", "--data-dir", home + "/data", "--port", "0",
             "--interfaces", "eth0", "--discovery", "builtin"],
            stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def log(self, index):
        with open(os.path.join(self.folder, "daemon%d.log" % index), errors="replace") as f:
            return f.read()[-4000:]

    def close(self):
        for process in reversed(self.processes):
            process.send_signal(signal.SIGKILL)
            process.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def run(command):
    subprocess.run(command, check=True)


class Client:
    def __init__(self, address):
        # With descriptor passing, as every real client of OpenChannel has: the bus drops a
        # reply carrying a descriptor to a connection that did not negotiate it.
        self.connection = open_dbus_connection(bus=address, enable_fds=True)

    def call(self, path, interface, member, signature="", body=(), timeout=5.0):
        """(ok, error name or None, body)."""
        message = new_method_call(DBusAddress(path, bus_name=SERVICE, interface=interface), member, signature, body)
        reply = self.connection.send_and_get_reply(message, timeout=timeout)
        if reply.header.message_type == MessageType.error:
            return False, reply.header.fields.get(HeaderFields.error_name), reply.body
        for item in reply.body:
            if isinstance(item, FileDescriptor):
                item.close()  # a channel's socket: closing it ends the channel, as an application would
        return True, None, reply.body

    def must(self, path, interface, member, signature="", body=(), timeout=30.0):
        ok, error, reply = self.call(path, interface, member, signature, body, timeout)
        if not ok:
            raise RuntimeError(f"{member}: {error}: {reply}")
        return reply

    def objects(self):
        (objects,) = self.must(BASE, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        return {path: set(ifaces) for path, ifaces in objects.items()}

    def manager(self, name):
        (variant,) = self.must(BASE, "org.freedesktop.DBus.Properties", "Get", "ss", (PREFIX + "Manager", name))
        return variant[1]


def wait_serving(client_address, index, lab):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            client = Client(client_address)
            client.must(BASE, "org.freedesktop.DBus.Peer", "Ping", timeout=2)
            return client
        except Exception:
            if lab.daemons[index].poll() is not None:
                sys.exit("dbus-fuzz: a daemon exited at start:\n" + lab.log(index))
            time.sleep(0.1)
    sys.exit("dbus-fuzz: a daemon never served:\n" + lab.log(index))


def seed(clients, lab):
    """Every object kind on both sides: Peer, Contact, Application, objects, invitations both ways."""
    a, b = clients
    for client in clients:
        client.call(BASE, PREFIX + "Manager", "SignIn", "s", ("internet",), timeout=30)
        client.call(BASE, PREFIX + "Manager", "RegisterApplication", "sa{sv}", ("org.example.Board", {"name": ("s", "Board")}))
        client.call(BASE, PREFIX + "Manager", "SetObject", "say", ("seed", b"seed"))
    peers = []
    for me, other, address in ((a, b, lab.addresses[1]), (b, a, lab.addresses[0])):
        name = other.manager("PeerName")
        port = other.manager("Endpoints")[0][1]
        ok, error, reply = me.call(BASE, PREFIX + "Manager", "Connect", "s", (f"peercollab:{name}@{address}:{port}",), timeout=30)
        peers.append(reply[0] if ok else None)
    ok, _, card = b.call(BASE, PREFIX + "Manager", "GetContactCard")
    if ok:
        a.call(BASE, PREFIX + "Manager", "AddContact", "s", (card[0],))
    for client, peer in zip(clients, peers):
        if peer:
            client.call(BASE, PREFIX + "Manager", "Invite", "ossayu", (peer, "org.example.Board", "seed", b"", 3600))


def resources(pid):
    """(RSS KiB, open descriptors) of the peercollabd running in an `ip netns exec` child."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    target = children[0] if children else str(pid)
    with open(f"/proc/{target}/status") as f:
        rss = int(next(line for line in f if line.startswith("VmRSS:")).split()[1])
    return rss, len(os.listdir(f"/proc/{target}/fd"))


def main():
    if os.geteuid() != 0:
        print("dbus-fuzz: skipped: needs root to make network namespaces")
        return 0
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else float(os.environ.get("PEERCOLLAB_DBUS_FUZZ_SECONDS", "60"))
    api = interfaces()
    errors = documented_errors()
    folder = tempfile.mkdtemp(prefix="dbus-fuzz-")
    lab = Lab(folder)
    findings = []
    calls = 0
    seen_errors = {}
    try:
        clients = [wait_serving(bus, i, lab) for i, bus in enumerate(lab.buses)]
        seed(clients, lab)
        kinds = [sorted({i.rsplit(".", 1)[-1] for ifaces in c.objects().values() for i in ifaces if i.startswith(PREFIX)})
                 for c in clients]
        for i, want in enumerate([{"Peer", "Contact", "Application", "Invitation"}, {"Peer", "Application", "Invitation"}]):
            if not want <= set(kinds[i]):
                sys.exit(f"dbus-fuzz: seeding daemon {i} left it with only {kinds[i]}\n{lab.log(i)}")
        print(f"dbus-fuzz: seeded {kinds}")
        started = time.monotonic()
        batch = 0
        while time.monotonic() - started < seconds and not findings:
            batch += 1
            index = batch % 2
            objects = clients[index].objects()
            by_interface = {}
            for path, ifaces in objects.items():
                for iface in ifaces:
                    by_interface.setdefault(iface, []).append(path)
            by_interface[PREFIX + "Manager"] = [BASE]
            all_paths = sorted(objects) + [BASE]
            targets = []
            for iface, (methods, writable) in api.items():
                for path in by_interface.get(iface, []):
                    targets += [("method", path, iface, name, sigs) for name, sigs in methods]
                    targets += [("property", path, iface, name, [sig]) for name, sig in writable]

            # Generation only: a daemon's state moves on between calls, so replaying or
            # shrinking an example would not meet the same daemon; findings carry the call.
            @settings(max_examples=60, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(st.data())
            def one_call(data):
                nonlocal calls
                kind, path, iface, member, sigs = data.draw(st.sampled_from(targets))
                if data.draw(st.integers(0, 9)) == 0:
                    # A property's value is one complete type (a variant of "ss" is malformed).
                    signature, body = data.draw(st.sampled_from([w for w in WRONG if kind == "method" or len(w[1]) == 1]))
                    expected_invalid = signature != "".join(sigs)
                else:
                    signature = "".join(sigs)
                    body = tuple(data.draw(value(sig, all_paths)) for sig in sigs)
                    expected_invalid = False
                if kind == "property":
                    call = (path, "org.freedesktop.DBus.Properties", "Set", "ssv", (iface, member, (signature or "s", body[0] if body else "")))
                else:
                    call = (path, iface, member, signature, body)
                calls += 1
                try:
                    ok, error, reply = clients[index].call(*call, timeout=5.0)
                except (ConnectionResetError, BrokenPipeError) as error:
                    findings.append(f"the bus dropped the fuzzer's connection ({error!r}) on {iface}.{member} at {path}, "
                                    f"signature {signature!r}, body {repr(body)[:400]}")
                    clients[index] = Client(lab.buses[index])
                    return
                except TimeoutError:
                    if member not in SLOW:
                        findings.append(f"no reply within 5 s: {iface}.{member} at {path}, signature {signature!r}")
                    return
                if not ok:
                    seen_errors[error] = seen_errors.get(error, 0) + 1
                    if error not in errors:
                        findings.append(f"undocumented error {error} from {iface}.{member} at {path} "
                                        f"(signature {signature!r}, body {repr(body)[:300]}): {repr(reply)[:300]}")
                elif expected_invalid and kind == "method":
                    findings.append(f"{iface}.{member} accepted the wrong signature {signature!r}")

            one_call()
            for i, c in enumerate(clients):
                try:
                    c.must(BASE, "org.freedesktop.DBus.Peer", "Ping", timeout=5)
                except Exception as error:
                    findings.append(f"daemon {i} does not answer Ping after batch {batch}: {error}\n{lab.log(i)}")
                    continue
                rss, fds = resources(lab.daemons[i].pid)
                if rss > RSS_LIMIT_KIB or fds > FD_LIMIT:
                    findings.append(f"daemon {i} after batch {batch}: RSS {rss} KiB, {fds} descriptors (bounds {RSS_LIMIT_KIB} KiB, {FD_LIMIT})")
            if batch % 10 == 0:
                seed(clients, lab)
        figures = [resources(d.pid) for d in lab.daemons]
        print(f"dbus-fuzz: {calls} calls in {batch} batches over {time.monotonic() - started:.0f} s; "
              f"RSS/fds now {figures}; errors seen: " + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(seen_errors.items())))
    finally:
        lab.close()
        shutil.rmtree(folder, ignore_errors=True)
    if findings:
        print("dbus-fuzz: FOUND\n" + "\n".join(findings[:5]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
