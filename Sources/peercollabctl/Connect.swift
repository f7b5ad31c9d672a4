import ArgumentParser
import DBus
import PeerCollabAPI

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
        guard let path = reply.first?.objectPathValue else { throw Failure.refused(Failure.Name.failed, "The daemon gave no peer.") }
        try await Connect.showPeer(path, client, options)
    }

    /// A Peer object: the Peer shape with --json, else who it is and its code.
    static func showPeer(_ path: DBusObjectPath, _ client: DaemonClient, _ options: GlobalOptions) async throws {
        let properties = try await client.properties(of: DaemonClient.peer, at: path)
        if options.json {
            print(try await ManagedObjects.json(path, properties, client))
            return
        }
        let rows: [(PeerProperty, String)] = [
            (.displayName, "Display name"), (.peerName, "Peer name"), (.verificationCode, "Verification code"),
            (.addresses, "Address"), (.presenceStatus, "Presence"),
        ]
        TextTable.printProperties(properties, rows.map { ($0.0.rawValue, $0.1) })
        print("Object: \(path)")
    }
}

/// `peercollabctl refresh PERSON`: ask a connected peer for its profile again, or dial a
/// contact who is not connected (signed in to the internet scope).
struct Refresh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconnect or refresh someone: ask a connected peer for its profile again, or dial a contact now.",
        discussion: """
            A contact not connected is dialled at its endpoints while you are signed in to the \
            internet scope; the verb returns once connected, or fails with what each endpoint said.
            """,
        aliases: ["reconnect"])

    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("Who: a peer name, nickname, display name or object path.", valueName: "person"), completion: .people)
    var person: String

    func run() async throws {
        let client = try DaemonClient(options: options)
        let found = try await People.resolve(person, need: .anyone, client)
        if let contact = found.contact {
            _ = try await client.call(path: contact.path, interface: DaemonClient.contact, member: "Refresh", timeout: .seconds(120))
        } else {
            _ = try await client.call(path: found.path, interface: DaemonClient.peer, member: "Refresh")
        }
        let now = try await People.resolve(found.peerName, need: .anyone, client)
        if options.json {
            print(try await ManagedObjects.json(now.peer ?? now.contact!, client))
        } else {
            print("\(now.shownName.isEmpty ? now.peerName : now.shownName) is \(now.peer != nil ? "connected" : "not connected").")
        }
    }
}
