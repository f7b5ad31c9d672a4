import DBus
import PeerSecurity
import Foundation
import Testing
import TestSupport

/// Neighbours on the link who hold no key: what they announce is a claim, and no claim
/// may end, replace or block a session the channel proved.
@Suite(.enabled(if: NetworkLab.isAvailable && PeopleNearMeTests.zeroconfAvailable, "needs root, iproute2 and python3 with zeroconf"))
struct HostileNeighbourTests {
    /// Host 2 announces A's peer name under its own instance name and withdraws it with an
    /// mDNS goodbye: B checks its session with A, A answers, and B keeps showing A.
    @Test func aWithdrawnForgedAnnouncementTearsDownNoProvedSession() async throws {
        let lab = try NetworkLab(hosts: 3)
        try await lab.withLogs {
            let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me")
            let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me")
            let nameA = try await a.peerName
            _ = try await b.waitForPeers("B finds A") { $0.values.contains { $0["PeerName"]?.stringValue == nameA } }
            let script = """
                import socket, time
                from zeroconf import Zeroconf, ServiceInfo, IPVersion
                zc = Zeroconf(interfaces=["\(lab.ipv4(2))"], ip_version=IPVersion.V4Only)
                info = ServiceInfo("_peercollab._tcp.local.", "mallory._peercollab._tcp.local.",
                    addresses=[socket.inet_aton("\(lab.ipv4(2))")], port=9,
                    properties={"v": "1", "pn": "\(nameA)", "dn": "Not Really A"}, server="mallory.local.")
                zc.register_service(info)
                time.sleep(3)
                zc.unregister_service(info)
                zc.close()
                print("withdrawn", flush=True)
                """
            let output = try await lab.run(on: 2, "/usr/bin/env", ["python3", "-c", script], timeout: .seconds(30))
            #expect(output.standardOutput.contains("withdrawn"), "\(output.standardError)")
            // For 6 s after the goodbye (twice the 3 s B gives its session to answer the
            // check the hint starts), B keeps showing A at every look, and A keeps B.
            let until = ContinuousClock.now + .seconds(6)
            while ContinuousClock.now < until {
                let shown = try await b.peers().values.contains { $0["PeerName"]?.stringValue == nameA }
                try #require(shown, "B dropped A on a withdrawn claim:\n\(b.daemon.log)")
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(b.daemon.log.contains("An announcement of a connected peer was withdrawn"), "the goodbye never reached B")
            #expect(!b.daemon.log.contains("Peer left"), "\(b.daemon.log)")
            #expect(try await a.peers().count == 1)
        }
    }
}

/// Sockets that connect and say nothing, all from one host, must not keep other peers out.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct SilentSocketFloodTests {
    @Test func sixtyFourSilentSocketsFromOneHostLeaveRoomForARealPeer() async throws {
        let lab = try NetworkLab(hosts: 3)
        try await lab.withLogs {
            let a = try await LabDaemon(lab: lab, host: 0, signIn: "internet")
            let b = try await LabDaemon(lab: lab, host: 1, signIn: "internet")
            let portB = try await b.port
            // Host 2 opens 64 connections to B and holds them silent (bounded: 9 s, below B's
            // 10 s deadline, so the places are still held while A connects).
            let script = """
                import socket, sys, time
                held = []
                for _ in range(64):
                    try:
                        held.append(socket.create_connection(("\(lab.ipv4(1))", \(portB)), timeout=2))
                    except OSError:
                        pass
                print("holding", len(held), flush=True)
                time.sleep(9)
                for s in held: s.close()
                """
            let command = lab.prefix(2) + ["/usr/bin/env", "python3", "-u", "-c", script]
            let flood = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            defer { flood.signal(SIGKILL) }
            let held = flood.readStandardOutput(until: .now + .seconds(8)) { $0.range(of: #"holding \d+\n"#, options: .regularExpression) != nil }
            #expect(held.contains("holding 64"), "the flood did not open its sockets: \(held)")
            // While they are held, A reaches B by its link.
            let path = try await a.connect(try await b.link())
            #expect(path.rawValue.hasSuffix(try await b.peerName))
            #expect(b.daemon.log.contains("Too many connections are still handshaking"), "B never refused the flood:\n\(b.daemon.log)")
            // 56 refusals, one line for the first and one summing up the rest.
            try await eventually(within: .seconds(15), "B sums up the dropped connections") {
                b.daemon.log.contains("more peer connections from 1 addresses in the last 10 s") ? true : nil
            }
            #expect(b.daemon.log.components(separatedBy: "Too many connections are still handshaking").count - 1 == 1, "\(b.daemon.log)")
            // And Diagnose says so to whoever asks later, with what to do.
            let refusals = try #require(try await AutoDiscoveryLabTests.checks(b).checks["peer connections"])
            #expect(!refusals.ok && refusals.detail.contains("56 connections dropped while 64 were handshaking"), "\(refusals)")
        }
    }
}

/// With every descriptor in use, the listener's accept fails: the daemon must wait between
/// tries instead of spinning on accept4, say so once, and serve on.
@Suite struct DescriptorExhaustionTests {
    /// User and system CPU time of a process, in clock ticks (/proc/PID/stat fields 14, 15).
    func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return Int(fields[11])! + Int(fields[12])!
    }

    @Test func runningOutOfDescriptorsBacksOffAndIsLoggedOnce() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        // 40 descriptors: the idle daemon uses about 20; handshakes from many addresses take
        // the rest (one address alone gets 8 places, so the flood comes from 8 of them).
        let daemon = try DaemonProcess(
            bus: bus, extraArguments: ["--interfaces", "lo"], prefix: ["/usr/bin/prlimit", "--nofile=40:40", "--"])
        defer { daemon.signal(SIGKILL) }
        try await daemon.waitUntilServing(client)
        _ = try await client.managerCall("SignIn", [.string("internet")])
        let port = try #require(try await client.managerProperty("Endpoints").arrayElements?.first?.structureFields?[1].uint16Value)
        let script = """
            import socket, time
            held = []
            for source in range(2, 10):
                for _ in range(8):
                    try:
                        held.append(socket.create_connection(("127.0.0.1", \(port)), timeout=2, source_address=("127.0.0.%d" % source, 0)))
                    except OSError:
                        pass
            print("holding", len(held), flush=True)
            time.sleep(8)
            for s in held: s.close()
            """
        let flood = try Subprocess("/usr/bin/env", ["python3", "-u", "-c", script], captureOutput: true)
        defer { flood.signal(SIGKILL) }
        let held = flood.readStandardOutput(until: .now + .seconds(8)) { $0.range(of: #"holding \d+\n"#, options: .regularExpression) != nil }
        #expect(held.contains("holding"), "\(held)")
        try await eventually("the daemon meets the limit") { daemon.log.contains("Failed to accept a peer connection") ? true : nil }
        // Three seconds of the limit held: a spinning accept loop burns them all.
        let before = try cpuTicks(daemon.pid)
        try await Task.sleep(for: .seconds(3))
        let spent = try cpuTicks(daemon.pid) - before
        let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))
        #expect(spent < ticksPerSecond, "the daemon spent \(spent) ticks in 3 s at the descriptor limit")
        #expect(daemon.log.components(separatedBy: "Failed to accept a peer connection").count - 1 == 1, "\(daemon.log)")
        let refusals = try #require(try await DamagedSetupTests.checks(client)["peer connections"])
        #expect(!refusals.ok && refusals.detail.contains("failed accepts (latest:"), "\(refusals)")
        // It serves on the bus all the while, and takes peers again once descriptors are free.
        #expect(try await client.managerProperty("Version").stringValue?.isEmpty == false)
        flood.signal(SIGKILL)
        let peerName = try #require(try await client.managerProperty("PeerName").stringValue)
        var reached: TestPeer?
        for _ in 0..<40 where reached == nil {
            reached = try? await TestPeer(dialing: "127.0.0.1", port: port, expecting: peerName)
            if reached == nil { try await Task.sleep(for: .milliseconds(250)) }
        }
        let peer = try #require(reached, "no peer got through after the flood ended")
        await peer.close()
        #expect(daemon.isRunning)
    }
}

