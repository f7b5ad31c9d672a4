import ArgumentParser
import DBus
import PeerCollabAPI

/// `peercollabctl invitations [list|show|policy]`: invitations both ways, and who may invite me.
struct Invitations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List invitations (incoming and outgoing; finished ones stay a while), show one, or set who may invite you.",
        subcommands: [List.self, Show.self, Policy.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List invitations, incoming and outgoing, oldest first.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let client = try DaemonClient(options: options)
            let invitations = try await ManagedObjects.fetch(client, interface: DaemonClient.invitation).sorted {
                ($0.properties[InvitationProperty.created.rawValue]?.uint64Value ?? 0) < ($1.properties[InvitationProperty.created.rawValue]?.uint64Value ?? 0)
            }
            if options.json {
                print(try await ManagedObjects.jsonArray(invitations, client))
                return
            }
            guard !invitations.isEmpty else {
                print("No invitations.")
                return
            }
            let contacts = try await Trust.contacts(client)
            TextTable.printRows(
                [["ID", "WAY", "WHO", "APPLICATION", "STATE", "CHANNELS", "MESSAGE"]]
                    + invitations.map { invitation in
                        func text(_ property: InvitationProperty) -> String { invitation.properties[property.rawValue]?.stringValue ?? "" }
                        // A display name is a claim: who it really is goes beside it.
                        let who = (text(.displayName).isEmpty ? text(.peerName) : text(.displayName))
                            + " (\(Trust.of(text(.peerName), contacts).label))"
                        let state = text(.state)
                        let reason = text(.reason)
                        return [
                            text(.id), text(.direction) == "incoming" ? "from" : "to", who, text(.applicationID),
                            reason.isEmpty ? state : "\(state) (\(reason))",
                            ChannelText.summary(invitation.properties[InvitationProperty.channels.rawValue]), text(.message),
                        ]
                    })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one invitation.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The invitation id or object path."), completion: .invitations) var id: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let path = try InvitationArgument.path(id)
            let properties = try await InvitationArgument.properties(path, id, client)
            if options.json {
                print(try await ManagedObjects.json(path, properties, client))
                return
            }
            let rows: [(String, String)] = [
                (InvitationProperty.id.rawValue, "Id"), (InvitationProperty.direction.rawValue, "Direction"),
                (InvitationProperty.displayName.rawValue, "Who"), (Trust.key, "Trust"), (InvitationProperty.peerName.rawValue, "Peer name"),
                (InvitationProperty.applicationID.rawValue, "Application"), (InvitationProperty.message.rawValue, "Message"),
                (InvitationProperty.state.rawValue, "State"), (InvitationProperty.reason.rawValue, "Reason"),
            ]
            var shown = try await Trust.adding(to: properties, client)
            shown[Trust.key] = shown[Trust.key]?.stringValue.flatMap(Trust.init(rawValue:)).map { .string($0.label) }
            TextTable.printProperties(shown, rows)
            print("Channels:" + String(repeating: " ", count: 4) + ChannelText.detail(properties[InvitationProperty.channels.rawValue]))
        }
    }

    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set who may invite you: anyone, contacts or nobody.",
            discussion: "anyone is the default, as in Windows People Near Me; contacts means peers on your contact list, verified or not.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("anyone, contacts or nobody.", valueName: "policy")) var policy: InvitationPolicyArgument?

        func run() async throws {
            let client = try DaemonClient(options: options)
            if let policy {
                try await client.setProperty(ManagerProperty.invitationPolicy.rawValue, .string(policy.rawValue), of: DaemonClient.manager)
            }
            let properties = try await client.properties(of: DaemonClient.manager)
            if options.json {
                print(ManagedObjects.json(DaemonClient.root, properties))
            } else if policy == nil {
                print(properties[ManagerProperty.invitationPolicy.rawValue]?.stringValue ?? "")
            }
        }
    }
}

/// An invitation's `Channels` for people.
enum ChannelText {
    static func entries(_ value: DBusValue?) -> [(name: String, state: String, sent: UInt64, received: UInt64)] {
        (value?.arrayElements ?? []).compactMap { entry in
            guard let fields = entry.structureFields, fields.count == 4 else { return nil }
            return (fields[0].stringValue ?? "", fields[1].stringValue ?? "", fields[2].uint64Value ?? 0, fields[3].uint64Value ?? 0)
        }
    }

