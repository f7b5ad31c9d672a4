import ArgumentParser
import DBus
import PeerCollabAPI

/// Shell completion of what lives in the daemon (people, contacts, invitation ids,
/// application ids), as `systemctl` completes unit names. It asks the running daemon only:
/// never starting it (activation would make a Tab press start a service), within a second,
/// and completing nothing when the bus or the daemon is not there.
enum LiveCompletion {
    enum What: Sendable { case people, contacts, invitations, applications }

    static func complete(_ what: What, _ words: [String], _ prefix: String) async -> [String] {
        let address = words.firstIndex(of: "--bus").flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
        guard let connection = try? DBusConnection(bus: address.map(DBusBusAddress.address) ?? .session) else { return [] }
        defer { connection.close() }
        guard (try? await connection.nameOwner(PeerCollabBus.serviceName)) ?? nil != nil,
            let reply = try? await connection.call(
                destination: PeerCollabBus.serviceName, path: DaemonClient.root, interface: DaemonClient.objectManager,
                member: "GetManagedObjects", timeout: .seconds(1)),
            case .dictionary(_, _, let objects)? = reply.first
        else { return [] }
        var names: [String] = []
        for object in objects {
            guard case .dictionary(_, _, let interfaces) = object.value else { continue }
            for interface in interfaces {
                guard let properties = interface.value.vardictValue else { continue }
                func text(_ name: String) -> String { properties[name]?.stringValue ?? "" }
                switch (what, interface.key.stringValue) {
                case (.people, DaemonClient.peer?):
                    names += [text(PeerProperty.peerName.rawValue), text(PeerProperty.displayName.rawValue)]
                case (.people, DaemonClient.contact?), (.contacts, DaemonClient.contact?):
                    names += [text(ContactProperty.peerName.rawValue), text(ContactProperty.nickname.rawValue),
                              text(ContactProperty.displayName.rawValue)]
                case (.invitations, DaemonClient.invitation?):
                    names.append(text(InvitationProperty.id.rawValue))
                case (.applications, DaemonClient.application?):
                    names.append(text(ApplicationProperty.id.rawValue))
                default:
                    break
                }
            }
        }
        // A name with white space would be split by the shell: those are typed by peer name.
        let usable = names.filter { !$0.isEmpty && !$0.contains(where: \.isWhitespace) && $0.hasPrefix(prefix) }
        var seen = Set<String>()
        return usable.filter { seen.insert($0).inserted }.sorted()
    }
}

extension CompletionKind {
    /// Peer names, nicknames and one-word display names of contacts and peers.
    static var people: CompletionKind { .custom { words, _, prefix in await LiveCompletion.complete(.people, words, prefix) } }
    /// Contacts' peer names, nicknames and one-word display names.
    static var contacts: CompletionKind { .custom { words, _, prefix in await LiveCompletion.complete(.contacts, words, prefix) } }
    /// Invitation ids.
    static var invitations: CompletionKind { .custom { words, _, prefix in await LiveCompletion.complete(.invitations, words, prefix) } }
    /// Registered application ids.
    static var applications: CompletionKind { .custom { words, _, prefix in await LiveCompletion.complete(.applications, words, prefix) } }
}
