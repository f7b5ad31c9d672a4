import ArgumentParser
import DBus

/// `peercollabctl whoami`: my identity, as others see and check it.
struct WhoAmI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show your peer name, fingerprint, display name and where peers reach you.",
        discussion: "The peer name is derived from your key: it is what others pin when they add you as a contact.")

    @OptionGroup var options: GlobalOptions

    static let shown: [(property: String, label: String)] = [
        ("DisplayName", "Display name"),
        ("PeerName", "Peer name"),
        ("Fingerprint", "Fingerprint"),
        ("Email", "Email"),
        ("Endpoints", "Endpoints"),
    ]

    func run() async throws {
        let client = try DaemonClient(options: options)
        let properties = try await client.properties(of: DaemonClient.manager)
        if options.json {
            print(JSONText.object(Self.shown.compactMap { item in properties[item.property].map { (item.property, $0) } }))
            return
        }
        TextTable.printProperties(properties, Self.shown)
    }
}
