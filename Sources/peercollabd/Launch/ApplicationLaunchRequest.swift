/// What to start when the user accepts an invitation: the application as it was registered
/// (`exec` or `desktop-id`) and the invitation it is started for.
struct ApplicationLaunchRequest: Sendable, Hashable {
    /// How the application was registered.
    enum Command: Sendable, Hashable {
        /// A command line; a program without a slash is looked up on PATH.
        case exec([String])
        /// A desktop file id such as `org.example.Whiteboard.desktop`, looked up in the XDG
        /// applications folders; its `Exec=` line is the command.
        case desktopID(String)
    }

    /// Reverse-DNS id of the application, such as `org.example.Whiteboard`.
    var applicationID: String
    var command: Command
    /// The invitation's D-Bus object path, given to the application as `PEERCOLLAB_INVITATION`.
    var invitationPath: String
    /// Variables added to the application's environment (PEERCOLLAB_INVITATION wins over them;
    /// names that are not POSIX variable names, and values with NUL, are left out).
    var environment: [String: String]

    init(applicationID: String, command: Command, invitationPath: String, environment: [String: String] = [:]) {
        self.applicationID = applicationID
        self.command = command
        self.invitationPath = invitationPath
        self.environment = environment
    }

    /// The variable that tells the started application which invitation it serves.
    static let invitationVariable = "PEERCOLLAB_INVITATION"
}

/// Where a started application runs.
enum LaunchedApplication: Sendable, Hashable {
    /// In a transient unit of the user's systemd manager, by this unit name.
    case unit(String)
    /// As a direct child of the daemon (no user manager on the bus), by this PID; the daemon reaps it.
    case process(Int32)
}