/// An announcement names where to dial, and anyone can announce: only addresses on my own
/// link are dialled, so a claim cannot steer the daemon to another network.
@Suite(.enabled(if: NetworkLab.isAvailable && PeopleNearMeTests.zeroconfAvailable, "needs root, iproute2 and python3 with zeroconf"))
struct SteeredDialTests {
    @Test func anAnnouncementNamingAnAddressOffTheLinkIsNeverDialled() async throws {
        // A and Mallory share a link; host 2 is a subnet away, reachable through the router.
        let lab = try NetworkLab(subnets: [[0, 1], [2]])
        try await lab.withLogs {
            let port = 47001
            // Host 2 and Mallory each count the connections made to them (bounded: 20 s).
            let listener = """
                import socket, time
                server = socket.socket()
                server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind(("0.0.0.0", \(port)))
                server.listen(16)
                server.settimeout(0.5)
                print("listening", flush=True)
                end = time.time() + 20
                while time.time() < end:
                    try:
                        conn, peer = server.accept()
                        print("connection from", peer[0], flush=True)
                        conn.close()
                    except socket.timeout:
                        pass
                """
            var listeners: [Subprocess] = []
            defer { for process in listeners { process.signal(SIGKILL) } }
            for host in [1, 2] {
                let command = lab.prefix(host) + ["/usr/bin/env", "python3", "-u", "-c", listener]
                let process = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
                listeners.append(process)
                let ready = process.readStandardOutput(until: .now + .seconds(10)) { $0.contains("listening") }
                try #require(ready.contains("listening"), "a listener did not start: \(ready)")
            }
            let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me")
            // Two claims from Mallory: one at an address off A's link, one (the control, which
            // shows the test can see a dial) at Mallory's own address.
            let offLink = PeerName(publicKeyDER: Array("steered off the link".utf8)).description
            let onLink = PeerName(publicKeyDER: Array("on the link".utf8)).description
            let announcer = """
                import socket, time
                from zeroconf import Zeroconf, ServiceInfo, IPVersion
                zc = Zeroconf(interfaces=["\(lab.ipv4(1))"], ip_version=IPVersion.V4Only)
                for name, address, pn in [("far", "\(lab.ipv4(2))", "\(offLink)"), ("near", "\(lab.ipv4(1))", "\(onLink)")]:
                    zc.register_service(ServiceInfo("_peercollab._tcp.local.", name + "._peercollab._tcp.local.",
                        addresses=[socket.inet_aton(address)], port=\(port),
                        properties={"v": "1", "pn": pn, "dn": name}, server=name + ".local."))
                print("announced", flush=True)
                time.sleep(15)
                zc.close()
                """
            let command = lab.prefix(1) + ["/usr/bin/env", "python3", "-u", "-c", announcer]
            let mallory = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            listeners.append(mallory)
            let announced = mallory.readStandardOutput(until: .now + .seconds(10)) { $0.contains("announced") }
            try #require(announced.contains("announced"), "the claims were not announced: \(announced)")
            // The control: A dials the claim on its link (which then fails: no TLS there).
            let near = listeners[0].readStandardOutput(until: .now + .seconds(10)) { $0.contains("connection from \(lab.ipv4(0))") }
            #expect(near.contains("connection from \(lab.ipv4(0))"), "A never dialled the claim on its own link:\n\(a.daemon.log)")
            // By then A has dialled what it will: give the far claim as long again.
            let far = listeners[1].readStandardOutput(until: .now + .seconds(5)) { $0.contains("connection from") }
            #expect(!far.contains("connection from"), "A dialled an address off its link on a claim: \(far)")
            _ = a
        }
    }
}

