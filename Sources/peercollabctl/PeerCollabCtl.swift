import ArgumentParser
import PeerCollabAPI

#if canImport(Glibc)
import Glibc
#endif

@main
struct PeerCollabCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peercollabctl",
        abstract: "Control peercollab: who you are, who is near, contacts, presence and invitations.",
        discussion: """
            peercollabctl talks to peercollabd over the session bus; the daemon is started on \
            demand by D-Bus activation. Every verb takes --json for scripts: objects as the D-Bus \
            API spells their properties, errors as {"error": NAME, "message": TEXT} on stderr.

            PERSON (invite, refresh, contact …, object get) is a peer name or its first 4 \
            characters or more, a nickname, a display name or its start (any case), or an \
            object path. A name that matches nobody or several people lists the candidates.

            \(ExitStatus.table)
            """,
        version: ProductVersion.current,
        groupedSubcommands: [
            CommandGroup(name: "General", subcommands: [Status.self, WhoAmI.self, SetName.self, SetEmail.self, SignIn.self, SignOut.self, AutoSignIn.self, Card.self]),
            CommandGroup(name: "People", subcommands: [Near.self, Connect.self, Refresh.self]),
            CommandGroup(name: "Contacts", subcommands: [Contacts.self, ContactCommand.self]),
            CommandGroup(name: "Presence", subcommands: [Presence.self]),
            CommandGroup(name: "Objects", subcommands: [Objects.self]),
            CommandGroup(name: "Apps", subcommands: [Apps.self, App.self]),
            CommandGroup(name: "Invitations", subcommands: [Invite.self, Invitations.self, Accept.self, Decline.self, Cancel.self, WaitInvitation.self, Channel.self]),
            CommandGroup(name: "Troubleshooting", subcommands: [Doctor.self, Watch.self]),
        ],
        defaultSubcommand: Status.self
    )

    /// ArgumentParser's main, with every failure reported one way (``Failure``): text or
    /// JSON on stderr, and the documented exit status.
    static func main() async {
        do {
            try checkHelpTopic(Array(CommandLine.arguments.dropFirst()))
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as Failure {
            failure.report()
            Glibc.exit(failure.status)
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let status = exitCode(for: error).rawValue
            // Help, --version and completions are output, not failures.
            guard status != 0, OutputMode.json else { exit(withError: error) }
            Failure(name: Failure.Name.usage, message: message(for: error), status: status).report()
            Glibc.exit(status)
        }
    }

    /// `help VERB…` of a verb that does not exist is a usage error (ArgumentParser would
    /// print the overall help and exit 0, which hides a typo from scripts).
    static func checkHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help" else { return }
        var command: ParsableCommand.Type = PeerCollabCtl.self
        var path = [PeerCollabCtl._commandName]
        for word in arguments.dropFirst() where !word.hasPrefix("-") {
            let subcommands = command.configuration.subcommands
            guard let next = subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) else {
                throw Failure(
                    name: Failure.Name.usage,
                    message: "There is no verb '\(word)'; '\(path.joined(separator: " ")) --help' lists them.",
                    status: ExitStatus.usage)
            }
            command = next
            path.append(word)
        }
    }
}
