import ArgumentParser
import PeerCollabAPI
import DBus

/// `peercollabctl presence [STATUS [MESSAGE]]`: show or set my presence.
struct Presence: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show your presence, or set it for everyone who may see it.",
        discussion: """
            STATUS is one of: \(APIValues.presenceStatuses.joined(separator: ", ")). MESSAGE is free \
            text of at most 1,024 bytes on one line ("in a meeting until 3"); without it the \
            message is cleared. Peers near you always see your presence; contacts over the \
            internet see it when you allow them and they subscribe. While the session is idle \
            an online presence shows as idle (the autoIdle setting turns that off). Presence \
            starts as online each time the daemon starts.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The new status.", valueName: "status"))
    var status: String?

    @Argument(help: ArgumentHelp("The text shown beside it.", valueName: "message"))
    var message: String?

    func validate() throws {
        if let status, !APIValues.presenceStatuses.contains(status) {
            throw ValidationError("'\(status)' is not a presence status: use one of \(APIValues.presenceStatuses.joined(separator: ", ")).")
        }
        if message != nil, status == nil { throw ValidationError("Give a status before the message.") }
    }

    func run() async throws {
        let client = try DaemonClient(options: options)
        if let status {
            _ = try await client.call(
                path: DaemonClient.root, interface: DaemonClient.manager, member: "SetPresence",
                [.string(status), .string(message ?? "")])
        }
        let properties = try await client.properties(of: DaemonClient.manager)
        let current = properties[ManagerProperty.presenceStatus.rawValue]?.stringValue ?? ""
        let text = properties[ManagerProperty.presenceMessage.rawValue]?.stringValue ?? ""
        if options.json {
            print(ManagedObjects.json(DaemonClient.root, properties))
        } else if status == nil {
            print(text.isEmpty ? current : "\(current): \(text)")
        }
    }
}
