/// Why the Avahi backend could not do what was asked, with what to do about it.
public struct AvahiError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Code: Sendable, Hashable {
        /// `org.freedesktop.Avahi` has no owner on the bus: avahi-daemon is not running.
        case notRunning
        /// The system bus itself could not be reached.
        case busUnavailable
        /// The announcement cannot be expressed in DNS-SD (name or TXT too long, bad key).
        case invalidAnnouncement
        /// avahi-daemon refused or failed a request.
        case daemonFailure
        /// The backend was shut down.
        case shutDown
    }

    public var code: Code
    /// A sentence for a user: what went wrong and what to do.
    public var message: String
    public var description: String { message }

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    static func notRunning(bus: String) -> AvahiError {
        AvahiError(
            code: .notRunning,
            message: "Avahi (org.freedesktop.Avahi) is not on \(bus). Install and start avahi-daemon "
                + "(apt-get install avahi-daemon; systemctl enable --now avahi-daemon), "
                + "or set the discovery backend to 'builtin' to use peercollab's own mDNS responder.")
    }

    static func busUnavailable(bus: String, _ error: any Error) -> AvahiError {
        AvahiError(
            code: .busUnavailable,
            message: "Cannot reach \(bus) to talk to Avahi (\(error)). Check that dbus is running, "
                + "or set the discovery backend to 'builtin'.")
    }

    static func invalidAnnouncement(_ detail: String) -> AvahiError {
        AvahiError(code: .invalidAnnouncement, message: "Cannot announce this service: \(detail).")
    }

    static func daemonFailure(_ what: String, _ error: any Error) -> AvahiError {
        AvahiError(
            code: .daemonFailure,
            message: "avahi-daemon failed to \(what): \(error). See `journalctl -u avahi-daemon`; "
                + "restarting it (systemctl restart avahi-daemon) usually helps.")
    }

    static let shutDown = AvahiError(
        code: .shutDown, message: "The Avahi discovery backend was shut down; create a new one.")
}
