"""Announces COUNT _peercollab._tcp services with valid-looking peer names nobody can prove.

    python3 zc_announce.py IPV4 PORT COUNT SECONDS

Each service claims a fresh random peer name (20 random bytes in the peer-name base32 form
with its check symbol, so the daemon's parser accepts it) at IPV4:PORT, where nothing is meant
to listen: a daemon that dials them is refused. Prints "ANNOUNCED <n> <seconds>" once all are
registered, keeps them for SECONDS (bounded), then unregisters them (goodbyes) and exits.
"""
import asyncio
import os
import socket
import sys
import time

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def times_alpha(value: int) -> int:
    shifted = value << 1
    return shifted ^ 0x25 if shifted & 0x20 else shifted


def peer_name(data: bytes) -> str:
    """The canonical text of a peer name carrying these 20 bytes (see PeerName.swift)."""
    bits = int.from_bytes(data, "big")
    symbols = [(bits >> (5 * (31 - i))) & 31 for i in range(32)]
    fold = 0
    for symbol in symbols:
        fold = times_alpha(fold) ^ symbol
    symbols.append(times_alpha(fold))
    return "".join(ALPHABET[s] for s in symbols)


async def main() -> int:
    address, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    azc = AsyncZeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
    infos = []
    for index in range(count):
        name = peer_name(os.urandom(20))
        infos.append(ServiceInfo(
            "_peercollab._tcp.local.", f"{name}._peercollab._tcp.local.",
            addresses=[socket.inet_aton(address)], port=port,
            properties={"v": "1", "pn": name, "dn": f"Nobody {index}"}, server=f"bench-{index}.local."))
    start = time.monotonic()
    # Registered together: one by one, each would probe for 750 ms.
    tasks = await asyncio.gather(*(azc.async_register_service(info) for info in infos))
    await asyncio.gather(*tasks)
    print(f"ANNOUNCED {count} {time.monotonic() - start:.2f}", flush=True)
    await asyncio.sleep(seconds)
    await azc.async_unregister_all_services()
    await azc.async_close()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
