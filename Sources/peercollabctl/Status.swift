import ArgumentParser
import DBus

/// `peercollabctl status`: who I am and what the daemon is doing.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the daemon's version, your display name, sign-in and presence.")

    @OptionGroup var options: GlobalOptions

    /// The Manager properties shown, in this order, when the daemon has them.
    static let shown: [(property: String, label: String)] = [
        ("Version", "Daemon version"),
        ("DisplayName", "Display name"),
        ("PeerName", "Peer name"),
        ("Fingerprint", "Fingerprint"),
        ("Email", "Email"),
        ("SignedIn", "Signed in"),
        ("PresenceStatus", "Presence"),
        ("PresenceMessage", "Message"),
        ("InvitationPolicy", "Invitations from"),
        ("Endpoints", "Endpoints"),
    ]

    func run() async throws {
        let client = try DaemonClient(options: options)
        let properties = try await client.properties(of: DaemonClient.manager)
        if options.json {
            print(JSONText.object(properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
            return
        }
        let width = Self.shown.map(\.label.count).max()! + 1
        for (name, label) in Self.shown {
            guard let value = properties[name] else { continue }
            let padded = (label + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0)
            print(padded + Self.text(name, value))
        }
    }

    static func text(_ name: String, _ value: DBusValue) -> String {
        switch value {
        case .string(let text): return text.isEmpty ? "(none)" : text
        case .array(_, let items) where items.isEmpty: return name == "SignedIn" ? "no" : "(none)"
        case .array(_, let items):
            return items.map { item -> String in
                if let fields = item.structureFields, fields.count == 2, let host = fields[0].stringValue,
                    let port = fields[1].uint16Value
                {
                    return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
                }
                return item.stringValue ?? JSONText.encode(item)
            }.joined(separator: ", ")
        default: return JSONText.encode(value)
        }
    }
}

extension String {
    fileprivate func padding(toLength length: Int, withPad pad: String, startingAt: Int) -> String {
        count >= length ? self : self + String(repeating: pad, count: length - count)
    }
}
