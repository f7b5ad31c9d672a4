#!/usr/bin/env python3
"""Contacts benchmark: what 10,000 contacts cost peercollabd, each figure next to a
yardstick measured in the same run.

    bench.py --daemon PATH/TO/peercollabd --client PATH/TO/contacts-client [--contacts 10000] [--rounds 5] [--out FILE]

The bus calls are made by contacts-client (C, libdbus, one blocking call at a time).

1. Makes N contact cards (Ed25519 keys, self-signed X.509 certificates, peer names derived
   as PeerSecurity does) once, cached in Benchmarks/results/contacts-cards/.
2. Acknowledged writes per second: AddContact for every card, one call at a time over the
   bus (each reply comes after the contact is on disk: WAL, synchronous=FULL). Yardstick:
   the sqlite3 CLI doing the same rows, one transaction each, on a database with the same
   schema and the same pragmas.
   Also Nickname writes (Properties.Set) per second, a smaller row change.
3. GetManagedObjects with N contacts, timed over --rounds calls, against the same call on a
   second daemon with 0 contacts (on the same bus, alternating), and the reply's size.
4. RSS (VmRSS) of a daemon restarted with N contacts (after start, after one
   GetManagedObjects and after all --rounds of them; the peak, VmHWM, during the first),
   against the daemon with 0 contacts; and the time to own the bus name.

Prints a table and writes JSON.
"""
import argparse, base64, datetime, hashlib, json, os, shutil, signal, subprocess, sys, tempfile, time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

SERVICE = "org.peercollab.PeerCollab1"
ROOT = "/org/peercollab/PeerCollab1"
MANAGER = SERVICE + ".Manager"
CONTACT = SERVICE + ".Contact"
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CONTACT_PROPERTIES = 17


def peer_name(spki: bytes) -> str:
    """PeerName.init(publicKeyDER:): 160 bits of SHA-256, base32, one GF(32) check symbol."""
    digest = hashlib.sha256(spki).digest()[:20]
    symbols = [ALPHABET.index(c) for c in base64.b32encode(digest).decode().lower()]

    def alpha(v):
        v <<= 1
        return v ^ 0x25 if v & 0x20 else v

    c = 0
    for s in symbols:
        c = alpha(c) ^ s
    return "".join(ALPHABET[s] for s in symbols) + ALPHABET[alpha(c)]


def fold(line: str) -> str:
    out, width = [], 0
    for ch in line:
        if width + 1 > 75:
            out.append("\r\n ")
            width = 1
        out.append(ch)
        width += 1
    return "".join(out) + "\r\n"


def make_card(index: int):
    key = ed25519.Ed25519PrivateKey.generate()
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    name = peer_name(spki)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, None))
    der = cert.public_bytes(serialization.Encoding.DER)
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"FN:Contact {index}",
             "KEY;MEDIATYPE=application/pkix-cert:data:application/pkix-cert;base64\\," + base64.b64encode(der).decode(),
             f"X-PEERCOLLAB-PEERNAME:{name}", f"X-PEERCOLLAB-ENDPOINT:192.0.2.{1 + index % 250}:4000", "END:VCARD"]
    return name, der, "".join(fold(l) for l in lines)


def cards(folder: str, count: int):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"cards-{count}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    made = []
    for i in range(count):
        name, der, card = make_card(i)
        made.append({"name": name, "der": base64.b64encode(der).decode(), "card": card})
    with open(path + ".tmp", "w") as f:
        json.dump(made, f)
    os.rename(path + ".tmp", path)
    return made


