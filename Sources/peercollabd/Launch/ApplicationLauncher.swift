import DBus
import FoundationEssentials
import Logging

/// Starts the application of an accepted invitation, with `PEERCOLLAB_INVITATION` set to the
/// invitation's object path so it can read message, data and peer from there.
///
/// Where the session bus has a systemd user manager, the application runs in a transient
/// service of its own (`app-peercollab-<id>@<random>.service`, in `app.slice`), and the launch
/// succeeds once systemd has executed it. Elsewhere it is spawned directly, in its own session,
/// and reaped by the daemon.
final class ApplicationLauncher: Sendable {
    private let connection: DBusConnection
    private let environment: [String: String]
    private let logger: Logger
    private let starter: TransientUnitStarter

    /// - Parameters:
    ///   - connection: the daemon's session-bus connection (where systemd's user manager is looked for).
    ///   - environment: the session's environment: PATH, HOME and the XDG variables to find programs
    ///     and desktop files, and the base environment of a directly spawned application.
    ///   - jobTimeout: how long to wait for systemd to run the program before giving up.
    init(
        connection: DBusConnection, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger, jobTimeout: Duration = .seconds(30)
    ) {
        self.connection = connection
        self.environment = environment
        self.logger = logger
        starter = TransientUnitStarter(connection: connection, logger: logger, jobTimeout: jobTimeout)
    }

    /// Starts the application `request` names; returns where it runs, or throws a
    /// ``LaunchError`` whose message tells the user what was wrong.
    func launch(_ request: ApplicationLaunchRequest) async throws(LaunchError) -> LaunchedApplication {
        let applicationID = request.applicationID
        guard !applicationID.isEmpty, applicationID.utf8.count <= 255, !applicationID.utf8.contains(0) else {
            throw .invalidRequest("'\(applicationID)' is not an application id; use reverse-DNS like org.example.App")
        }
        let commandLine: [String]
        switch request.command {
        case .exec(let arguments):
            commandLine = arguments
        case .desktopID(let id):
            commandLine = try DesktopEntryLocator(environment: environment).entry(id: id, for: applicationID).arguments
        }
        guard let program = commandLine.first, !program.isEmpty else {
            throw .invalidRequest("\(applicationID): the command line is empty; register the application with a program to run")
        }
        guard !commandLine.contains(where: { $0.utf8.contains(0) }) else {
            throw .invalidRequest("\(applicationID): the command line contains a NUL character")
        }
        let path = try ProgramLocator(environment: environment).resolve(program, for: applicationID)
        var variables = request.environment.filter { Self.isValidVariableName($0.key) && !$0.value.utf8.contains(0) }
        variables[ApplicationLaunchRequest.invitationVariable] = request.invitationPath

        let launched: LaunchedApplication
        if await userManagerIsRunning() {
            let unit = TransientUnitStarter.Unit(
                name: ApplicationUnitName.make(applicationID: applicationID),
                description: "\(applicationID), started by peercollab for an invitation",
                program: path, arguments: commandLine,
                environment: variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            try await starter.start(unit, for: applicationID)
            launched = .unit(unit.name)
        } else {
            let pid = try DirectSpawner.spawn(
                program: path, arguments: commandLine,
                environment: environment.filter { !Self.daemonOnlyVariables.contains($0.key) }.merging(variables) { $1 },
                workingDirectory: environment["HOME"], applicationID: applicationID, logger: logger)
            launched = .process(pid)
        }
        logger.info("Started the invited application", metadata: [
            "application": "\(applicationID)", "invitation": "\(request.invitationPath)", "program": "\(path)",
            "where": "\(launched)",
        ])
        return launched
    }

    /// What systemd gave the daemon itself: an application holding NOTIFY_SOCKET could tell
    /// systemd that peercollab is stopping, or feed its watchdog.
    static let daemonOnlyVariables: Set<String> = [
        "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
        "INVOCATION_ID", "JOURNAL_STREAM", "MAINPID", "MANAGERPID", "SYSTEMD_EXEC_PID",
    ]

    /// Whether `org.freedesktop.systemd1` has an owner on the daemon's bus.
    private func userManagerIsRunning() async -> Bool {
        do {
            return try await connection.nameOwner(TransientUnitStarter.busName) != nil
        } catch {
            logger.debug("Could not ask the bus for the systemd user manager; starting directly", metadata: [
                "error": "\(error)",
            ])
            return false
        }
    }

    /// POSIX names: letters, digits and `_`, not starting with a digit.
    static func isValidVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}
