import DBus
import Foundation
import Testing
import TestSupport

/// Signing in near me: daemons on one link find each other with DNS-SD, prove their keys
/// over TLS, and see each other leave.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct PeopleNearMeTests {
    @Test func twoDaemonsSignedInNearMeFindEachOtherAndSeeEachOtherLeave() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me")
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me")
        let nameA = try await a.peerName
        let nameB = try await b.peerName
        let onA = try await a.waitForPeers("A finds B near it") { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
        _ = try await b.waitForPeers("B finds A near it") { $0.values.contains { $0["PeerName"]?.stringValue == nameA } }
        let peer = try #require(onA.values.first { $0["PeerName"]?.stringValue == nameB })
        #expect(peer["Scope"]?.stringValue == "near-me")
        // One peer, not one per address or per connection.
        #expect(onA.count == 1)

        try await b.managerCall("SignOut", [.string("near-me")])
        _ = try await a.waitForPeers("A sees B leave after B signed out") { $0.isEmpty }
    }

    @Test func threeDaemonsOnOneLinkEachSeeTheOtherTwo() async throws {
        let lab = try NetworkLab(hosts: 3)
        var daemons: [LabDaemon] = []
        for host in 0..<3 { daemons.append(try await LabDaemon(lab: lab, host: host, signIn: "near-me")) }
        for daemon in daemons {
            _ = try await daemon.waitForPeers("each daemon sees the two others") { $0.count == 2 }
        }
    }

    @Test func aDaemonKilledWithoutGoodbyeIsRemovedAfterThePeerTimeout() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", extraArguments: ["--peer-timeout", "3"])
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me", extraArguments: ["--peer-timeout", "3"])
        _ = try await a.waitForPeers("A finds B") { $0.count == 1 }
        b.daemon.signal(SIGKILL)
        _ = try await a.waitForPeers("A drops B, killed without a goodbye, after the peer timeout", timeout: .seconds(30)) { $0.isEmpty }
        #expect(a.daemon.log.contains("Peer left"))
    }

    /// An announcement is only a claim: python-zeroconf announces A's peer name at B's
    /// address; C dials, B's key does not match, and no peer with A's name appears on C.
    @Test(.enabled(if: PeopleNearMeTests.zeroconfAvailable, "python3 with zeroconf is needed (dist/install-deps test installs it)"))
    func anAnnouncementWhoseKeyDoesNotMatchNeverBecomesAPeer() async throws {
        let lab = try NetworkLab(hosts: 3)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: nil)
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "internet")
        let c = try await LabDaemon(lab: lab, host: 2, signIn: "near-me")
        let nameA = try await a.peerName
        let portB = try await b.port
        let script = """
            import socket, time
            from zeroconf import Zeroconf, ServiceInfo, IPVersion
            zc = Zeroconf(interfaces=["\(lab.ipv4(1))"], ip_version=IPVersion.V4Only)
            info = ServiceInfo("_peercollab._tcp.local.", "impostor._peercollab._tcp.local.",
                addresses=[socket.inet_aton("\(lab.ipv4(1))")], port=\(portB),
                properties={"v": "1", "pn": "\(nameA)", "dn": "Not Really A"}, server="impostor.local.")
            zc.register_service(info)
            time.sleep(6)
            zc.unregister_service(info)
            zc.close()
            print("done")
            """
        let output = try await lab.run(on: 1, "/usr/bin/env", ["python3", "-c", script], timeout: .seconds(30))
        #expect(output.standardOutput.contains("done"), "\(output.standardError)")
        #expect(try await c.peers().values.allSatisfy { $0["PeerName"]?.stringValue != nameA })
        #expect(c.daemon.log.contains("Could not reach a peer announced near me"), "\(c.daemon.log)")
    }

    static var zeroconfAvailable: Bool {
        (try? ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import zeroconf"]).status) == 0
    }
}

