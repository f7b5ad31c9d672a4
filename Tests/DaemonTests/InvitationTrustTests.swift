import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// Who invites me, said where the invitation is shown: the desktop notification and
/// peercollabctl name the inviter as a verified contact, an unverified one or a stranger
/// (a stranger may show a contact's display name), and an invitation that came before
/// any notification server is shown once one appears.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationTrustTests {
    @Test func anInvitationFromBeforeTheServerIsShownWhenOneAppears() async throws {
        let pair = try await InvitationPair()
        _ = try await pair.invite(message: "before any server")
        _ = try await pair.incomingOnB(message: "before any server")
        // The login race: the notification server comes after the invitation.
        let server = try await NotificationServer.start(bus: pair.b.bus.address)
        defer { server.stop() }
        let shown = try await eventually("the waiting invitation is shown once a server appears") {
            server.notifyCalls.first { $0.body == "before any server" }
        }
        #expect(shown.summary.contains("invites you to Whiteboard"), "\(shown.summary)")
        #expect(server.notifyCalls.count == 1, "\(server.notifyCalls)")
    }

    @Test func theInviterIsNamedAsAStrangerAnUnverifiedOrAVerifiedContact() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        let server = try await NotificationServer.start(bus: pair.b.bus.address)
        defer { server.stop() }
        let nameA = try await pair.a.peerName

        /// Invites B with `message`; returns the notification's summary and B's CLI views.
        func invited(_ message: String) async throws -> (summary: String, text: String, json: [[String: Any]], show: String) {
            _ = try await pair.invite(message: message)
            let incoming = try await pair.incomingOnB(message: message)
            let shown = try await eventually("the notification of '\(message)'") { server.notifyCalls.first { $0.body == message } }
            let text = try await pair.b.ctl(["invitations"]).standardOutput
            let json = try CtlShape.array(try await pair.b.ctl(["invitations", "--json"]).standardOutput, CtlShape.invitation, "invitations --json")
            let id = incoming.rawValue.split(separator: "/").last.map(String.init) ?? ""
            let show = try await pair.b.ctl(["invitations", "show", id]).standardOutput
            return (shown.summary, text.split(separator: "\n").first { $0.contains(message) }.map(String.init) ?? text,
                    json.filter { $0["Message"] as? String == message }, show)
        }

        let stranger = try await invited("from a stranger")
        #expect(stranger.summary.contains("(stranger) invites you"), "\(stranger.summary)")
        #expect(stranger.text.contains("(stranger)"), "\(stranger.text)")
        #expect(stranger.json.first?["Trust"] as? String == "stranger")
        #expect(stranger.show.contains("Trust:") && stranger.show.contains("stranger"), "\(stranger.show)")

        // Added to contacts from the Peer object: pinned, not yet verified.
        let added = try await pair.b.call(pair.aOnB, PeerCollabBus.Interface.peer, "AddToContacts")
        let contact = try #require(added.first?.objectPathValue)
        let unverified = try await invited("from an unverified contact")
        #expect(unverified.summary.contains("(unverified contact) invites you"), "\(unverified.summary)")
        #expect(unverified.text.contains("(unverified contact)"), "\(unverified.text)")
        #expect(unverified.json.first?["Trust"] as? String == "unverified")

        _ = try await pair.b.call(
            contact, "org.freedesktop.DBus.Properties", "Set",
            [.string(PeerCollabBus.Interface.contact), .string("Verified"), .variant(.boolean(true))])
        let verified = try await invited("from a verified contact")
        #expect(verified.summary.contains("(verified contact) invites you"), "\(verified.summary)")
        #expect(verified.text.contains("(verified contact)"), "\(verified.text)")
        #expect(verified.json.first?["Trust"] as? String == "verified")
        // near says the same of the peer.
        let near = try await pair.b.ctl(["near"]).standardOutput
        #expect(near.split(separator: "\n").contains { $0.contains(nameA) && $0.contains("verified contact") }, "\(near)")
    }
}
