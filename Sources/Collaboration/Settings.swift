/// The user's settings that outlive the daemon.
public struct Settings: Codable, Sendable, Equatable {
    /// The name others see; nil until the user sets one (the account's full name is used).
    public var displayName: String?
    /// Optional, part of my contact card.
    public var email: String?
    /// How to find peers near me: `auto` (Avahi when it runs, else built in), `avahi`, `builtin`.
    public var discoveryBackend: String?
    /// Only these network interfaces (names, `prefix*` allowed) are used for discovery.
    public var allowInterfaces: [String]?
    /// These are never used; default: container and VPN plumbing (docker0, br-*, veth*, …).
    public var denyInterfaces: [String]?
    /// Who may invite me: `anyone` (default), `contacts`, `nobody`.
    public var invitationPolicy: InvitationPolicy?
    /// Seconds a finished invitation stays visible before it is withdrawn (default 600).
    public var invitationRetentionSeconds: Int?
    /// Whether incoming invitations show a desktop notification (default true).
    public var invitationNotifications: Bool?
    /// Pending incoming invitations allowed from one peer (default 8).
    public var invitationPendingPerPeer: Int?
    /// New incoming invitations allowed from one peer per second (default 1).
    public var invitationsPerSecondPerPeer: Double?
    /// Whether logind's idle hint shows me `idle` while I am away (nil: yes).
    public var autoIdle: Bool?
    /// Whether the scopes I signed in to and the presence I set are kept across restarts
    /// (nil: yes), so that a crash, an upgrade or a watchdog restart does not sign me out.
    public var signInAutomatically: Bool?
    /// The scopes I was signed in to when last changed (kept only while `signInAutomatically`).
    public var keptSignIn: [String]?
    /// The presence I last set (kept only while `signInAutomatically`).
    public var keptPresence: KeptPresence?
    /// Keys of the file that were not used (a wrong type, a value outside its choices, an
    /// unknown key); never written back.
    public var ignored: [IgnoredSetting] = []

    public init(displayName: String? = nil, email: String? = nil) {
        self.displayName = displayName
        self.email = email
    }
}

/// The presence the user set, as kept in the settings file (checked again when read back).
public struct KeptPresence: Codable, Sendable, Equatable {
    public var status: String
    public var message: String

    public init(status: String, message: String) {
        self.status = status
        self.message = message
    }
}
