import ArgumentParser
import DBus

/// `peercollabctl watch`: changes as they happen, one line each.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print who comes, goes and changes, and invitations, one line per change, until interrupted.",
        discussion: """
            Lines start with + (appeared), - (left) or ~ (changed); the people reachable and \
            the invitations there when it starts are printed first as +. Invitations appear \
            under …/invitation/ID, change State as they are answered, and leave when withdrawn. \
            With --json each line is a JSON object with "event", "path" and the properties.
            """)

    /// The objects whose coming, going and changes are shown (the Manager's changes too).
    static let watched = [DaemonClient.peer, DaemonClient.invitation]

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let rule = DBusMatchRule(sender: DaemonClient.service, pathNamespace: DaemonClient.root)
        let signals = try await client.connection.subscribe(to: rule)
        for peer in try await PeerList.fetch(client) {
            emit("+", peer.path, peer.properties)
        }
        for invitation in try await ManagedObjects.fetch(client, interface: DaemonClient.invitation) {
            emit("+", invitation.path, invitation.properties)
        }
        for await message in signals {
            let arguments = message.arguments()
            switch (message.interface, message.member) {
            case ("org.freedesktop.DBus.ObjectManager", "InterfacesAdded"):
                guard let path = arguments.first?.objectPathValue, case .dictionary(_, _, let interfaces)? = arguments.dropFirst().first,
                    let properties = interfaces.first(where: { Self.watched.contains($0.key.stringValue ?? "") })?.value.vardictValue
                else { continue }
                emit("+", path, properties)
            case ("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved"):
                guard let path = arguments.first?.objectPathValue,
                    arguments.dropFirst().first?.stringArrayValue?.contains(where: Self.watched.contains) == true
                else { continue }
                emit("-", path, [:])
            case ("org.freedesktop.DBus.Properties", "PropertiesChanged"):
                guard let path = message.path.flatMap({ try? DBusObjectPath($0) }), let changed = arguments.dropFirst().first?.vardictValue
                else { continue }
                let interface = arguments.first?.stringValue ?? ""
                guard Self.watched.contains(interface) || interface == DaemonClient.manager else { continue }
                emit("~", path, changed)
            default:
                continue
            }
        }
        DaemonClient.fail("The daemon went away.")
        throw ExitStatus.unavailable
    }

    private func emit(_ event: String, _ path: DBusObjectPath, _ properties: [String: DBusValue]) {
        if options.json {
            let name = ["+": "added", "-": "removed", "~": "changed"][event] ?? event
            print(JSONText.object([("event", .string(name)), ("path", .objectPath(path))] + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        } else {
            let what = properties.sorted { $0.key < $1.key }.filter { $0.key != "Applications" && $0.key != "Objects" && $0.key != "Data" }
                .map { "\($0.key)=\(TextTable.text($0.key, $0.value))" }.joined(separator: " ")
            print("\(event) \(path.rawValue)\(what.isEmpty ? "" : " " + what)")
        }
        fflushStandardOutput()
    }
}
