/// The named errors of the API (docs/dbus-api.md), each `org.peercollab.PeerCollab1.Error.`
/// followed by the raw value. Callers match on these names; the message is for people.
public enum PeerCollabErrorName: String, CaseIterable, Sendable {
    case invalidArgument = "InvalidArgument"
    case notFound = "NotFound"
    case alreadyExists = "AlreadyExists"
    case notSignedIn = "NotSignedIn"
    case notAllowed = "NotAllowed"
    case invalidState = "InvalidState"
    case peerUnreachable = "PeerUnreachable"
    case notSupported = "NotSupported"
    case timeout = "Timeout"
    case invalidCard = "InvalidCard"
    case rateLimited = "RateLimited"
    case failed = "Failed"

    /// The full D-Bus error name.
    public var busName: String { PeerCollabBus.errorPrefix + rawValue }

    /// The API error a D-Bus error name stands for, if it is one of ours.
    public init?(busName: String) {
        guard busName.hasPrefix(PeerCollabBus.errorPrefix) else { return nil }
        self.init(rawValue: String(busName.dropFirst(PeerCollabBus.errorPrefix.count)))
    }
}
