import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Invitations and contacts between two namespaced daemons: the `contacts` policy takes a
/// contact (verified by card or added unverified from a peer), and an invitation's `Peer` and
/// `DisplayName` follow the other side as it becomes a contact, stops being one, or renames itself.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationContactTests {
    /// PropertiesChanged of invitation objects on `daemon`: (path, changed properties).
    static func invitationChanges(on daemon: LabDaemon) async throws -> AsyncStream<DBusMessage> {
        try await daemon.client.subscribe(to: DBusMatchRule(
            sender: DaemonProcess.service, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged",
            arg0: InvitationPair.invitation))
    }

    /// Waits for PropertiesChanged of `path` whose changed properties satisfy `matches`.
    static func change(
        _ stream: AsyncStream<DBusMessage>, of path: DBusObjectPath, _ what: String,
        _ matches: @escaping @Sendable ([String: DBusValue]) -> Bool
    ) async throws {
        _ = try await firstElement(of: stream, what: what) { message in
            guard message.path == path.rawValue, let changed = message.arguments().dropFirst().first?.vardictValue else { return false }
            return matches(changed)
        }
    }

    @Test func policyContactsTakesAContactByCardOrUnverifiedAndPeerFollowsTheContactList() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationPolicy": "contacts", "invitationsPerSecondPerPeer": 1000}"#)
        let nameA = try await pair.a.peerName
        let nameB = try await pair.b.peerName
        #expect(try await pair.b.manager("InvitationPolicy").stringValue == "contacts")
        let changesOnA = try await Self.invitationChanges(on: pair.a)
        let changesOnB = try await Self.invitationChanges(on: pair.b)

        // A stranger is refused.
        let stranger = try await pair.invite(message: "as a stranger")
        #expect(try await pair.call(pair.a, stranger, "Wait").first?.stringValue == "failed")

        // B imports A's card (a verified contact): A's invitation is taken, and on B it points
        // at the contact.
        let cardA = try #require(try await pair.a.managerCall("GetContactCard").first?.stringValue)
        let contactA = try await pair.b.client.addContact(cardA)
        #expect(contactA == ContactCards.contactPath(nameA))
        #expect(try await pair.b.client.contactProperty(nameA, "Verified")?.boolValue == true)
        let byCard = try await pair.invite(message: "as a contact")
        let byCardOnB = try await pair.incomingOnB(message: "as a contact")
        let shown = try #require(try await InvitationPair.invitations(on: pair.b)[byCardOnB])
        #expect(shown["Peer"]?.objectPathValue == contactA)
        try await pair.call(pair.b, byCardOnB, "Accept")
        try await pair.waitForState(pair.a, byCard, "accepted")

        // B removes the contact: its invitation's Peer switches to the peer path, announced,
        // and A is a stranger again.
        try await pair.b.call(contactA, ContactCards.contactInterface, "Remove")
        try await Self.change(changesOnB, of: byCardOnB, "Peer back to the peer path on B") {
            $0["Peer"]?.objectPathValue == pair.aOnB
        }
        #expect(try await pair.b.property(byCardOnB, InvitationPair.invitation, "Peer").objectPathValue == pair.aOnB)
        let strangerAgain = try await pair.invite(message: "a stranger again")
        #expect(try await pair.call(pair.a, strangerAgain, "Wait").first?.stringValue == "failed")
        #expect((try await pair.a.property(strangerAgain, InvitationPair.invitation, "Reason").stringValue ?? "").contains("contacts only"))

        // Peer.AddToContacts makes an unverified contact: that counts for the policy too, and
        // the retained invitation points at the contact again.
        let unverified = try #require(try await pair.b.call(pair.aOnB, PeerCollabBus.Interface.peer, "AddToContacts").first?.objectPathValue)
        #expect(unverified == contactA)
        #expect(try await pair.b.client.contactProperty(nameA, "Verified")?.boolValue == false)
        try await Self.change(changesOnB, of: byCardOnB, "Peer to the contact path on B") { $0["Peer"]?.objectPathValue == contactA }
        let asUnverified = try await pair.invite(message: "as an unverified contact")
        let asUnverifiedOnB = try await pair.incomingOnB(message: "as an unverified contact")
        #expect(try await pair.b.property(asUnverifiedOnB, InvitationPair.invitation, "Peer").objectPathValue == contactA)

        // On A's side too: B becomes a contact of A's while A's invitation is pending.
        #expect(try await pair.a.property(asUnverified, InvitationPair.invitation, "Peer").objectPathValue == pair.bOnA)
        _ = try await pair.a.call(pair.bOnA, PeerCollabBus.Interface.peer, "AddToContacts")
        try await Self.change(changesOnA, of: asUnverified, "Peer to the contact path on A") {
            $0["Peer"]?.objectPathValue == ContactCards.contactPath(nameB)
        }

        // A renames itself: B's invitations from A show the new name, announced.
        _ = try await pair.a.busctl([
            "set-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "DisplayName", "s", "Ana Artist",
        ])
        try await Self.change(changesOnB, of: asUnverifiedOnB, "DisplayName follows A's new name on B") {
            $0["DisplayName"]?.stringValue == "Ana Artist"
        }
        #expect(try await InvitationPair.invitations(on: pair.b)[byCardOnB]?["DisplayName"]?.stringValue == "Ana Artist")
        try await pair.call(pair.b, asUnverifiedOnB, "Decline")
        try await pair.waitForState(pair.a, asUnverified, "declined")
    }
}