/// The same through avahi-daemon, as on most desktops.
@Suite(.enabled(if: NetworkLab.isAvailable && avahiInstalled, "needs root, iproute2 and avahi-daemon"))
struct PeopleNearMeThroughAvahiTests {
    @Test func daemonsUsingAvahiFindEachOtherAndAutoPicksAvahi() async throws {
        let lab = try NetworkLab(hosts: 2)
        let avahiA = try await LabAvahi(lab: lab, host: 0)
        let avahiB = try await LabAvahi(lab: lab, host: 1)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", discovery: "auto", extraArguments: ["--system-bus", avahiA.busAddress])
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me", discovery: "avahi", extraArguments: ["--system-bus", avahiB.busAddress])
        let nameB = try await b.peerName
        _ = try await a.waitForPeers("A finds B through Avahi", timeout: .seconds(30)) {
            $0.values.contains { $0["PeerName"]?.stringValue == nameB }
        }
        let report = try await a.managerCall("Diagnose").first?.vardictValue
        #expect(report?["backend"]?.stringValue == "avahi")
        // Someone else's tool sees the announcement too.
        let browse = try await lab.run(on: 1, "/usr/bin/env", ["DBUS_SYSTEM_BUS_ADDRESS=\(avahiB.busAddress)", "avahi-browse", "-rpt", "_peercollab._tcp"])
        #expect(browse.standardOutput.contains("pn=\(try await a.peerName)"), "\(browse.standardOutput)\(browse.standardError)")
        try await b.managerCall("SignOut", [.string("near-me")])
        _ = try await a.waitForPeers("A sees B leave") { $0.isEmpty }
    }

    @Test func withoutAvahiAutoFallsBackToTheBuiltInResponder() async throws {
        let lab = try NetworkLab(hosts: 1)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", discovery: "auto", extraArguments: ["--system-bus", "unix:path=/nonexistent"])
        let report = try await a.managerCall("Diagnose").first?.vardictValue
        #expect(report?["backend"]?.stringValue == "builtin")
        let doctor = try await ProcessRunner.run(ProcessRunner.ctlPath, ["doctor", "--bus", a.bus.address])
        #expect(doctor.standardOutput.contains("Discovery backend: builtin"), "\(doctor.standardOutput)")
        #expect(doctor.standardOutput.contains("sign-in"))
        #expect(doctor.standardOutput.contains("multicast on eth0"), "\(doctor.standardOutput)")
        // Signed out, doctor sends nothing on the network.
        try await a.managerCall("SignOut", [.string("all")])
        let quiet = try await ProcessRunner.run(ProcessRunner.ctlPath, ["doctor", "--bus", a.bus.address])
        #expect(quiet.standardOutput.contains("multicast checks were not run"), "\(quiet.standardOutput)")
    }
}

/// Resume from sleep and a new network connection make the daemon look again at once.
@Suite(.enabled(if: NetworkLab.isAvailable && avahiInstalled, "needs root, iproute2 and avahi-daemon (for a private system bus)"))
struct SystemEventsTests {
    @Test func resumeAndNetworkConnectedTriggerARefresh() async throws {
        let lab = try NetworkLab(hosts: 1)
        let system = try await LabAvahi(lab: lab, host: 0)
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", extraArguments: ["--system-bus", system.busAddress])
        // Stand-ins for logind and NetworkManager on that system bus, saying what they say.
        let logind = try DBusConnection(bus: .address(system.busAddress))
        try await logind.requestName("org.freedesktop.login1")
        let networkManager = try DBusConnection(bus: .address(system.busAddress))
        try await networkManager.requestName("org.freedesktop.NetworkManager")
        // The daemon subscribes after it starts; repeat (bounded) until it reacts.
        var reacted = false
        for _ in 0..<100 where !reacted {
            try logind.emitSignal(
                path: "/org/freedesktop/login1", interface: "org.freedesktop.login1.Manager", member: "PrepareForSleep",
                arguments: [.boolean(false)])
            try await Task.sleep(for: .milliseconds(100))
            reacted = a.daemon.log.contains("resumed from sleep")
        }
        #expect(reacted, "\(a.daemon.log)")
        try networkManager.emitSignal(
            path: "/org/freedesktop/NetworkManager", interface: "org.freedesktop.NetworkManager", member: "StateChanged",
            arguments: [.uint32(70)])
        try await eventually(within: .seconds(15), "a refresh after NetworkManager connected") { a.daemon.log.contains("network connected") ? true : nil }
        // Going to sleep (true) is not a reason to look again: after it, only the next
        // NetworkManager signal causes a refresh.
        let before = a.daemon.log.components(separatedBy: "Looking again").count
        let resumesBefore = a.daemon.log.components(separatedBy: "resumed from sleep").count
        try logind.emitSignal(
            path: "/org/freedesktop/login1", interface: "org.freedesktop.login1.Manager", member: "PrepareForSleep",
            arguments: [.boolean(true)])
        try networkManager.emitSignal(
            path: "/org/freedesktop/NetworkManager", interface: "org.freedesktop.NetworkManager", member: "StateChanged",
            arguments: [.uint32(70)])
        try await eventually(within: .seconds(15), "the second NetworkManager refresh") {
            a.daemon.log.components(separatedBy: "Looking again").count == before + 1 ? true : nil
        }
        #expect(a.daemon.log.components(separatedBy: "resumed from sleep").count == resumesBefore)
    }
}

