import ArgumentParser
import DBus
import PeerCollabAPI

/// `peercollabctl status`: who I am and what the daemon is doing.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the daemon's version, your display name, sign-in and presence.")

    @OptionGroup var options: GlobalOptions

    /// The Manager properties shown, in this order, when the daemon has them.
    static let shown: [(property: ManagerProperty, label: String)] = [
        (.version, "Daemon version"),
        (.displayName, "Display name"),
        (.peerName, "Peer name"),
        (.email, "Email"),
        (.signedIn, "Signed in"),
        (.presenceStatus, "Presence"),
        (.presenceMessage, "Message"),
        (.signInAutomatically, "Auto sign-in"),
        (.invitationPolicy, "Invitations from"),
        (.endpoints, "Endpoints"),
        (.objects, "Objects"),
    ]

    func run() async throws {
        let client = try DaemonClient(options: options)
        try await Self.show(client, options, Self.shown)
    }

    /// Prints the Manager: the Manager shape with --json, else the rows asked for.
    static func show(_ client: DaemonClient, _ options: GlobalOptions, _ rows: [(property: ManagerProperty, label: String)]) async throws {
        let properties = try await client.properties(of: DaemonClient.manager)
        if options.json {
            print(ManagedObjects.json(DaemonClient.root, properties))
            return
        }
        TextTable.printProperties(properties, rows.map { ($0.property.rawValue, $0.label) })
    }
}

/// `peercollabctl whoami`: my identity, as others see and check it.
struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show your peer name, fingerprint, display name and where peers reach you.",
        discussion: "The peer name is derived from your key: it is what others pin when they add you as a contact.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        try await Status.show(client, options, [
            (.displayName, "Display name"), (.peerName, "Peer name"), (.fingerprint, "Fingerprint"), (.email, "Email"),
            (.endpoints, "Endpoints"),
        ])
    }
}

/// `peercollabctl set-name NAME`.
struct SetName: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-name",
        abstract: "Change the display name others see.",
        discussion: "The name is 1 to 128 characters without control characters. It is only a label: peers are identified by their keys.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The new display name.")
    var name: String

    func run() async throws {
        let client = try DaemonClient(options: options)
        try await client.setProperty(ManagerProperty.displayName.rawValue, .string(name), of: DaemonClient.manager)
        if options.json { print(try await client.managerJSON()) }
    }
}

/// `peercollabctl set-email ADDRESS`.
struct SetEmail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-email",
        abstract: "Set the e-mail address in your contact card (\"\" removes it).",
        discussion: "Those who import your card see it; peers near you do not.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The address, like ada@example.org.", valueName: "address"))
    var address: String

    func run() async throws {
        let client = try DaemonClient(options: options)
        try await client.setProperty(ManagerProperty.email.rawValue, .string(address), of: DaemonClient.manager)
        if options.json { print(try await client.managerJSON()) }
    }
}
