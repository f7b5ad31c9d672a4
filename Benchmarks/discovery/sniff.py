"""A tiny packet log for one namespace's eth0 (CAPTURE=1 in run.sh): monotonic ms, addresses,
ports, and for mDNS whether it is a query or a response with its record counts, and for TCP
the flags. For finding where time goes; not part of the figures.

    python3 sniff.py IFACE OUTFILE SECONDS
"""
import socket
import struct
import sys
import time

iface, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.bind((iface, 0))
s.settimeout(0.5)
deadline = time.monotonic() + seconds
with open(out, "w", buffering=1) as f:
    while time.monotonic() < deadline:
        try:
            frame, meta = s.recvfrom(65535)
        except socket.timeout:
            continue
        now = time.monotonic() * 1000
        kind = struct.unpack("!H", frame[12:14])[0]
        if kind == 0x0800:
            ihl = (frame[14] & 15) * 4
            proto, src, dst = frame[23], socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])
            l4 = frame[14 + ihl:]
        elif kind == 0x86DD:
            proto, src, dst = frame[20], socket.inet_ntop(socket.AF_INET6, frame[22:38]), socket.inet_ntop(socket.AF_INET6, frame[38:54])
            l4 = frame[54:]
        else:
            continue
        direction = "out" if meta[2] == socket.PACKET_OUTGOING else "in"
        if proto == 17:
            sport, dport = struct.unpack("!HH", l4[:4])
            text = f"udp {sport}->{dport}"
            if 5353 in (sport, dport):
                flags, qd, an, ns, ar = struct.unpack("!HHHHH", l4[10:20])
                text += f" mdns {'resp' if flags & 0x8000 else 'query'} qd={qd} an={an} ns={ns} ar={ar}"
        elif proto == 6:
            sport, dport, flags = struct.unpack("!HH", l4[:4]) + (l4[13],)
            names = "".join(c for c, bit in zip("FSRPAU", (1, 2, 4, 8, 16, 32)) if flags & bit)
            text = f"tcp {sport}->{dport} [{names}] len={len(l4)}"
        else:
            text = f"proto {proto}"
        f.write(f"{now:.1f} {direction} {src} -> {dst} {text}\n")
