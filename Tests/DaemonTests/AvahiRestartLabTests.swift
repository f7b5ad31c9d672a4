import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// avahi-daemon restarting withdraws every announcement it made and saw; that is no sign
/// that anyone left. Sessions proved by TLS stay, and invitations under way stay pending.
@Suite(.enabled(if: NetworkLab.isAvailable && avahiInstalled, "needs root, iproute2 and avahi-daemon"))
struct AvahiRestartLabTests {
    @Test func restartingAvahiThreeTimesDropsNoSessionAndFailsNoInvitation() async throws {
        let lab = try NetworkLab(hosts: 2)
        let system = try await LabAvahi(lab: lab, host: 0)
        try await lab.withLogs {
            let a = try await LabDaemon(
                lab: lab, host: 0, signIn: "near-me", discovery: "avahi", extraArguments: ["--system-bus", system.busAddress])
            let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me", discovery: "builtin")
            let (nameA, nameB) = (try await a.peerName, try await b.peerName)
            _ = try await a.waitForPeers("A finds B through Avahi", timeout: .seconds(30)) {
                $0.values.contains { $0["PeerName"]?.stringValue == nameB }
            }
            let peersOnB = try await b.waitForPeers("B finds A", timeout: .seconds(30)) {
                $0.values.contains { $0["PeerName"]?.stringValue == nameA }
            }
            let aOnB = try #require(peersOnB.first { $0.value["PeerName"]?.stringValue == nameA }?.key)
            try await InvitationPair.register(on: a, InvitationPair.app, ["name": .string("Whiteboard")])
            let reply = try await b.managerCall(
                "Invite", [.objectPath(aOnB), .string(InvitationPair.app), .string("across restarts"), .bytes([]), .uint32(600)])
            let outgoing = try #require(reply.first?.objectPathValue)
            let incoming = try await InvitationPair.waitFor("A receives the invitation", on: a) { invitations in
                invitations.first { $0.value["Message"]?.stringValue == "across restarts" }?.key
            }

            for round in 1...3 {
                system.stopAvahi()
                // 4 s without Avahi (sessions went 1.1–1.4 s after it stopped): at every look
                // A still has B, and the invitation is still pending on both sides.
                let until = ContinuousClock.now + .seconds(4)
                while ContinuousClock.now < until {
                    let shown = try await a.peers().values.contains { $0["PeerName"]?.stringValue == nameB }
                    try #require(shown, "round \(round): A dropped B when avahi-daemon stopped:\n\(a.daemon.log.suffix(3000))")
                    let state = try await a.property(incoming, PeerCollabBus.Interface.invitation, "State").stringValue
                    try #require(state == "pending", "round \(round): the invitation became \(state ?? "?")")
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await system.startAvahi()
                _ = try await a.waitForPeers("round \(round): A still has B with Avahi back", timeout: .seconds(30)) {
                    $0.values.contains { $0["PeerName"]?.stringValue == nameB }
                }
            }
            #expect(try await b.property(outgoing, PeerCollabBus.Interface.invitation, "State").stringValue == "pending")
            #expect(try await b.peers().values.contains { $0["PeerName"]?.stringValue == nameA })
            #expect(!a.daemon.log.contains("Peer left"), "\(a.daemon.log.suffix(3000))")
        }
    }
}
