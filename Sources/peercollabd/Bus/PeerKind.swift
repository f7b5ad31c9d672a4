import Collaboration
import DBus
import PeerCollabAPI

/// `/org/peercollab/PeerCollab1/peer/ID`: someone reachable now, exported once its profile
/// arrived, complete.
enum PeerKind: ObjectKind {
    static let interfaceName = PeerCollabBus.Interface.peer

    static func read(_ id: String, _ context: BusContext) async throws -> PeerView {
        guard let view = await context.collaboration.peerView(id) else { throw DBusError.unknownObject("The peer \(id) has left.") }
        return view
    }

    static func property(_ field: PeerField) -> PeerProperty {
        switch field {
        case .displayName: .displayName
        case .addresses: .addresses
        case .presenceStatus: .presenceStatus
        case .presenceMessage: .presenceMessage
        case .applications: .applications
        case .objects: .objects
        case .lastSeen: .lastSeen
        case .scope: .scope
        case .contact: .contact
        }
    }

    static let properties: [PropertyRow<PeerView, PeerProperty>] = [
        PropertyRow(.peerName, .string) { .string($0.id) },
        PropertyRow(.displayName, .string) { .string($0.peer.displayName) },
        PropertyRow(.fingerprint, .string) { .string($0.peer.fingerprint.description) },
        PropertyRow(.verificationCode, .string) { .string($0.peer.verificationCode.description) },
        PropertyRow(.scope, .string) { .string($0.peer.scope) },
        PropertyRow(.addresses, BusValues.endpointsSignature) { BusValues.endpoints($0.peer.addresses) },
        PropertyRow(.presenceStatus, .string) { .string($0.peer.presence.status.name) },
        PropertyRow(.presenceMessage, .string) { .string($0.peer.presence.message) },
        PropertyRow(.contact, .objectPath) { .objectPath($0.isContact ? BusPaths.contact($0.id) : BusPaths.none) },
        PropertyRow(.applications, .array(of: .string)) { .strings($0.peer.profile?.applicationIDs ?? []) },
        PropertyRow(.objects, .array(of: .string)) { .strings($0.peer.profile?.objects.map(\.id) ?? []) },
        PropertyRow(.lastSeen, .uint64) { .uint64($0.peer.lastSeen) },
    ]

    static let methods: [MethodRow] = [
        MethodRow("Refresh") { _, id, context in
            try await ErrorTable.translating { try await context.collaboration.refreshPeer(id) }
            return []
        },
        MethodRow("GetObject", in: [DBusArgument("object_id", .string)], out: [DBusArgument("data", .array(of: .byte))]) { call, id, context in
            [.bytes(try await ErrorTable.translating { try await context.collaboration.object(ofPeer: id, objectID: call.string(0)) })]
        },
        MethodRow("AddToContacts", out: [DBusArgument("contact", .objectPath)]) { _, id, context in
            let contact = try await ErrorTable.translating { try await context.collaboration.addToContacts(peerID: id) }
            return [.objectPath(BusPaths.contact(contact))]
        },
    ]
}
