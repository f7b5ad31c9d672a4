import DBus
import PeerCollabAPI

extension DaemonClient {
    static let contact = PeerCollabBus.Interface.contact
}

/// The daemon's Contact objects, read with one GetManagedObjects call, and how a user names one.
struct ContactsList {
    struct Entry {
        let path: DBusObjectPath
        let properties: [String: DBusValue]

        var peerName: String { properties["PeerName"]?.stringValue ?? "" }
        var displayName: String { properties["DisplayName"]?.stringValue ?? "" }
        var nickname: String { properties["Nickname"]?.stringValue ?? "" }
        var verified: Bool { properties["Verified"]?.boolValue ?? false }
        var online: Bool { properties["Online"]?.boolValue ?? false }
        var presence: String { properties["PresenceStatus"]?.stringValue ?? "" }
        var verificationCode: String { properties["VerificationCode"]?.stringValue ?? "" }
        /// The nickname when set, else the display name the contact gave.
        var shownName: String { nickname.isEmpty ? displayName : nickname }
    }

    static func fetch(_ client: DaemonClient) async throws -> [Entry] {
        try await ManagedObjects.fetch(client, interface: DaemonClient.contact).map {
            Entry(path: $0.path, properties: $0.properties)
        }.sorted { ($0.shownName.lowercased(), $0.peerName) < ($1.shownName.lowercased(), $1.peerName) }
    }

    /// Finds the contact a user means: a peer name, a unique prefix of one (4 characters at
    /// least), or a nickname or display name that only one contact has. Anything else is an
    /// error that lists the candidates.
    static func resolve(_ text: String, in contacts: [Entry]) throws -> Entry {
        let key = text.lowercased().filter { $0 != "-" && $0 != " " }
        if let exact = contacts.first(where: { $0.peerName == key }) { return exact }
        if key.count >= 4 {
            let prefixed = contacts.filter { $0.peerName.hasPrefix(key) }
            if prefixed.count == 1 { return prefixed[0] }
            if prefixed.count > 1 { throw ambiguous(text, prefixed) }
        }
        let byNickname = contacts.filter { !$0.nickname.isEmpty && $0.nickname.lowercased() == text.lowercased() }
        if byNickname.count == 1 { return byNickname[0] }
        if byNickname.count > 1 { throw ambiguous(text, byNickname) }
        let byName = contacts.filter { $0.displayName.lowercased() == text.lowercased() }
        if byName.count == 1 { return byName[0] }
        if byName.count > 1 { throw ambiguous(text, byName) }
        DaemonClient.fail("No contact matches \"\(text)\". Name one by its peer name (or the first characters of it), its nickname or its display name; 'peercollabctl contacts' lists them.")
        return try fail()
    }

    private static func ambiguous(_ text: String, _ candidates: [Entry]) -> Error {
        let list = candidates.map { "  \($0.peerName)  \($0.shownName)" }.joined(separator: "\n")
        DaemonClient.fail("\"\(text)\" matches \(candidates.count) contacts; give more of the peer name:\n\(list)")
        return ExitStatus.refused
    }

    private static func fail() throws -> Entry { throw ExitStatus.refused }

    static func json(_ entry: Entry) -> String {
        ManagedObjects.json(entry.path, entry.properties)
    }
}
