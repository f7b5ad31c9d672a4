import ArgumentParser
import DBus

/// `peercollabctl connect LINK`: reach someone by contact link and prove their key.
struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reach a peer by contact link (peercollab:PEERNAME@HOST:PORT) and show who answered.",
        discussion: """
            Whoever answers at that address must hold the key the peer name derives from, or the \
            connection is refused. Compare the verification code with the other person (aloud, \
            in person) before you trust the display name.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The contact link, as `peercollabctl card --link` prints it on the other machine.")
    var link: String

    func run() async throws {
        let client = try DaemonClient(options: options)
        let reply = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "Connect", [.string(link)])
        guard let path = reply.first?.objectPathValue else { throw ExitStatus.refused }
        let properties = try await client.properties(of: DaemonClient.peer, at: path)
        if options.json {
            print(JSONText.object([("Peer", .objectPath(path))] + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
            return
        }
        TextTable.printProperties(properties, [
            ("DisplayName", "Display name"), ("PeerName", "Peer name"), ("VerificationCode", "Verification code"),
            ("Addresses", "Address"), ("PresenceStatus", "Presence"),
        ])
        print("Object: \(path)")
    }
}
