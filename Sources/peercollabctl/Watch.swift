import ArgumentParser
import DBus
import PeerCollabAPI

/// `peercollabctl watch`: changes as they happen, one line each.
struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print who comes, goes and changes, and invitations, one line per change, until interrupted.",
        discussion: """
            Lines start with + (appeared), - (left) or ~ (changed); the people reachable and \
            the invitations there when it starts are printed first as +. Contacts, \
            applications and your own settings (the root object) show as they change. By \
            default only what a person notices is shown: LastSeen (which moves with every \
            keepalive) and a contact's copy of its connected peer's presence are left out; \
            --all shows every property. With --json each line is a JSON object with "event" \
            (added, removed, changed, stopped, started), "path", "interface" and the properties.

            When the daemon stops, watch says so and exits with status 69; with --follow it \
            waits for the daemon to come back and goes on, as 'journalctl -f' does.
            """)

    @OptionGroup var options: GlobalOptions
    @Flag(help: "Show every property change, LastSeen included.") var all = false
    @Flag(help: "When the daemon stops, wait for it to start again instead of exiting.") var follow = false

    /// What a line is about.
    enum Event: String {
        case added, removed, changed, stopped, started
        var mark: String { ["added": "+", "removed": "-", "changed": "~", "stopped": "!", "started": "!"][rawValue]! }
    }

    func run() async throws {
        let client = try DaemonClient(options: options)
        // The daemon's signals and its name changing hands, on one stream in the order the
        // bus sent them, so that no last change of the daemon prints after "stopped". Each
        // rule takes only what its true sender sent (the D-Bus library checks senders).
        let signals = try await client.connection.subscribe(to: [
            DBusMatchRule(sender: Self.bus, interface: Self.bus, member: "NameOwnerChanged", arg0: DaemonClient.service),
            DBusMatchRule(sender: DaemonClient.service),
        ])
        do {
            try await snapshot(client)
        } catch let failure as Failure where follow && failure.status == ExitStatus.unavailable {
            emit(.stopped, DaemonClient.root, nil, [:])
        }
        for await message in signals {
            if message.sender == Self.bus {
                guard message.member == "NameOwnerChanged", message.arguments().first?.stringValue == DaemonClient.service else { continue }
                guard message.arguments().dropFirst(2).first?.stringValue?.isEmpty == false else {
                    guard follow else {
                        throw Failure.unavailable(
                            PeerCollabErrorName.failed.busName,
                            "peercollabd stopped. See why: journalctl --user -u peercollab -n 20; start it again with 'systemctl --user start peercollab', or watch with --follow to wait for it.")
                    }
                    emit(.stopped, DaemonClient.root, nil, [:])
                    continue
                }
                emit(.started, DaemonClient.root, nil, [:])
                try? await snapshot(client)
            } else if let path = message.path.flatMap({ try? DBusObjectPath($0) }),
                path == DaemonClient.root || path.isDescendant(of: DaemonClient.root)
            {
                handle(message)
            }
        }
        throw Failure.unavailable(DBusError.StandardName.disconnected, "The bus went away.")
    }

    /// The bus itself: its name, interface and the sender of its signals.
    static let bus = "org.freedesktop.DBus"

    /// The peers reachable and the invitations there now, as `+` lines.
    private func snapshot(_ client: DaemonClient) async throws {
        let all = try await ManagedObjects.fetchAll(client)
        for interface in [DaemonClient.peer, DaemonClient.invitation] {
            for entry in (all[interface] ?? []).sorted(by: { $0.path.rawValue < $1.path.rawValue }) {
                emit(.added, entry.path, interface, shown(interface, entry.properties))
            }
        }
    }

    private func handle(_ message: DBusMessage) {
        let arguments = message.arguments()
        switch (message.interface, message.member) {
        case (DaemonClient.objectManager, "InterfacesAdded"):
            guard let path = arguments.first?.objectPathValue, case .dictionary(_, _, let interfaces)? = arguments.dropFirst().first else { return }
            for entry in interfaces {
                guard let interface = entry.key.stringValue, Self.kinds.contains(interface), let properties = entry.value.vardictValue else { continue }
                emit(.added, path, interface, shown(interface, properties))
            }
        case (DaemonClient.objectManager, "InterfacesRemoved"):
            guard let path = arguments.first?.objectPathValue else { return }
            for interface in arguments.dropFirst().first?.stringArrayValue ?? [] where Self.kinds.contains(interface) {
                emit(.removed, path, interface, [:])
            }
        case (DaemonClient.properties, "PropertiesChanged"):
            guard let path = message.path.flatMap({ try? DBusObjectPath($0) }), let interface = arguments.first?.stringValue,
                Self.kinds.contains(interface) || interface == DaemonClient.manager,
                let changed = arguments.dropFirst().first?.vardictValue
            else { return }
            let kept = shown(interface, changed)
            if !kept.isEmpty { emit(.changed, path, interface, kept) }
        default:
            return
        }
    }

    /// The child objects watched.
    static let kinds = PeerCollabBus.ObjectKind.allCases.map(\.interface)

    /// Properties left out by default: LastSeen moves with every keepalive, and a contact's
    /// presence, applications and objects repeat those of its Peer object.
    static let quiet: [String: Set<String>] = [
        DaemonClient.peer: [PeerProperty.lastSeen.rawValue],
        DaemonClient.contact: Set([ContactProperty.lastSeen, .online, .presenceStatus, .presenceMessage, .peer, .applications, .objects].map(\.rawValue)),
    ]

    private func shown(_ interface: String, _ properties: [String: DBusValue]) -> [String: DBusValue] {
        guard !all, let quiet = Self.quiet[interface] else { return properties }
        return properties.filter { !quiet.contains($0.key) }
    }

    private func emit(_ event: Event, _ path: DBusObjectPath, _ interface: String?, _ properties: [String: DBusValue]) {
        if options.json {
            var members: [(String, DBusValue)] = [("event", .string(event.rawValue)), ("path", .objectPath(path))]
            if let interface { members.append(("interface", .string(interface))) }
            print(JSONText.object(members + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        } else if event == .stopped || event == .started {
            print("! peercollabd \(event == .stopped ? "stopped; waiting for it to start again" : "started")")
        } else {
            let what = properties.sorted { $0.key < $1.key }.filter { !Self.long.contains($0.key) }
                .map { "\($0.key)=\(TextTable.text($0.key, $0.value))" }.joined(separator: " ")
            print("\(event.mark) \(path.rawValue)\(what.isEmpty ? "" : " " + what)")
        }
        fflushStandardOutput()
    }

    /// Properties too long for a line of text (JSON has them).
    static let long: Set<String> = [PeerProperty.applications.rawValue, PeerProperty.objects.rawValue, InvitationProperty.data.rawValue, ApplicationProperty.exec.rawValue]
}