    /// `chat (open), files (waiting)`, or `-`.
    static func summary(_ value: DBusValue?) -> String {
        let all = entries(value)
        return all.isEmpty ? "-" : all.map { "\($0.name) (\($0.state))" }.joined(separator: ", ")
    }

    /// With byte counts: `chat open, 12 B sent, 40 B received; …`.
    static func detail(_ value: DBusValue?) -> String {
        let all = entries(value)
        return all.isEmpty ? "(none)" : all.map { "\($0.name) \($0.state), \($0.sent) B sent, \($0.received) B received" }.joined(separator: "; ")
    }
}

/// The invitation policies (docs/dbus-api.md).
enum InvitationPolicyArgument: String, ExpressibleByArgument, CaseIterable {
    case anyone, contacts, nobody
}

/// The object path of an invitation given by id or path.
enum InvitationArgument {
    static func path(_ text: String) throws -> DBusObjectPath {
        if text.hasPrefix("/"), let path = try? DBusObjectPath(text) { return path }
        guard DBusObjectPath.isValidElement(text), let path = try? DBusObjectPath(PeerCollabBus.invitationPath(text)) else {
            throw Failure(name: Failure.Name.notFound, message: "'\(text)' is not an invitation id ('peercollabctl invitations' lists them).", status: ExitStatus.refused)
        }
        return path
    }

    /// An unknown invitation is "not found" (exit 1), whatever the bus calls it.
    static func notFound(_ error: DBusError, _ id: String) -> Failure {
        error.name == DBusError.StandardName.unknownObject
            ? Failure(name: Failure.Name.notFound, message: "No invitation \(id) (finished ones are withdrawn after a while; 'peercollabctl invitations' lists them).", status: ExitStatus.refused)
            : DaemonClient.failure(error)
    }

    static func properties(_ path: DBusObjectPath, _ id: String, _ client: DaemonClient) async throws -> [String: DBusValue] {
        do {
            return try await client.connection.call(
                destination: DaemonClient.service, path: path, interface: DaemonClient.properties, member: "GetAll",
                arguments: [.string(DaemonClient.invitation)]).first?.vardictValue ?? [:]
        } catch let error as DBusError {
            throw notFound(error, id)
        }
    }

    static func call(_ member: String, _ id: String, _ options: GlobalOptions, done: String) async throws {
        let path = try path(id)
        let client = try DaemonClient(options: options)
        do {
            _ = try await client.connection.call(
                destination: DaemonClient.service, path: path, interface: DaemonClient.invitation, member: member,
                timeout: .seconds(120))
        } catch let error as DBusError {
            throw notFound(error, id)
        }
        print(options.json ? try await ManagedObjects.json(path, try await properties(path, id, client), client) : done)
    }
}

/// `peercollabctl accept ID`.
struct Accept: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accept an incoming invitation; its application starts, and the inviter is told.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The invitation id or object path."), completion: .invitations) var id: String
    func run() async throws { try await InvitationArgument.call("Accept", id, options, done: "Accepted.") }
}

/// `peercollabctl decline ID`.
struct Decline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decline an incoming invitation.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The invitation id or object path."), completion: .invitations) var id: String
    func run() async throws { try await InvitationArgument.call("Decline", id, options, done: "Declined.") }
}

/// `peercollabctl cancel ID`.
struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel an invitation you sent that is still pending.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The invitation id or object path."), completion: .invitations) var id: String
    func run() async throws { try await InvitationArgument.call("Cancel", id, options, done: "Cancelled.") }
}

/// `peercollabctl wait ID`: the final state of an invitation, as `invite --wait` tells it.
struct WaitInvitation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until an invitation ends and print its final state; the exit status tells it as for 'invite --wait'.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The invitation id or object path."), completion: .invitations) var id: String

    func run() async throws {
        let path = try InvitationArgument.path(id)
        let client = try DaemonClient(options: options)
        let properties = try await InvitationArgument.properties(path, id, client)
        let expires = properties[InvitationProperty.expires.rawValue]?.uint64Value ?? 0
        let now = UInt64(Clock.now.seconds) * 1_000_000
        let seconds = UInt32(clamping: expires > now ? (expires - now) / 1_000_000 + 1 : 1)
        try await Invite.finish(path, client, options, seconds: seconds, id: id)
    }
}

/// Wall-clock time, for comparing with the daemon's microsecond timestamps.
enum Clock {
    static var now: (seconds: Int, nanoseconds: Int) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (spec.tv_sec, spec.tv_nsec)
    }
}

#if canImport(Glibc)
import Glibc
#endif
