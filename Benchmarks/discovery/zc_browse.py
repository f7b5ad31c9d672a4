"""Cold-cache python-zeroconf browse for one _peercollab._tcp instance, timed.

    python3 zc_browse.py IPV4 INSTANCE [TIMEOUT_S]

The clock starts after the imports, just before Zeroconf() opens its sockets (as SignIn is
where the daemon's backend starts browsing), and stops when INSTANCE is found (PTR) and
when it is resolved (SRV, TXT and an address). Prints one JSON line.
"""
import json
import sys
import threading
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

TYPE = "_peercollab._tcp.local."


def main() -> int:
    address, instance = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    wanted = f"{instance}.{TYPE}"
    found = threading.Event()
    result: dict = {}
    start = time.monotonic()
    zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added and name == wanted and not found.is_set():
            result["found_ms"] = (time.monotonic() - start) * 1000
            found.set()

    browser = ServiceBrowser(zc, TYPE, handlers=[on_change])
    try:
        if not found.wait(timeout):
            print(json.dumps({"error": f"{wanted} not found within {timeout} s"}))
            return 1
        info = zc.get_service_info(TYPE, wanted, timeout=int(timeout * 1000))
        if info is None or not info.addresses or b"pn" not in info.properties:
            print(json.dumps({"error": f"{wanted} did not resolve", **result}))
            return 1
        result["ms"] = (time.monotonic() - start) * 1000
        print(json.dumps(result))
        return 0
    finally:
        browser.cancel()
        zc.close()


if __name__ == "__main__":
    sys.exit(main())
