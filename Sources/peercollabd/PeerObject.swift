import Collaboration
import DBus

/// `/org/peercollab/PeerCollab1/peer/ID`: someone reachable now, read from the domain on
/// every call so it can never disagree with it.
struct PeerObject: Sendable {
    let id: String
    let collaboration: Collaboration
    /// Exports a new contact's object before AddToContacts replies.
    var exportContact: (@Sendable (String) async -> Void)? = nil

    var interface: DBusInterface {
        let id = self.id
        let collaboration = self.collaboration
        let exportContact = self.exportContact
        @Sendable func peer() async throws -> RemotePeer {
            guard let peer = await collaboration.peer(id) else {
                throw DBusError.unknownObject("The peer \(id) has left.")
            }
            return peer
        }
        return DBusInterface(
            name: BusNames.peer,
            methods: [
                DBusMethod("Refresh") { _ in
                    try await ErrorTable.translating { try await collaboration.refreshPeer(id) }
                    return []
                },
                DBusMethod("GetObject", in: [DBusArgument("object_id", .string)], out: [DBusArgument("data", .array(of: .byte))]) { call in
                    let data = try await ErrorTable.translating {
                        try await collaboration.object(ofPeer: id, objectID: call.arguments[0].stringValue ?? "")
                    }
                    return [.bytes(data)]
                },
                DBusMethod("AddToContacts", out: [DBusArgument("contact", .objectPath)]) { _ in
                    let contact = try await ErrorTable.translating { try await collaboration.addToContacts(peerID: id) }
                    await exportContact?(contact)
                    return [.objectPath(BusNames.contactPath(contact))]
                },
            ],
            properties: [
                DBusProperty("PeerName", .string, changeSignal: .constant) { .string(try await peer().peerName.description) },
                DBusProperty("DisplayName", .string) { .string(try await peer().displayName) },
                DBusProperty("Fingerprint", .string, changeSignal: .constant) { .string(try await peer().fingerprint.description) },
                DBusProperty("VerificationCode", .string, changeSignal: .constant) { .string(try await peer().verificationCode.description) },
                DBusProperty("Scope", .string) { .string(try await peer().scope) },
                DBusProperty("Addresses", .array(of: .structure([.string, .uint16]))) { BusValues.endpoints(try await peer().addresses) },
                DBusProperty("PresenceStatus", .string) { .string(try await peer().presence.status.name) },
                DBusProperty("PresenceMessage", .string) { .string(try await peer().presence.message) },
                DBusProperty("Contact", .objectPath) {
                    .objectPath(await collaboration.isContact(id) ? BusNames.contactPath(id) : BusNames.none)
                },
                DBusProperty("Applications", .array(of: .string)) { .strings(try await peer().profile?.applicationIDs ?? []) },
                DBusProperty("Objects", .array(of: .string)) { .strings(try await peer().profile?.objects.map(\.id) ?? []) },
                DBusProperty("LastSeen", .uint64) { .uint64(try await peer().lastSeen) },
            ]
        )
    }
}
