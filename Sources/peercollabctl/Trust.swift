import DBus
import PeerCollabAPI

/// Whether the person behind a Peer or an Invitation is a verified contact, an unverified
/// one, or a stranger. A display name is a claim anyone can make; only the peer name (the
/// key) says who it is, so wherever a person is named the answer goes beside the name, and
/// an impostor with a contact's name reads "stranger".
enum Trust: String {
    case verified, unverified, stranger

    /// The JSON key peercollabctl adds to Peer and Invitation objects (docs/cli.md).
    static let key = "Trust"

    /// Words for text output.
    var label: String {
        switch self {
        case .verified: "verified contact"
        case .unverified: "unverified contact"
        case .stranger: "stranger"
        }
    }

    /// Verified or not, by peer name, for every contact.
    static func contacts(_ client: DaemonClient) async throws -> [String: Bool] {
        var verified: [String: Bool] = [:]
        for contact in try await ManagedObjects.fetch(client, interface: DaemonClient.contact) {
            guard let peerName = contact.properties[ContactProperty.peerName.rawValue]?.stringValue else { continue }
            verified[peerName] = contact.properties[ContactProperty.verified.rawValue]?.boolValue ?? false
        }
        return verified
    }

    static func of(_ peerName: String, _ contacts: [String: Bool]) -> Trust {
        contacts[peerName].map { $0 ? .verified : .unverified } ?? .stranger
    }

    /// Whether these are a Peer's or an Invitation's properties, the objects that name a person.
    static func namesAPerson(_ properties: [String: DBusValue]) -> Bool {
        properties[PeerProperty.peerName.rawValue] != nil
            && (properties[PeerProperty.scope.rawValue] != nil || properties[InvitationProperty.direction.rawValue] != nil)
    }

    /// `properties` with `Trust` added when they are a Peer's or an Invitation's.
    static func adding(to properties: [String: DBusValue], _ contacts: [String: Bool]) -> [String: DBusValue] {
        guard namesAPerson(properties), let peerName = properties[PeerProperty.peerName.rawValue]?.stringValue else { return properties }
        var shown = properties
        shown[key] = .string(of(peerName, contacts).rawValue)
        return shown
    }

    static func adding(to properties: [String: DBusValue], _ client: DaemonClient) async throws -> [String: DBusValue] {
        guard namesAPerson(properties) else { return properties }
        return adding(to: properties, try await contacts(client))
    }
}

extension ManagedObjects {
    /// The JSON of an object, with `Trust` when it names a person.
    static func json(_ path: DBusObjectPath, _ properties: [String: DBusValue], _ client: DaemonClient) async throws -> String {
        json(path, try await Trust.adding(to: properties, client))
    }

    static func json(_ entry: Entry, _ client: DaemonClient) async throws -> String {
        try await json(entry.path, entry.properties, client)
    }

    /// A JSON array, with `Trust` in each object that names a person.
    static func jsonArray(_ entries: [Entry], _ client: DaemonClient) async throws -> String {
        guard entries.contains(where: { Trust.namesAPerson($0.properties) }) else { return jsonArray(entries) }
        let contacts = try await Trust.contacts(client)
        return JSONText.array(entries.map { json($0.path, Trust.adding(to: $0.properties, contacts)) })
    }
}