/// One host announces 300 peers that do not exist, each at a listener that accepts and
/// says nothing: the claims of one source are bounded and their dials short, so two real
/// peers that sign in meanwhile still find each other.
@Suite(.enabled(if: NetworkLab.isAvailable && PeopleNearMeTests.zeroconfAvailable, "needs root, iproute2 and python3 with zeroconf"))
struct CrowdingAnnouncementTests {
    @Test func threeHundredFakeAnnouncementsAtSilentListenersDoNotKeepRealPeersApart() async throws {
        let lab = try NetworkLab(hosts: 3)
        try await lab.withLogs {
            let script = """
                import asyncio, os, socket, threading, time
                from zeroconf import IPVersion, ServiceInfo
                from zeroconf.asyncio import AsyncZeroconf
                ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
                def times_alpha(v):
                    s = v << 1
                    return s ^ 0x25 if s & 0x20 else s
                def peer_name(data):
                    bits = int.from_bytes(data, "big")
                    symbols = [(bits >> (5 * (31 - i))) & 31 for i in range(32)]
                    fold = 0
                    for s in symbols: fold = times_alpha(fold) ^ s
                    symbols.append(times_alpha(fold))
                    return "".join(ALPHABET[s] for s in symbols)
                # A listener that accepts and holds every connection, silent (bounded: 45 s).
                server = socket.socket()
                server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind(("\(lab.ipv4(2))", 47003))
                server.listen(512)
                held = []
                def hold():
                    server.settimeout(0.5)
                    end = time.time() + 45
                    while time.time() < end:
                        try: held.append(server.accept()[0])
                        except socket.timeout: pass
                threading.Thread(target=hold, daemon=True).start()
                async def main():
                    azc = AsyncZeroconf(interfaces=["\(lab.ipv4(2))"], ip_version=IPVersion.V4Only)
                    infos = [ServiceInfo("_peercollab._tcp.local.", f"fake{i}._peercollab._tcp.local.",
                        addresses=[socket.inet_aton("\(lab.ipv4(2))")], port=47003,
                        properties={"v": "1", "pn": peer_name(os.urandom(20)), "dn": f"Nobody {i}"},
                        server=f"fake-{i}.local.") for i in range(300)]
                    tasks = await asyncio.gather(*(azc.async_register_service(info) for info in infos))
                    await asyncio.gather(*tasks)
                    print("announced", flush=True)
                    await asyncio.sleep(40)
                    print("held", len(held), flush=True)
                    await azc.async_close()
                asyncio.run(main())
                """
            let command = lab.prefix(2) + ["/usr/bin/env", "python3", "-u", "-c", script]
            let mallory = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            defer { mallory.signal(SIGKILL) }
            let announced = mallory.readStandardOutput(until: .now + .seconds(30)) { $0.contains("announced") }
            try #require(announced.contains("announced"), "the fake announcements were not made: \(announced)")
            // Two real peers sign in while the fakes and their silent listeners are there.
            let daemons = try await LabDaemon.start(in: lab, hosts: [0, 1], signIn: "near-me")
            let (a, b) = (daemons[0], daemons[1])
            let nameA = try await a.peerName
            let nameB = try await b.peerName
            _ = try await a.waitForPeers("A finds B among the fakes", timeout: .seconds(20)) { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
            _ = try await b.waitForPeers("B finds A among the fakes", timeout: .seconds(20)) { $0.values.contains { $0["PeerName"]?.stringValue == nameA } }
            #expect(a.log.contains("Too many announcements near me from one host"), "A never bounded the fakes:\n\(a.log)")
            #expect(try await a.peers().count == 1, "a fake became a peer")
        }
    }
}
