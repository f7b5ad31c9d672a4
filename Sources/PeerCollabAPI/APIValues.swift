/// The enumerations and limits of the API that clients check before they call (as
/// docs/dbus-api.md states them). The daemon enforces the same values; a test of the
/// domain checks that both agree, so neither can drift alone.
public enum APIValues {
    /// Presence statuses, as they travel on the bus, from absent to present.
    public static let presenceStatuses = [
        "offline", "out-to-lunch", "away", "be-right-back", "idle", "busy", "on-the-phone", "online",
    ]
    /// Scopes to sign in to.
    public static let scopes = ["near-me", "internet", "all"]
    /// Objects I may publish at once.
    public static let maximumObjects = 128
    /// Bytes of one object's data.
    public static let maximumObjectBytes = 65_536
    /// Bytes of an object id (`[A-Za-z0-9._-]`).
    public static let maximumObjectIDBytes = 128
}
