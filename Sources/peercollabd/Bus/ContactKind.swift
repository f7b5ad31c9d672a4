import Collaboration
import DBus
import PeerCollabAPI

/// `/org/peercollab/PeerCollab1/contact/ID`: an entry of the contact list. While the
/// contact is connected, Online, presence, Applications, Objects and LastSeen are its
/// peer's, and Peer points at the peer object.
enum ContactKind: ObjectKind {
    static let interfaceName = PeerCollabBus.Interface.contact

    static func read(_ id: String, _ context: BusContext) async throws -> ContactDetails {
        guard let contact = await context.collaboration.contact(id) else {
            throw DBusError.unknownObject("The contact \(id) was removed.")
        }
        return contact
    }

    static func property(_ field: ContactField) -> ContactProperty {
        switch field {
        case .displayName: .displayName
        case .nickname: .nickname
        case .email: .email
        case .fingerprint: .fingerprint
        case .verified: .verified
        case .subscribeAllowed: .subscribeAllowed
        case .subscribed: .subscribed
        case .online: .online
        case .presenceStatus: .presenceStatus
        case .presenceMessage: .presenceMessage
        case .peer: .peer
        case .endpoints: .endpoints
        case .applications: .applications
        case .objects: .objects
        case .lastSeen: .lastSeen
        }
    }

    static let properties: [PropertyRow<ContactDetails, ContactProperty>] = [
        PropertyRow(.peerName, .string) { .string($0.id) },
        PropertyRow(.displayName, .string) { .string($0.displayName) },
        PropertyRow(.nickname, .string, { .string($0.record.nickname) }) { value, _, id, context in
            try await ErrorTable.translating { try await context.collaboration.setNickname(id, value.stringValue ?? "") }
        },
        PropertyRow(.email, .string) { .string($0.record.email) },
        PropertyRow(.fingerprint, .string) { .string($0.fingerprint.description) },
        PropertyRow(.verificationCode, .string) { .string($0.verificationCode.description) },
        PropertyRow(.verified, .boolean, { .boolean($0.record.verified) }) { value, _, id, context in
            let verified = try flag(value, "Verified")
            try await ErrorTable.translating { try await context.collaboration.setVerified(id, verified) }
        },
        PropertyRow(.subscribeAllowed, .boolean, { .boolean($0.record.subscribeAllowed) }) { value, _, id, context in
            let allowed = try flag(value, "SubscribeAllowed")
            try await ErrorTable.translating { try await context.collaboration.setSubscribeAllowed(id, allowed) }
        },
        PropertyRow(.subscribed, .boolean, { .boolean($0.record.subscribed) }) { value, _, id, context in
            let subscribed = try flag(value, "Subscribed")
            try await ErrorTable.translating { try await context.collaboration.setSubscribed(id, subscribed) }
        },
        PropertyRow(.online, .boolean) { .boolean($0.isOnline) },
        PropertyRow(.presenceStatus, .string) { .string($0.presence.status.name) },
        PropertyRow(.presenceMessage, .string) { .string($0.presence.message) },
        PropertyRow(.peer, .objectPath) { .objectPath($0.isOnline ? BusPaths.peer($0.id) : BusPaths.none) },
        PropertyRow(.endpoints, BusValues.endpointsSignature) { BusValues.endpoints($0.record.endpoints) },
        PropertyRow(.applications, .array(of: .string)) { .strings($0.applicationIDs) },
        PropertyRow(.objects, .array(of: .string)) { .strings($0.objectIDs) },
        PropertyRow(.lastSeen, .uint64) { .uint64($0.lastSeen) },
    ]

    static let methods: [MethodRow] = [
        MethodRow("Remove") { _, id, context in
            try await ErrorTable.translating { try await context.collaboration.removeContact(id) }
            return []
        },
        MethodRow("GetCard", out: [DBusArgument("card", .string)]) { _, id, context in
            [.string(try await ErrorTable.translating { try await context.collaboration.contactCard(of: id) })]
        },
        MethodRow("AddEndpoint", in: [DBusArgument("host", .string), DBusArgument("port", .uint16)]) { call, id, context in
            try await ErrorTable.translating {
                try await context.collaboration.addEndpoint(id, host: call.string(0), port: call.arguments[1].uint16Value ?? 0)
            }
            return []
        },
        MethodRow("RemoveEndpoint", in: [DBusArgument("host", .string), DBusArgument("port", .uint16)]) { call, id, context in
            try await ErrorTable.translating {
                try await context.collaboration.removeEndpoint(id, host: call.string(0), port: call.arguments[1].uint16Value ?? 0)
            }
            return []
        },
        MethodRow("Refresh") { _, id, context in
            try await ErrorTable.translating { try await context.collaboration.refreshContact(id) }
            return []
        },
        MethodRow("GetObject", in: [DBusArgument("object_id", .string)], out: [DBusArgument("data", .array(of: .byte))]) { call, id, context in
            // The contact's objects come from its peer, over the channel.
            [.bytes(try await ErrorTable.translating { try await context.collaboration.object(ofPeer: id, objectID: call.string(0)) })]
        },
    ]

    private static func flag(_ value: DBusValue, _ name: String) throws -> Bool {
        guard let flag = value.boolValue else { throw DBusError.invalidArgs("\(name) is a boolean.") }
        return flag
    }
}