/// Two peers that lost each other silently (no goodbye, no FIN: a cable pulled) while
/// both stay announced find each other again, and meanwhile `doctor` says who is
/// announced but out of reach, and why.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct SilentLossTests {
    @Test func peersThatLostEachOtherSilentlyMeetAgainAndDoctorSaysWhoIsOutOfReach() async throws {
        let lab = try NetworkLab(hosts: 2)
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab, signIn: "near-me", extraArguments: ["--peer-timeout", "3"])
            let (a, b) = (daemons[0], daemons[1])
            let nameB = try await b.peerName
            _ = try await a.waitForPeers("A finds B") { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
            _ = try await b.waitForPeers("B finds A") { !$0.isEmpty }
            // The one who was dialled may not have seen the other's announcement yet (the
            // newcomer announces once its name is probed): wait for it, bounded.
            let nameA = try await a.peerName
            func saw(_ log: String, _ name: String) -> Bool {
                log.split(separator: "\n").contains { $0.contains("Announcement seen near me") && $0.contains("peer=\(name)") }
            }
            let seen = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < seen, !(saw(a.log, nameB) && saw(b.log, nameA)) {
                try await Task.sleep(for: .milliseconds(100))
            }
            try #require(saw(a.log, nameB), "A never saw B's announcement:\n\(a.log)")
            try lab.unplug(1)
            _ = try await a.waitForPeers("A drops B after the peer timeout", timeout: .seconds(20)) { $0.isEmpty }
            // A keeps dialling B, which does not answer: doctor names it.
            let report = try await doctorReportingOutOfReach(nameB, on: a)
            #expect(report.contains("firewall"), "no advice given:\n\(report)")
            try lab.plug(1)
            _ = try await a.waitForPeers("A and B meet again", timeout: .seconds(60)) { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
            _ = try await b.waitForPeers("B shows A again", timeout: .seconds(30)) { !$0.isEmpty }
            let after = try await a.ctl(["doctor"]).standardOutput
            #expect(after.contains("ok      peers near me"), "\(after)")
        }
    }
}

/// Both hosts drop TCP to their peer port (a firewall nobody opened): they see each other's
/// announcements but never meet, and `doctor` says so and names the fix, where it used to
/// say only "ok".
@Suite(.enabled(if: NetworkLab.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/sbin/iptables"), "needs root, iproute2 and iptables"))
struct BlockedPeerPortTests {
    @Test func doctorReportsAnnouncedPeersThatCannotBeReachedAndNamesTheFirewallFix() async throws {
        let lab = try NetworkLab(hosts: 2)
        try await lab.withLogs {
            let port = 46790
            for host in 0..<2 {
                for tool in ["/usr/sbin/iptables", "/usr/sbin/ip6tables"] {
                    let output = try await lab.run(on: host, tool, ["-A", "INPUT", "-p", "tcp", "--dport", "\(port)", "-j", "DROP"])
                    try #require(output.status == 0, "\(tool) failed: \(output.standardError)")
                }
            }
            let daemons = try await LabDaemon.start(in: lab, signIn: "near-me", extraArguments: ["--port", "\(port)"])
            let (a, b) = (daemons[0], daemons[1])
            let nameB = try await b.peerName
            let report = try await doctorReportingOutOfReach(nameB, on: a)
            #expect(report.contains("listens on TCP \(port)"), "the advice does not name the port:\n\(report)")
            #expect(report.contains("no answer within"), "the reason is not in words a person reads:\n\(report)")
            #expect(try await a.peers().isEmpty, "A met B through a closed port")
        }
    }
}

/// `doctor` on `daemon` once it names `peer` as announced near me but out of reach
/// (bounded: 30 s, then the test fails with the last report and the daemon's log).
func doctorReportingOutOfReach(_ peer: String, on daemon: LabDaemon) async throws -> String {
    var last = ""
    return try await eventually(
        within: .seconds(30), every: .milliseconds(500), "doctor names \(peer) as out of reach",
        lastSeen: { "\(last)\n\(daemon.log)" }
    ) {
        last = try await daemon.ctl(["doctor"]).standardOutput
        return last.contains("PROBLEM peers near me:") && last.contains(peer) ? last : nil
    }
}