class Bus:
    CONFIG = """<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
<limit name="max_message_size">134217728</limit><limit name="max_incoming_bytes">268435456</limit>
<limit name="max_outgoing_bytes">268435456</limit><limit name="reply_timeout">600000</limit></busconfig>"""

    def __init__(self, folder):
        config = os.path.join(folder, "bus.conf")
        with open(config, "w") as f:
            f.write(self.CONFIG)
        out = subprocess.run(["dbus-daemon", f"--config-file={config}", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.address, self.pid = out[0], int(out[1])

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


class Daemon:
    def __init__(self, binary, client, bus, home):
        self.binary, self.client, self.bus, self.home = binary, client, bus, home
        self.process = None

    def start(self):
        """Starts it; returns the seconds until it owns its name on its bus."""
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        env["PEERCOLLAB_LOG_LEVEL"] = "warning"
        start = time.perf_counter()
        self.log = open(os.path.join(self.home, "daemon.log"), "a")
        self.process = subprocess.Popen(
            [self.binary, "--bus", self.bus.address, "--config-dir", os.path.join(self.home, "config"),
             "--data-dir", os.path.join(self.home, "data"), "--listen", "127.0.0.1", "--port", "0", "--interfaces", "lo"],
            stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 120
        while subprocess.run([self.client, self.bus.address, "owned"]).returncode != 0:
            if self.process.poll() is not None or time.time() > deadline:
                raise SystemExit(f"peercollabd did not start; see {self.home}/daemon.log")
            time.sleep(0.005)
        return time.perf_counter() - start

    def run(self, *arguments):
        """Runs contacts-client against this daemon; returns its output lines, split."""
        out = subprocess.run([self.client, self.bus.address, *arguments], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"contacts-client {arguments[0]} failed: {out.stderr}")
        return [line.split() for line in out.stdout.splitlines()]

    def rss_kib(self, field="VmRSS"):
        """VmRSS now, or VmHWM: the most it ever had resident."""
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


def sqlite_peer(cards_list, folder):
    """The same rows through the sqlite3 CLI: same schema, WAL, synchronous=FULL, one
    transaction per contact (its row and its endpoint), as the daemon writes them."""
    db = os.path.join(folder, "peer.db")
    script = ["PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA foreign_keys=ON;",
              "CREATE TABLE contacts (peer_name TEXT PRIMARY KEY NOT NULL, certificate BLOB NOT NULL, display_name TEXT NOT NULL,"
              " nickname TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '', verified INTEGER NOT NULL,"
              " subscribe_allowed INTEGER NOT NULL, subscribed INTEGER NOT NULL, added INTEGER NOT NULL) WITHOUT ROWID;",
              "CREATE TABLE contact_endpoints (peer_name TEXT NOT NULL REFERENCES contacts(peer_name) ON DELETE CASCADE,"
              " position INTEGER NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL, PRIMARY KEY (peer_name, position)) WITHOUT ROWID;"]
    setup = os.path.join(folder, "setup.sql")
    with open(setup, "w") as f:
        f.write("\n".join(script))
    subprocess.run(["sqlite3", db], stdin=open(setup), check=True, capture_output=True)
    inserts = os.path.join(folder, "inserts.sql")
    with open(inserts, "w") as f:
        f.write("PRAGMA synchronous=FULL;\nPRAGMA foreign_keys=ON;\n")
        for i, c in enumerate(cards_list):
            der_hex = base64.b64decode(c["der"]).hex()
            f.write(f"BEGIN IMMEDIATE;\nINSERT INTO contacts VALUES ('{c['name']}', x'{der_hex}', 'Contact {i}', '', '', 1, 1, 1, {i});\n"
                    f"DELETE FROM contact_endpoints WHERE peer_name = '{c['name']}';\n"
                    f"INSERT INTO contact_endpoints VALUES ('{c['name']}', 0, '192.0.2.{1 + i % 250}', 4000);\nCOMMIT;\n")
    start = time.perf_counter()
    subprocess.run(["sqlite3", db], stdin=open(inserts), check=True, capture_output=True)
    return len(cards_list) / (time.perf_counter() - start)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--daemon", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--nicknames", type=int, default=2000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    results_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")
    all_cards = cards(os.path.join(results_dir, "contacts-cards"), args.contacts)

    scratch = tempfile.mkdtemp(prefix="contacts-bench-")
    buses = []
    try:
        full_home, empty_home = os.path.join(scratch, "full"), os.path.join(scratch, "empty")
        for home in (full_home, empty_home):
            os.makedirs(home)
        # One bus per daemon (both own the same name); each bus is its own dbus-daemon.
        full_bus, empty_bus = Bus(scratch), Bus(scratch)
        buses = [full_bus, empty_bus]
        full = Daemon(args.daemon, args.client, full_bus, full_home)
        empty = Daemon(args.daemon, args.client, empty_bus, empty_home)
        full.start()
        empty.start()

        # 2. Acknowledged writes.
        card_file = os.path.join(scratch, "cards")
        with open(card_file, "w") as f:
            f.write("".join(c["card"] + "\0" for c in all_cards))
        calls, seconds = full.run("add", card_file)[0]
        add_rate = int(calls) / float(seconds)
        calls, seconds = full.run("nick", f"{ROOT}/contact/{all_cards[0]['name']}", str(args.nicknames))[0]
        nick_rate = int(calls) / float(seconds)
        peer_dir = os.path.join(scratch, "sqlite")
        os.makedirs(peer_dir)
        sqlite_rate = sqlite_peer(all_cards, peer_dir)

        # 4 (first half). Restart with N contacts: start time and RSS, next to the empty one.
        full.stop()
        empty.stop()
        full_start = full.start()
        empty_start = empty.start()
        time.sleep(2)
        rss_full, rss_empty = full.rss_kib(), empty.rss_kib()

        # 3. GetManagedObjects, alternating between the two daemons.
        times_full, times_empty = [], []
        count = reply_bytes = 0
        rss_full_after_one = peak_full_after_one = None
        for _ in range(args.rounds):
            _, seconds, objects, size = full.run("gmo", "1")[0]
            times_full.append(float(seconds))
            count, reply_bytes = int(objects), int(size)
            if rss_full_after_one is None:
                time.sleep(1)
                rss_full_after_one, peak_full_after_one = full.rss_kib(), full.rss_kib("VmHWM")
            _, seconds, _, _ = empty.run("gmo", "1")[0]
            times_empty.append(float(seconds))
        # The same machinery on one object: the Manager's GetAll, per property.
        calls, seconds, manager_properties = empty.run("getall", "2000")[0]
        getall_us_per_property = float(seconds) / int(calls) / int(manager_properties) * 1e6
        time.sleep(1)
        rss_full_after = full.rss_kib()
        full.stop()
        empty.stop()

        result = {
            "contacts": args.contacts, "contacts_exported": count,
            "add_contact_per_s": round(add_rate, 1), "nickname_set_per_s": round(nick_rate, 1),
            "sqlite3_cli_same_rows_per_s": round(sqlite_rate, 1),
            "get_managed_objects_ms_p50": round(percentile(times_full, 50) * 1000, 1),
            "get_managed_objects_ms_max": round(max(times_full) * 1000, 1),
            "get_managed_objects_empty_ms_p50": round(percentile(times_empty, 50) * 1000, 2),
            "get_managed_objects_us_per_contact": round((percentile(times_full, 50) - percentile(times_empty, 50)) / args.contacts * 1e6, 1),
            "get_managed_objects_us_per_property": round((percentile(times_full, 50) - percentile(times_empty, 50)) / args.contacts / CONTACT_PROPERTIES * 1e6, 2),
            "manager_getall_us_per_property": round(getall_us_per_property, 2),
            "get_managed_objects_reply_bytes": reply_bytes,
            "rss_kib_with_contacts": rss_full, "rss_kib_with_contacts_after_one_get": rss_full_after_one,
            "rss_kib_with_contacts_after_get": rss_full_after, "rss_kib_empty": rss_empty,
            "rss_kib_peak_during_one_get": peak_full_after_one,
            "rss_bytes_per_contact": round((rss_full_after - rss_empty) * 1024 / args.contacts),
            "start_to_name_s_with_contacts": round(full_start, 3), "start_to_name_s_empty": round(empty_start, 3),
        }
        rows = [
            ("AddContact, acknowledged (per s)", result["add_contact_per_s"], f"sqlite3 CLI, same rows: {result['sqlite3_cli_same_rows_per_s']}"),
            ("Nickname Set, acknowledged (per s)", result["nickname_set_per_s"], ""),
            (f"GetManagedObjects, {count} objects (ms, p50)", result["get_managed_objects_ms_p50"], f"0 contacts: {result['get_managed_objects_empty_ms_p50']} ms"),
            ("  per contact (µs)", result["get_managed_objects_us_per_contact"], ""),
            ("  per property (µs)", result["get_managed_objects_us_per_property"], f"Manager GetAll, per property: {result['manager_getall_us_per_property']} µs"),
            ("  reply size (bytes)", result["get_managed_objects_reply_bytes"], ""),
            (f"RSS with {args.contacts} contacts (KiB)", f"{rss_full} / {rss_full_after_one} / {rss_full_after}",
             f"after start / 1 Get / {args.rounds} Gets; 0 contacts: {rss_empty} KiB"),
            ("  peak during the first Get (VmHWM, KiB)", result["rss_kib_peak_during_one_get"], ""),
            ("  per contact (bytes)", result["rss_bytes_per_contact"], ""),
            ("start to bus name (s)", result["start_to_name_s_with_contacts"], f"0 contacts: {result['start_to_name_s_empty']} s"),
        ]
        for what, value, yardstick in rows:
            print(f"{what:<46} {str(value):<28} {yardstick}")
        out = args.out or os.path.join(results_dir, "contacts.json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
    finally:
        for daemon in (locals().get("full"), locals().get("empty")):
            if daemon:
                daemon.stop()
        for bus in buses:
            bus.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
