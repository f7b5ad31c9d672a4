import Collaboration
import DBus
import PeerCollabAPI

/// `/org/peercollab/PeerCollab1/invitation/ID`: an invitation, incoming or outgoing.
enum InvitationKind: ObjectKind {
    static let interfaceName = PeerCollabBus.Interface.invitation

    static func read(_ id: String, _ context: BusContext) async throws -> InvitationObject {
        guard let view = await context.collaboration.invitationView(id) else {
            throw DBusError.unknownObject("The invitation \(id) was withdrawn.")
        }
        return InvitationObject(view, channels: context.channels.listing(of: id))
    }

    static func property(_ field: InvitationField) -> InvitationProperty {
        switch field {
        case .state: .state
        case .reason: .reason
        case .displayName: .displayName
        case .peer: .peer
        }
    }

    static let properties: [PropertyRow<InvitationObject, InvitationProperty>] = [
        PropertyRow(.id, .string) { .string($0.view.id) },
        PropertyRow(.direction, .string) { .string($0.view.invitation.direction.rawValue) },
        PropertyRow(.peer, .objectPath) { .objectPath(BusPaths.person($0.view.invitation.peerID, isContact: $0.view.peerIsContact)) },
        PropertyRow(.peerName, .string) { .string($0.view.invitation.peerID) },
        PropertyRow(.displayName, .string) { .string($0.view.invitation.peerDisplayName) },
        PropertyRow(.applicationID, .string) { .string($0.view.invitation.applicationID) },
        PropertyRow(.message, .string) { .string($0.view.invitation.message) },
        PropertyRow(.data, .array(of: .byte)) { .bytes($0.view.invitation.data) },
        PropertyRow(.state, .string) { .string($0.view.invitation.state.rawValue) },
        PropertyRow(.reason, .string) { .string($0.view.invitation.reason) },
        PropertyRow(.created, .uint64) { .uint64($0.view.invitation.created) },
        PropertyRow(.expires, .uint64) { .uint64($0.view.invitation.expires) },
        PropertyRow(.channels, ChannelListing.signature) { .array(element: ChannelListing.entrySignature, $0.channels.map(\.busValue)) },
    ]

    static let signals = [
        DBusSignal("ChannelClosed", [DBusArgument("name", .string), DBusArgument("reason", .string)])
    ]

    static let methods: [MethodRow] = [
        MethodRow("Accept") { call, id, context in
            try await ErrorTable.translating { try await context.collaboration.acceptInvitation(id, caller: call.sender) }
            return []
        },
        MethodRow("Decline") { call, id, context in
            try await ErrorTable.translating { try await context.collaboration.declineInvitation(id, caller: call.sender) }
            return []
        },
        MethodRow("Cancel") { _, id, context in
            try await ErrorTable.translating { try await context.collaboration.cancelInvitation(id) }
            return []
        },
        MethodRow("Wait", out: [DBusArgument("state", .string)]) { call, id, context in
            let state = try await ErrorTable.translating { try await context.collaboration.waitForInvitation(id, caller: call.sender) }
            return [.string(state.rawValue)]
        },
        MethodRow("OpenChannel", in: [DBusArgument("name", .string)], out: [DBusArgument("fd", .unixFD)]) { call, id, context in
            let fd = try await ErrorTable.translating { try await context.channels.open(invitationID: id, name: call.string(0)) }
            return [.unixFD(fd)]
        },
    ]
}
