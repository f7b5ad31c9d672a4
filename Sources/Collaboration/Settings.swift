/// The user's settings that outlive the daemon.
public struct Settings: Codable, Sendable, Equatable {
    /// The name others see; nil until the user sets one (the account's full name is used).
    public var displayName: String?
    /// Optional, part of my contact card.
    public var email: String?

    public init(displayName: String? = nil, email: String? = nil) {
        self.displayName = displayName
        self.email = email
    }
}
