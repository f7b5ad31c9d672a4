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
        TextTable.printProperties(properties, Self.shown)
    }
}
