import ArgumentParser
import DBus
import PeerCollabAPI

/// The scopes `signin` and `signout` take.
enum ScopeArgument: String, ExpressibleByArgument, CaseIterable {
    case nearMe = "near-me"
    case internet
    case all
}

/// `peercollabctl signin [near-me|internet|all]`.
struct SignIn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signin",
        abstract: "Become visible and see others: near me (this network), internet (your contacts), or all.",
        discussion: "Nothing about you is announced until you sign in. Signing in near me announces your display name and peer name on the local network.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "near-me, internet or all.")
    var scope: ScopeArgument = .all

    func run() async throws {
        let client = try DaemonClient(options: options)
        _ = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "SignIn", [.string(scope.rawValue)])
        try await SignIn.report(client, options)
    }

    static func report(_ client: DaemonClient, _ options: GlobalOptions) async throws {
        let properties = try await client.properties(of: DaemonClient.manager)
        let scopes = properties[ManagerProperty.signedIn.rawValue] ?? .strings([])
        if options.json {
            print(ManagedObjects.json(DaemonClient.root, properties))
        } else {
            print("Signed in: " + TextTable.text(ManagerProperty.signedIn.rawValue, scopes))
        }
    }
}

/// `peercollabctl signout [near-me|internet|all]`.
struct SignOut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signout",
        abstract: "Stop being visible; peers see you leave at once.",
        discussion: "Sign-out is for the whole user session: every application using peercollab is signed out.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "near-me, internet or all.")
    var scope: ScopeArgument = .all

    func run() async throws {
        let client = try DaemonClient(options: options)
        _ = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "SignOut", [.string(scope.rawValue)])
        try await SignIn.report(client, options)
    }
}
