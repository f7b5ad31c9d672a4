import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Hosts on different subnets, joined by a router: no multicast crosses, so people near me
/// stay on their link and the internet scope (contact links) is the only way across.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct InternetScopeLabTests {
    static let peerError = PeerCollabBus.errorPrefix

    // MARK: The lab itself

    @Test func subnetsAreNumberedAsDeclaredAndTheLayoutIsChecked() throws {
        let lab = try NetworkLab(subnets: [[0, 1], [2]])
        #expect(lab.ipv4(0) == "198.51.100.2")
        #expect(lab.ipv4(1) == "198.51.100.3")
        #expect(lab.ipv4(2) == "203.0.113.2")
        #expect(lab.ipv6(2) == "2001:db8:2::2")
        #expect(lab.onSameLink(0, 1))
        #expect(!lab.onSameLink(0, 2))
        #expect(throws: TestFailure.self) { _ = try NetworkLab(subnets: [[0, 2]]) }
        #expect(throws: TestFailure.self) { _ = try NetworkLab(subnets: [[0], [0, 1]]) }
        // One link keeps the addresses the near-me tests have always used.
        let flat = try NetworkLab(hosts: 2)
        #expect(flat.ipv4(1) == "192.0.2.2")
        #expect(flat.ipv6(1) == "2001:db8::2")
    }

    /// Unicast crosses the router in both families, with the sender's own address (no NAT).
    @Test func theRouterForwardsUnicastInBothFamilies() async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        let server = """
            import socket, sys
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 7000)); s.listen(); s.settimeout(20)
            for _ in range(2):
                c, a = s.accept(); print(a[0], flush=True); c.close()
            """
        let listening = Task { try await lab.run(on: 1, "/usr/bin/env", ["python3", "-c", server], timeout: .seconds(25)) }
        // Refused while the server is still starting: retried, 100 times at most. A host never
        // reached ends the client with an error, so "connected" means this host answered.
        let client = """
            import socket, sys, time
            for host in ["\(lab.ipv4(1))", "\(lab.ipv6(1))"]:
                for attempt in range(100):
                    try:
                        socket.create_connection((host, 7000), timeout=5).close(); break
                    except ConnectionRefusedError:
                        time.sleep(0.05)
                else:
                    sys.exit(f"never connected to {host}: refused 100 times")
                print("connected", host, flush=True)
            """
        let dialled = try await lab.run(on: 0, "/usr/bin/env", ["python3", "-c", client])
        #expect(dialled.status == 0, "\(dialled.standardError)")
        #expect(dialled.standardOutput.contains("connected \(lab.ipv4(1))\n"), "\(dialled.standardOutput)\(dialled.standardError)")
        #expect(dialled.standardOutput.contains("connected \(lab.ipv6(1))\n"), "\(dialled.standardOutput)\(dialled.standardError)")
        let accepted = try await listening.value
        #expect(accepted.standardOutput.contains("::ffff:\(lab.ipv4(0))"), "\(accepted.standardOutput)\(accepted.standardError)")
        #expect(accepted.standardOutput.contains(lab.ipv6(0)), "\(accepted.standardOutput)\(accepted.standardError)")
    }

    /// An mDNS browse on host 0 sees a service on its own link (host 1) but never one behind
    /// the router (host 2), announced at the same time by the same software.
    @Test(.enabled(if: PeopleNearMeTests.zeroconfAvailable, "python3 with zeroconf is needed"))
    func mDNSStaysOnItsSubnet() async throws {
        let lab = try NetworkLab(subnets: [[0, 1], [2]])
        // The announcers run until the browse is done (a file says so), bounded at 20 s: they
        // must end inside the test, or they would keep the lab alive past the test process.
        let stop = NSTemporaryDirectory() + "labcheck-stop-\(lab.bridge)"
        defer { try? FileManager.default.removeItem(atPath: stop) }
        func announce(_ host: Int) -> String {
            """
            import os, socket, time
            from zeroconf import Zeroconf, ServiceInfo, IPVersion
            zc = Zeroconf(interfaces=["\(lab.ipv4(host))"], ip_version=IPVersion.V4Only)
            info = ServiceInfo("_labcheck._tcp.local.", "host\(host)._labcheck._tcp.local.",
                addresses=[socket.inet_aton("\(lab.ipv4(host))")], port=9, server="host\(host).local.")
            zc.register_service(info)
            start = time.time()
            while not os.path.exists("\(stop)") and time.time() - start < 20:
                time.sleep(0.1)
            zc.close()
            """
        }
        let announcers = [1, 2].map { host in
            Task { try await lab.run(on: host, "/usr/bin/env", ["python3", "-c", announce(host)], timeout: .seconds(30)) }
        }
        // Browse until host 1 is seen, then a few seconds more for host 2 to show up if it could.
        let browse = """
            import time
            from zeroconf import Zeroconf, ServiceBrowser, IPVersion
            zc = Zeroconf(interfaces=["\(lab.ipv4(0))"], ip_version=IPVersion.V4Only)
            seen = set()
            class L:
                def add_service(self, zc, t, name): seen.add(name)
                def remove_service(self, zc, t, name): pass
                def update_service(self, zc, t, name): pass
            ServiceBrowser(zc, "_labcheck._tcp.local.", L())
            start = time.time(); first = None
            while time.time() - start < 20:
                if first is None and any(n.startswith("host1.") for n in seen): first = time.time()
                if first is not None and time.time() - first > 4: break
                time.sleep(0.1)
            zc.close()
            print(sorted(seen))
            """
        let output = try await lab.run(on: 0, "/usr/bin/env", ["python3", "-c", browse], timeout: .seconds(30))
        FileManager.default.createFile(atPath: stop, contents: nil)
        for announcer in announcers { _ = try await announcer.value }
        #expect(output.standardOutput.contains("host1._labcheck"), "\(output.standardOutput)\(output.standardError)")
        #expect(!output.standardOutput.contains("host2._labcheck"), "\(output.standardOutput)")
    }

    // MARK: Daemons

    /// Three daemons signed in near me: the two sharing a link find each other; the one
    /// behind the router, already announcing before they start, is found by neither and finds
    /// no one.
    @Test func daemonsOnDifferentSubnetsDoNotSeeEachOtherNearMe() async throws {
        let lab = try NetworkLab(subnets: [[0, 1], [2]])
        try await lab.withLogs {
            let behindRouter = try await LabDaemon(lab: lab, host: 2, signIn: "near-me")
            let near = try await LabDaemon.start(in: lab, hosts: [0, 1], signIn: "near-me")
            let names = [try await near[0].peerName, try await near[1].peerName]
            _ = try await near[0].waitForPeers("host 0 finds host 1 on its link") { $0.values.contains { $0["PeerName"]?.stringValue == names[1] } }
            _ = try await near[1].waitForPeers("host 1 finds host 0 on its link") { $0.values.contains { $0["PeerName"]?.stringValue == names[0] } }
            #expect(try await near[0].peers().count == 1)
            #expect(try await near[1].peers().count == 1)
            #expect(try await behindRouter.peers().isEmpty)
            // The daemon behind the router was announcing all along, and browsing.
            #expect(try await behindRouter.manager("SignedIn") == .strings(["near-me"]))
        }
    }

    /// A contact link is all it takes across the router: both sides show the other, in the
    /// internet scope even though both are signed in near me too.
    @Test(arguments: ["ipv4", "ipv6"])
    func connectAcrossTheRouterShowsInternetPeersOnBothSides(_ family: String) async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab, signIn: "all")
            let (a, b) = (daemons[0], daemons[1])
            // The peer name as busctl reads it, and the port from B's Endpoints.
            let busctl = try await b.busctl(["get-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "PeerName"])
            let nameB = try await b.peerName
            #expect(busctl.standardOutput == "s \"\(nameB)\"\n", "\(busctl.standardError)")
            let path = try await a.connect(try await b.link(family))
            #expect(path.rawValue == "/org/peercollab/PeerCollab1/peer/\(nameB)")
            let onA = try #require(try await a.waitForPeers("A shows B") { $0[path] != nil }[path])
            let nameA = try await a.peerName
            let onB = try #require(try await b.waitForPeers("B shows A") { !$0.isEmpty }.values.first)
            #expect(onA["PeerName"]?.stringValue == nameB)
            #expect(onB["PeerName"]?.stringValue == nameA)
            #expect(onA["Scope"]?.stringValue == "internet")
            #expect(onB["Scope"]?.stringValue == "internet")
            #expect(onA["Fingerprint"]?.stringValue == (try await b.manager("Fingerprint")).stringValue)
            #expect(onB["Fingerprint"]?.stringValue == (try await a.manager("Fingerprint")).stringValue)
            #expect(onA["VerificationCode"] == onB["VerificationCode"])
            // B saw A's own address: the router forwards, it does not translate.
            let address = family == "ipv4" ? lab.ipv4(0) : lab.ipv6(0)
            let hosts = onB["Addresses"]?.arrayElements?.compactMap { $0.structureFields?.first?.stringValue } ?? []
            #expect(hosts.contains { $0 == address || $0 == "::ffff:\(address)" }, "\(hosts)")
        }
    }

    /// What `peercollabctl card --link` prints on B (run on B's host against B's bus) is what
    /// A needs: one link per routed address, no loopback, and Connect accepts each.
    @Test(arguments: ["ipv4", "ipv6"])
    func theLinkFromPeercollabctlCardConnectsAcrossTheRouter(_ family: String) async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab)
            let (a, b) = (daemons[0], daemons[1])
            let card = try await b.ctl(["card", "--link"])
            #expect(card.status == 0, "\(card.standardError)")
            let links = card.standardOutput.split(separator: "\n").map(String.init)
            let nameB = try await b.peerName
            let portB = try await b.port
            #expect(Set(links) == ["peercollab:\(nameB)@\(lab.ipv4(1)):\(portB)", "peercollab:\(nameB)@[\(lab.ipv6(1))]:\(portB)"], "\(links)")
            let link = try #require(links.first { $0.contains(family == "ipv4" ? lab.ipv4(1) : lab.ipv6(1)) })
            let path = try await a.connect(link)
            let onA = try #require(try await a.waitForPeers("A shows B") { $0[path] != nil }[path])
            #expect(onA["PeerName"]?.stringValue == nameB)
            #expect(onA["Scope"]?.stringValue == "internet")
        }
    }

    /// B's address and port, but the peer name of C (on A's own link): whoever answers must
    /// hold C's key, B does not, and the typed error says so. A still reaches both afterwards.
    @Test func aLinkWithTheRightAddressButAnotherPeerNameIsRefused() async throws {
        let lab = try NetworkLab(subnets: [[0, 1], [2]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab)
            let (a, c, b) = (daemons[0], daemons[1], daemons[2])
            let wrong = "peercollab:\(try await c.peerName)@\(lab.ipv4(2)):\(try await b.port)"
            let error = try await #require(throws: DBusError.self) { _ = try await a.connect(wrong) }
            #expect(error.name == Self.peerError + "PeerUnreachable", "\(error.name): \(error.message)")
            #expect(error.message.contains("someone else"), "\(error.message)")
            #expect(try await a.peers().isEmpty)
            #expect(try await b.peers().isEmpty)
            #expect(a.daemon.isRunning && b.daemon.isRunning)
            _ = try await a.connect(try await b.link())
            _ = try await a.connect(try await c.link())
            _ = try await a.waitForPeers("A shows B and C") { $0.count == 2 }
        }
    }

    /// kill -9 of B: the kernel closes B's socket, so A drops B at once, without waiting for
    /// the peer timeout; the peer timeout still bounds how long that may take.
    @Test func aPeerKilledWithoutGoodbyeDisappears() async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab, extraArguments: ["--peer-timeout", "3"])
            let (a, b) = (daemons[0], daemons[1])
            let path = try await a.connect(try await b.link())
            _ = try await b.waitForPeers("B shows A") { !$0.isEmpty }
            try await b.kill()
            _ = try await a.waitForPeers("A drops B, killed with -9", timeout: .seconds(15)) { $0[path] == nil }
            #expect(!a.log.contains("said goodbye"), "a killed daemon cannot say goodbye")
        }
    }

    /// B's cable is pulled and then B dies: not even a FIN reaches A, so only A's keepalives
    /// can tell. A drops B after the peer timeout and says why.
    @Test func aPeerThatFallsSilentIsDroppedAfterThePeerTimeout() async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab, extraArguments: ["--peer-timeout", "3"])
            let (a, b) = (daemons[0], daemons[1])
            let path = try await a.connect(try await b.link())
            _ = try await b.waitForPeers("B shows A") { !$0.isEmpty }
            try lab.unplug(1)
            try await b.kill()
            _ = try await a.waitForPeers("A drops B after the peer timeout", timeout: .seconds(20)) { $0[path] == nil }
            #expect(a.log.contains("nothing received from the peer"), "\(a.log)")
        }
    }

    /// A daemon killed and started again on the same folders is the same peer: the same peer
    /// name, and (with a fixed port) the link A had still reaches it.
    @Test func aRestartedDaemonKeepsItsPeerNameAndItsLinkStillWorks() async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let a = try await LabDaemon(lab: lab, host: 0)
            let b = try await LabDaemon(lab: lab, host: 1, extraArguments: ["--port", "46000"])
            let link = try await b.link()
            let nameB = try await b.peerName
            let path = try await a.connect(link)
            try await b.restart(kill: true)
            #expect(try await b.peerName == nameB)
            #expect(try await b.link() == link)
            _ = try await a.waitForPeers("A drops the B that was killed") { $0[path] == nil }
            #expect(try await a.connect(link) == path)
            _ = try await b.waitForPeers("the restarted B shows A") { !$0.isEmpty }
        }
    }
}
