import ArgumentParser
import PeerCollabAPI

@main
struct PeerCollabCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peercollabctl",
        abstract: "Control peercollab: who you are, who is near, contacts, presence and invitations.",
        discussion: """
            peercollabctl talks to peercollabd over the session bus; the daemon is started on \
            demand by D-Bus activation. Every verb takes --json for scripts.

            Exit status: 0 success; 1 the daemon refused the request (the message says why); \
            64 the command line was wrong; 69 the daemon or the bus could not be reached. \
            'invite --wait' exits 0 accepted, 2 declined, 3 expired, 4 cancelled, 5 failed.
            """,
        version: ProductVersion.current,
        subcommands: [Status.self, WhoAmI.self, SetName.self, SignIn.self, SignOut.self, Near.self, Watch.self, Doctor.self, Card.self, Connect.self,
            Contacts.self, ContactCommand.self, App.self, Apps.self, Invite.self, Invitations.self, Accept.self, Decline.self, Cancel.self,
            Presence.self, Objects.self],
        defaultSubcommand: Status.self
    )
}
