import Collaboration
import DBus

/// `/org/peercollab/PeerCollab1/invitation/ID`: an invitation, incoming or outgoing, read from
/// the domain on every call.
struct InvitationObject: Sendable {
    let id: String
    let collaboration: Collaboration

    /// Exports the object of an invitation that still exists; a second export (Invite's reply
    /// and the event both do it) changes nothing.
    static func export(_ id: String, collaboration: Collaboration, on objects: DBusObjectServer) async {
        guard await collaboration.invitation(id) != nil else { return }
        // Exporting twice throws before any signal goes out; the first one did the work.
        try? await objects.export([InvitationObject(id: id, collaboration: collaboration).interface], at: BusNames.invitationPath(id))
    }

    var interface: DBusInterface {
        let id = self.id
        let collaboration = self.collaboration
        @Sendable func invitation() async throws -> Invitation {
            guard let invitation = await collaboration.invitation(id) else {
                throw DBusError.unknownObject("The invitation \(id) was withdrawn.")
            }
            return invitation
        }
        return DBusInterface(
            name: BusNames.invitation,
            methods: [
                DBusMethod("Accept") { call in
                    try await ErrorTable.translating { try await collaboration.acceptInvitation(id, caller: call.sender) }
                    return []
                },
                DBusMethod("Decline") { call in
                    try await ErrorTable.translating { try await collaboration.declineInvitation(id, caller: call.sender) }
                    return []
                },
                DBusMethod("Cancel") { _ in
                    try await ErrorTable.translating { try await collaboration.cancelInvitation(id) }
                    return []
                },
                DBusMethod("Wait", out: [DBusArgument("state", .string)]) { call in
                    let state = try await ErrorTable.translating { try await collaboration.waitForInvitation(id, caller: call.sender) }
                    return [.string(state.rawValue)]
                },
            ],
            properties: [
                DBusProperty("Id", .string, changeSignal: .constant) { .string(id) },
                DBusProperty("Direction", .string, changeSignal: .constant) { .string(try await invitation().direction.rawValue) },
                DBusProperty("Peer", .objectPath) {
                    let invitation = try await invitation()
                    return .objectPath(BusNames.invitationPeerPath(invitation.peerID, isContact: await collaboration.isContact(invitation.peerID)))
                },
                DBusProperty("PeerName", .string, changeSignal: .constant) { .string(try await invitation().peerID) },
                DBusProperty("DisplayName", .string) { .string(try await invitation().peerDisplayName) },
                DBusProperty("ApplicationId", .string, changeSignal: .constant) { .string(try await invitation().applicationID) },
                DBusProperty("Message", .string, changeSignal: .constant) { .string(try await invitation().message) },
                DBusProperty("Data", .array(of: .byte), changeSignal: .constant) { .bytes(try await invitation().data) },
                DBusProperty("State", .string) { .string(try await invitation().state.rawValue) },
                DBusProperty("Reason", .string) { .string(try await invitation().reason) },
                DBusProperty("Created", .uint64, changeSignal: .constant) { .uint64(try await invitation().created) },
                DBusProperty("Expires", .uint64, changeSignal: .constant) { .uint64(try await invitation().expires) },
            ]
        )
    }
}
