import ArgumentParser
import DBus

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
        try await client.setProperty("DisplayName", .string(name), of: DaemonClient.manager)
        if options.json {
            print(JSONText.object([("DisplayName", .string(name))]))
        }
    }
}
