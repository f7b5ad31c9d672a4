import Foundation
import Testing

@testable import Discovery

/// What happens when a peer dies without a goodbye, when the link carries hostile packets
/// and when an address is added after start, over real sockets in namespaces.
extension BuiltinMDNSNamespaceTests {
    static let canRunLab = isRoot && childRole == nil

    /// A publisher killed with SIGKILL sends no goodbye; its records (4 s TTL here) expire
    /// and the browser reports it lost.
    @Test(.enabled(if: canRunLab, "needs root and iproute2 for network namespaces"), .timeLimit(.minutes(2)))
    func killedPublisherIsLostWhenItsRecordsExpire() async throws {
        let lab = Lab(tag: "e")
        lab.up()
        defer { lab.down() }
        let publisher = try lab.child(lab.a, role: "publish", interface: "vA", name: "Alice", ttl: 4)
        defer { publisher.stop(signal: SIGKILL) }
        let browser = try lab.child(lab.b, role: "browse", interface: "vB")
        defer { browser.stop(signal: SIGKILL) }
        #expect(await browser.waitFor("found Alice", seconds: 60) != nil, "the browser never found the publisher:\n\(browser.transcript)")
        #expect(await publisher.waitFor("announced", seconds: 10) != nil)

        let killedAt = Date()
        publisher.stop(signal: SIGKILL)
        let lost = await browser.waitFor("lost Alice", seconds: 20)
        #expect(lost != nil, "a publisher that died without a goodbye was never reported lost:\n\(browser.transcript)")
        #expect(await publisher.waitFor("withdrawn", seconds: 0.1) == nil, "the publisher said goodbye, so this tests nothing")
        if let lost { print("measured: SIGKILL to lost with 4 s TTLs \(Int(lost.0.timeIntervalSince(killedAt) * 1000)) ms") }
    }

    /// Sends malformed and hostile mDNS traffic from B: pointer loops, forward pointers,
    /// huge counts, truncated packets, random bytes, 1,000 fake services and a flood of
    /// 5,000 packets. The backend in A keeps answering and browsing, and its memory stays
    /// bounded.
    @Test(
        .enabled(if: canRunLab, "needs root and iproute2 for network namespaces"),
        .enabled(if: BuiltinMDNSLab.hasZeroconf, "needs python3 with zeroconf"), .timeLimit(.minutes(3)))
    func survivesHostilePacketsOnTheLink() async throws {
        let lab = Lab(tag: "h")
        lab.up()
        defer { lab.down() }
        let target = try lab.child(lab.a, role: "publish-browse", interface: "vA", name: "Alice")
        defer { target.stop(signal: SIGKILL) }
        #expect(await target.waitFor("announced", seconds: 60) != nil, "the backend never finished announcing:\n\(target.transcript)")
        let before = target.residentKiB

        let hostile = try BuiltinMDNSLab.Child(["ip", "netns", "exec", lab.b, "python3", "-c", Self.hostileScript], mergeErrors: true)
        defer { hostile.stop(signal: SIGKILL) }
        let done = await hostile.waitFor("hostile done", seconds: 120)
        #expect(done != nil, "the hostile sender did not finish:\n\(hostile.transcript)")
        // Let the backend work through what is queued before measuring.
        try await Task.sleep(nanoseconds: 2_000_000_000)
        let after = target.residentKiB
        #expect(kill(target.pid, 0) == 0, "the backend died under hostile packets:\n\(target.transcript)")

        // Still answering (python-zeroconf in B finds it) and still browsing (it finds Zed).
        let zeroconf = try lab.zeroconf(lab.b, address: "192.0.2.2", publish: "Zed", port: 4646, seconds: 60)
        defer { zeroconf.stop() }
        #expect(await zeroconf.waitFor("zeroconf found Alice", "'pn': 'Alice'", seconds: 30) != nil, "after the hostile packets the backend no longer answers:\n\(zeroconf.transcript)")
        #expect(await target.waitFor("found Zed ", seconds: 30) != nil, "after the hostile packets the backend no longer browses:\n\(target.transcript)")

        if let before, let after {
            print("measured: backend RSS \(before / 1024) MiB before, \(after / 1024) MiB after \(done?.1.split(separator: " ").last ?? "?") hostile packets")
            // Loose: the fake services fill at most the bounded cache (4,096 records).
            #expect(after - before < 64 * 1024, "memory grew by \((after - before) / 1024) MiB under hostile packets")
        }
    }

