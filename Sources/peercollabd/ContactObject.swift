import Collaboration
import DBus

extension BusNames {
    static let contact = interfacePrefix + "Contact"

    static func contactPath(_ id: String) -> DBusObjectPath {
        // Contact ids are peer names: [a-z2-7] only, always a valid path element.
        (try? root.appending("contact").appending(id)) ?? none
    }

    /// The id a `/contact/ID` or `/peer/ID` path names, or nil.
    static func peerID(of path: DBusObjectPath) -> String? {
        for kind in ["contact", "peer"] {
            let prefix = root.rawValue + "/" + kind + "/"
            if path.rawValue.hasPrefix(prefix) {
                let id = path.rawValue.dropFirst(prefix.count)
                return id.isEmpty || id.contains("/") ? nil : String(id)
            }
        }
        return nil
    }
}

/// `/org/peercollab/PeerCollab1/contact/ID`: an entry of the contact list, read from the
/// domain on every call. While the contact is connected, Online, presence, Applications,
/// Objects and LastSeen are its peer's, and Peer points at the peer object.
struct ContactObject: Sendable {
    let id: String
    let collaboration: Collaboration

    /// Exports a contact's object unless it is already there: both the call that added the
    /// contact (which must not reply with a path that does not exist yet) and the event ask.
    static func export(_ id: String, collaboration: Collaboration, on objects: DBusObjectServer) async {
        guard await collaboration.isContact(id) else { return }
        // Exporting twice throws before any signal goes out; the first one did the work.
        try? await objects.export([ContactObject(id: id, collaboration: collaboration).interface], at: BusNames.contactPath(id))
    }

    var interface: DBusInterface {
        let id = self.id
        let collaboration = self.collaboration
        @Sendable func contact() async throws -> ContactDetails {
            guard let contact = await collaboration.contact(id) else {
                throw DBusError.unknownObject("The contact \(id) was removed.")
            }
            return contact
        }
        @Sendable func endpoint(_ call: DBusMethodCall) -> (String, UInt16) {
            (call.arguments[0].stringValue ?? "", call.arguments[1].uint16Value ?? 0)
        }
        @Sendable func flag(_ value: DBusValue, _ name: String) throws -> Bool {
            guard let flag = value.boolValue else { throw DBusError.invalidArgs("\(name) is a boolean.") }
            return flag
        }
        return DBusInterface(
            name: BusNames.contact,
            methods: [
                DBusMethod("Remove") { _ in
                    try await ErrorTable.translating { try await collaboration.removeContact(id) }
                    return []
                },
                DBusMethod("GetCard", out: [DBusArgument("card", .string)]) { _ in
                    [.string(try await ErrorTable.translating { try await collaboration.contactCard(of: id) })]
                },
                DBusMethod("AddEndpoint", in: [DBusArgument("host", .string), DBusArgument("port", .uint16)]) { call in
                    let (host, port) = endpoint(call)
                    try await ErrorTable.translating { try await collaboration.addEndpoint(id, host: host, port: port) }
                    return []
                },
                DBusMethod("RemoveEndpoint", in: [DBusArgument("host", .string), DBusArgument("port", .uint16)]) { call in
                    let (host, port) = endpoint(call)
                    try await ErrorTable.translating { try await collaboration.removeEndpoint(id, host: host, port: port) }
                    return []
                },
                DBusMethod("Refresh") { _ in
                    try await ErrorTable.translating { try await collaboration.refreshContact(id) }
                    return []
                },
            ],
            properties: [
                DBusProperty("PeerName", .string, changeSignal: .constant) { .string(try await contact().id) },
                DBusProperty("DisplayName", .string) { .string(try await contact().displayName) },
                DBusProperty(
                    "Nickname", .string,
                    get: { .string(try await contact().record.nickname) },
                    set: { value, _ in
                        try await ErrorTable.translating { try await collaboration.setNickname(id, value.stringValue ?? "") }
                    }),
                DBusProperty("Email", .string) { .string(try await contact().record.email) },
                DBusProperty("Fingerprint", .string) { .string(try await contact().certificate.fingerprint.description) },
                DBusProperty("VerificationCode", .string, changeSignal: .constant) {
                    .string(try await contact().verificationCode.description)
                },
                DBusProperty(
                    "Verified", .boolean,
                    get: { .boolean(try await contact().record.verified) },
                    set: { value, _ in
                        let verified = try flag(value, "Verified")
                        try await ErrorTable.translating { try await collaboration.setVerified(id, verified) }
                    }),
                DBusProperty(
                    "SubscribeAllowed", .boolean,
                    get: { .boolean(try await contact().record.subscribeAllowed) },
                    set: { value, _ in
                        let allowed = try flag(value, "SubscribeAllowed")
                        try await ErrorTable.translating { try await collaboration.setSubscribeAllowed(id, allowed) }
                    }),
                DBusProperty(
                    "Subscribed", .boolean,
                    get: { .boolean(try await contact().record.subscribed) },
                    set: { value, _ in
                        let subscribed = try flag(value, "Subscribed")
                        try await ErrorTable.translating { try await collaboration.setSubscribed(id, subscribed) }
                    }),
                DBusProperty("Online", .boolean) { .boolean(try await contact().isOnline) },
                DBusProperty("PresenceStatus", .string) { .string(try await contact().presence.status.name) },
                DBusProperty("PresenceMessage", .string) { .string(try await contact().presence.message) },
                DBusProperty("Peer", .objectPath) {
                    .objectPath(try await contact().isOnline ? BusNames.peerPath(id) : BusNames.none)
                },
                DBusProperty("Endpoints", .array(of: .structure([.string, .uint16]))) {
                    BusValues.endpoints(try await contact().record.endpoints)
                },
                DBusProperty("Applications", .array(of: .string)) { .strings(try await contact().applicationIDs) },
                DBusProperty("Objects", .array(of: .string)) { .strings(try await contact().objectIDs) },
                DBusProperty("LastSeen", .uint64) { .uint64(try await contact().lastSeen) },
            ]
        )
    }
}
