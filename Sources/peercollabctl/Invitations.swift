import ArgumentParser
import DBus
import FoundationEssentials

/// `peercollabctl invitations`: invitations both ways, pending and recently finished.
struct Invitations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List invitations, incoming and outgoing (finished ones stay a while).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let invitations = try await ManagedObjects.fetch(client, interface: DaemonClient.invitation)
            .sorted { ($0.properties["Created"]?.uint64Value ?? 0) < ($1.properties["Created"]?.uint64Value ?? 0) }
        if options.json {
            print("[" + invitations.map { ManagedObjects.json($0) }.joined(separator: ",") + "]")
            return
        }
        guard !invitations.isEmpty else {
            print("No invitations.")
            return
        }
        TextTable.printRows(
            [["ID", "WAY", "WHO", "APPLICATION", "STATE", "MESSAGE"]]
                + invitations.map { invitation in
                    let p = invitation.properties
                    let who = (p["DisplayName"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? p["PeerName"]?.stringValue ?? ""
                    let state = p["State"]?.stringValue ?? ""
                    let reason = p["Reason"]?.stringValue ?? ""
                    return [
                        p["Id"]?.stringValue ?? "", p["Direction"]?.stringValue == "incoming" ? "from" : "to", who,
                        p["ApplicationId"]?.stringValue ?? "", reason.isEmpty ? state : "\(state) (\(reason))",
                        p["Message"]?.stringValue ?? "",
                    ]
                })
    }
}

/// The object path of an invitation given by id or path.
enum InvitationArgument {
    static func path(_ text: String) throws -> DBusObjectPath {
        if text.hasPrefix("/"), let path = try? DBusObjectPath(text) { return path }
        guard DBusObjectPath.isValidElement(text) else { throw ValidationError("'\(text)' is not an invitation id ('peercollabctl invitations' lists them).") }
        return try DBusObjectPath("/org/peercollab/PeerCollab1/invitation/" + text)
    }

    static func call(_ member: String, _ id: String, _ options: GlobalOptions, done: String) async throws {
        let path = try path(id)
        let client = try DaemonClient(options: options)
        do {
            _ = try await client.connection.call(
                destination: DaemonClient.service, path: path, interface: DaemonClient.invitation, member: member,
                timeout: .seconds(120))
        } catch let error as DBusError {
            DaemonClient.fail(error.name == DBusError.StandardName.unknownObject ? "No invitation \(id) (finished ones are withdrawn after a while)." : error.message)
            throw ExitStatus.refused
        }
        if !options.json { print(done) }
    }
}

/// `peercollabctl accept ID`.
struct Accept: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accept an incoming invitation; its application starts, and the inviter is told.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The invitation id or object path.") var id: String
    func run() async throws { try await InvitationArgument.call("Accept", id, options, done: "Accepted.") }
}

/// `peercollabctl decline ID`.
struct Decline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decline an incoming invitation.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The invitation id or object path.") var id: String
    func run() async throws { try await InvitationArgument.call("Decline", id, options, done: "Declined.") }
}

/// `peercollabctl cancel ID`.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel an invitation you sent that is still pending.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The invitation id or object path.") var id: String
    func run() async throws { try await InvitationArgument.call("Cancel", id, options, done: "Cancelled.") }
}