    /// An address added to the interface after start is announced (netlink tells the
    /// backend), so the browser on the other side sees the service at it.
    @Test(.enabled(if: canRunLab, "needs root and iproute2 for network namespaces"), .timeLimit(.minutes(2)))
    func addressAddedAfterStartIsAnnounced() async throws {
        let lab = Lab(tag: "n")
        lab.up()
        defer { lab.down() }
        let publisher = try lab.child(lab.a, role: "publish", interface: "vA", name: "Alice")
        defer { publisher.stop(signal: SIGKILL) }
        let browser = try lab.child(lab.b, role: "browse", interface: "vB")
        defer { browser.stop(signal: SIGKILL) }
        #expect(await browser.waitFor("found Alice", seconds: 60) != nil, "the browser never found the publisher")
        #expect(await browser.waitFor("found Alice", "192.0.2.11", seconds: 0.1) == nil)

        BuiltinMDNSLab.run(["ip", "-n", lab.a, "addr", "add", "192.0.2.11/24", "dev", "vA"])
        let moved = await browser.waitFor("found Alice", "192.0.2.11", seconds: 20)
        #expect(moved != nil, "the address added after start was never announced:\n\(browser.transcript)")
        #expect(moved?.1.contains("\"192.0.2.1\"") == true, "the first address was dropped: \(moved?.1 ?? "")")
    }

    /// Python, in B: hostile packets to 224.0.0.251:5353 from port 5353 (so responses count).
    static let hostileScript = #"""
        import os, random, socket, struct, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        s.bind(("192.0.2.2", 5353))
        dst = ("224.0.0.251", 5353)
        rng = random.Random(6762)
        sent = 0
        def send(b):
            global sent
            s.sendto(b, dst); sent += 1
            if sent % 200 == 0: time.sleep(0.01)
        def name(*labels):
            return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
        def header(flags, qd, an, ns, ar):
            return struct.pack("!HHHHHH", 0, flags, qd, an, ns, ar)
        # A name pointing at itself, and two pointing at each other.
        send(header(0x8400, 0, 1, 0, 0) + b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 120, 2) + b"\xc0\x0c")
        send(header(0, 1, 0, 0, 0) + b"\xc0\x0e\xc0\x0c" + struct.pack("!HH", 12, 1))
        # A forward pointer, counts far beyond the packet, truncated records and rdata.
        send(header(0, 1, 0, 0, 0) + b"\xc0\x20" + struct.pack("!HH", 12, 1) + b"\0" * 20)
        send(header(0x8400, 0xffff, 0xffff, 0xffff, 0xffff))
        ptr = name(b"_peercollab", b"_tcp", b"local")
        send(header(0x8400, 0, 1, 0, 0) + ptr + struct.pack("!HHIH", 12, 1, 120, 400) + b"\x05abc")
        send(header(0x8400, 0, 1, 0, 0) + ptr + struct.pack("!H", 12))
        # Labels of 64+ bytes, a name of 300 bytes, a compression chain of 200 hops.
        send(header(0, 1, 0, 0, 0) + b"\x50" + b"a" * 80 + b"\0" + struct.pack("!HH", 12, 1))
        send(header(0, 1, 0, 0, 0) + b"".join(b"\x3f" + b"b" * 63 for _ in range(5)) + b"\0" + struct.pack("!HH", 12, 1))
        chain = bytearray(header(0, 1, 0, 0, 0) + b"\x01x\0")
        for i in range(200):
            chain += struct.pack("!H", 0xc000 | (12 if i == 0 else len(chain) - 2))
        send(bytes(chain) + struct.pack("!HH", 12, 1))
        # Random bytes of every size, and random bytes behind a valid header.
        for i in range(1500):
            send(os.urandom(rng.randrange(0, 1500)))
        for i in range(1500):
            send(header(rng.choice([0, 0x8400]), rng.randrange(4), rng.randrange(8), 0, rng.randrange(8)) + os.urandom(rng.randrange(0, 600)))
        # 1,000 fake services with SRV, TXT and an address: more than the browser tracks.
        for i in range(1000):
            inst = name(b"fake%d" % i, b"_peercollab", b"_tcp", b"local")
            host = name(b"fakehost%d" % i, b"local")
            srv = struct.pack("!HHH", 0, 0, 1000 + i) + host
            txt = b"\x04v=1\x0apn=fake%03d" % (i % 1000)
            body = ptr + struct.pack("!HHIH", 12, 1, 120, len(inst)) + inst
            body += inst + struct.pack("!HHIH", 33, 0x8001, 120, len(srv)) + srv
            body += inst + struct.pack("!HHIH", 16, 0x8001, 120, len(txt)) + txt
            body += host + struct.pack("!HHIH", 1, 0x8001, 120, 4) + bytes([192, 0, 2, 100 + i % 100])
            send(header(0x8400, 0, 4, 0, 0) + body)
        # The flood: 5,000 queries for our type with junk known answers.
        for i in range(5000):
            send(header(0, 1, 1, 0, 0) + ptr + struct.pack("!HH", 12, 1) + b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 4500, 4) + os.urandom(4))
        print("hostile done", sent, flush=True)
        """#
}
