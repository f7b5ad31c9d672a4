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

/// `peercollabctl auto-signin [on|off]`: the Manager's `SignInAutomatically`.
struct AutoSignIn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auto-signin",
        abstract: "Show or set whether you stay signed in across restarts: on (the default) or off.",
        discussion: "On, the daemon keeps the scopes you signed in to and the presence you set, and takes them up again when it starts (after a crash, an upgrade or a reboot). Off, every start is signed out and online.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("on or off.", valueName: "on|off"))
    var setting: OnOffArgument?

    func run() async throws {
        let client = try DaemonClient(options: options)
        if let setting {
            try await client.setProperty(ManagerProperty.signInAutomatically.rawValue, .boolean(setting == .on), of: DaemonClient.manager)
        }
        let properties = try await client.properties(of: DaemonClient.manager)
        if options.json {
            print(ManagedObjects.json(DaemonClient.root, properties))
        } else if setting == nil {
            print(properties[ManagerProperty.signInAutomatically.rawValue]?.boolValue == true ? "on" : "off")
        }
    }
}

/// `on` or `off`.
enum OnOffArgument: String, ExpressibleByArgument, CaseIterable {
    case on, off
}
