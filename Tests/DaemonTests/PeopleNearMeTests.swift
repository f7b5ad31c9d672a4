import DBus
import Foundation
import Testing

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
}
