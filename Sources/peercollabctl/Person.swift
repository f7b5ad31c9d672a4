import DBus
import PeerCollabAPI

/// Someone I can name: a contact, a peer reachable now, or both (the same peer name).
struct Person {
    let peerName: String
    /// The Peer object while reachable.
    var peer: ManagedObjects.Entry?
    /// The Contact object when on my contact list.
    var contact: ManagedObjects.Entry?

    var nickname: String { contact?.properties[ContactProperty.nickname.rawValue]?.stringValue ?? "" }
    /// What they call themselves now: the live profile while reachable, else the contact's.
    var displayName: String {
        let live = peer?.properties[PeerProperty.displayName.rawValue]?.stringValue ?? ""
        return live.isEmpty ? contact?.properties[ContactProperty.displayName.rawValue]?.stringValue ?? "" : live
    }
    /// The nickname when set, else the display name.
    var shownName: String { nickname.isEmpty ? displayName : nickname }
    /// The object to act on when either will do: the peer while reachable, else the contact.
    var path: DBusObjectPath { (peer ?? contact)!.path }

    /// Who they are to me: a verified contact, an unverified one, or a stranger.
    var trust: Trust {
        guard let contact else { return .stranger }
        return contact.properties[ContactProperty.verified.rawValue]?.boolValue == true ? .verified : .unverified
    }

    /// One line of a candidate list: name, peer name, who they are to me, connected or not.
    var candidateLine: String {
        let name = shownName.isEmpty ? "?" : shownName
        let what = [trust.label, peer != nil ? "connected" : "not connected"]
        return "  \(name)  \(peerName)  (\(what.joined(separator: ", ")))"
    }

    var json: String {
        JSONText.object([
            ("DisplayName", .string(displayName)), ("Nickname", .string(nickname)), ("PeerName", .string(peerName)),
            ("Contact", .objectPath(contact?.path ?? .root)), ("Peer", .objectPath(peer?.path ?? .root)),
        ])
    }
}

/// The one way every verb that takes a person finds them (docs/cli.md, "Naming people").
///
/// In this order, the first rule that matches anyone decides: an object path; a peer name
/// (case and `-`/spaces ignored); a nickname; a display name (case-insensitive); a prefix
/// of any of those (a peer name prefix of 4 characters at least). A rule matching two people
/// or more is ambiguous, never a guess: a peer near me calling itself by a contact's name is
/// another key, so "Ada" then lists both. What nobody matches, or several do, fails with
/// exit 1 and the candidates listed.
enum People {
    /// Who a verb can act on.
    enum Need {
        /// A contact or a peer reachable now (invite, refresh).
        case anyone
        /// A contact (the `contact` verbs).
        case contact
        /// A peer reachable now (add-to-contacts, objects).
        case peer
    }

    /// Everyone the daemon knows of: contacts and peers, merged by peer name.
    static func fetch(_ client: DaemonClient) async throws -> [Person] {
        let all = try await ManagedObjects.fetchAll(client)
        var people: [String: Person] = [:]
        for contact in all[DaemonClient.contact] ?? [] {
            let name = contact.properties[ContactProperty.peerName.rawValue]?.stringValue ?? ""
            people[name, default: Person(peerName: name)].contact = contact
        }
        for peer in all[DaemonClient.peer] ?? [] {
            let name = peer.properties[PeerProperty.peerName.rawValue]?.stringValue ?? ""
            people[name, default: Person(peerName: name)].peer = peer
        }
        return people.values.sorted { ($0.shownName.lowercased(), $0.peerName) < ($1.shownName.lowercased(), $1.peerName) }
    }

    /// Finds the person `text` names among those who fit `need`.
    static func resolve(_ text: String, need: Need, _ client: DaemonClient) async throws -> Person {
        try resolve(text, need: need, in: try await fetch(client))
    }

    static func resolve(_ text: String, need: Need, in everyone: [Person]) throws -> Person {
        let fitting = everyone.filter { person in
            switch need {
            case .anyone: true
            case .contact: person.contact != nil
            case .peer: person.peer != nil
            }
        }
        if let match = try match(text, in: fitting) { return match }
        // Someone matches who does not fit: say what they are not.
        if need != .anyone, let other = try? match(text, in: everyone) {
            let name = other.shownName.isEmpty ? other.peerName : other.shownName
            switch need {
            case .contact:
                throw Failure(
                    name: Failure.Name.notFound,
                    message: "\(name) (\(other.peerName)) is not one of your contacts. Add them with 'peercollabctl contact add-peer \(other.peerName)' while they are near, or import their card with 'peercollabctl contact add FILE'.",
                    status: ExitStatus.refused, candidates: [other])
            default:
                throw Failure(
                    name: Failure.Name.notFound,
                    message: "\(name) (\(other.peerName)) is not connected now. 'peercollabctl near' lists who is; 'peercollabctl refresh \(other.peerName)' dials a contact.",
                    status: ExitStatus.refused, candidates: [other])
            }
        }
        let what = switch need {
        case .anyone: "Nobody near you and no contact"
        case .contact: "No contact"
        case .peer: "Nobody connected now"
        }
        let list = fitting.isEmpty ? "" : "\nThey are:\n" + fitting.map(\.candidateLine).joined(separator: "\n")
        throw Failure(
            name: Failure.Name.notFound,
            message: "\(what) matches \"\(text)\". Name a person by peer name (or its first 4 characters or more), nickname or display name (or its start)\(need == .peer ? "" : "; 'peercollabctl contacts' and 'peercollabctl near' list them").\(list)",
            status: ExitStatus.refused, candidates: fitting)
    }

    /// The rules in order; nil when none matches anyone.
    private static func match(_ text: String, in people: [Person]) throws -> Person? {
        let folded = text.lowercased()
        let key = folded.filter { $0 != "-" && $0 != " " }
        let rules: [(Person) -> Bool] = [
            { person in [person.peer?.path.rawValue, person.contact?.path.rawValue].contains(text) },
            { $0.peerName == key },
            { !$0.nickname.isEmpty && $0.nickname.lowercased() == folded },
            { person in names(person).contains(folded) },
            { person in
                (key.count >= 4 && person.peerName.hasPrefix(key))
                    || ([person.nickname.lowercased()] + names(person)).contains { !$0.isEmpty && $0.hasPrefix(folded) }
            },
        ]
        guard !folded.isEmpty else { return nil }
        for rule in rules {
            let matching = people.filter(rule)
            if matching.count == 1 { return matching[0] }
            if matching.count > 1 {
                throw Failure(
                    name: Failure.Name.ambiguous,
                    message: "\"\(text)\" matches \(matching.count) people; type a peer name (or more of the name) to choose:\n"
                        + matching.map(\.candidateLine).joined(separator: "\n"),
                    status: ExitStatus.refused, candidates: matching)
            }
        }
        return nil
    }

    /// The display names a person goes by, lowercased: the live one and the contact's.
    private static func names(_ person: Person) -> [String] {
        [person.peer?.properties[PeerProperty.displayName.rawValue]?.stringValue,
         person.contact?.properties[ContactProperty.displayName.rawValue]?.stringValue]
            .compactMap { $0?.lowercased() }.filter { !$0.isEmpty }
    }
}
