import ArgumentParser
import DBus
import PeerCollabAPI

/// What `invite --wait` exits with: each final state its own status, so scripts can branch.
enum InvitationExitStatus {
    static func code(for state: String) -> ExitCode {
        switch state {
        case "accepted": ExitCode(0)
        case "declined": ExitCode(2)
        case "expired": ExitCode(3)
        case "cancelled": ExitCode(4)
        default: ExitCode(5)
        }
    }
}

/// `peercollabctl invite PEER APP`: invite someone reachable now into an application.
struct Invite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invite a peer or contact into an application.",
        discussion: """
            PERSON is a peer name (as 'peercollabctl near' shows) or its first 4 characters or \
            more, a nickname, a display name or its start, or a Peer or Contact object path; \
            a name several people match lists them. A contact not connected is dialled at its endpoints first (signed in to the \
            internet scope). APP is the application id, \
            which the other side must have registered. Prints the invitation's object path; with \
            --wait, waits for the answer and prints the final state.

            Exit status with --wait: 0 accepted, 2 declined, 3 expired, 4 cancelled, 5 failed \
            (the reason is printed); otherwise as for every verb (1 refused, 69 no daemon).
            """)

    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("Who: a peer name, nickname, display name (or its start) or object path.", valueName: "person"), completion: .people)
    var peer: String
    @Argument(help: ArgumentHelp("The application id, like org.example.Whiteboard.", valueName: "application"), completion: .applications)
    var application: String
    @Option(help: "Words for the invitee (≤ 1,024 bytes).") var message = ""
    @Option(name: .customLong("data-file"), help: ArgumentHelp("Data for the application (≤ 64 KiB).", valueName: "file"))
    var dataFile: String?
    @Option(help: ArgumentHelp("Seconds until it expires unanswered: 1–3600 (default 300).", valueName: "seconds"))
    var timeout: UInt32 = 0
    @Flag(help: "Wait for the answer; the exit status tells it.") var wait = false

    func validate() throws {
        if timeout > 3600 { throw ValidationError("--timeout must be 1 to 3600 seconds.") }
    }

    func run() async throws {
        let data = try dataFile.map(DataFile.read) ?? []
        let client = try DaemonClient(options: options)
        let target = try await People.resolve(peer, need: .anyone, client).path
        let reply = try await client.call(
            path: DaemonClient.root, interface: DaemonClient.manager, member: "Invite",
            [.objectPath(target), .string(application), .string(message), .bytes(data), .uint32(timeout)],
            timeout: .seconds(120))
        guard let path = reply.first?.objectPathValue else { throw Failure.refused(Failure.Name.failed, "The daemon gave no invitation.") }
        guard wait else {
            print(options.json ? try await client.objectJSON(path, DaemonClient.invitation) : path.rawValue)
            return
        }
        try await Self.finish(path, client, options, seconds: timeout == 0 ? 300 : timeout, id: path.rawValue)
    }

    /// Waits for the final state, prints it (the Invitation shape with --json) and exits with
    /// the status that tells it.
    static func finish(_ path: DBusObjectPath, _ client: DaemonClient, _ options: GlobalOptions, seconds: UInt32, id: String) async throws {
        let state: String
        do {
            let reply = try await client.connection.call(
                destination: DaemonClient.service, path: path, interface: DaemonClient.invitation, member: "Wait",
                timeout: .seconds(Int64(seconds) + 60))
            state = reply.first?.stringValue ?? "failed"
        } catch let error as DBusError {
            throw InvitationArgument.notFound(error, id)
        }
        let properties = try await InvitationArgument.properties(path, id, client)
        let reason = properties[InvitationProperty.reason.rawValue]?.stringValue ?? ""
        if options.json {
            print(try await ManagedObjects.json(path, properties, client))
        } else {
            print(reason.isEmpty ? state : "\(state): \(reason)")
        }
        if state != "accepted" { throw InvitationExitStatus.code(for: state) }
    }
}
