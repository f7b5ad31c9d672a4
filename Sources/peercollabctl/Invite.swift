import ArgumentParser
import DBus

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
            PEER is a peer name (as 'peercollabctl near' shows), a display name that only one \
            reachable person has, a contact's nickname or name, or a Peer or Contact object \
            path. A contact not connected is dialled at its endpoints first (signed in to the \
            internet scope). APP is the application id, \
            which the other side must have registered. Prints the invitation's object path; with \
            --wait, waits for the answer and prints the final state.

            Exit status with --wait: 0 accepted, 2 declined, 3 expired, 4 cancelled, 5 failed \
            (the reason is printed); otherwise as for every verb (1 refused, 69 no daemon).
            """)

    @OptionGroup var options: GlobalOptions
    @Argument(help: "Who: a peer name, a unique display name, or an object path.") var peer: String
    @Argument(help: "The application id, like org.example.Whiteboard.") var application: String
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
        let target = try await Self.resolve(peer, client)
        let reply = try await client.call(
            path: DaemonClient.root, interface: DaemonClient.manager, member: "Invite",
            [.objectPath(target), .string(application), .string(message), .bytes(data), .uint32(timeout)])
        guard let path = reply.first?.objectPathValue else { throw ExitStatus.refused }
        guard wait else {
            print(options.json ? JSONText.object([("Path", .objectPath(path))]) : path.rawValue)
            return
        }
        let state = try await InvitationWait.wait(for: path, client, seconds: timeout == 0 ? 300 : timeout)
        let reason = try await client.properties(of: DaemonClient.invitation, at: path)["Reason"]?.stringValue ?? ""
        if options.json {
            print(JSONText.object([("Path", .objectPath(path)), ("State", .string(state)), ("Reason", .string(reason))]))
        } else {
            print(reason.isEmpty ? state : "\(state): \(reason)")
        }
        if state != "accepted" { throw InvitationExitStatus.code(for: state) }
    }

    /// A peer name or display name to the Peer object path (both paths pass through).
    static func resolve(_ text: String, _ client: DaemonClient) async throws -> DBusObjectPath {
        if text.hasPrefix("/") {
            guard let path = try? DBusObjectPath(text) else { throw ValidationError("'\(text)' is not an object path.") }
            return path
        }
        let peers = try await PeerList.fetch(client)
        if let peer = peers.first(where: { $0.peerName == text }) { return peer.path }
        let named = peers.filter { $0.displayName == text }
        if named.count == 1 { return named[0].path }
        if named.count > 1 {
            throw ValidationError("\(named.count) people reachable now call themselves '\(text)'; use a peer name: \(named.map(\.peerName).joined(separator: ", ")).")
        }
        // A contact by the nickname I gave it or its name, connected or not (the daemon dials it).
        let contacts = try await ManagedObjects.fetch(client, interface: DaemonClient.contact)
        for key in ["Nickname", "DisplayName"] {
            let matching = contacts.filter { $0.properties[key]?.stringValue == text }
            if matching.count == 1 { return matching[0].path }
            if matching.count > 1 {
                throw ValidationError("\(matching.count) contacts are called '\(text)'; use a peer name ('peercollabctl contacts' lists them).")
            }
        }
        if DBusObjectPath.isValidElement(text) { return try DBusObjectPath("/org/peercollab/PeerCollab1/peer/" + text) }
        throw ValidationError("Nobody reachable now and no contact is called '\(text)'; 'peercollabctl near' and 'peercollabctl contacts' list them.")
    }
}

/// Waiting for an invitation's final state over the bus.
enum InvitationWait {
    /// Calls Wait with a bus timeout longer than the invitation can last.
    static func wait(for path: DBusObjectPath, _ client: DaemonClient, seconds: UInt32) async throws -> String {
        do {
            let reply = try await client.connection.call(
                destination: DaemonClient.service, path: path, interface: DaemonClient.invitation, member: "Wait",
                timeout: .seconds(Int64(seconds) + 60))
            return reply.first?.stringValue ?? "failed"
        } catch let error as DBusError {
            DaemonClient.fail(error.message)
            throw ExitStatus.refused
        }
    }
}
