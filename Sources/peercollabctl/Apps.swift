import ArgumentParser
import DBus
import PeerCollabAPI

/// `peercollabctl app register|unregister`: the applications people can invite me into.
struct App: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register or unregister an application that invitations can start.",
        subcommands: [Register.self, Unregister.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an application (registering an id again replaces it).",
            discussion: """
                ID is reverse-DNS, like org.example.Whiteboard. With --exec, accepting an \
                invitation runs that command (everything after --exec); with --desktop-id, the \
                desktop entry's Exec line; with neither, accepting starts nothing and the \
                application learns of it from the bus. The started program finds the invitation's \
                object path in $PEERCOLLAB_INVITATION. Peers see the ids you registered.
                """)

        @OptionGroup var options: GlobalOptions
        @Argument(help: "The application id (reverse-DNS).") var id: String
        @Option(help: "The name people see.") var name: String
        @Option(help: "What it is for.") var description: String?
        @Option(name: .customLong("desktop-id"), help: ArgumentHelp("A desktop entry to start, like org.example.App.desktop.", valueName: "id"))
        var desktopID: String?
        @Option(name: .customLong("data-file"), help: ArgumentHelp("Data kept with the registration (≤ 64 KiB).", valueName: "file"))
        var dataFile: String?
        @Option(help: ArgumentHelp("Where invitations into it are taken: near-me, internet or all.", valueName: "scope"))
        var scope: String?
        @Option(name: .customLong("exec"), parsing: .remaining, help: ArgumentHelp("The command to run on accept; must come last.", valueName: "command"))
        var exec: [String] = []

        func validate() throws {
            if !exec.isEmpty && desktopID != nil { throw ValidationError("Give --exec or --desktop-id, not both.") }
        }

        func run() async throws {
            var info: [String: DBusValue] = ["name": .string(name)]
            if let description { info["description"] = .string(description) }
            if !exec.isEmpty { info["exec"] = .strings(exec) }
            if let desktopID { info["desktop-id"] = .string(desktopID) }
            if let scope { info["scope"] = .string(scope) }
            if let dataFile { info["data"] = .bytes(try DataFile.read(dataFile)) }
            let client = try DaemonClient(options: options)
            let reply = try await client.call(
                path: DaemonClient.root, interface: DaemonClient.manager, member: "RegisterApplication", [.string(id), .vardict(info)])
            guard let path = reply.first?.objectPathValue else { throw Failure.refused(Failure.Name.failed, "The daemon gave no application.") }
            print(options.json ? try await client.objectJSON(path, DaemonClient.application) : "Registered \(id) (\(path)).")
        }
    }

    struct Unregister: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unregister an application; invitations into it are refused from now on.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The application id."), completion: .applications) var id: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            // What it was, for --json: it is gone after the call.
            let path = (try? DBusObjectPath(PeerCollabBus.applicationPath(id))) ?? DBusObjectPath.root
            let before = try? await client.connection.call(
                destination: DaemonClient.service, path: path, interface: DaemonClient.properties, member: "GetAll",
                arguments: [.string(DaemonClient.application)]).first?.vardictValue
            _ = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "UnregisterApplication", [.string(id)])
            print(options.json ? ManagedObjects.json(path, before ?? [:]) : "Unregistered \(id).")
        }
    }
}

/// `peercollabctl apps`: the registered applications.
struct Apps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the applications registered for invitations.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let apps = try await ManagedObjects.fetch(client, interface: DaemonClient.application)
            .sorted { ($0.properties[ApplicationProperty.id.rawValue]?.stringValue ?? "") < ($1.properties[ApplicationProperty.id.rawValue]?.stringValue ?? "") }
        if options.json {
            print(ManagedObjects.jsonArray(apps))
            return
        }
        guard !apps.isEmpty else {
            print("No applications are registered. Register one with 'peercollabctl app register'.")
            return
        }
        TextTable.printRows(
            [["ID", "NAME", "STARTS", "SCOPE"]]
                + apps.map { app in
                    let exec = app.properties[ApplicationProperty.exec.rawValue]?.stringArrayValue ?? []
                    let desktop = app.properties[ApplicationProperty.desktopID.rawValue]?.stringValue ?? ""
                    return [
                        app.properties[ApplicationProperty.id.rawValue]?.stringValue ?? "", app.properties[ApplicationProperty.name.rawValue]?.stringValue ?? "",
                        !exec.isEmpty ? exec.joined(separator: " ") : desktop.isEmpty ? "(nothing)" : desktop,
                        app.properties[ApplicationProperty.scope.rawValue]?.stringValue ?? "",
                    ]
                })
    }
}

/// A data file given on the command line: read up to one byte over the API's 64 KiB, so
/// that an over-long file is refused by the daemon (exit 1), like an over-long message.
enum DataFile {
    static func read(_ path: String) throws -> [UInt8] {
        try InputFile.read(path, limit: APIValues.maximumObjectBytes + 1)
    }
}
